"""Run plugins' tests with pytest and coverage.py in a child process, streaming results.

    logomesh-studio test WORKSPACE [PLUGIN...] [-k PATTERN] [--json] [--no-coverage]
                         [--timeout S]

    for record in run_tests("plugins", ["counter"]):
        print(record.to_json())

Records arrive as they happen: :class:`PluginStarted` before a plugin's tests,
:class:`TestResult` as each test finishes, :class:`PluginSummary` once a plugin is
done (counts, duration, coverage of the plugin's own code per file with its
uncovered lines). One child runs the tests of every selected plugin; if it crashes
or a test hangs past ``timeout``, that test and its plugin are reported so and a
new child carries on with the plugins left. Closing the iterator stops the child.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from logomesh_studio._argtypes import directory
from logomesh_studio._children import child_environment
from logomesh_studio.devtools._testchild import TestOutcome
from logomesh_studio.runtime.discovery import discover

__all__ = ["PluginStarted", "PluginSummary", "Record", "TestResult", "UnknownPlugin",
           "register", "run_tests"]

NAMES = ("test",)
"""The subcommands :func:`register` adds."""

DEFAULT_TIMEOUT = 60.0
STARTUP_TIMEOUT = 60.0
OUTCOMES = ("passed", "failed", "skipped", "error")
_STDERR_TAIL = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginStarted:
    """A plugin's tests are about to run (``tests_dir`` is its ``tests/`` folder)."""

    kind: ClassVar[str] = "plugin_started"
    plugin: str
    tests_dir: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    """One finished test: ``outcome`` is passed, failed, skipped or error; ``message`` the
    failure text (or skip reason); ``location`` the failure's ``file:line``."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name
    kind: ClassVar[str] = "test"
    plugin: str
    nodeid: str
    file: str
    line: int | None
    outcome: str
    duration: float
    message: str | None = None
    location: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginSummary:
    """A plugin's totals; ``coverage`` (percent of its own code, None when not measured)
    and ``files`` (path -> ``{"coverage", "missing"}``); ``crashed``/``timed_out`` say
    the test process died or was stopped during its tests."""

    kind: ClassVar[str] = "summary"
    plugin: str
    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    duration: float = 0.0
    coverage: float | None = None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    crashed: bool = False
    timed_out: bool = False
    message: str | None = None

    @property
    def ok(self) -> bool:
        """No failure, error, crash or timeout."""
        return not (self.failed or self.errors or self.crashed or self.timed_out)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


Record = PluginStarted | TestResult | PluginSummary


class UnknownPlugin(ValueError):
    """A plugin id asked for is not in the workspace."""


@dataclass(frozen=True, slots=True)
class _Target:
    id: str
    folder: Path

    @property
    def tests_dir(self) -> Path:
        return self.folder / "tests"


def _targets(workspace: Path, plugins: Sequence[str] | None) -> list[_Target]:
    found = {s.id: _Target(s.id, s.folder.resolve())
             for s in discover(workspace, entry_points=False).plugins}
    if not plugins:
        return list(found.values())
    unknown = [p for p in plugins if p not in found]
    if unknown:
        raise UnknownPlugin(f"{', '.join(unknown)}: not in {workspace} "
                            f"(plugins: {', '.join(found) or 'none'})")
    return [found[p] for p in dict.fromkeys(plugins)]


def _owner(workspace: Path, nodeid: str, targets: Sequence[_Target]) -> _Target | None:
    """The target whose folder holds test ``nodeid`` (relative to the workspace)."""
    path = (workspace / nodeid.split("::")[0]).resolve()
    return next((t for t in targets if path.is_relative_to(t.folder)), None)


class _Tally:
    """Counts of one plugin's results as they arrive."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.started = time.perf_counter()

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def summary(self, duration: float | None = None, **extra: Any) -> PluginSummary:
        c = self.counts
        return PluginSummary(plugin=self.plugin, total=sum(c.values()), passed=c["passed"],
                             failed=c["failed"], skipped=c["skipped"], errors=c["error"],
                             duration=time.perf_counter() - self.started
                             if duration is None else duration, **extra)


