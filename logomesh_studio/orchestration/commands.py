"""``logomesh-studio orchestrate`` and ``logomesh-studio runs``.

    logomesh-studio orchestrate FILE [--workspace DIR] [--input JSON] [--json]
    logomesh-studio orchestrate --resume RUN_ID --workspace DIR [--json]
    logomesh-studio runs WORKSPACE [--json] [--limit N]

``orchestrate`` exits 0 when the run completed, 1 when it failed or was cancelled
(Ctrl+C cancels it) and 2 when the file (or the request) is invalid, with the
validation report on stderr. ``cli.py`` adds these subcommands with :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import logomesh_studio
from logomesh_studio._argtypes import directory
from logomesh_studio.orchestration.document import DocumentProblem, OrchestrationDocument
from logomesh_studio.orchestration.engine import OrchestrationEngine, RunNotResumable
from logomesh_studio.orchestration.events import RunStatusChanged, TaskFinished
from logomesh_studio.orchestration.io import load
from logomesh_studio.orchestration.model import OrchestrationFile, OrchestrationInvalid, Problem
from logomesh_studio.orchestration.records import (
    COMPLETED,
    FAILED,
    NOT_REACHED,
    SKIPPED,
    RunRecord,
    RunSummary,
)
from logomesh_studio.orchestration.run import OrchestrationRun
from logomesh_studio.orchestration.store import (
    HistoryUnwritable,
    RunStore,
    workspace_store_path,
)
from logomesh_studio.runtime.events import Event
from logomesh_studio.runtime.runner import RuntimeThread

NAMES = ("orchestrate", "runs")
"""The subcommands :func:`register` adds."""

EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
CANCEL_GRACE = 3.0
"""Seconds Ctrl+C waits for the run to record its cancellation; longer means plugin code
holds the runtime, and the run is recorded as interrupted from outside."""


class _RuntimeHeld(Exception):
    """Ctrl+C could not stop the run: plugin code holds the runtime's loop."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``orchestrate`` and ``runs`` subcommands to the CLI's subparsers."""
    orchestrate = subparsers.add_parser(
        "orchestrate", help="validate and run an orchestration file, or resume a stored run",
        description="Validate FILE against the workspace, run it and print a summary. "
                    "Exit 0 completed, 1 failed or cancelled, 2 invalid.")
    orchestrate.add_argument("file", nargs="?", type=Path, help="a *.orchestration.yaml file")
    orchestrate.add_argument("--workspace", type=directory, metavar="DIR",
                             help="the plugin workspace (default: the file's folder)")
    orchestrate.add_argument("--input", metavar="JSON", help="the run's input as JSON "
                             "(default: {})")
    orchestrate.add_argument("--resume", metavar="RUN_ID", help="re-run a failed, cancelled "
                             "or interrupted run from its first unfinished task")
    orchestrate.add_argument("--json", action="store_true", help="print the final run as JSON")
    orchestrate.set_defaults(func=cmd_orchestrate)
    runs = subparsers.add_parser("runs", help="list a workspace's orchestration runs")
    runs.add_argument("workspace", type=directory)
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")
    runs.add_argument("--limit", type=_count, default=50, metavar="N",
                      help="newest N runs (default 50)")
    runs.set_defaults(func=cmd_runs)


def _count(value: str) -> int:
    """A whole number of at least 1, or an argparse error saying so."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_orchestrate(args: argparse.Namespace) -> int:
    """Run (or resume) one orchestration; returns the exit code."""
    if bool(args.file) == bool(args.resume):
        return _invalid("orchestrate: give either FILE or --resume RUN_ID")
    if args.resume and args.workspace is None:
        return _invalid("orchestrate: --resume needs --workspace DIR")
    try:
        input = json.loads(args.input) if args.input is not None else {}
    except json.JSONDecodeError as exc:
        return _invalid(f"--input: not valid JSON: {exc}")
    file = None
    if args.file:
        try:
            file = load(args.file)
        except OrchestrationInvalid as exc:
            return _report(_every_problem(args.file, args.workspace, exc.problems))
        _report(list(file.warnings))
    workspace = args.workspace or Path(args.file).resolve().parent
    runtime = RuntimeThread(workspace)
    printer = _ProgressPrinter(sys.stderr if args.json else sys.stdout)
    runtime.events.subscribe(printer)
    engine: OrchestrationEngine | None = None
    outcome: RunRecord | int = EXIT_FAILED
    held = False
    try:
        runtime.start()
        engine = OrchestrationEngine(runtime.host)
        if engine.store.notice:
            print(f"warning: {engine.store.notice}", file=sys.stderr)
        notice = engine.store.notice
        outcome = _execute(runtime, engine, args.resume, file, input)
        if engine.store.notice != notice:  # found damaged during the run
            print(f"warning: {engine.store.notice[len(notice):].lstrip('; ')}",
                  file=sys.stderr)
        if outcome == EXIT_INVALID and file is not None and args.workspace is None:
            _hint_workspace(runtime, file, workspace)
    except KeyboardInterrupt:  # before _execute waited on the run: loading, say, or starting
        started = engine.runs() if engine is not None else []
        print("orchestrate: interrupted (Ctrl+C)" + "".join(
            f"; cancelling run {run.id}" for run in started), file=sys.stderr)
        outcome = EXIT_FAILED if started else EXIT_INTERRUPTED  # closing the engine cancels
    except _RuntimeHeld as exc:
        print(f"orchestrate: {exc}", file=sys.stderr)
        held = True
    finally:
        if not held and engine is not None and not _answers(runtime):
            held = True  # Ctrl+C came as a run started and plugin code holds the loop
            for run in engine.runs():
                _record_held(runtime, engine, run, "cancelled with Ctrl+C")
                print(f"orchestrate: {_held_message(runtime, run)}", file=sys.stderr)
        if not held:  # else the loop cannot run cleanup; the process just ends
            try:
                if engine is not None:
                    runtime.run(engine.close())
            except HistoryUnwritable as exc:
                print(f"error: {exc}", file=sys.stderr)
                outcome = EXIT_FAILED if isinstance(outcome, RunRecord) else outcome
            finally:
                runtime.stop()
    if isinstance(outcome, int):
        return outcome
    record = outcome
    if args.json:
        print(json.dumps(record.to_json(), indent=2))
    else:
        printer.summary(record, workspace)
    return EXIT_COMPLETED if record.status == COMPLETED else EXIT_FAILED


