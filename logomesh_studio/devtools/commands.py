"""``logomesh-studio profile``: sample the runtime thread while a workspace runs.

    logomesh-studio profile WORKSPACE --plugin ID [--duration S] [-o OUT.speedscope.json]
                            [--send TYPE [--payload JSON]] [--json]

With ``--send`` the command keeps sending ``TYPE`` to the plugin for the whole
duration (a load generator); without it the workspace runs on its own. The
profile covers the whole runtime thread (so callers stay visible); the summary
focuses on the chosen plugin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from logomesh_studio._argtypes import directory
from logomesh_studio.devtools.profiler import Profile, record_thread
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.sdk import PluginError
from logomesh_studio.testing import DRIVER

NAMES = ("profile",)
"""The subcommands :func:`register` adds."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``profile`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser("profile", help="profile a plugin headless (speedscope output)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=directory)
    parser.add_argument("--plugin", required=True, metavar="ID", help="the plugin to focus on")
    parser.add_argument("--duration", type=float, default=5.0, metavar="S",
                        help="seconds to sample (default 5)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the profile as speedscope JSON (default: ID.speedscope.json)")
    parser.add_argument("--send", metavar="TYPE", help="keep sending this message type to the "
                        "plugin while sampling")
    parser.add_argument("--payload", metavar="JSON", default="null",
                        help="payload of the --send messages (default: null)")
    parser.add_argument("--interval", type=float, default=0.001, metavar="S",
                        help="sampling interval (default 0.001)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=cmd_profile)


async def _drive(runtime: RuntimeThread, target: str, type: str, payload: Any,
                 stop: asyncio.Event) -> dict[str, int]:
    counts = {"sent": 0, "errors": 0}
    bus = runtime.host.bus
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        # Yield to the loop only every ~20 ms: each pass through the loop's select()
        # releases the GIL, and a GIL-bound sampler would then catch the thread there.
        until = loop.time() + 0.02
        while loop.time() < until:
            try:
                await bus.send(DRIVER, target, type, payload)
            except PluginError:
                counts["errors"] += 1
            counts["sent"] += 1
        await asyncio.sleep(0)
    return counts


def summarise(profile: Profile, plugin_id: str, folder: str, top: int = 10) -> dict[str, Any]:
    """The figures the command prints: rate, the plugin's time and its hottest functions."""
    prefix = str(Path(folder).resolve())
    functions = [f for f in profile.functions() if f.file and f.file.startswith(prefix)]
    return {
        "duration_s": round(profile.duration, 3),
        "samples": len(profile.samples),
        "samples_per_s": round(profile.sample_rate, 1),
        "plugin_seconds": {k: round(v, 4) for k, v in profile.plugin_seconds().items()},
        "idle_seconds": round(profile.idle_seconds(), 4),
        "top_functions": [{"name": f.name, "file": f.file, "line": f.line,
                           "self_s": round(f.self_seconds, 4),
                           "total_s": round(f.total_seconds, 4)} for f in functions[:top]],
    }


def cmd_profile(args: argparse.Namespace) -> int:
    """Run the workspace, sample its runtime thread, write the speedscope file."""
    try:
        payload = json.loads(args.payload)
    except json.JSONDecodeError as exc:
        print(f"profile: --payload: invalid JSON: {exc}", file=sys.stderr)
        return 2
    runtime = RuntimeThread(args.workspace)
    runtime.host.bus.grant(DRIVER, [f"send:{args.plugin}"])
    runtime.start()
    try:
        info = {p.id: p for p in runtime.host.plugins()}.get(args.plugin)
        if info is None or info.status != "running":
            why = "is not in the workspace" if info is None else f"is {info.status}: {info.error}"
            print(f"profile: plugin {args.plugin!r} {why}", file=sys.stderr)
            return 2
        roots = {p.id: p.folder for p in runtime.host.plugins()}
        stop = asyncio.Event()
        driver = None
        if args.send:
            driver = runtime.submit(_drive(runtime, args.plugin, args.send, payload, stop))
        profile = record_thread(runtime.thread_id, args.duration, args.interval, roots,
                                name=f"{args.plugin} ({args.workspace})")
        runtime.call_soon(stop.set)
        load = driver.result(30) if driver is not None else None
    finally:
        runtime.stop()
    output = args.output or Path(f"{args.plugin}.speedscope.json")
    profile.save_speedscope(output)
    summary = {"plugin": args.plugin, "output": str(output), **summarise(
        profile, args.plugin, info.folder), **({"load": load} if load else {})}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        mine = summary["plugin_seconds"].get(args.plugin, 0.0)
        print(f"{summary['samples']} samples in {summary['duration_s']} s "
              f"({summary['samples_per_s']}/s); {args.plugin}: {mine:.3f} s; "
              f"idle {summary['idle_seconds']:.3f} s -> {output}")
        for f in summary["top_functions"]:
            print(f"  {f['self_s']:8.4f} s self {f['total_s']:8.4f} s total  {f['name']} "
                  f"({f['file']}:{f['line']})")
    return 0
