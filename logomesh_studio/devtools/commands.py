"""Developer commands on a running workspace: ``logomesh-studio send`` and ``profile``.

    logomesh-studio send WORKSPACE TARGET TYPE [PAYLOAD] [--as PLUGIN] [--json]
    logomesh-studio profile WORKSPACE --plugin ID [--duration S] [-o OUT.speedscope.json]
                            [--send TYPE [--payload JSON]] [--json]

``send`` loads the workspace, sends one message (as the developer, who may message any
plugin, or ``--as`` a plugin with that plugin's permissions), prints the response and
exits 0, or prints the error and exits 1.

``profile`` samples the runtime thread while the workspace runs, optionally under a
load of ``--send`` messages, and writes speedscope JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from logomesh_studio._argtypes import directory
from logomesh_studio.devtools.profiler import Profile, record_thread
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.sdk import NoHandler, PermissionDenied, PluginError, PluginNotFound

_PROFILE_HELP = (
    "Sample the runtime thread while WORKSPACE runs. With --send the command keeps sending "
    "TYPE to the plugin for the whole duration (a load generator); without it the workspace "
    "runs on its own. The profile covers the whole runtime thread (so callers stay visible); "
    "the summary focuses on the chosen plugin.")

NAMES = ("send", "profile")
"""The subcommands :func:`register` adds."""

_STOP_DRIVING = (NoHandler, PluginNotFound, PermissionDenied)
"""Errors that every further message of a load run would repeat."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``send`` and ``profile`` subcommands to the CLI's subparsers."""
    send = subparsers.add_parser(
        "send", help="send one message to a plugin and print the response",
        description="Load WORKSPACE, send TYPE with PAYLOAD to TARGET once, print the "
                    "response (exit 0) or the error (exit 1).")
    send.add_argument("workspace", type=directory)
    send.add_argument("target", help="the id of the plugin to send to")
    send.add_argument("type", help="the message type (one the target handles)")
    send.add_argument("payload", nargs="?", default="null",
                      help="the payload as JSON (default: null)")
    send.add_argument("--as", dest="sender", metavar="PLUGIN",
                      help="send as this plugin, with its permissions (default: the "
                           "developer, who may send anything)")
    send.add_argument("--timeout", type=float, metavar="S",
                      help="seconds to wait for an async handler (default 30)")
    send.add_argument("--json", action="store_true",
                      help='print {"ok": ..., "response" or "error": ...} as JSON')
    send.set_defaults(func=cmd_send)
    parser = subparsers.add_parser("profile", help="profile a plugin headless (speedscope output)",
                                   description=_PROFILE_HELP)
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


def _not_running(runtime: RuntimeThread, plugin_id: str) -> str | None:
    """Why ``plugin_id`` cannot take part in a command, or None when it is running."""
    plugins = {p.id: p for p in runtime.host.plugins()}
    info = plugins.get(plugin_id)
    if info is None:
        close = difflib.get_close_matches(plugin_id, list(plugins), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"plugin {plugin_id!r} is not in the workspace{hint}"
    if info.status != PluginStatus.RUNNING:
        return f"plugin {plugin_id!r} is {info.status}: {info.error}"
    return None


def _prepare(command: str, name: str, text: str, workspace: Path,
             target: str) -> tuple[Any, RuntimeThread] | None:
    """The JSON argument ``name`` parsed from ``text``, and a (not yet started) runtime of
    ``workspace`` in which the developer may send to ``target``; None once the error in
    the argument has been printed."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"{command}: {name}: invalid JSON: {exc}", file=sys.stderr)
        return None
    runtime = RuntimeThread(workspace)
    runtime.host.bus.grant(DEVELOPER, [f"send:{target}"])
    return payload, runtime


def cmd_send(args: argparse.Namespace) -> int:
    """Load the workspace, send one message, print the response or the error."""
    prepared = _prepare("send", "PAYLOAD", args.payload, args.workspace, args.target)
    if prepared is None:
        return 2
    payload, runtime = prepared
    try:
        runtime.start()
        why = _not_running(runtime, args.target)
        if why is None and args.sender is not None:
            why = _not_running(runtime, args.sender)
            why = why and f"--as: {why}"
        if why is not None:
            return _print_sent(args, error=why)
        try:
            response = runtime.run(runtime.host.bus.send(
                args.sender or DEVELOPER, args.target, args.type, payload, args.timeout), None)
        except PluginError as exc:
            return _print_sent(args, error=f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return 130
    finally:
        runtime.stop()
    return _print_sent(args, response=response)


def _print_sent(args: argparse.Namespace, response: Any = None, error: str | None = None) -> int:
    """Print a ``send`` outcome (stdout for the response, stderr for an error)."""
    if args.json:
        print(json.dumps({"ok": False, "error": error} if error is not None
                         else {"ok": True, "response": response}, indent=2))
    elif error is not None:
        print(f"send: {error}", file=sys.stderr)
    else:
        print(json.dumps(response, indent=2, ensure_ascii=False))
    return 1 if error is not None else 0


async def _drive(runtime: RuntimeThread, target: str, message_type: str, payload: Any,
                 stop: asyncio.Event) -> dict[str, Any]:
    """Send ``message_type`` to ``target`` until ``stop``; an error every further send would
    repeat (no handler, plugin gone, refused) ends the load early, as ``"stopped"``."""
    counts: dict[str, Any] = {"sent": 0, "errors": 0}
    bus = runtime.host.bus
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        # Yield to the loop only every ~20 ms: each pass through the loop's select()
        # releases the GIL, and a GIL-bound sampler would then catch the thread there.
        until = loop.time() + 0.02
        while loop.time() < until:
            counts["sent"] += 1
            try:
                await bus.send(DEVELOPER, target, message_type, payload)
            except _STOP_DRIVING as exc:
                counts["errors"] += 1
                counts["stopped"] = f"{type(exc).__name__}: {exc}"
                return counts
            except PluginError:
                counts["errors"] += 1
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
    prepared = _prepare("profile", "--payload", args.payload, args.workspace, args.plugin)
    if prepared is None:
        return 2
    payload, runtime = prepared
    runtime.start()
    try:
        why = _not_running(runtime, args.plugin)
        if why is not None:
            print(f"profile: {why}", file=sys.stderr)
            return 2
        info = runtime.host.plugin(args.plugin)
        if args.send and args.send not in info.handles:
            print(f"profile: --send: {args.plugin} has no handler for {args.send!r} "
                  f"(it handles: {', '.join(info.handles) or 'nothing'})", file=sys.stderr)
            return 2
        roots = {p.id: p.folder for p in runtime.host.plugins()}
        stop = asyncio.Event()
        driver = None
        if args.send:
            driver = runtime.submit(_drive(runtime, args.plugin, args.send, payload, stop))
        isolated = runtime.submit(runtime.host.isolation.record_profiles(args.duration,
                                                                         args.interval))
        profile = record_thread(runtime.thread_id, args.duration, args.interval, roots,
                                name=f"{args.plugin} ({args.workspace})")
        profile = profile.with_processes(isolated.result(args.duration + 30))
        runtime.call_soon(stop.set)
        load = driver.result(30) if driver is not None else None
    finally:
        runtime.stop()
    if load and "stopped" in load:
        print(f"profile: --send stopped after {load['sent']} message(s): {load['stopped']}",
              file=sys.stderr)
        return 1
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