def _execute(runtime: RuntimeThread, engine: OrchestrationEngine, resume: str | None,
             file: OrchestrationFile | None, input: Any) -> RunRecord | int:
    """Start (or resume) the run and wait for it; an exit code if it could not start."""
    if resume:
        starting = runtime.submit(engine.resume(resume))
    elif file is not None:
        starting = runtime.submit(engine.start(file, input))
    else:
        raise ValueError("neither a file to run nor a run to resume")
    interrupted = False
    try:
        try:
            run = starting.result(30.0)
        except TimeoutError:
            starting.cancel()
            raise
        except KeyboardInterrupt:  # Ctrl+C as the run starts: once started, cancel it below
            interrupted = True
            run = _started(runtime, engine, starting)
    except OrchestrationInvalid as exc:
        shown = file.warnings if file is not None else ()  # printed when the file was read
        return _report([p for p in exc.problems if p not in shown])
    except RunNotResumable as exc:
        return _invalid(f"orchestrate: {exc}")
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    waiting = runtime.submit(run.wait())
    limit = run.document.timeout
    try:
        while not interrupted:  # past the run's timeout, make sure the loop can still time it out
            try:
                return waiting.result(None if limit is None else limit + CANCEL_GRACE)
            except TimeoutError:
                if not _answers(runtime):
                    _record_held(runtime, engine, run, f"timed out after {limit:g} s")
                    raise _RuntimeHeld(f"run {run.id} timed out after {limit:g} s, but plugin "
                                       f"code holds the runtime ({_held_at(runtime)}); the run "
                                       "is recorded as interrupted") from None
    except KeyboardInterrupt:
        print(f"\ncancelling run {run.id} (Ctrl+C)", file=sys.stderr, flush=True)
    runtime.call_soon(run.cancel)
    try:
        return waiting.result(CANCEL_GRACE)
    except (TimeoutError, KeyboardInterrupt):
        _record_held(runtime, engine, run, "cancelled with Ctrl+C")
        raise _RuntimeHeld(_held_message(runtime, run)) from None


