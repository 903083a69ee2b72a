"""Live CPU share per plugin: the profiler's sampler at a low rate over a sliding window.

    meter = CpuMeter(runtime_thread.ident, {"echo": "plugins/echo"})
    meter.shares(2.0)      # {"echo": 0.12}: 12 % of the last 2 s was spent in echo's code
    meter.close()

The plugin tree reads it once a second for as long as a workspace is open, so it
samples every 10 ms (a tenth of the profiler's rate), walks each stack only down
to the first plugin frame, and keeps only the last few seconds of (time, plugin,
weight), never the stacks.
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

__all__ = ["CpuMeter"]

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
        self._sampler.start()

    @property
    def running(self) -> bool:
        """True until :meth:`close`, or until the measured thread ends."""
        return not self._closed and not self._sampler.finished.is_set()

    def set_roots(self, plugin_roots: PluginFolders) -> None:
        """Charge samples to these plugin folders from now on (plugins added or reloaded)."""
        self._sampler.set_roots(PluginRoots(plugin_roots))

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
        if covered <= 0:
            return {}
        return {plugin: seconds / covered for plugin, seconds in totals.items() if seconds > 0}

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
