"""How much do profilers slow a call-heavy workload down? Prints JSON lines.

Runs recursive fib under: our sampler at 1 ms (default switch interval, then
with the switch interval lowered to 1 ms), cProfile and pyinstrument. Single
runs drift by more than the effect on a busy machine, so each profiler gets
several (plain, profiled) pairs, alternating which runs first, and the figure is
the median of the paired ratios. Goal: our sampler <= 1.10x.

    python bench/profiler.py [--pairs N] [--fib N]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    from logomesh_studio.devtools.profiler import Profiler
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from logomesh_studio.devtools.profiler import Profiler

GOAL = 1.10


def fib(n: int) -> int:
    """The call-heavy workload: ~11.4 million calls for n=33."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def paired_slowdowns(
    workload: Callable[[], object], profiled: Callable[[], object], pairs: int
) -> list[float]:
    """Ratios profiled/plain over ``pairs`` pairs, alternating which of the two runs first."""
    ratios = []
    for i in range(pairs):
        if i % 2 == 0:
            plain = _timed(workload)
            slow = _timed(profiled)
        else:
            slow = _timed(profiled)
            plain = _timed(workload)
        ratios.append(slow / plain)
    return ratios


def _line(**fields: object) -> None:
    print(json.dumps({"bench": "profiler", **fields}), flush=True)


def _summary(tool: str, ratios: list[float], **extra: object) -> None:
    slowdown = statistics.median(ratios)
    _line(
        tool=tool,
        slowdown=round(slowdown, 3),
        slowdown_min=round(min(ratios), 3),
        slowdown_max=round(max(ratios), 3),
        pairs=len(ratios),
        **extra,
    )


def bench_ours(workload: Callable[[], object], pairs: int, switch_interval: float | None) -> None:
    rates: list[float] = []

    def profiled() -> None:
        with Profiler(interval=0.001, switch_interval=switch_interval) as profiler:
            workload()
        rates.append(profiler.profile.sample_rate)

    ratios = paired_slowdowns(workload, profiled, pairs)
    _summary(
        "logomesh-sampler",
        ratios,
        interval_ms=1.0,
        switch_interval_ms=round((switch_interval or sys.getswitchinterval()) * 1000, 3),
        samples_per_second=round(statistics.median(rates)),
        goal=GOAL,
        meets_goal=statistics.median(ratios) <= GOAL,
    )


def bench_cprofile(workload: Callable[[], object], pairs: int) -> None:
    def profiled() -> None:
        profile = cProfile.Profile()
        profile.enable()
        workload()
        profile.disable()

    _summary("cProfile", paired_slowdowns(workload, profiled, pairs))


def bench_pyinstrument(workload: Callable[[], object], pairs: int) -> None:
    try:
        import pyinstrument
    except ImportError:
        _line(tool="pyinstrument", skipped="pyinstrument is not installed")
        return

    def profiled() -> None:
        profiler = pyinstrument.Profiler(interval=0.001)
        profiler.start()
        workload()
        profiler.stop()

    _summary(
        "pyinstrument",
        paired_slowdowns(workload, profiled, pairs),
        interval_ms=1.0,
        version=pyinstrument.__version__,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=11, help="pairs per sampler variant")
    parser.add_argument(
        "--tracer-pairs", type=int, default=5, help="pairs for cProfile, pyinstrument"
    )
    parser.add_argument("--fib", type=int, default=33, help="fib(N) is the workload")
    args = parser.parse_args(argv)

    def workload() -> int:
        return fib(args.fib)

    workload()  # warm up the specialising interpreter and the caches
    plain = [_timed(workload) for _ in range(3)]
    _line(
        workload=f"fib({args.fib})",
        plain_seconds=round(statistics.median(plain), 4),
        python=sys.version.split()[0],
    )
    bench_ours(workload, args.pairs, switch_interval=None)
    bench_ours(workload, args.pairs, switch_interval=0.001)
    bench_cprofile(workload, args.tracer_pairs)
    bench_pyinstrument(workload, args.tracer_pairs)


if __name__ == "__main__":
    main()
