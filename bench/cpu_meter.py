"""Cost of the plugin tree's live CPU column: a CPU-bound plugin behind the real runtime,
timed with and without a CpuMeter sampling the runtime thread (paired, alternating order).

Prints JSON lines: the baseline (meter off) and the slowdown at 20 ms (the Studio's
setting) and 10 ms sampling, plus the share the meter charged to the busy plugin.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _workspace import QUIET, emit, write_plugin

from logomesh_studio.devtools.cpu_meter import CpuMeter
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.runner import RuntimeThread

CRUNCHER = '''
from logomesh_studio.sdk import Plugin, handler


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Cruncher(Plugin):
    @handler("crunch")
    def crunch(self, message):
        return fib(message.payload)
'''
PAIRS = 15


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_plugin(root, "cruncher", CRUNCHER, "Cruncher", [])
        write_plugin(root, "driver", QUIET, "Quiet", ["send:cruncher"])
        runtime = RuntimeThread(root, RuntimeConfig(entry_points=False))
        runtime.start()
        try:
            roots = {info.id: info.folder for info in runtime.host.plugins()}

            async def burst() -> None:
                for _ in range(4):
                    await runtime.host.bus.send("driver", "cruncher", "crunch", 26, 60)

            def plain() -> float:
                started = time.perf_counter()
                runtime.run(burst(), 120)
                return time.perf_counter() - started

            plain()
            baseline: list[float] = []
            for interval in (0.02, 0.01):
                ratios, shares = [], []
                for i in range(PAIRS):
                    unmetered = plain() if i % 2 else 0.0  # alternate which runs first
                    with CpuMeter(runtime.thread.ident, roots, interval) as meter:
                        metered = plain()
                        shares.append(meter.shares(metered).get("cruncher", 0.0))
                    unmetered = unmetered or plain()
                    baseline.append(unmetered)
                    ratios.append(metered / unmetered)
                emit("cpu_meter", "slowdown", interval_ms=interval * 1000, pairs=PAIRS,
                     median=round(statistics.median(ratios), 4),
                     cruncher_share=round(statistics.median(shares), 3))
            emit("cpu_meter", "baseline", meter="off", seconds=round(statistics.median(baseline), 4))
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()
