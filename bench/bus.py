"""How fast is the communication bridge? Prints JSON lines.

Builds a throwaway workspace (a client, a server, 10 senders and 100 listeners),
loads it in a real PluginHost and measures, with permission checks, history
recording and a MessageRecorded subscriber all on:

- request/response latency p50/p99: ``ctx.send`` to another plugin's sync handler;
- throughput (messages/s) for 1 sender and for 10 concurrent senders;
- one broadcast to 100 plugins (time per broadcast);
- the same request/response over a bare ``asyncio.Queue`` pair (a request queue,
  a response queue and a server task) as the baseline, and the bridge's ratio to it.

Goals: p50 <= 20 us, p99 <= 100 us, >= 50,000 msg/s, <= 3x the bare-queue baseline.

    python bench/bus.py [--requests N] [--broadcasts N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _workspace import QUIET, emit, write_plugin

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.host import PluginHost

GOALS = {"p50_us": 20.0, "p99_us": 100.0, "msg_per_s": 50_000.0, "ratio": 3.0}
PAYLOAD = {"id": 7, "text": "the quick brown fox", "tags": ["a", "b"]}
LISTENERS = 100
SENDERS = 10

SERVER = '''
from logomesh_studio.sdk import Plugin, handler


class Server(Plugin):
    @handler("echo")
    def echo(self, message):
        return message.payload
'''

LISTENER = '''
from logomesh_studio.sdk import Plugin, handler


class Listener(Plugin):
    @handler("tick")
    def tick(self, message):
        return message.payload["n"] + 1
'''



def build_workspace(root: Path) -> None:
    """client + server + 10 senders + 100 listeners, each in its own folder."""
    write_plugin(root, "server", SERVER, "Server", [])
    write_plugin(root, "client", QUIET, "Quiet", ["send:server:echo", "broadcast"])
    for i in range(SENDERS):
        write_plugin(root, f"sender-{i}", QUIET, "Quiet", ["send:server:*"])
    for i in range(LISTENERS):
        write_plugin(root, f"listener-{i:03d}", LISTENER, "Listener", [])


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def latencies(call: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    """Seconds per awaited ``call()``, sorted (after a warm-up of count // 10)."""
    for _ in range(count // 10):
        await call()
    clock = time.perf_counter
    times = []
    for _ in range(count):
        start = clock()
        await call()
        times.append(clock() - start)
    times.sort()
    return times


async def throughput(calls: list[Callable[[], Awaitable[Any]]], per_sender: int) -> float:
    """Messages per second with one task per entry of ``calls`` sending concurrently."""
    async def sender(call: Callable[[], Awaitable[Any]]) -> None:
        for _ in range(per_sender):
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(sender(call) for call in calls))
    return len(calls) * per_sender / (time.perf_counter() - start)


async def sender_throughput(bench: str, host: PluginHost, request: Callable[[], Awaitable[Any]],
                            requests: int, goal: float) -> float:
    """Emit messages/s for one sender (``request``) and for the ``SENDERS`` plugins
    ``sender-<i>`` sending ``echo`` to ``server`` at once; return the one-sender rate."""
    one = await throughput([request], requests)
    senders = [host.instance(f"sender-{i}").ctx for i in range(SENDERS)]
    many = await throughput(
        [lambda ctx=ctx: ctx.send("server", "echo", PAYLOAD) for ctx in senders],
        requests // SENDERS)
    for count, rate in ((1, one), (SENDERS, many)):
        emit(bench, "throughput", senders=count, msg_per_s=round(rate),
             goal_msg_per_s=goal, ok=rate >= goal)
    return one


class QueuePair:
    """The baseline: request/response over two bare asyncio.Queues and a server task."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[Any] = asyncio.Queue()
        self.responses: asyncio.Queue[Any] = asyncio.Queue()
        self.server = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self) -> None:
        while True:
            request = await self.requests.get()
            await self.responses.put(request)

    async def call(self) -> Any:
        await self.requests.put(PAYLOAD)
        return await self.responses.get()


def _stats(times: list[float]) -> dict[str, float]:
    return {"p50_us": round(percentile(times, 0.50) * 1e6, 2),
            "p99_us": round(percentile(times, 0.99) * 1e6, 2),
            "mean_us": round(statistics.fmean(times) * 1e6, 2)}


async def run(requests: int, broadcasts: int) -> None:
    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        build_workspace(Path(tmp))
        host = PluginHost(Path(tmp), RuntimeConfig(entry_points=False))
        inspector: deque[Any] = deque(maxlen=10_000)  # a front end that queues every event
        host.events.subscribe(inspector.append)
        await host.load_workspace()
        running = host.bus.running()
        assert len(running) == 2 + SENDERS + LISTENERS, host.problems
        client = host.instance("client").ctx

        def request() -> Awaitable[Any]:
            return client.send("server", "echo", PAYLOAD)

        assert await request() == PAYLOAD
        bus_times = await latencies(request, requests)
        bus = _stats(bus_times)
        emit("bus", "request_response", **bus, requests=requests,
              goal_p50_us=GOALS["p50_us"], goal_p99_us=GOALS["p99_us"],
              ok=bus["p50_us"] <= GOALS["p50_us"] and bus["p99_us"] <= GOALS["p99_us"])

        one = await sender_throughput("bus", host, request, requests, GOALS["msg_per_s"])

        replies = await client.broadcast("tick", {"n": 1})
        assert len(replies) == LISTENERS and set(replies.values()) == {2}, replies
        cast_times = await latencies(lambda: client.broadcast("tick", {"n": 1}), broadcasts)
        cast = _stats(cast_times)
        emit("bus", "broadcast", receivers=LISTENERS, broadcasts=broadcasts,
              p50_ms=round(cast["p50_us"] / 1000, 3), p99_ms=round(cast["p99_us"] / 1000, 3),
              per_receiver_us=round(cast["p50_us"] / LISTENERS, 2))

        pair = QueuePair()
        base_times = await latencies(pair.call, requests)
        base = _stats(base_times)
        base_rate = await throughput([pair.call], requests)
        pair.server.cancel()
        ratio = bus["p50_us"] / base["p50_us"]
        emit("bus", "baseline_queue_pair", **base, msg_per_s=round(base_rate))
        emit("bus", "ratio_to_baseline", p50=round(ratio, 2),
              mean=round(bus["mean_us"] / base["mean_us"], 2),
              throughput=round(base_rate / one, 2),
              goal=GOALS["ratio"], ok=ratio <= GOALS["ratio"])
        emit("bus", "history", recorded=len(host.bus.history), events=len(inspector))
        await host.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--broadcasts", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.broadcasts))


if __name__ == "__main__":
    main()
