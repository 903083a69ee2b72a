"""logomesh-studio: the Studio window by default, plus headless subcommands.

    logomesh-studio [WORKSPACE] [--headless]    open WORKSPACE (default: the bundled examples)
    logomesh-studio check WORKSPACE [--json]    validate manifests and dependencies
    logomesh-studio run WORKSPACE [--json] [--for SECONDS] [--watch]
                                                run headless, printing events
    logomesh-studio orchestrate FILE --workspace DIR [--input JSON] [--json]
    logomesh-studio orchestrate --resume RUN_ID --workspace DIR
    logomesh-studio runs WORKSPACE              orchestration run history
    logomesh-studio profile WORKSPACE --plugin ID [--duration S] [-o FILE]
                                                sample the runtime as speedscope JSON
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from logomesh_studio._argtypes import directory

if TYPE_CHECKING:
    from logomesh_studio.runtime.events import Event

# Subcommands and the modules that register them. They are imported only when used,
# so that opening the Studio window does not pay for the headless tools.
EXTRA_COMMANDS = {"orchestrate": "logomesh_studio.orchestration.commands",
                  "runs": "logomesh_studio.orchestration.commands",
                  "profile": "logomesh_studio.devtools.commands"}
SUBCOMMANDS = ("check", "run", *EXTRA_COMMANDS)


def default_workspace() -> Path:
    """The example workspace shipped beside the package (``plugins/``)."""
    return Path(__file__).resolve().parent.parent / "plugins"


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
    if kind == "watching":
        return f"watching  {e['workspace']}"
    if kind == "log":
        return f"log       [{e['plugin_id']}] {e['level']}: {e['message']}"
    if kind == "message":
        tail = f" {e['error']}" if e["error"] else ""
        return (f"message   {e['source']} -> {e['target']} {e['type']} {e['outcome']} "
                f"({e['duration'] * 1e6:.0f} us){tail}")
    fields = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "time"))
    return f"{kind:<9} {fields}"


def cmd_check(args: argparse.Namespace) -> int:
    from logomesh_studio.runtime.discovery import discover
    from logomesh_studio.runtime.resolver import resolve

    found = discover(args.workspace)
    resolution = resolve(found.plugins)
    problems = found.problems + list(resolution.failed.values())
    if args.json:
        print(json.dumps({
            "ok": not problems,
            "plugins": [{"id": s.id, "version": s.manifest.version, "folder": str(s.folder),
                         "status": "error" if s.id in resolution.failed else "ok"}
                        for s in found.plugins],
            "order": resolution.order,
            "problems": [p.to_json() for p in problems],
        }, indent=2))
    else:
        for problem in problems:
            print(problem)
        print(f"{len(found.plugins)} plugins, {len(resolution.order)} loadable, "
              f"{len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    from logomesh_studio.runtime.runner import RuntimeThread

    lock = threading.Lock()

    def show(event: Event) -> None:
        line = json.dumps(event.to_json()) if args.json else format_event(event)
        with lock:
            try:
                print(line, flush=True)
            except BrokenPipeError:  # e.g. piped into `head`: stop printing quietly
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115

    runtime = RuntimeThread(args.workspace)
    runtime.events.subscribe(show)
    done = threading.Event()
    try:
        runtime.start()
        if args.once:
            return 0
        if args.watch:
            runtime.run(runtime.host.watch())
        done.wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logomesh-studio", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate every manifest and the dependency graph")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logomesh-studio`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = _parser().parse_args(argv)
        return int(args.func(args))
    args = _default_parser().parse_args(argv)
    workspace = args.workspace or default_workspace()
    if args.headless:
        return cmd_run(argparse.Namespace(workspace=workspace, json=False, duration=None,
                                          once=True, watch=False))
    from logomesh_studio.studio.app import main as studio_main

    return studio_main(workspace)


if __name__ == "__main__":
    raise SystemExit(main())