OPTIONAL_PYTEST_PLUGINS: dict[str, tuple[str, ...]] = {
    "pytest_cov": ("--cov", "pytest_cov", "no_cover"),
    "hypothesispytest": ("hypothesis",),
    "pytest-qt": ("qtbot", "qapp", "qtmodeltester", "qtlog", "pytestqt", "qt_api"),
    "timeout": ("timeout",),
}
"""Installed pytest plugins (entry-point name: words that show a use) the child loads only
when the tests or the workspace's pytest settings use them. Auto-loading them costs
most of pytest's start-up (pytest-qt imports Qt, hypothesis its strategies), which is
the wait for the first result; coverage is the runner's own, so pytest-cov is never
needed for it. Other installed plugins still load as usual."""
_PYTEST_SETTINGS = ("conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini")


PRELOAD_UNMEASURED = ("logomesh_studio.testing",)
"""Modules the child imports before coverage starts when the tests mention them: they are
not the plugins' own code, and importing the runtime under coverage's tracer costs a
good part of the wait for the first result."""


def _test_sources(workspace: Path, folders: Sequence[Path]) -> str:
    """The text of every test file, conftest and pytest setting of ``workspace`` and the
    plugin ``folders`` (what decides which pytest plugins and modules the run needs)."""
    sources = [workspace / name for name in _PYTEST_SETTINGS]
    for folder in folders:
        sources += [folder / name for name in _PYTEST_SETTINGS]
        tests = folder / "tests"
        if tests.is_dir():
            sources += sorted(tests.rglob("*.py")) + sorted(tests.rglob("*.ini"))
    text = ""
    for source in sources:
        try:
            text += source.read_text(encoding="utf-8", errors="replace")
        except OSError:  # absent, or unreadable: pytest will say so itself
            continue
    return text


def _unused_plugins(text: str) -> list[str]:
    """The :data:`OPTIONAL_PYTEST_PLUGINS` that the test sources ``text`` never mention."""
    return [name for name, words in OPTIONAL_PYTEST_PLUGINS.items()
            if not any(word in text for word in words)]


def _child_env() -> dict[str, str]:
    """The environment of the child: this package importable, Qt offscreen."""
    env = child_environment()
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _read_lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            into.put(line)
    except (OSError, ValueError):  # closed under us when the run is stopped
        pass
    into.put(None)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Kill the child and whatever it started."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-_STDERR_TAIL:].strip()


