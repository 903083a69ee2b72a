"""What does process isolation cost? Prints JSON lines, baselines from the same run.

- ``round_trip``: ``ctx.send`` from an in-process plugin to an isolated plugin's sync
  handler (bridge, permission check, history, the frame to its process and back),
  p50/p99, against bare round trips between two processes over a socketpair with
  4-byte length framing, blocking ``recv``/``sendall`` at both ends (no bridge, no
  plugin, no event loop):
  ``baseline_socketpair_json``, the issue's "JSON round trip": the parent encodes
  ``{"op", "id", "source", "type", "payload"}`` as JSON, the child decodes it and
  answers ``{"op", "id", "value"}`` as JSON, which the parent decodes (each side one
  ``json`` encode and one decode, as any JSON channel needs);
  ``baseline_socketpair_bytes``, the child echoes the bytes it read (no JSON: the floor
  of any two-process round trip on this machine);
  and ``baseline_socketpair_asyncio``, the runtime's own channel (``FrameProtocol``,
  an asyncio loop at each end, call and reply frames as the runtime sends them).
  Goals: p50 <= 60 us and <= 2.5x ``baseline_socketpair_json``; the ratios to the
  other baselines are printed too.
- ``throughput``: messages/s to the isolated plugin from 1 sender and from 10 senders
  with one call in flight each (so bound by the round trip), and from 10 senders with
  10 calls in flight each (``in_flight``: 100; calls travel in batches over the one
  channel) against the asyncio baseline with as many in flight.
  Goal: >= 20,000 msg/s (its ``ok`` is on each line).
- ``crash_restart``: from the call that kills the plugin's process (``os._exit``) to
  the first answer of its fresh process (each sample is another plugin: a plugin
  restarts at once only on its first crash). Goal: <= 100 ms.
- ``in_process``: the in-process bus request/response with isolation off, this tree
  against ``--baseline-ref`` (main before process isolation, extracted with
  ``git archive``), alternating runs in fresh processes; best p50 of each.
  Goal: <= 1.05x.

- ``instructions`` (``--instructions REF``, needs valgrind): CPU instructions the
  runtime's process spends per call, counted by ``valgrind --tool=callgrind`` for this
  tree and for REF (a git revision), with the pipelined senders of ``throughput``
  (``in_flight`` 100) and with one sender awaiting each call (``in_flight`` 1, the
  round trip). The plugin's process is not counted. Instruction counts repeat to a
  fraction of a percent whatever else runs, so they compare two trees on a loaded
  machine, or in this VM's fast and slow modes, where wall-clock figures cannot.

On a loaded machine wall-clock figures say little: compare the ratios to the baselines
measured in the same run.

    python bench/isolation.py [--requests N] [--baseline-ref REF] [--in-process]
    python bench/isolation.py --instructions REF [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
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
from bus import PAYLOAD, SENDERS, latencies, percentile, sender_throughput, throughput
from bus import _stats as stats
from bus_instructions import callgrind

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

JSON_ECHO_CHILD = textwrap.dedent('''
    import json, socket, sys
    sock = socket.socket(fileno=int(sys.argv[1]))
    recv, sendall, loads = sock.recv, sock.sendall, json.loads
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    def exactly(n):
        data = recv(n)
        while len(data) < n:  # rare: a frame read in pieces
            more = recv(n - len(data))
            if not more:
                raise SystemExit(0)
            data += more
        return data
    while True:
        head = recv(4)
        if len(head) < 4:
            raise SystemExit(0)
        frame = loads(exactly(int.from_bytes(head, "big")))
        body = dumps({"op": "reply", "id": frame["id"], "value": frame["payload"]}).encode()
        sendall(len(body).to_bytes(4, "big") + body)
''')

BYTES_ECHO_CHILD = textwrap.dedent('''
    import socket, sys
    sock = socket.socket(fileno=int(sys.argv[1]))
    recv, sendall = sock.recv, sock.sendall
    while True:
        head = recv(4)
        if len(head) < 4:
            raise SystemExit(0)
        size = int.from_bytes(head, "big")
        body = recv(size)
        while len(body) < size:  # rare: a frame read in pieces
            body += recv(size - len(body))
        sendall(head + body)
''')

ASYNC_ECHO_CHILD = textwrap.dedent('''
    import asyncio, socket, sys
    from logomesh_studio.runtime.isolation.frames import FrameProtocol, pack_reply

    async def main():
        sock = socket.socket(fileno=int(sys.argv[1]))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        closed = loop.create_future()

        def echo(number, source, type, text):
            channel.write(pack_reply(number, text))

        def lost():
            if not closed.done():
                closed.set_result(None)

        _, channel = await loop.connect_accepted_socket(
            lambda: FrameProtocol(print, lost, echo), sock=sock)
        await closed

    asyncio.run(main())
''')
IN_FLIGHT = 10
"""Calls each of the ``SENDERS`` keeps in flight in the pipelined throughput."""


def _echo_child(code: str) -> tuple[subprocess.Popen[bytes], socket.socket]:
    ours, theirs = socket.socketpair()
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    child = subprocess.Popen([sys.executable, "-c", code, str(theirs.fileno())],
                             pass_fds=(theirs.fileno(),),
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
    theirs.close()
    return child, ours


def _call_frame(number: int) -> dict[str, Any]:
    return {"op": "call", "id": number, "source": "client", "type": "echo", "payload": PAYLOAD}


def socketpair_blocking(code: str, count: int) -> list[float]:
    """Round trips through a bare echo child (``code``) over a socketpair, with blocking
    reads and writes at both ends (sorted). With ``JSON_ECHO_CHILD`` each call frame is
    encoded and its answer decoded as JSON; with ``BYTES_ECHO_CHILD`` the same frame's
    bytes go out and come back as they are."""
    child, ours = _echo_child(code)
    recv, sendall = ours.recv, ours.sendall
    encode = json.JSONEncoder(separators=(",", ":")).encode
    uses_json = code is JSON_ECHO_CHILD
    body = encode(_call_frame(0)).encode()
    times = []
    clock = time.perf_counter
    try:
        for number in range(count + count // 10):
            start = clock()
            if uses_json:
                body = encode(_call_frame(number)).encode()
            sendall(len(body).to_bytes(4, "big") + body)
            answer = _exactly(ours, int.from_bytes(recv(4), "big"))
            if uses_json:
                json.loads(answer)["value"]
            if number >= count // 10:
                times.append(clock() - start)
    finally:
        ours.close()
        child.wait()
    times.sort()
    return times


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = sock.recv(size)
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


async def socketpair_asyncio(count: int) -> tuple[list[float], float]:
    """Round trips of the same frame over the runtime's own channel (FrameProtocol on an
    asyncio loop at each end) to a bare echo child (sorted); and messages/s with
    ``SENDERS * IN_FLIGHT`` calls in flight."""
    from logomesh_studio.runtime.isolation.frames import FrameProtocol, call_head, pack_call

    child, ours = _echo_child(ASYNC_ECHO_CHILD)
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    calls: dict[int, asyncio.Future[str]] = {}

    def answered(number: int, text: str) -> None:
        calls.pop(number).set_result(text)

    lost = loop.create_future()
    _, channel = await loop.connect_accepted_socket(
        lambda: FrameProtocol(print, lambda: lost.set_result(None), on_reply=answered),
        sock=ours)
    numbers = itertools.count()
    encode = json.JSONEncoder(separators=(",", ":")).encode

    async def call() -> Any:
        number = next(numbers)
        future: asyncio.Future[str] = loop.create_future()
        channel.write(pack_call(number, call_head("client", "echo"), encode(PAYLOAD)),
                      bool(calls))
        calls[number] = future
        return json.loads(await future)

    try:
        times = await latencies(call, count)
        rate = await throughput([call] * (SENDERS * IN_FLIGHT), count // (SENDERS * IN_FLIGHT))
    finally:
        channel.close()
        await lost  # the socket is closed once the loop has run the transport's close
        child.wait()
    return times, rate


def isolated(manifest: Path) -> None:
    with manifest.open("a") as f:
        f.write('isolation = "process"\n')


def build_workspace(root: Path, crashers: int) -> None:
    """The isolated ``server`` (and ``crasher-<i>``), ``client`` and ``sender-<i>``."""
    for plugin_id in ["server", *(f"crasher-{i}" for i in range(crashers))]:
        write_plugin(root, plugin_id, SERVER, "Server", [])
        isolated(root / plugin_id / "plugin.toml")
    write_plugin(root, "client", QUIET, "Quiet", ["send:*"])
    for i in range(SENDERS):
        write_plugin(root, f"sender-{i}", QUIET, "Quiet", ["send:server:*"])


async def measure_isolation(requests: int) -> None:
    from logomesh_studio import sdk
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost

    baseline = stats(socketpair_blocking(JSON_ECHO_CHILD, requests))
    emit("isolation", "baseline_socketpair_json", **baseline, requests=requests)
    floor = stats(socketpair_blocking(BYTES_ECHO_CHILD, requests))
    emit("isolation", "baseline_socketpair_bytes", **floor, requests=requests)
    times, base_rate = await socketpair_asyncio(requests)
    channel = stats(times)
    emit("isolation", "baseline_socketpair_asyncio", **channel, requests=requests,
         pipelined_msg_per_s=round(base_rate), in_flight=SENDERS * IN_FLIGHT)
    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp)
        build_workspace(root, CRASHERS)
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
             ratio_to_socketpair_json=round(ratio, 2),
             ratio_to_socketpair_bytes=round(trip["p50_us"] / floor["p50_us"], 2),
             ratio_to_socketpair_asyncio=round(trip["p50_us"] / channel["p50_us"], 2),
             goal_p50_us=GOALS["p50_us"], goal_ratio=GOALS["ratio"],
             ok=trip["p50_us"] <= GOALS["p50_us"] and ratio <= GOALS["ratio"])
        await sender_throughput("isolation", host, request, requests, GOALS["msg_per_s"])
        senders = [host.instance(f"sender-{i}").ctx for i in range(SENDERS)]
        rate = await throughput(
            [lambda ctx=ctx: ctx.send("server", "echo", PAYLOAD)
             for ctx in senders for _ in range(IN_FLIGHT)], requests // (SENDERS * IN_FLIGHT))
        emit("isolation", "throughput", senders=SENDERS, in_flight=SENDERS * IN_FLIGHT,
             msg_per_s=round(rate), baseline_msg_per_s=round(base_rate),
             ratio_to_baseline=round(base_rate / rate, 2),
             goal_msg_per_s=GOALS["msg_per_s"], ok=rate >= GOALS["msg_per_s"])

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


def extract(ref: str, into: Path) -> Path:
    """``ref``'s ``logomesh_studio`` package, extracted (``git archive``) under ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "logomesh_studio"],
                             check=True, capture_output=True).stdout
    tar_path = into / "ref.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into


