"""Live CPU share per plugin: the profiler's sampler at a low rate over a sliding window.

    meter = CpuMeter(runtime_thread.ident, {"echo": "plugins/echo"})
    meter.shares(2.0)      # {"echo": 0.12}: 12 % of the last 2 s was spent in echo's code
    meter.close()

The plugin tree reads it once a second for as long as a workspace is open, so it
samples every 10 ms (a tenth of the profiler's rate), walks each stack only down
to the first plugin frame, and keeps only the last few seconds of (time, plugin,
weight), never the stacks.

An isolated plugin runs in a process of its own (:meth:`CpuMeter.set_processes`):
its share is that process's CPU time over the window, read from ``/proc`` at each
:meth:`CpuMeter.shares` (Linux; elsewhere isolated plugins get no figure).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping

from ._model import Sample
from ._roots import PluginRoots
from ._sampler import StackSampler

__all__ = ["CpuMeter", "process_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS

PluginFolders = Mapping[str, str | os.PathLike[str]]


class CpuMeter:
    """Charges thread ``thread_ident``'s time to the plugin on top of its stack; samples at once.

    ``plugin_roots`` maps plugin ids to their folders, as for the profiler. Samples
    older than ``history`` seconds are dropped, so longer windows are cut to it;
    :meth:`held` keeps running totals, tagged by ``message_of`` (see the sampler).
    :meth:`close` (or leaving a ``with`` block) stops the sampling thread.
    """

    def __init__(
        self,
        thread_ident: int,
        plugin_roots: PluginFolders | None = None,
        interval: float = 0.01,
        *,
        history: float = 10.0,
        message_of: Callable[[], str | None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self.history = history
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, str | None, float]] = deque()
        self._held: dict[tuple[str, str | None], float] = defaultdict(float)
        self._sampler = StackSampler(
            thread_ident,
            interval,
            roots=PluginRoots(plugin_roots),
            message_of=message_of,
            sink=self._record,
            stacks=False,
            thread_name="logomesh-cpu-meter",
        )
        self._closed = False
        self._processes: dict[str, int] = {}
        self._readings: dict[int, deque[tuple[float, float]]] = {}
        self._sampler.start()

    @property
    def running(self) -> bool:
        """True until :meth:`close`, or until the measured thread ends."""
        return not self._closed and not self._sampler.finished.is_set()

    def set_roots(self, plugin_roots: PluginFolders) -> None:
        """Charge samples to these plugin folders from now on (plugins added or reloaded)."""
        self._sampler.set_roots(PluginRoots(plugin_roots))

    def set_processes(self, processes: Mapping[str, int]) -> None:
        """Charge isolated plugins (id -> process id) with their own process's CPU time."""
        self._processes = dict(processes)
        self._readings = {pid: self._readings.get(pid, deque()) for pid in processes.values()}
        self._read_processes()

    def _read_processes(self) -> None:
        """Add a reading of each isolated plugin's process CPU time (the last few kept)."""
        now = time.perf_counter()
        for pid in self._processes.values():
            used = process_cpu_seconds(pid)
            readings = self._readings[pid]
            if used is None:
                continue
            readings.append((now, used))
            while now - readings[0][0] > self.history:
                readings.popleft()

    def shares(self, window_s: float = 2.0) -> dict[str, float]:
        """Fraction of the last ``window_s`` seconds each plugin's code was on top of the stack.

        Only plugins with some time are listed. The fractions are of the time sampled
        in the window, which is the whole window once the meter has run that long.
        """
        start = time.perf_counter() - window_s
        with self._lock:
            samples = list(self._samples)
        totals: dict[str, float] = defaultdict(float)
        covered = 0.0
        for at, plugin, weight in reversed(samples):
            if at <= start:
                break
            inside = min(weight, at - start)  # a sample stands for the time since the previous
            covered += inside
            if plugin is not None:
                totals[plugin] += inside
        shares = {plugin: seconds / covered for plugin, seconds in totals.items()
                  if seconds > 0} if covered > 0 else {}
        shares.update(self._window_of_processes(window_s))
        return shares

    def _window_of_processes(self, window_s: float) -> dict[str, float]:
        """Isolated plugins' shares over the last ``window_s`` (from the readings kept)."""
        self._read_processes()
        now, shares = time.perf_counter(), {}
        for plugin, pid in self._processes.items():
            readings = self._readings.get(pid)
            if not readings:
                continue
            last_at, last = readings[-1]
            first_at, first = next(((at, used) for at, used in readings
                                    if at >= now - window_s), readings[0])
            if last_at > first_at and last > first:
                shares[plugin] = (last - first) / (last_at - first_at)
        return shares

    def held(self) -> dict[tuple[str, str | None], float]:
        """Seconds each plugin's code was on top of the stack since the meter started, per
        ``(plugin, message)`` as the ``message_of`` hook tagged the samples (None: untagged)."""
        with self._lock:
            return dict(self._held)

    def close(self) -> None:
        """Stop sampling and join the sampling thread; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            self._sampler.stop()

    def __enter__(self) -> CpuMeter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _record(self, sample: Sample) -> None:
        # Sampling thread: keep the plugin and weight, drop what fell out of the history.
        now = time.perf_counter()
        horizon = now - self.history
        with self._lock:
            samples = self._samples
            samples.append((now, sample.plugin, sample.weight))
            if sample.plugin is not None:
                self._held[(sample.plugin, sample.message)] += sample.weight
            while samples[0][0] < horizon:
                samples.popleft()
