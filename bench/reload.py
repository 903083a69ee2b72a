"""Hot-reload latency: save -> ReloadCompleted, for one plugin and a 10-deep chain,
and a burst of 50 files across 10 plugins.

Files are saved by a separate process, as an editor saves them: written from the
runtime's own process, each save would wait for the GIL while the runtime's loop
thread handles the save's first event (the truncation's), which no editor does. A save
is ``write_text`` (truncate, write, close: what VS Code does); its start and end are
``perf_counter`` readings in the editor process (CLOCK_MONOTONIC, one clock for all
processes).

Prints JSON lines: the raw watchdog and (on Linux) raw inotify save -> event latency
(baselines, same run: the runtime reads inotify itself on Linux), the inotify one also
with saves spaced as in the reload cases (``inotify_baseline_spaced``: on ext4,
truncating a file written 150 ms earlier takes about 1 ms, at times 5, before any event
exists), then for each scenario p50/p95 over 50 real file saves and the median time
split. Saves are spaced a little over the burst quiet period apart, so each is a save
of its own (a save right after a reload is the tail of a burst and waits for quiet by
design). Each time ends when the event is published (the watchdog callback,
ReloadCompleted), read on the publishing thread: the benchmark thread's own wake-up is
not part of the reload. Each line also gives p50 and p95 of the save itself
(``save_ms``), of the time from the start of the save until the runtime saw its first
event (``to_observer_ms``: the disk and the kernel), and of the rest, from there to
ReloadCompleted (``ours_ms``, split in ``split_ms_median``). The burst case writes 50
files (5 modules in each of 10 plugins) as fast as possible and counts the reloads per
plugin until everything runs the final content. Goals at default settings: p95 <= 5 ms
single plugin, <= 10 ms for the 10-deep cascade, at most 2 reloads per plugin in the
burst and no failed reload.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _workspace import write_plugin
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import ReloadCompleted, ReloadFailed
from logomesh_studio.runtime.watcher import OBSERVER_SETTLE, USE_INOTIFY
from logomesh_studio.sdk import PluginError
from logomesh_studio.testing import PluginHarness

SAVES = 50
CODE = """
from logomesh_studio.sdk import Plugin, handler

class BenchPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return {version}
"""


EDITOR = """
import json, sys, time
from pathlib import Path
for line in sys.stdin:
    files = json.loads(line)
    started = time.perf_counter()
    for path, text in files:
        Path(path).write_text(text)
    print(json.dumps([started, time.perf_counter()]), flush=True)
"""


class Editor:
    """A separate process that saves files when asked, as an editor does."""

    def __init__(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-c", EDITOR], text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def save(self, *files: tuple[Path, str]) -> tuple[float, float]:
        """Write ``files`` (path, text) one after the other, as fast as possible; returns
        when the writes started and when the last one ended (``perf_counter``)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps([(str(p), t) for p, t in files]) + "\n")
        self._process.stdin.flush()
        started, ended = json.loads(self._process.stdout.readline())
        return started, ended

    def __enter__(self) -> Editor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(5)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, samples: list[float], **extra: object) -> str:
    ms = [s * 1000 for s in samples]
    return json.dumps({"bench": "reload", "case": name, "saves": len(ms),
                       "p50_ms": round(percentile(ms, 0.5), 2),
                       "p95_ms": round(percentile(ms, 0.95), 2),
                       "max_ms": round(max(ms), 2), **extra})


def watchdog_baseline(root: Path, editor: Editor) -> list[float]:
    """Raw save -> watchdog callback latency on the same filesystem."""
    target = root / "baseline.py"
    target.write_text("x = 0\n")
    seen = threading.Event()
    seen_at = [0.0]

    class Handler(FileSystemEventHandler):
        def on_modified(self, event):
            if event.src_path.endswith("baseline.py") and not seen.is_set():
                seen_at[0] = time.perf_counter()
                seen.set()

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    samples = []
    try:
        for i in range(SAVES):
            seen.clear()
            started, _ = editor.save((target, f"x = {i}\n"))
            if not seen.wait(5):
                raise RuntimeError("watchdog missed a save")
            samples.append(seen_at[0] - started)
    finally:
        observer.stop()
        observer.join()
    return samples


