"""What does process isolation cost? Prints JSON lines, baselines from the same run.

- ``round_trip``: ``ctx.send`` from an in-process plugin to an isolated plugin's sync
  handler (bridge, permission check, history, the frame to its process and back),
  p50/p99, against ``baseline_socketpair``: the same JSON frame echoed by a bare
  child process over a socketpair, with blocking reads on both sides.
  Goals: p50 <= 60 us and <= 2.5x the baseline.
- ``throughput``: messages/s to the isolated plugin, 1 sender and 10 concurrent
  senders. Goal: >= 20,000 msg/s.
- ``crash_restart``: from the call that kills the plugin's process (``os._exit``) to
  the first answer of its fresh process (each sample is another plugin: a plugin
  restarts at once only on its first crash). Goal: <= 100 ms.
- ``in_process``: the in-process bus request/response with isolation off, this tree
  against ``--baseline-ref`` (main before process isolation, extracted with
  ``git archive``), alternating runs in fresh processes; best p50 of each.
  Goal: <= 1.05x.

    python bench/isolation.py [--requests N] [--baseline-ref REF]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from _workspace import QUIET, emit, write_plugin
from bus import PAYLOAD, SENDERS, latencies, percentile, sender_throughput
from bus import _stats as stats

GOALS = {"p50_us": 60.0, "ratio": 2.5, "msg_per_s": 20_000.0, "restart_ms": 100.0,
         "in_process_ratio": 1.05}
BASELINE_REF = "9cce6b0"
"""main before process isolation landed."""
CRASHERS = 5
REPO = Path(__file__).resolve().parent.parent

SERVER = '''
import os
from logomesh_studio.sdk import Plugin, handler


class Server(Plugin):
    @handler("echo")
    def echo(self, message):
        return message.payload

    @handler("exit")
    def exit(self, message):
        os._exit(1)
'''

ECHO_CHILD = textwrap.dedent('''
    import json, socket, struct, sys
    sock = socket.socket(fileno=int(sys.argv[1]))
    header = struct.Struct("!I")
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise SystemExit(0)
            data += chunk
        return data
    while True:
        (size,) = header.unpack(exactly(4))
        frame = json.loads(exactly(size))
        body = json.dumps({"op": "reply", "id": frame["id"], "value": frame["payload"]},
                          separators=(",", ":")).encode()
        sock.sendall(header.pack(len(body)) + body)
''')


def socketpair_baseline(count: int) -> list[float]:
    """Round trips of one JSON frame through a bare echo child over a socketpair."""
    ours, theirs = socket.socketpair()
    child = subprocess.Popen([sys.executable, "-c", ECHO_CHILD, str(theirs.fileno())],
                             pass_fds=(theirs.fileno(),))
    theirs.close()
    frame = {"op": "call", "id": 0, "source": "client", "type": "echo", "payload": PAYLOAD}
    times = []
    try:
        for number in range(count + count // 10):
            frame["id"] = number
            body = json.dumps(frame, separators=(",", ":")).encode()
            start = time.perf_counter()
            ours.sendall(len(body).to_bytes(4, "big") + body)
            size = int.from_bytes(_exactly(ours, 4), "big")
            json.loads(_exactly(ours, size))
            if number >= count // 10:
                times.append(time.perf_counter() - start)
    finally:
        ours.close()
        child.wait()
    return times


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def isolated(manifest: Path) -> None:
    with manifest.open("a") as f:
        f.write('isolation = "process"\n')


async def measure_isolation(requests: int) -> None:
    from logomesh_studio import sdk
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost

    base = socketpair_baseline(requests)
    baseline = stats(sorted(base))
    emit("isolation", "baseline_socketpair", **baseline, requests=requests)
    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp)
        for plugin_id in ["server", *(f"crasher-{i}" for i in range(CRASHERS))]:
            write_plugin(root, plugin_id, SERVER, "Server", [])
            isolated(root / plugin_id / "plugin.toml")
        write_plugin(root, "client", QUIET, "Quiet", ["send:*"])
        for i in range(SENDERS):
            write_plugin(root, f"sender-{i}", QUIET, "Quiet", ["send:server:*"])
        host = PluginHost(root, RuntimeConfig(entry_points=False))
        await host.load_workspace()
        assert not [r for r in host.records.values() if r.error], host.plugins()
        client = host.instance("client").ctx

        def request() -> Awaitable[Any]:
            return client.send("server", "echo", PAYLOAD)

        assert await request() == PAYLOAD
        trip = stats(await latencies(request, requests))
        ratio = trip["p50_us"] / baseline["p50_us"]
        emit("isolation", "round_trip", **trip, requests=requests,
             ratio_to_socketpair=round(ratio, 2), goal_p50_us=GOALS["p50_us"],
             goal_ratio=GOALS["ratio"],
             ok=trip["p50_us"] <= GOALS["p50_us"] and ratio <= GOALS["ratio"])
        await sender_throughput("isolation", host, request, requests, GOALS["msg_per_s"])

        restarts = []
        for i in range(CRASHERS):
            target = f"crasher-{i}"
            await client.send(target, "echo", 0)
            start = time.perf_counter()
            try:
                await client.send(target, "exit")
            except sdk.PluginCrashed:
                pass
            await client.send(target, "echo", 1)
            restarts.append(time.perf_counter() - start)
        restarts.sort()
        emit("isolation", "crash_restart", samples=CRASHERS,
             p50_ms=round(percentile(restarts, 0.5) * 1e3, 1),
             max_ms=round(restarts[-1] * 1e3, 1), goal_ms=GOALS["restart_ms"],
             ok=percentile(restarts, 0.5) * 1e3 <= GOALS["restart_ms"])
        await host.shutdown()


async def in_process_p50(requests: int) -> None:
    """One in-process measurement (run in a fresh process by ``measure_in_process``)."""
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost

    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp)
        write_plugin(root, "server", SERVER, "Server", [])
        write_plugin(root, "client", QUIET, "Quiet", ["send:server:echo"])
        host = PluginHost(root, RuntimeConfig(entry_points=False))
        host.events.subscribe(lambda event: None)
        await host.load_workspace()
        client = host.instance("client").ctx
        times = await latencies(lambda: client.send("server", "echo", PAYLOAD), requests)
        print(json.dumps(stats(times)))
        await host.shutdown()


def measure_in_process(requests: int, ref: str, rounds: int = 3) -> None:
    """This tree against ``ref``, alternating fresh processes; best of ``rounds``."""
    with tempfile.TemporaryDirectory(prefix="logomesh-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "logomesh_studio"],
                                 check=True, capture_output=True).stdout
        tar_path = Path(tmp) / "ref.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tmp, filter="data")
        trees = {"this": str(REPO), "baseline": tmp}
        best: dict[str, dict[str, float]] = {}
        for _ in range(rounds):
            for name, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                    [tree, str(Path(__file__).resolve().parent)])}
                out = subprocess.run([sys.executable, __file__, "--in-process-only",
                                      "--requests", str(requests)], env=env, check=True,
                                     capture_output=True, text=True).stdout
                figures = json.loads(out.splitlines()[-1])
                if name not in best or figures["p50_us"] < best[name]["p50_us"]:
                    best[name] = figures
    emit("isolation", "in_process_baseline", ref=ref, **best["baseline"], requests=requests)
    ratio = best["this"]["p50_us"] / best["baseline"]["p50_us"]
    emit("isolation", "in_process", **best["this"], requests=requests,
         ratio_to_baseline=round(ratio, 3), goal_ratio=GOALS["in_process_ratio"],
         ok=ratio <= GOALS["in_process_ratio"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--in-process-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process_only:
        asyncio.run(in_process_p50(args.requests))
        return
    asyncio.run(measure_isolation(args.requests))
    measure_in_process(args.requests, args.baseline_ref)


if __name__ == "__main__":
    main()
