"""Hot-reload latency: save -> ReloadCompleted, for one plugin and a 10-deep chain.

Prints JSON lines: the raw watchdog save -> event latency (baseline), then for each
scenario p50/p95 over 50 real file saves and the median time split. Goals at default
settings: p95 <= 60 ms single plugin, <= 150 ms for the 10-deep cascade.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from _workspace import write_plugin
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import ReloadCompleted
from logomesh_studio.testing import PluginHarness

SAVES = 50
CODE = """
from logomesh_studio.sdk import Plugin, handler

class BenchPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return {version}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, samples: list[float], **extra: object) -> str:
    ms = [s * 1000 for s in samples]
    return json.dumps({"bench": "reload", "case": name, "saves": len(ms),
                       "p50_ms": round(percentile(ms, 0.5), 2),
                       "p95_ms": round(percentile(ms, 0.95), 2),
                       "max_ms": round(max(ms), 2), **extra})


def watchdog_baseline(root: Path) -> list[float]:
    """Raw save -> watchdog callback latency on the same filesystem."""
    target = root / "baseline.py"
    target.write_text("x = 0\n")
    seen = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_modified(self, event):
            if event.src_path.endswith("baseline.py"):
                seen.set()

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    samples = []
    try:
        for i in range(SAVES):
            seen.clear()
            started = time.perf_counter()
            target.write_text(f"x = {i}\n")
            if not seen.wait(5):
                raise RuntimeError("watchdog missed a save")
            samples.append(time.perf_counter() - started)
    finally:
        observer.stop()
        observer.join()
    return samples


def chain_plugin(root: Path, index: int, depends_on: int | None) -> Path:
    deps = {f"p{depends_on:02d}": ">=1"} if depends_on is not None else None
    return write_plugin(root, f"p{index:02d}", CODE.format(version=0), "BenchPlugin", [],
                        dependencies=deps)


def measure(root: Path, depth: int) -> tuple[list[float], list[dict[str, float]]]:
    """Save the chain's root plugin ``SAVES`` times; time until its last dependent reloads."""
    files = [chain_plugin(root, i, i - 1 if i else None) for i in range(depth)]
    last = f"p{depth - 1:02d}"
    done = threading.Event()
    timings: list[dict[str, float]] = []

    def on_event(event) -> None:
        if isinstance(event, ReloadCompleted) and event.plugin_id == last:
            timings.append(event.timings)
            done.set()

    samples = []
    with PluginHarness(root, RuntimeConfig(entry_points=False)) as h:
        h.runtime.events.subscribe(on_event)
        h.watch()
        for i in range(1, SAVES + 1):
            done.clear()
            started = time.perf_counter()
            files[0].write_text(CODE.format(version=i))
            if not done.wait(10):
                raise RuntimeError(f"no reload of {last} after save {i}")
            samples.append(time.perf_counter() - started)
            assert h.send(last if depth == 1 else "p00", "version") == i
    return samples, timings


def median_split(timings: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(t[k] for t in timings) * 1000, 2) for k in timings[0]}


def main() -> None:
    config = RuntimeConfig()
    with tempfile.TemporaryDirectory() as tmp:
        print(summary("watchdog_baseline", watchdog_baseline(Path(tmp))))
    for depth, goal in ((1, 60), (10, 150)):
        with tempfile.TemporaryDirectory() as tmp:
            samples, timings = measure(Path(tmp), depth)
            print(summary("single_plugin" if depth == 1 else "cascade_10_deep", samples,
                          plugins_reloaded=depth, debounce_ms=config.debounce * 1000,
                          goal_p95_ms=goal, split_ms_median=median_split(timings)))


if __name__ == "__main__":
    main()