def inotify_baseline(root: Path, editor: Editor, pause: float = 0.0) -> list[float]:
    """Raw save -> inotify event latency (a thread blocked in read), the floor of any
    watcher on this machine (Linux only); ``pause``: seconds between saves."""
    from inotify_simple import INotify, flags

    target = root / "inotify.py"
    target.write_text("x = 0\n")
    inotify = INotify()
    inotify.add_watch(str(root), flags.MODIFY | flags.CLOSE_WRITE)
    first_read: list[float] = []  # per save, when its first event was read
    closes = 0
    arrived = threading.Condition()
    stop = False

    def read() -> None:
        nonlocal closes
        while not stop:
            events = inotify.read(timeout=100)
            now = time.perf_counter()
            with arrived:
                if events and len(first_read) == closes:
                    first_read.append(now)
                closes += sum(1 for e in events if e.mask & flags.CLOSE_WRITE)
                arrived.notify()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    samples = []
    for i in range(SAVES):
        time.sleep(pause)
        started, _ = editor.save((target, f"x = {i}\n"))
        with arrived:  # every event of this save read: the next one starts afresh
            if not arrived.wait_for(lambda n=i + 1: closes >= n, 5):
                raise RuntimeError("inotify missed a save")
        samples.append(first_read[i] - started)
    stop = True
    reader.join(5)
    inotify.close()
    return samples


def chain_plugin(root: Path, index: int, depends_on: int | None) -> Path:
    deps = {f"p{depends_on:02d}": ">=1"} if depends_on is not None else None
    return write_plugin(root, f"p{index:02d}", CODE.format(version=0), "BenchPlugin", [],
                        dependencies=deps)


def measure(root: Path, depth: int, pause: float, editor: Editor
            ) -> tuple[list[float], list[dict[str, float]], list[float]]:
    """Save the chain's root plugin ``SAVES`` times; time until its last dependent
    reloads. Also returns the ReloadCompleted timings and how long each save took."""
    files = [chain_plugin(root, i, i - 1 if i else None) for i in range(depth)]
    last = f"p{depth - 1:02d}"
    done = threading.Event()
    done_at = [0.0]
    timings: list[dict[str, float]] = []

    def on_event(event) -> None:
        if isinstance(event, ReloadCompleted) and event.plugin_id == last:
            done_at[0] = time.perf_counter()  # when it happened, not when this thread wakes
            timings.append(event.timings)
            done.set()

    samples, writes = [], []
    with PluginHarness(root, RuntimeConfig(entry_points=False)) as h:
        h.runtime.events.subscribe(on_event)
        h.watch()
        for i in range(1, SAVES + 1):
            done.clear()
            started, ended = editor.save((files[0], CODE.format(version=i)))
            writes.append(ended - started)
            if not done.wait(10):
                raise RuntimeError(f"no reload of {last} after save {i}")
            samples.append(done_at[0] - started)
            assert h.send(last if depth == 1 else "p00", "version") == i
            time.sleep(pause)
    return samples, timings, writes


BURST_PLUGINS, BURST_MODULES, BURST_ROUNDS = 10, 5, 10
BURST_CODE = """
from logomesh_studio.sdk import Plugin, handler
from . import m0, m1, m2, m3, m4

class BenchPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return [m.VALUE for m in (m0, m1, m2, m3, m4)]
"""


def runs(h: PluginHarness, plugin_id: str, expected: object) -> bool:
    """True once ``plugin_id`` answers with ``expected`` (a half-written module that a
    leading reload imported may make it fail until the trailing reload)."""
    try:
        return h.send(plugin_id, "version") == expected
    except PluginError:
        return False


