"""logomesh-studio: the Studio window by default, plus headless subcommands.

    logomesh-studio [WORKSPACE] [--headless]    open WORKSPACE (default: the bundled examples)
    logomesh-studio check WORKSPACE [--json]    validate manifests, dependencies and imports
    logomesh-studio run WORKSPACE [--json] [--for SECONDS] [--watch [--allow-permission-changes]]
                        [--dap PORT]            run headless, printing events (--dap: serve
                                                the debugger to VS Code or any DAP client)
    logomesh-studio send WORKSPACE TARGET TYPE [PAYLOAD] [--as PLUGIN] [--json]
                                                send one message, print the response
    logomesh-studio orchestrate FILE [--workspace DIR] [--input JSON] [--json]
    logomesh-studio orchestrate --resume RUN_ID --workspace DIR
    logomesh-studio runs WORKSPACE              orchestration run history
    logomesh-studio profile WORKSPACE --plugin ID [--duration S] [-o FILE]
                                                sample the runtime as speedscope JSON
    logomesh-studio new TEMPLATE NAME [--dir DIR] [--capability NAME]
                                                create a plugin (basic, service, ui, workflow)
    logomesh-studio test WORKSPACE [PLUGIN...] [-k PATTERN] [--json] [--no-coverage]
                                                run plugins' tests with coverage
    logomesh-studio testgen WORKSPACE PLUGIN --from RECORDING [-o FILE]
                                                regression tests from "run --json" traffic
    logomesh-studio metrics WORKSPACE --for S [--json]
                                                per-plugin performance metrics
    logomesh-studio advise WORKSPACE --for S [--json]
                                                findings: what slows plugins down, and the fix
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logomesh_studio._argtypes import directory
from logomesh_studio.examples import example_workspace
from logomesh_studio.runtime.isolation import CHILD_COMMAND

if TYPE_CHECKING:
    from logomesh_studio.devtools.dap import DapServer
    from logomesh_studio.runtime.events import Event
    from logomesh_studio.runtime.runner import RuntimeThread

# Subcommands and the modules that register them. They are imported only when used,
# so that opening the Studio window does not pay for the headless tools.
EXTRA_COMMANDS = {"orchestrate": "logomesh_studio.orchestration.commands",
                  "runs": "logomesh_studio.orchestration.commands",
                  "profile": "logomesh_studio.devtools.commands",
                  "send": "logomesh_studio.devtools.commands",
                  "new": "logomesh_studio.devtools.scaffold",
                  "test": "logomesh_studio.devtools.testrun",
                  "testgen": "logomesh_studio.devtools.testgen",
                  "metrics": "logomesh_studio.devtools.advise_commands",
                  "advise": "logomesh_studio.devtools.advise_commands"}
SUBCOMMANDS = ("check", "run", *EXTRA_COMMANDS)
"""The subcommands ``main`` dispatches without building every subparser first."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM interrupts the main thread as Ctrl+C does (KeyboardInterrupt),
    so a ``kill`` or a service manager stops plugins with their ``cleanup()``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def format_event(event: Event) -> str:
    """One human-readable line for a runtime event."""
    e = event.to_json()
    kind = e["event"]
    if kind == "plugin_loaded":
        return f"loaded    {e['plugin_id']} {e['version']} ({e['seconds'] * 1000:.1f} ms)"
    if kind == "plugin_failed":
        return f"FAILED    {e['plugin_id']}: {e['stage']}: {e['error']}"
    if kind == "plugin_stopped":
        return f"stopped   {e['plugin_id']} ({e['reason']})"
    if kind == "manifest_invalid":
        return f"invalid   {e['path']}: {e['field']}: {e['reason']}"
    if kind == "workspace_loaded":
        return (f"workspace {e['workspace']}: {len(e['running'])} running, "
                f"{len(e['failed'])} failed ({e['seconds'] * 1000:.0f} ms)")
    if kind == "reload_completed":
        t = e["timings"]
        return (f"reloaded  {e['plugin_id']} {e['version']} in {t['total'] * 1000:.1f} ms "
                f"(import {t['import'] * 1000:.1f} ms, init {t['init'] * 1000:.1f} ms) "
                f"<- {e['cause']}")
    if kind == "reload_failed":
        return f"RELOAD FAILED {e['plugin_id']}: {e['stage']}: {e['error']} (old version kept)"
    if kind == "reload_started":
        return f"reloading {e['plugin_id']} <- {e['cause']}"
    if kind == "permissions_changed":
        return _permissions_line(e)
    if kind == "watching":
        return f"watching  {e['workspace']}"
    if kind == "log":
        return f"log       [{e['plugin_id']}] {e['level']}: {e['message']}"
    if kind == "advice":
        from logomesh_studio.devtools.advise_commands import format_finding

        return "\n".join(f"advice    {format_finding(f)}" for f in e["findings"])
    if kind == "message":
        tail = f" {e['error']}" if e["error"] else ""
        return (f"message   {e['source']} -> {e['target']} {e['type']} {e['outcome']} "
                f"({e['duration'] * 1e6:.0f} us){tail}")
    fields = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "time"))
    return f"{kind:<9} {fields}"


