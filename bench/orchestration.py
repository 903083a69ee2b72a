"""What does the orchestration engine cost on top of the bridge? Prints JSON lines.

Builds a throwaway workspace of 1,000 participant plugins (plus an initiator),
loads it in a real runtime thread and runs one orchestration of 10,000 trivial
tasks spread over 10 phases of 1,000 tasks in mixed modes (sequential, parallel,
conditional with conditions, some tasks reading earlier outputs). The same 10,000
messages are also sent straight through the bridge, in the same process, as the
baseline. The engine runs with everything on: validation, events with a
subscriber, history rows in SQLite (WAL) under the workspace, bridge history.

Figures (best of ``--rounds`` alternating rounds): engine and direct time per
task, the overhead per task (their difference), the store's commits and the time
its writer thread spent committing (off the runtime loop), and the process's peak RSS. Goals: overhead <= 100 us/task, peak <= 300 MB.

    python bench/orchestration.py [--participants N] [--tasks N] [--rounds N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from _workspace import QUIET, emit, write_plugin

from logomesh_studio.orchestration.engine import OrchestrationEngine
from logomesh_studio.orchestration.io import loads
from logomesh_studio.orchestration.store import RunStore
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.runner import RuntimeThread

GOALS = {"overhead_us_per_task": 100.0, "peak_rss_mb": 300.0}
MODES = ("sequential", "parallel", "conditional")
INITIATOR = "initiator"

PARTICIPANT = '''
import asyncio

from logomesh_studio.sdk import Plugin, handler


class Participant(Plugin):
    @handler("noop")
    def noop(self, message):
        return {"ok": True, "i": message.payload["i"]}

    @handler("yield")
    async def yield_once(self, message):
        await asyncio.sleep(0)
        return {"ok": True, "i": message.payload["i"]}
'''



def participant(i: int) -> str:
    return f"p{i:04d}"


def build_workspace(root: Path, participants: int) -> None:
    for i in range(participants):
        write_plugin(root, participant(i), PARTICIPANT, "Participant", [], prefix="bench_orch_")
    write_plugin(root, INITIATOR, QUIET, "Quiet", ["send:*", "capability:*"], prefix="bench_orch_")


def document(participants: int, tasks: int, phases: int = 10) -> tuple[str, list[tuple]]:
    """The orchestration YAML, and the (target, type, payload) of each task for the baseline.

    Tasks of parallel phases call an ``async`` handler that yields once, so they are
    really in flight together; the others answer inline. Every fourth task of a
    sequential phase writes a key the next task reads; every conditional task has a
    condition that holds.
    """
    per_phase = tasks // phases
    lines = ["name: bench", f"initiator: {INITIATOR}", "participants:"]
    lines += [f"  - {participant(i)}" for i in range(participants)]
    lines.append("phases:")
    calls = []
    n = 0
    for p in range(phases):
        mode = MODES[p % len(MODES)]
        lines += [f"  - name: phase{p}", f"    mode: {mode}", "    tasks:"]
        for t in range(per_phase):
            target = participant(n % participants)
            kind = "yield" if mode == "parallel" else "noop"
            task = f"      - {{name: t{n}, target: {target}, type: {kind}, input: {{i: {n}"
            if mode == "sequential" and t % 4 == 1:
                task += f", prev: '${{k{n - 1}}}'"
            task += "}"
            if mode == "sequential" and t % 4 == 0:
                task += f", output_mapping: {{k{n}: i}}"
            if mode == "conditional":
                task += f", condition: 'input.go and {t} >= 0'"
            lines.append(task + "}")
            calls.append((target, kind, {"i": n}))
            n += 1
    return "\n".join(lines) + "\n", calls


CPU: dict[str, list[float]] = {"direct": [], "engine": []}
"""CPU seconds (every thread of the process) per round: on a shared machine the wall
clock also counts other processes' time, CPU time much less."""


