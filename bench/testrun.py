"""How much does ``logomesh-studio test`` cost over plain pytest? Prints JSON lines.

On the example workspace's tests, alternating RUNS times, medians compared:

- the runner without coverage (``run_tests(..., coverage=False)``, consumed to the end)
  against ``python -m pytest`` on the same test folders;
- the runner with coverage against ``python -m coverage run -m pytest``;
- the time from calling ``run_tests`` to its first test result, beside the time plain
  ``python -m pytest -v`` takes to print its first outcome (pytest's startup floor).

Goals: <= 1.15x pytest; <= 1.10x coverage run; first result <= 1 s.

Bytecode: ``pip install`` compiles every module to ``.pyc`` as it installs, so that is how
users run. An editable checkout under ``PYTHONDONTWRITEBYTECODE=1`` (set on the machines
this project is built on) never gets a ``.pyc`` and compiles the whole runtime from source
in every child, about half a second here. So the bench compiles the package first, as
pip would.

    python bench/testrun.py [--runs 5]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _workspace import emit

import logomesh_studio
from logomesh_studio.devtools.testrun import PluginSummary, TestResult, run_tests
from logomesh_studio.examples import example_workspace

GOAL_PLAIN = 1.15
GOAL_COVERAGE = 1.10
GOAL_FIRST = 1.0


def tests_dirs(workspace: Path) -> list[str]:
    return sorted(str(p) for p in workspace.glob("*/tests") if p.is_dir())


def pytest_run(workspace: Path, coverage: bool) -> Callable[[], float]:
    # A throwaway data file, never /dev/null: `coverage run` erases its data file first,
    # and as root that deletes /dev/null for the whole machine.
    data_file = Path(tempfile.mkdtemp(prefix="logomesh-bench-cov-")) / ".coverage"
    prefix = [sys.executable, "-m", "coverage", "run", "--data-file", str(data_file)] \
        if coverage else [sys.executable]
    command = [*prefix, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               *tests_dirs(workspace)]

    def run() -> float:
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=workspace, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"baseline failed: {' '.join(command)}\n{proc.stdout[-2000:]}")
        return time.perf_counter() - started

    return run


def pytest_first_result(workspace: Path) -> float:
    """Seconds until ``python -m pytest -v`` prints its first test outcome."""
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
               *tests_dirs(workspace)]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line as pytest prints it
    with subprocess.Popen(command, cwd=workspace, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if re.search(r" (PASSED|FAILED|ERROR|SKIPPED)\b", line):
                first = time.perf_counter() - started
                proc.kill()
                return first
    raise SystemExit("baseline printed no test outcome")


def runner_run(workspace: Path, coverage: bool, firsts: list[float]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        first = None
        for record in run_tests(workspace, coverage=coverage):
            if first is None and isinstance(record, TestResult):
                first = time.perf_counter() - started
            if isinstance(record, PluginSummary) and not record.ok:
                raise SystemExit(f"runner: {record.plugin} failed: {record}")
        firsts.append(first if first is not None else float("nan"))
        return time.perf_counter() - started

    return run


def compare(name: str, ours: Callable[[], float], baseline: Callable[[], float],
            baseline_name: str, goal: float, runs: int) -> None:
    mine, theirs = [], []
    ours()  # warm the file system cache and bytecode for both
    baseline()
    for _ in range(runs):
        theirs.append(baseline())
        mine.append(ours())
    ratio = statistics.median(mine) / statistics.median(theirs)
    emit("testrun", name, median_s=round(statistics.median(mine), 3),
         baseline=baseline_name, baseline_median_s=round(statistics.median(theirs), 3),
         ratio=round(ratio, 3), goal_ratio=goal, ok=ratio <= goal, runs=runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    workspace = example_workspace()
    # As pip does when it installs the package (a no-op where the .pyc files exist).
    compileall.compile_dir(Path(logomesh_studio.__file__).parent, quiet=1)
    plain: list[float] = []
    measured: list[float] = []
    compare("no_coverage", runner_run(workspace, False, plain), pytest_run(workspace, False),
            "python -m pytest", GOAL_PLAIN, args.runs)
    compare("coverage", runner_run(workspace, True, measured), pytest_run(workspace, True),
            "python -m coverage run -m pytest", GOAL_COVERAGE, args.runs)
    firsts = plain[1:] + measured[1:]  # the first run of each is compare's warm-up
    first = statistics.median(firsts)
    # pytest's own startup (its auto-loaded plugins, collection) bounds the first result
    # of any runner; measured the same way, it is the floor to compare with.
    floor = statistics.median(pytest_first_result(workspace) for _ in range(args.runs))
    emit("testrun", "first_result", median_s=round(first, 3), max_s=round(max(firsts), 3),
         baseline="python -m pytest -v, first outcome line", baseline_median_s=round(floor, 3),
         goal_s=GOAL_FIRST, ok=first <= GOAL_FIRST, runs=len(firsts),
         bytecode="compiled, as pip installs it")


if __name__ == "__main__":
    main()