def _permissions_line(e: dict[str, Any]) -> str:
    change = " ".join([*(f"+{p}" for p in e["added"]), *(f"-{p}" for p in e["removed"])])
    line = f"permissions {e['plugin_id']}: {e['status']} {change}".rstrip()
    if e["status"] == "refused":
        line += (f" (refused: {', '.join(e['widened'])}; restart with "
                 "--allow-permission-changes to apply permissions a reload widens)")
    return line


def cmd_check(args: argparse.Namespace) -> int:
    """Validate every manifest, the dependency graph and every entry's import; exit 1 on
    any problem. Imports run in a child process (a plugin's import side effects stay there)."""
    from logomesh_studio.runtime.discovery import discover
    from logomesh_studio.runtime.import_check import ImportCheckError, check_imports
    from logomesh_studio.runtime.imports import module_problems
    from logomesh_studio.runtime.resolver import resolve

    found = discover(args.workspace)
    unavailable = found.unavailable()
    resolution = resolve(found.plugins, unavailable)
    # Module clashes are found without importing; a plugin with one would fail to import
    # the same way, so only the others are imported (in load order, as the runtime does).
    clashes = module_problems(found.plugins)
    clashing = {s.id: p for s in found.plugins for p in clashes
                if Path(p.path).is_relative_to(s.import_root)}
    position = {pid: i for i, pid in enumerate(resolution.order)}
    try:
        import_failed = check_imports(sorted(
            (s for s in found.plugins if s.id not in clashing),
            key=lambda s: (position.get(s.id, len(position)), s.id)))
    except ImportCheckError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    if import_failed or clashing:  # their dependents cannot start either: say so
        resolution = resolve(found.plugins, unavailable, {**clashing, **import_failed})
    # Grouped by file, each file's problems in the order found.
    problems = sorted([*found.problems, *clashes, *import_failed.values(),
                       *resolution.problems], key=lambda p: p.path)
    failing = set(clashing) | set(import_failed) | set(resolution.failed)
    valid_manifests = {str(s.manifest_path) for s in found.plugins}
    invalid = {p.path for p in found.problems} - valid_manifests
    summary = {"found": len(found.plugins) + len(invalid), "loadable": len(resolution.order),
               "with_problems": len(failing) + len(invalid)}
    isolated = [s for s in found.plugins if s.manifest.isolation == "process"]
    protections = {}
    if isolated:
        from logomesh_studio.runtime.isolation import sandbox

        protections = sandbox.probe()
    if args.json:
        print(json.dumps({
            "ok": not problems,
            **summary,
            "plugins": [{"id": s.id, "version": s.manifest.version, "folder": str(s.folder),
                         "status": "error" if s.id in failing else "ok",
                         "isolation": s.manifest.isolation,
                         **({"sandbox": protections} if s in isolated else {})}
                        for s in found.plugins],
            "order": resolution.order,
            "problems": [p.to_json() for p in problems],
        }, indent=2))
    else:
        for problem in problems:
            print(problem)
        for source in isolated:
            print(f"{source.manifest_path}: isolation: {sandbox.describe(protections)}")
        print(f"{summary['found']} plugins found, {summary['loadable']} loadable, "
              f"{summary['with_problems']} with problems", file=sys.stderr)
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the workspace until ``--for`` ends or Ctrl+C/SIGTERM; exit 1 if a plugin
    (or a plugin folder's manifest) failed at startup."""
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.events import ManifestInvalid, WorkspaceLoaded
    from logomesh_studio.runtime.runner import RuntimeThread

    lock = threading.Lock()
    not_started: list[str] = []  # plugin ids and manifest paths, until the workspace loaded
    loaded = threading.Event()

    def show(event: Event) -> None:
        if not loaded.is_set():
            if isinstance(event, ManifestInvalid) and event.path not in not_started:
                not_started.append(event.path)
            elif isinstance(event, WorkspaceLoaded):
                not_started.extend(event.failed)
                loaded.set()
        line = json.dumps(event.to_json()) if args.json else format_event(event)
        with lock:
            try:
                print(line, flush=True)
            except BrokenPipeError:  # e.g. piped into `head`: stop printing quietly
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115

    policy = "allow" if getattr(args, "allow_permission_changes", False) else "refuse"
    runtime = RuntimeThread(args.workspace, RuntimeConfig(permission_changes=policy))
    runtime.events.subscribe(show)
    done = threading.Event()
    insights = None
    if not args.once:
        from logomesh_studio.devtools.insights import Insights

        insights = Insights(runtime)  # findings print as "advice" events
    server = None
    with stop_on_sigterm():
        try:
            runtime.start()
            if insights is not None:
                insights.start()
            if getattr(args, "dap", None) is not None:
                server = _serve_dap(runtime, args.dap)
            if not args.once:
                if args.watch:
                    runtime.run(runtime.host.watch())
                done.wait(args.duration)
        except KeyboardInterrupt:
            pass
        finally:
            if server is not None:
                server.close()
            if insights is not None:
                insights.close()
            runtime.stop()
    if not_started:
        print(f"run: {len(not_started)} plugin(s) did not start: {', '.join(not_started)}",
              file=sys.stderr)
        return 1
    return 0


def _serve_dap(runtime: RuntimeThread, port: int) -> DapServer:
    """Serve the Debug Adapter Protocol for the runtime's plugins on 127.0.0.1:``port``."""
    from logomesh_studio.devtools.dap import DapServer
    from logomesh_studio.devtools.debug_target import RuntimeTarget

    server = DapServer(RuntimeTarget(runtime), port=port)
    try:
        host, bound = server.start()
    except OSError as exc:
        raise SystemExit(f"run: --dap {port}: cannot listen on 127.0.0.1:{port}: {exc}") from None
    print(f"run: debug adapter (DAP) listening on {host}:{bound}", file=sys.stderr, flush=True)
    for info in runtime.host.plugins():  # each isolated plugin is debugged in its process
        if info.isolation == "process" and info.pid:
            where = runtime.run(runtime.host.isolation.debug_address(info.id))
            print(f"run: debug adapter (DAP) of isolated plugin {info.id} listening on "
                  f"{where[0]}:{where[1]}", file=sys.stderr, flush=True)
    return server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logomesh-studio", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate every manifest, the dependency graph and "
                           "every entry's import (in a child process)")
    check.add_argument("workspace", type=directory)
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(func=cmd_check)
    run = sub.add_parser("run", help="run a workspace headless and print events")
    run.add_argument("workspace", type=directory)
    run.add_argument("--json", action="store_true", help="print events as JSON lines")
    run.add_argument("--for", dest="duration", type=float, default=None, metavar="SECONDS",
                     help="stop after SECONDS (default: until Ctrl+C)")
    run.add_argument("--watch", action="store_true",
                     help="hot-reload plugins when their files change")
    run.add_argument("--allow-permission-changes", action="store_true",
                     help="with --watch, apply permissions a reloaded manifest adds (by "
                          "default a reload may only narrow a plugin's permissions)")
    run.add_argument("--dap", type=int, default=None, metavar="PORT",
                     help="serve the debugger over the Debug Adapter Protocol on "
                          "127.0.0.1:PORT (0: any free port) for VS Code to attach")
    run.set_defaults(func=cmd_run, once=False)
    for module in dict.fromkeys(EXTRA_COMMANDS.values()):
        importlib.import_module(module).register(sub)
    return parser