class _ChildRun:
    """One child process over ``targets``; yields records, remembers which plugins it
    finished so a crash or timeout can hand the rest to a new child."""

    def __init__(self, workspace: Path, targets: list[_Target], select: Sequence[str],
                 pattern: str | None, coverage: bool, timeout: float) -> None:
        self.workspace = workspace
        self.targets = targets
        self.select = select
        self.pattern = pattern
        self.coverage = coverage
        self.timeout = timeout
        self.finished: set[str] = set()
        self.tallies: dict[str, _Tally] = {}
        self.running: tuple[str, str] | None = None  # (plugin, nodeid) of the test running
        self.failure: tuple[bool, str] | None = None  # (crashed, why) if the child died

    def _spec(self) -> str:
        args = [str(self.workspace / s) for s in self.select
                if _owner(self.workspace, s, self.targets)] \
            if self.select else [str(t.tests_dir) for t in self.targets]
        text = _test_sources(self.workspace, [t.folder for t in self.targets])
        for name in _unused_plugins(text):
            args += ["-p", f"no:{name}"]
        preload = [name for name in PRELOAD_UNMEASURED if name.split(".")[0] in text]
        return json.dumps({"workspace": str(self.workspace), "args": args, "preload": preload,
                           "pattern": self.pattern, "coverage": self.coverage,
                           "plugins": [{"id": t.id, "folder": str(t.folder)}
                                       for t in self.targets]})

    def _tally(self, plugin: str) -> tuple[_Tally, list[Record]]:
        """The plugin's tally, and a PluginStarted to yield first if it is new."""
        if plugin in self.tallies:
            return self.tallies[plugin], []
        self.tallies[plugin] = _Tally(plugin)
        tests_dir = next(str(t.tests_dir) for t in self.targets if t.id == plugin)
        return self.tallies[plugin], [PluginStarted(plugin=plugin, tests_dir=tests_dir)]

    def _handle(self, record: dict[str, Any]) -> list[Record]:
        kind = record["kind"]
        if kind == "plugin_start":
            return self._tally(record["plugin"])[1]
        if kind == "start":
            self.running = (record["plugin"], record["nodeid"])
            return []
        if kind == "test" and record["plugin"] is not None:
            self.running = None
            tally, out = self._tally(record["plugin"])
            tally.add(record["outcome"])
            fields = {k: v for k, v in record.items() if k != "kind"}
            return [*out, TestResult(**fields)]
        if kind == "plugin_done":
            plugin = record["plugin"]
            tally, out = self._tally(plugin)
            self.finished.add(plugin)
            return [*out, tally.summary(record["duration"], coverage=record["coverage"],
                                        files=record["files"])]
        return []

    def _failure(self, crashed: bool, detail: str) -> list[Record]:
        """Records for the plugin that was running when the child died or was stopped."""
        self.failure = (crashed, detail)
        if self.running is not None:
            plugin, nodeid = self.running
        else:
            unfinished = [p for p in self.tallies if p not in self.finished]
            plugin, nodeid = (unfinished[-1] if unfinished else ""), ""
        if not plugin:
            return []
        tally, out = self._tally(plugin)
        if nodeid:
            path = (self.workspace / nodeid.split("::")[0]).resolve()
            tally.add("error")
            out.append(TestResult(plugin=plugin, nodeid=nodeid, file=str(path), line=None,
                                  outcome=TestOutcome.ERROR, duration=time.perf_counter() - tally.started,
                                  message=detail, location=None))
        self.finished.add(plugin)
        out.append(tally.summary(crashed=crashed, timed_out=not crashed, message=detail))
        return out

    def __iter__(self) -> Iterator[Record]:
        with tempfile.TemporaryDirectory(prefix="logomesh-test-") as tmp:
            stderr_path = Path(tmp) / "stderr.txt"
            with stderr_path.open("w", encoding="utf-8") as stderr:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "logomesh_studio.devtools._testchild", self._spec()],
                    cwd=self.workspace, env=_child_env(), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=stderr, text=True, encoding="utf-8",
                    start_new_session=os.name == "posix")
            lines: queue.Queue[str | None] = queue.Queue()
            assert proc.stdout is not None
            threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True,
                             name="logomesh-test-reader").start()
            done = False
            try:
                while True:
                    # Startup and collection get at least STARTUP_TIMEOUT: a short
                    # per-test timeout must not fail a slow import of pytest's plugins.
                    limit = self.timeout if self.tallies else max(self.timeout, STARTUP_TIMEOUT)
                    try:
                        line = lines.get(timeout=limit)
                    except queue.Empty:
                        _stop(proc)
                        what = self.running[1] if self.running else "the test run"
                        yield from self._failure(False, f"timed out: {what} ran longer than "
                                                 f"{self.timeout:g} s; the test process was "
                                                 "stopped")
                        return
                    if line is None:
                        break
                    record = json.loads(line)
                    if record["kind"] == "done":
                        done = True
                        break
                    yield from self._handle(record)
                code = proc.wait()
                if not done:
                    detail = (f"the test process exited with code {code} before the tests "
                              "finished")
                    tail = _tail(stderr_path)
                    yield from self._failure(True, f"{detail}\n{tail}" if tail else detail)
            finally:
                _stop(proc)
                if proc.stdout is not None:
                    proc.stdout.close()


def run_tests(workspace: Path | str, plugins: Sequence[str] | None = None, *,
              select: Sequence[str] = (), pattern: str | None = None, coverage: bool = True,
              timeout: float = DEFAULT_TIMEOUT) -> Generator[Record, None, None]:
    """Run the tests of ``plugins`` (default: every plugin of ``workspace``) and yield
    records as they happen. ``select`` narrows the run to test node ids (relative to
    the workspace, e.g. ``counter/tests/test_counter.py::test_count``); ``pattern`` is
    pytest's ``-k``; ``timeout`` is the longest a test (or startup) may go without a
    result. Raises UnknownPlugin for an id that is not in the workspace."""
    root = Path(workspace).resolve()
    targets = _targets(root, plugins)
    pending = []
    for target in targets:
        if select and not any(_owner(root, s, [target]) for s in select):
            continue  # none of its tests is selected: not part of this run
        has_tests = target.tests_dir.is_dir()
        if has_tests:
            pending.append(target)
            continue
        yield PluginStarted(plugin=target.id, tests_dir=str(target.tests_dir))
        yield PluginSummary(plugin=target.id, message=None if has_tests else
                            f"no tests: {target.tests_dir} does not exist")
    while pending:
        child = _ChildRun(root, pending, select, pattern, coverage, timeout)
        yield from child
        left = [t for t in pending if t.id not in child.finished]
        if len(left) == len(pending):  # the child made no progress: do not loop on it
            crashed, why = child.failure or (True, "the test process ended early")
            for target in left:
                yield PluginStarted(plugin=target.id, tests_dir=str(target.tests_dir))
                yield PluginSummary(plugin=target.id, crashed=crashed, timed_out=not crashed,
                                    message=f"no test ran: {why}")
            return
        pending = left