def measure_in_process(requests: int, ref: str, rounds: int = 3) -> None:
    """This tree against ``ref``, alternating fresh processes; best of ``rounds``."""
    with tempfile.TemporaryDirectory(prefix="logomesh-baseline-") as tmp:
        trees = {"this": str(REPO), "baseline": str(extract(ref, Path(tmp)))}
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


async def counted_calls(calls: int, in_flight: int) -> None:
    """Make ``calls`` calls to the isolated server, ``in_flight`` at once (one sender
    per call in flight), after one warm-up call each (run under callgrind by
    ``measure_instructions``, against the tree on PYTHONPATH)."""
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost

    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp)
        build_workspace(root, 0)
        host = PluginHost(root, RuntimeConfig(entry_points=False))
        await host.load_workspace()
        senders = [host.instance(f"sender-{i}").ctx for i in range(SENDERS)]
        flows = [lambda ctx=senders[i % SENDERS]: ctx.send("server", "echo", PAYLOAD)
                 for i in range(in_flight)]
        await throughput(flows, 1)
        if calls:
            await throughput(flows, calls // in_flight)
        await host.shutdown()


def instructions(tree: Path, calls: int, in_flight: int, out: Path) -> int:
    """Instructions callgrind counts in the runtime's process for ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    return callgrind([sys.executable, __file__, "--counted-calls", str(calls), str(in_flight)],
                     env, out)


def measure_instructions(ref: str, calls: int) -> None:
    """Instructions per call for this tree and ``ref``: (count with ``calls`` calls -
    count without) / ``calls``, pipelined and one call at a time."""
    if shutil.which("valgrind") is None:
        emit("isolation", "instructions", skipped="valgrind is not installed")
        return
    with tempfile.TemporaryDirectory(prefix="logomesh-instr-") as tmp:
        scratch = Path(tmp)
        trees = {"this": REPO, "baseline": extract(ref, scratch / "baseline")}
        for in_flight in (SENDERS * IN_FLIGHT, 1):
            count = calls if in_flight > 1 else calls // 4  # a round trip costs more time
            per_call = {}
            for name, tree in trees.items():
                run = [instructions(tree, n, in_flight, scratch / f"{name}-{in_flight}-{n}.out")
                       for n in (0, count)]
                per_call[name] = (run[1] - run[0]) / count
            emit("isolation", "instructions", in_flight=in_flight, calls=count,
                 per_call=round(per_call["this"]), baseline=ref,
                 baseline_per_call=round(per_call["baseline"]),
                 ratio=round(per_call["this"] / per_call["baseline"], 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--in-process-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--in-process", action="store_true",
                        help="run only the in-process comparison against --baseline-ref")
    parser.add_argument("--instructions", metavar="REF",
                        help="count instructions per call (callgrind) here and at REF only")
    parser.add_argument("--calls", type=int, default=4000,
                        help="pipelined calls counted by --instructions")
    parser.add_argument("--counted-calls", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process_only:
        asyncio.run(in_process_p50(args.requests))
        return
    if args.counted_calls:
        asyncio.run(counted_calls(*args.counted_calls))
        return
    if args.instructions:
        measure_instructions(args.instructions, args.calls)
        return
    if not args.in_process:
        asyncio.run(measure_isolation(args.requests))
    measure_in_process(args.requests, args.baseline_ref)


if __name__ == "__main__":
    main()