def _held_message(runtime: RuntimeThread, run: OrchestrationRun) -> str:
    return (f"run {run.id} did not stop: plugin code holds the runtime ({_held_at(runtime)}); "
            "the run is recorded as interrupted")


def _started(runtime: RuntimeThread, engine: OrchestrationEngine,
             starting: Future[OrchestrationRun]) -> OrchestrationRun:
    """The run Ctrl+C interrupted as it started (its first task may already hold the
    loop, before ``start()`` could answer: then it is recorded as interrupted)."""
    try:
        return starting.result(CANCEL_GRACE)
    except TimeoutError:
        runs = engine.runs()
        for held in runs:
            _record_held(runtime, engine, held, "cancelled with Ctrl+C")
        raise _RuntimeHeld(f"run {', '.join(r.id for r in runs)} did not stop: plugin code "
                           f"holds the runtime ({_held_at(runtime)}); the run is recorded as "
                           "interrupted") from None


def _answers(runtime: RuntimeThread) -> bool:
    """True if the runtime's loop runs a callback within :data:`CANCEL_GRACE` seconds."""
    answered = threading.Event()
    runtime.call_soon(answered.set)
    return answered.wait(CANCEL_GRACE)


def _record_held(runtime: RuntimeThread, engine: OrchestrationEngine,
                 run: OrchestrationRun, what: str) -> None:
    """Mark ``run`` interrupted from this thread (``what`` happened): plugin code holds
    its loop."""
    store = engine.store
    try:
        store.sync(CANCEL_GRACE)  # what the run staged before it was held
    except HistoryUnwritable as exc:
        print(f"error: {exc}", file=sys.stderr)
    store.interrupt(run.id, f"{what} while plugin code held the runtime "
                            f"({_held_at(runtime)})")


def _held_at(runtime: RuntimeThread) -> str:
    """Where the runtime thread is: its innermost frame outside Studio and the stdlib."""
    frame = sys._current_frames().get(runtime.thread.ident or -1)
    ours = (os.path.dirname(logomesh_studio.__file__), sysconfig.get_paths()["stdlib"])
    innermost = frame
    while frame is not None and frame.f_code.co_filename.startswith(ours):
        frame = frame.f_back
    frame = frame or innermost
    if frame is None:
        return "no frame"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _hint_workspace(runtime: RuntimeThread, file: OrchestrationFile, workspace: Path) -> None:
    """Say so when the file names plugins its folder lacks: they may live elsewhere."""
    async def present() -> set[str]:
        return {info.id for info in runtime.host.plugins()}

    doc = file.document
    named = dict.fromkeys([doc.initiator, *(p.id for p in doc.participants)])
    missing = [pid for pid in named if pid not in runtime.run(present())]
    if missing:
        listed = ", ".join(repr(pid) for pid in missing)
        print(f"hint: {'plugin' if len(missing) == 1 else 'plugins'} {listed} "
              f"{'is' if len(missing) == 1 else 'are'} not in workspace {workspace} (the file's "
              "folder); pass --workspace DIR if the plugins live elsewhere", file=sys.stderr)


def cmd_runs(args: argparse.Namespace) -> int:
    """List a workspace's run history, newest first."""
    path = workspace_store_path(args.workspace)
    if not path.exists():
        runs = []
    else:
        store = RunStore(path)
        try:
            store.recover()
            runs = store.runs(args.limit)
        finally:
            store.close()
            if store.notice:  # damaged at open, or found damaged while reading
                print(f"warning: {store.notice}", file=sys.stderr)
    try:
        _print_runs(runs, args)
        sys.stdout.flush()
    except BrokenPipeError:  # piped into `head`, say: the reader has all it wants
        _silence(sys.stdout)
    return 0