async def direct(runtime: RuntimeThread, calls: list[tuple]) -> float:
    bus = runtime.host.bus
    started, cpu = time.perf_counter(), time.process_time()
    for target, kind, payload in calls:
        await bus.send(INITIATOR, target, kind, payload)
    CPU["direct"].append(time.process_time() - cpu)
    return time.perf_counter() - started


async def orchestrate(engine: OrchestrationEngine, file: Any) -> tuple[float, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    record = await engine.run(file, {"go": True})
    CPU["engine"].append(time.process_time() - cpu)  # with the history writer's thread
    return time.perf_counter() - started, record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        build_workspace(root, args.participants)
        text, calls = document(args.participants, args.tasks)
        runtime = RuntimeThread(root, RuntimeConfig(entry_points=False))
        events = [0]

        def count(event: Any) -> None:
            events[0] += 1

        runtime.events.subscribe(count)  # a front end's subscriber: it only counts
        runtime.start(timeout=300)
        emit("orchestration", "setup", participants=len(runtime.host.bus.running()) - 1, tasks=len(calls),
              seconds=round(time.perf_counter() - started, 2))
        try:
            store = RunStore(root / ".logomesh" / "runs.sqlite")
            engine = OrchestrationEngine(runtime.host, store)
            started = time.perf_counter()
            file = loads(text, str(root / "bench.orchestration.yaml"))
            parsed = time.perf_counter() - started
            problems = runtime.run(_validate(engine, file))
            emit("orchestration", "load", parse_seconds=round(parsed, 3),
                  validate_seconds=round(time.perf_counter() - started - parsed, 3),
                  problems=len(problems))
            direct_times, engine_times = [], []
            for round_ in range(args.rounds):
                if round_ % 2:  # alternate which runs first: the machine is shared
                    engine_times.append(_engine_round(runtime, engine, file, store))
                    direct_times.append(runtime.run(direct(runtime, calls), timeout=600))
                else:
                    direct_times.append(runtime.run(direct(runtime, calls), timeout=600))
                    engine_times.append(_engine_round(runtime, engine, file, store))
            runtime.run(engine.close())
        finally:
            runtime.stop()
        n = len(calls)
        best_direct, best_engine = min(direct_times) / n * 1e6, min(engine_times) / n * 1e6
        overhead = best_engine - best_direct
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu_direct, cpu_engine = min(CPU["direct"]) / n * 1e6, min(CPU["engine"]) / n * 1e6
        emit("orchestration", "direct", us_per_call=round(best_direct, 1),
              rounds_us=[round(t / n * 1e6, 1) for t in direct_times],
              cpu_us_per_call=round(cpu_direct, 1))
        emit("orchestration", "engine", us_per_task=round(best_engine, 1),
              rounds_us=[round(t / n * 1e6, 1) for t in engine_times], events=events[0],
              cpu_us_per_task=round(cpu_engine, 1))
        emit("orchestration", "overhead", us_per_task=round(overhead, 1),
              cpu_us_per_task=round(cpu_engine - cpu_direct, 1),
              goal=GOALS["overhead_us_per_task"], ok=overhead <= GOALS["overhead_us_per_task"])
        emit("orchestration", "memory", peak_rss_mb=round(peak, 1), goal=GOALS["peak_rss_mb"],
              ok=peak <= GOALS["peak_rss_mb"])
    return 0


async def _validate(engine: OrchestrationEngine, file: Any) -> list[Any]:
    return engine.validate(file)


def _engine_round(runtime: RuntimeThread, engine: OrchestrationEngine, file: Any,
                  store: RunStore) -> float:
    commits, flushed = store.commits, store.commit_seconds
    seconds, record = runtime.run(orchestrate(engine, file), timeout=600)
    assert record.status == "completed", record.error
    emit("orchestration", "run", seconds=round(seconds, 3), status=record.status,
          max_concurrency=record.metrics["max_concurrency"],
          store_commits=store.commits - commits,
          store_seconds=round(store.commit_seconds - flushed, 3),
          store_us_per_task=round((store.commit_seconds - flushed) / record.metrics["tasks"]
                                  ["total"] * 1e6, 1))
    return seconds


if __name__ == "__main__":
    raise SystemExit(main())