def _default_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logomesh-studio", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"subcommands: {', '.join(SUBCOMMANDS)} (see logomesh-studio SUBCOMMAND --help)")
    parser.add_argument("workspace", nargs="?", type=directory,
                        help="plugin workspace folder (default: the bundled examples)")
    parser.add_argument("--headless", action="store_true",
                        help="load the workspace without a window, print what loaded, exit")
    return parser


def _subcommand_names(parser: argparse.ArgumentParser) -> list[str]:
    """Every subcommand registered on ``parser`` (aliases included)."""
    return [name for action in parser._actions
            if isinstance(action, argparse._SubParsersAction) for name in action.choices]


def _not_a_command(word: str, commands: list[str]) -> str:
    """The error for a first argument that is neither a folder nor a subcommand."""
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{word!r} is not a command or a folder{hint} (commands: {', '.join(commands)})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logomesh-studio`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == CHILD_COMMAND:  # an isolated plugin's process (hidden)
        from logomesh_studio.runtime.isolation.child import child_main

        return child_main(argv[1:])
    if argv and argv[0] in SUBCOMMANDS:
        args = _parser().parse_args(argv)
        return int(args.func(args))
    first = argv[0] if argv else ""
    # A bare word that names no folder was meant as a subcommand (`logomesh-studio chek ws`).
    if first and not first.startswith("-") and os.sep not in first and "/" not in first \
            and not Path(first).exists():
        parser = _parser()
        commands = _subcommand_names(parser)
        if first in commands:
            args = parser.parse_args(argv)
            return int(args.func(args))
        _default_parser().error(_not_a_command(first, commands))
    args = _default_parser().parse_args(argv)
    workspace = args.workspace or example_workspace()
    if args.headless:
        return cmd_run(argparse.Namespace(workspace=workspace, json=False, duration=None,
                                          once=True, watch=False))
    from logomesh_studio.studio.app import main as studio_main

    return studio_main(workspace)


if __name__ == "__main__":
    raise SystemExit(main())