def _print_runs(runs: list[RunSummary], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps([run.to_json() for run in runs], indent=2))
        return
    if not runs:
        print(f"no orchestration runs in {args.workspace}")
        return
    print(f"{'ID':<12}  {'STATUS':<11}  {'DONE':>4}  {'CREATED':<19}  {'ORCHESTRATION':<20}  ERROR")
    for run in runs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created))
        note = run.error or (f"resumes {run.resumed_from}" if run.resumed_from else "")
        print(f"{run.id:<12}  {run.status:<11}  {run.progress:>4.0%}  {created}  "
              f"{run.orchestration[:20]:<20}  {note[:100]}")


def _silence(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null, so what is still buffered (and
    printed later) goes nowhere instead of failing again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def _every_problem(path: Path, workspace: Path | None, problems: list[Problem]
                   ) -> list[Problem] | list[DocumentProblem]:
    """All of an invalid file's problems, including those against the workspace's manifests
    (read from disk: no plugin code runs for a file that cannot run anyway)."""
    try:
        document = OrchestrationDocument.load(path)
    except (OSError, ValueError):
        return problems
    found = document.problems(workspace or Path(path).resolve().parent)
    return found if any(p.severity == "error" for p in found) else problems


def _invalid(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_INVALID


def _report(problems: list[Problem] | list[DocumentProblem]) -> int:
    """Print problems to stderr; EXIT_INVALID if any is an error."""
    for problem in problems:
        print(problem, file=sys.stderr)
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        print(f"{errors} problem{'s' * (errors != 1)}; nothing was run", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_COMPLETED


class _ProgressPrinter:
    """Prints status changes and finished tasks (on the runtime thread)."""

    EVERY_TASK_UP_TO = 200

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStatusChanged):
            self._total = event.total
            self._line(f"run {event.run_id} {event.status}"
                       + (f": {event.error}" if event.error else ""))
        elif isinstance(event, TaskFinished):
            self._done += 1
            if event.skipped_by == NOT_REACHED:
                return
            if event.status != FAILED and self._total > self.EVERY_TASK_UP_TO:
                step = max(1, self._total // 20)  # big runs: a line per 5%, and every failure
                if self._done % step:
                    return
            detail = event.error or ("reused" if event.reused else "") or event.skipped_by
            took = "" if event.status == SKIPPED else f" ({event.duration * 1000:.1f} ms)"
            width = len(str(self._total))
            self._line(f"[{self._done:>{width}}/{self._total}] {event.phase}/{event.task}: "
                       f"{event.status}{took}" + (f" {detail}" if detail else ""))

    def _line(self, text: str) -> None:
        with self._lock:
            try:
                print(text, file=self.stream, flush=True)
            except BrokenPipeError:  # the reader left; the run goes on without an audience
                _silence(self.stream)

    def summary(self, record: RunRecord, workspace: Path) -> None:
        """The closing lines: outcome, counts per phase, the error and how to resume."""
        metrics = record.metrics or {}
        self._line(f"\n{record.orchestration}: {record.status} in "
                   f"{metrics.get('duration', 0) * 1000:.1f} ms, {record.progress:.0%} done, "
                   f"{metrics.get('messages', 0)} messages, run {record.id}")
        for phase in record.phases:
            counts: dict[str, int] = {}
            for task in phase.tasks:
                counts[task.status] = counts.get(task.status, 0) + 1
            shown = ", ".join(f"{n} {status}" for status, n in counts.items())
            self._line(f"  {phase.name:<20} {phase.status:<10} {shown}")
        if record.error:
            self._line(f"error: {record.error}")
        if record.status != COMPLETED:
            self._line(f"resume with: logomesh-studio orchestrate --resume {record.id} "
                       f"--workspace {workspace}")
