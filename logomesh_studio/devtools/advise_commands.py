"""``logomesh-studio metrics`` and ``advise``: run a workspace for a while, then report.

    logomesh-studio metrics WORKSPACE --for S [--json]   per-plugin and per-type figures
    logomesh-studio advise WORKSPACE --for S [--json]    the advisor's findings

Both run the workspace headless for S seconds with the metrics, the blocking watch and
the advisor attached (plugins that start work in ``initialize`` drive it) and exit 0.
"""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from logomesh_studio._argtypes import directory
from logomesh_studio.runtime.runner import RuntimeThread

from .advisor import Finding
from .insights import Insights
from .metrics import MetricsSnapshot

NAMES = ("metrics", "advise")
"""The subcommands :func:`register` adds."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``metrics`` and ``advise`` subcommands to the CLI's subparsers."""
    for name, func, what in (
            ("metrics", cmd_metrics, "print per-plugin performance metrics (calls, rate, "
             "errors, latency percentiles, bytes, loop time, CPU)"),
            ("advise", cmd_advise, "print the advisor's findings (blocking handlers, chatty "
             "pairs, large payloads, slow handlers, error rates, reload leaks, permissions)")):
        parser = subparsers.add_parser(
            name, help=f"run a workspace for a while, then {what}",
            description=f"Run WORKSPACE headless for --for seconds, then {what}. Plugins "
                        "that start work in initialize() drive the workspace.")
        parser.add_argument("workspace", type=directory)
        parser.add_argument("--for", dest="duration", type=float, default=5.0,
                            metavar="SECONDS", help="seconds to run (default 5)")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(func=func)


def _observe(args: argparse.Namespace) -> tuple[MetricsSnapshot, list[Finding]]:
    """Run the workspace for ``args.duration`` seconds; the metrics and the findings."""
    runtime = RuntimeThread(args.workspace)
    insights = Insights(runtime)  # before the load: initialize() may start the traffic
    try:
        runtime.start()
        insights.start()
        try:
            threading.Event().wait(max(args.duration, 0.0))
        except KeyboardInterrupt:
            pass
        active = insights

        async def read() -> tuple[MetricsSnapshot, list[Finding]]:
            return active.snapshot(), active.findings()

        return runtime.run(read())
    finally:
        insights.close()
        runtime.stop()


def cmd_metrics(args: argparse.Namespace) -> int:
    """Run the workspace, print its metrics."""
    snapshot, _ = _observe(args)
    if args.json:
        print(json.dumps(snapshot.to_json(), indent=2))
        return 0
    print(f"{'plugin':<24} {'calls':>7} {'rate/s':>8} {'errors':>6} {'p50':>9} {'p95':>9} "
          f"{'p99':>9} {'in B':>9} {'out B':>9} {'loop':>8} {'cpu':>5}")
    for p in snapshot.plugins:
        print(f"{p.plugin:<24} {p.calls:>7} {p.rate:>8.1f} {p.errors:>6} {_t(p.p50):>9} "
              f"{_t(p.p95):>9} {_t(p.p99):>9} {p.payload_bytes:>9} {p.response_bytes:>9} "
              f"{_t(p.held_s):>8} {p.cpu:>5.0%}")
        for t in p.types:
            print(f"  {t.type:<22} {t.calls:>7} {t.rate:>8.1f} {t.errors:>6} {_t(t.p50):>9} "
                  f"{_t(t.p95):>9} {_t(t.p99):>9} {t.payload_bytes:>9} {t.response_bytes:>9} "
                  f"{_t(t.held_s):>8}")
    print(f"{len(snapshot.plugins)} plugins over {snapshot.elapsed:.1f} s")
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    """Run the workspace, print the findings (exit 0 whatever was found)."""
    _, findings = _observe(args)
    if args.json:
        print(json.dumps([f.to_json() for f in findings], indent=2))
        return 0
    for finding in findings:
        print(format_finding(finding))
    print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}")
    return 0


def format_finding(finding: Finding | dict[str, Any]) -> str:
    """A finding as a few readable lines."""
    f = Finding.from_json(finding) if isinstance(finding, dict) else finding
    head = f"{f.severity.upper():<7} {f.kind} [{f.plugin}" + (f" -> {f.peer}" if f.peer else "") \
        + (f" {f.type}" if f.type else "") + "]"
    lines = [head, f"        {f.evidence}"]
    if f.location:
        lines.append(f"        at {f.location}")
    lines.append(f"        fix: {f.suggestion}")
    return "\n".join(lines)


def _t(seconds: float) -> str:
    if seconds <= 0:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1e6:.0f} us"
