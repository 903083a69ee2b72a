"""What do the metrics and the advisor cost, and how fast do they notice? JSON lines.

- ``roundtrip``: ``ctx.send`` to a sync handler on a running workspace (a RuntimeThread
  with a queueing subscriber, as in Studio), p50 with metrics + blocking watch + advisor
  attached against the same workspace without them; rounds alternate off/on and the
  medians are compared. Goal: on / off <= 1.10. The metrics count messages in batches
  off the message path; ``drain_per_message`` is what that counting costs per message.
- ``blocking_detection``: a handler that holds the loop for 300 ms; the time from its
  first line to the blocking watch naming its plugin and line. Goal <= 100 ms (the
  threshold itself, 50 ms, is the floor: a shorter hold is not a block).
- ``findings_1000``: evaluating every rule on a 1,000-plugin workspace that carried
  traffic between 1,000 pairs; baseline: taking the metrics snapshot alone.
  Goal <= 50 ms.

    python bench/advisor.py [--requests N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from _workspace import QUIET, emit, write_plugin

from logomesh_studio.devtools.insights import Insights
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.runner import RuntimeThread

GOALS = {"ratio": 1.10, "detect_ms": 100.0, "findings_ms": 50.0}
PAYLOAD = {"id": 7, "text": "the quick brown fox", "tags": ["a", "b"]}

SERVER = '''
import time
from logomesh_studio.sdk import Plugin, handler

STARTED = []


class Server(Plugin):
    @handler("echo")
    def echo(self, message):
        return message.payload

    @handler("hold")
    def hold(self, message):
        STARTED.append(time.perf_counter())
        end = time.perf_counter() + message.payload
        while time.perf_counter() < end:
            pass
        return "held"
'''

PEER = '''
from logomesh_studio.sdk import Plugin, handler


class Peer(Plugin):
    @handler("tick")
    def tick(self, message):
        return message.payload
'''


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start(root: Path) -> tuple[RuntimeThread, deque[Any]]:
    runtime = RuntimeThread(root, RuntimeConfig(entry_points=False))
    inspector: deque[Any] = deque(maxlen=10_000)  # a front end queueing every event
    runtime.events.subscribe(inspector.append)
    runtime.start()
    return runtime, inspector


def p50_roundtrip(runtime: RuntimeThread, requests: int,
                  insights: Insights | None = None) -> tuple[float, tuple[int, float]]:
    """The p50 of ``requests`` round trips, and (with ``insights``) how many events the
    metrics then counted in one drain and the thread CPU seconds that took."""
    client = runtime.host.instance("client")
    assert client is not None and client.ctx is not None
    ctx = client.ctx

    async def measure() -> tuple[float, tuple[int, float]]:
        for _ in range(requests // 10):
            await ctx.send("server", "echo", PAYLOAD)
        if insights is not None:
            insights.metrics.drain()
        clock = time.perf_counter
        times = []
        for _ in range(requests):
            began = clock()
            await ctx.send("server", "echo", PAYLOAD)
            times.append(clock() - began)
        drained = (0, 0.0)
        if insights is not None:  # a sync handler never yields: all are still queued
            began = time.thread_time()
            drained = (insights.metrics.drain(), time.thread_time() - began)
        return percentile(times, 0.5), drained

    return runtime.run(measure(), None)


def roundtrip(root: Path, requests: int, rounds: int) -> None:
    runtime, _ = start(root)
    off: list[float] = []
    on: list[float] = []
    drains: list[tuple[int, float]] = []
    try:
        for _ in range(rounds):
            off.append(p50_roundtrip(runtime, requests)[0])
            insights = Insights(runtime).start()
            try:
                p50, drained = p50_roundtrip(runtime, requests, insights)
                on.append(p50)
                drains.append(drained)
            finally:
                insights.close()
    finally:
        runtime.stop()
    base, with_insights = statistics.median(off), statistics.median(on)
    emit("advisor", "roundtrip_off", p50_us=round(base * 1e6, 2),
         rounds=[round(v * 1e6, 2) for v in off], requests=requests)
    emit("advisor", "roundtrip_on", p50_us=round(with_insights * 1e6, 2),
         rounds=[round(v * 1e6, 2) for v in on], requests=requests)
    ratio = with_insights / base
    emit("advisor", "roundtrip_ratio", ratio=round(ratio, 3), goal=GOALS["ratio"],
         ok=ratio <= GOALS["ratio"])
    # The counting itself is batched off the message path: what it costs per message.
    per_event = statistics.median(seconds / count for count, seconds in drains if count)
    emit("advisor", "drain_per_message", us=round(per_event * 1e6, 2),
         of_roundtrip_off=round(per_event / base, 3))


def blocking_detection(root: Path, holds: int) -> None:
    runtime, _ = start(root)
    detected: list[float] = []
    seen = threading.Event()

    def on_detect(plugin: str, frame: Any, since_beat: float) -> None:
        if plugin == "server":
            detected.append(time.perf_counter())
            seen.set()

    insights = Insights(runtime, on_detect=on_detect).start()
    latencies = []
    try:
        server = runtime.host.instance("server")
        started: list[float] = sys.modules[type(server).__module__].STARTED
        client = runtime.host.instance("client")
        assert client is not None and client.ctx is not None
        for _ in range(holds):
            seen.clear()
            runtime.run(client.ctx.send("server", "hold", 0.3))
            assert seen.is_set(), "the blocking watch missed a 300 ms hold"
            latencies.append(detected[-1] - started[-1])
            runtime.run(asyncio.sleep(0.05))  # the loop beats between holds
    finally:
        insights.close()
        runtime.stop()
    emit("advisor", "blocking_detection", p50_ms=round(percentile(latencies, 0.5) * 1000, 1),
         max_ms=round(max(latencies) * 1000, 1), holds=holds,
         threshold_ms=insights.settings.blocking_ms, goal_ms=GOALS["detect_ms"],
         ok=max(latencies) * 1000 <= GOALS["detect_ms"])


def findings_1000(root: Path, plugins: int) -> None:
    for i in range(plugins):
        write_plugin(root, f"peer-{i:04d}", PEER, "Peer",
                     [f"send:peer-{(i + 1) % plugins:04d}:*", "send:nobody:*"])
    runtime, _ = start(root)
    insights = Insights(runtime).start()
    try:
        async def traffic() -> None:
            for i in range(plugins):
                ctx = runtime.host.instance(f"peer-{i:04d}").ctx  # type: ignore[union-attr]
                for n in range(25):
                    await ctx.send(f"peer-{(i + 1) % plugins:04d}", "tick", n)

        runtime.run(traffic(), None)

        async def timed() -> tuple[list[float], list[float], list[float], int]:
            snap, full, cpu = [], [], []
            count = 0
            for _ in range(7):
                began = time.perf_counter()
                insights.snapshot()
                snap.append(time.perf_counter() - began)
                began, began_cpu = time.perf_counter(), time.thread_time()
                count = len(insights.findings())
                full.append(time.perf_counter() - began)
                cpu.append(time.thread_time() - began_cpu)
            return snap, full, cpu, count

        snap, full, cpu, count = runtime.run(timed(), None)
    finally:
        insights.close()
        runtime.stop()
    emit("advisor", "snapshot_1000", median_ms=round(statistics.median(snap) * 1000, 2),
         plugins=plugins)
    median = statistics.median(full) * 1000
    # Wall time is what a user waits; the thread's CPU time is what the work costs when
    # other processes share the cores (both are printed).
    emit("advisor", "findings_1000", median_ms=round(median, 2),
         max_ms=round(max(full) * 1000, 2), cpu_median_ms=round(statistics.median(cpu) * 1000, 2),
         plugins=plugins, findings=count, goal_ms=GOALS["findings_ms"],
         ok=median <= GOALS["findings_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--holds", type=int, default=10)
    parser.add_argument("--plugins", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp) / "pair"
        write_plugin(root, "server", SERVER, "Server", [])
        write_plugin(root, "client", QUIET, "Quiet", ["send:server:*"])
        roundtrip(root, args.requests, args.rounds)
        blocking_detection(root, args.holds)
        findings_1000(Path(tmp) / "many", args.plugins)


if __name__ == "__main__":
    main()