def _ranges(lines: list[int]) -> str:
    """``[3, 4, 5, 9]`` as ``3-5, 9``."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].split("-")[-1] == str(line - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{line}"
        else:
            out.append(str(line))
    return ", ".join(out)


def format_record(record: Record, workspace: Path) -> list[str]:
    """Human-readable lines for one record (what ``test`` prints without ``--json``)."""
    if isinstance(record, PluginStarted):
        return [f"{record.plugin}: {record.tests_dir}"]
    if isinstance(record, TestResult):
        line = f"  {record.outcome.upper():<7} {record.nodeid} ({record.duration:.2f} s)"
        if record.outcome in (TestOutcome.FAILED, TestOutcome.ERROR) and record.message:
            last = record.message.strip().splitlines()[-1]
            where = f"{record.location}: " if record.location else ""
            return [line, f"          {where}{last}"]
        if record.outcome == TestOutcome.SKIPPED and record.message:
            return [f"{line}: {record.message}"]
        return [line]
    counts = (f"{record.passed} passed, {record.failed} failed, {record.skipped} skipped, "
              f"{record.errors} errors in {record.duration:.2f} s")
    cov = "" if record.coverage is None else f"; coverage {record.coverage:.1f} %"
    lines = [f"{record.plugin}: {counts}{cov}" if record.total else
             f"{record.plugin}: no tests ran{cov}"]
    if record.crashed or record.timed_out or (record.message and not record.total):
        lines.append(f"  {'CRASHED: ' if record.crashed else ''}{record.message}")
    for path, info in record.files.items():
        if info["missing"]:
            shown = os.path.relpath(path, workspace)
            lines.append(f"  {shown}: {info['coverage']:.0f} %, not run: "
                         f"{_ranges(info['missing'])}")
    return lines


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``test`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "test", help="run plugins' tests with coverage, streaming results",
        description="Run each plugin's tests/ with pytest and coverage.py in a child "
                    "process. Exit 1 if a test failed or errored, or the run crashed or "
                    "timed out; 2 for an unknown plugin.")
    parser.add_argument("workspace", type=directory)
    parser.add_argument("plugins", nargs="*", metavar="PLUGIN", help="plugin ids (default: all)")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN",
                        help="only tests matching this pytest -k expression")
    parser.add_argument("--select", action="append", default=[], metavar="NODEID",
                        help="only this test, by pytest node id relative to the workspace "
                             "(e.g. counter/tests/test_counter.py::test_count); repeatable")
    parser.add_argument("--json", action="store_true",
                        help="print records as JSON lines (test, plugin_started, summary)")
    parser.add_argument("--no-coverage", dest="coverage", action="store_false",
                        help="do not measure coverage (faster)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"stop a test that runs longer than S seconds "
                             f"(default {DEFAULT_TIMEOUT:g})")
    parser.set_defaults(func=cmd_test)


def cmd_test(args: argparse.Namespace) -> int:
    """Run the tests and print records as they arrive; the exit code."""
    failed = False
    records = run_tests(args.workspace, args.plugins, select=args.select,
                        pattern=args.pattern, coverage=args.coverage, timeout=args.timeout)
    with closing(records):  # stops the test process however this loop ends
        try:
            for record in records:
                if isinstance(record, PluginSummary) and not record.ok:
                    failed = True
                print(json.dumps(record.to_json()) if args.json else
                      "\n".join(format_record(record, args.workspace)), flush=True)
        except UnknownPlugin as exc:
            print(f"test: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # e.g. piped into `head`: stop quietly
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    return 1 if failed else 0
