"""Debugger overhead on a call-heavy workload: recursive fib(28), 1,028,457 Python calls.

Prints one JSON object per line: per case the median seconds and the slowdown factor
against the plain run, then a summary against the goals of issue 7. Cases alternate
within each round and every run happens on a fresh thread, as a debug target does.

    python bench/debugger.py [--rounds 11]
"""

from __future__ import annotations

import argparse
import bdb
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

try:
    from logomesh_studio.devtools.debugger import Debugger
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from logomesh_studio.devtools.debugger import Debugger

FIB_N = 28
CHEAP_REPEATS = 10
HERE = Path(__file__).resolve()


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def never_called() -> str:
    return "the breakpoint sits here"  # breakpoint


BREAKPOINT_LINE = next(
    number
    for number, text in enumerate(HERE.read_text().splitlines(), 1)
    if text.endswith("# breakpoint")
)


def timed_fib() -> float:
    started = time.perf_counter()
    fib(FIB_N)
    return time.perf_counter() - started


def on_thread(body: Callable[[], float]) -> float:
    """Run ``body`` on a new thread and return the seconds it reports."""
    result: list[float] = []
    thread = threading.Thread(target=lambda: result.append(body()))
    thread.start()
    thread.join()
    return result[0]


def plain() -> float:
    return on_thread(timed_fib)


def empty_trace() -> float:
    def trace(frame, event, arg):
        return None

    def body() -> float:
        sys.settrace(trace)
        try:
            return timed_fib()
        finally:
            sys.settrace(None)

    return on_thread(body)


class ContinuingBdb(bdb.Bdb):
    """bdb as pdb runs after "continue": every stop continues at once."""

    def user_line(self, frame):
        self.set_continue()


def under_bdb() -> float:
    def body() -> float:
        debugger = ContinuingBdb()
        error = debugger.set_break(str(HERE), BREAKPOINT_LINE)
        assert error is None, error
        return debugger.runcall(timed_fib)

    return on_thread(body)


def make_cases() -> dict[str, Callable[[], float]]:
    idle = Debugger(roots=[HERE.parent])
    idle.set_breakpoint(HERE, BREAKPOINT_LINE)
    bare = Debugger(roots=[HERE.parent])
    with_breakpoint = Debugger(roots=[HERE.parent])
    breakpoint = with_breakpoint.set_breakpoint(HERE, BREAKPOINT_LINE)
    assert breakpoint.verified and breakpoint.line == BREAKPOINT_LINE

    def no_session() -> float:
        # A debugger with a breakpoint exists, but no session runs: no trace function.
        assert idle.breakpoints
        return on_thread(timed_fib)

    def session(debugger: Debugger) -> Callable[[], float]:
        def run() -> float:
            debugger.start(timed_fib)
            return debugger.wait_finished(timeout=120)

        return run

    return {
        "baseline": plain,
        "no_session": no_session,
        "empty_settrace": empty_trace,
        "session_no_breakpoints": session(bare),
        "session_breakpoint_not_hit": session(with_breakpoint),
        "bdb_breakpoint_not_hit": under_bdb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    options = parser.parse_args()
    cases = make_cases()
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    # The cheap pair is the noisiest relative to its size: sample it more, interleaved.
    cheap = ("baseline", "no_session")
    for round_number in range(options.rounds):
        for repeat in range(CHEAP_REPEATS):
            for name in cheap if repeat % 2 else cheap[::-1]:
                samples[name].append(cases[name]())
        costly = [name for name in names if name not in cheap]
        shift = round_number % len(costly)
        for name in costly[shift:] + costly[:shift]:
            samples[name].append(cases[name]())
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    factor = {name: value / seconds["baseline"] for name, value in seconds.items()}
    for name in names:
        line = {
            "bench": "debugger",
            "case": name,
            "calls": _fib_calls(FIB_N),
            "runs": len(samples[name]),
            "seconds": round(seconds[name], 4),
            "factor": round(factor[name], 3),
        }
        if name.startswith("session"):
            line["vs_empty_settrace"] = round(factor[name] / factor["empty_settrace"], 3)
            line["vs_bdb"] = round(factor[name] / factor["bdb_breakpoint_not_hit"], 3)
        print(json.dumps(line), flush=True)
    worst = max(factor["session_no_breakpoints"], factor["session_breakpoint_not_hit"])
    goals = {
        "no_session_at_most_1.02x": factor["no_session"] <= 1.02,
        "session_at_most_1.5x_empty_settrace": worst <= 1.5 * factor["empty_settrace"],
        "session_at_most_quarter_of_bdb": worst <= factor["bdb_breakpoint_not_hit"] / 4,
    }
    print(json.dumps({"bench": "debugger", "case": "goals", **goals}), flush=True)


def _fib_calls(n: int) -> int:
    """fib(n) makes 2 * F(n + 1) - 1 calls."""
    previous, current = 0, 1
    for _ in range(n):
        previous, current = current, previous + current
    return 2 * current - 1


if __name__ == "__main__":
    main()