def measure_burst(root: Path, pause: float, editor: Editor
                  ) -> tuple[list[float], list[int], int]:
    """Write 50 files across 10 plugins as fast as possible, ``BURST_ROUNDS`` times;
    per round, the time until every plugin runs the final content and the most reloads
    any plugin had. Also returns the number of failed reloads."""
    packages = []
    for i in range(BURST_PLUGINS):
        module = write_plugin(root, f"b{i:02d}", BURST_CODE, "BenchPlugin", [])
        for m in range(BURST_MODULES):
            (module.parent / f"m{m}.py").write_text("VALUE = 0\n")
        packages.append(module.parent)
    ids = [f"b{i:02d}" for i in range(BURST_PLUGINS)]
    counts: dict[str, int] = {}
    failures: list[ReloadFailed] = []
    lock = threading.Lock()

    def on_event(event) -> None:
        with lock:
            if isinstance(event, ReloadCompleted):
                counts[event.plugin_id] = counts.get(event.plugin_id, 0) + 1
            elif isinstance(event, ReloadFailed):
                failures.append(event)

    samples, most = [], []
    with PluginHarness(root, RuntimeConfig(entry_points=False)) as h:
        h.runtime.events.subscribe(on_event)
        h.watch()
        for round_ in range(1, BURST_ROUNDS + 1):
            with lock:
                counts.clear()
            started, _ = editor.save(*[(package / f"m{m}.py", f"VALUE = {round_}\n")
                                       for package in packages for m in range(BURST_MODULES)])
            while not all(runs(h, pid, [round_] * BURST_MODULES) for pid in ids):
                time.sleep(0.001)
            samples.append(time.perf_counter() - started)
            time.sleep(pause * 2)  # a later trailing reload would show in the count
            with lock:
                most.append(max(counts.get(pid, 0) for pid in ids))
    return samples, most, len(failures)


def median_split(timings: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(t[k] for t in timings) * 1000, 2) for k in timings[0]}


def p50_p95(values: list[float]) -> list[float]:
    """[p50, p95] in ms."""
    return [round(percentile(values, q) * 1000, 2) for q in (0.5, 0.95)]


def main() -> None:
    config = RuntimeConfig()
    pause = config.burst_quiet * 1.5
    settle = config.settle if config.settle is not None else (
        0.0 if USE_INOTIFY else OBSERVER_SETTLE)
    with Editor() as editor:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = watchdog_baseline(Path(tmp), editor)
        print(summary("watchdog_baseline", baseline))
        if sys.platform.startswith("linux"):
            for name, spacing in (("inotify_baseline", 0.0), ("inotify_baseline_spaced", pause)):
                with tempfile.TemporaryDirectory() as tmp:
                    print(summary(name, inotify_baseline(Path(tmp), editor, spacing),
                                  pause_ms=round(spacing * 1000)))
        baseline_p50 = round(percentile(baseline, 0.5) * 1000, 2)
        for depth, goal in ((1, 5), (10, 10)):
            with tempfile.TemporaryDirectory() as tmp:
                samples, timings, writes = measure(Path(tmp), depth, pause, editor)
            p95 = percentile(samples, 0.95) * 1000
            print(summary("single_plugin" if depth == 1 else "cascade_10_deep", samples,
                          goal_p95_ms=goal, ok=p95 <= goal, plugins_reloaded=depth,
                          watcher="inotify" if USE_INOTIFY else "watchdog",
                          settle_ms=round(settle * 1000, 2),
                          burst_quiet_ms=config.burst_quiet * 1000,
                          baseline_watchdog_p50_ms=baseline_p50,
                          save_ms=p50_p95(writes),
                          to_observer_ms=p50_p95(
                              [s - t["total"] for s, t in zip(samples, timings, strict=True)]),
                          ours_ms=p50_p95([t["total"] for t in timings]),
                          split_ms_median=median_split(timings)))
        with tempfile.TemporaryDirectory() as tmp:
            samples, most, failed = measure_burst(Path(tmp), pause, editor)
        print(summary("burst_50_files_10_plugins", samples, rounds=len(samples),
                      max_reloads_per_plugin=max(most), goal_max_reloads_per_plugin=2,
                      failed_reloads=failed, ok=max(most) <= 2 and failed == 0))

if __name__ == "__main__":
    main()
