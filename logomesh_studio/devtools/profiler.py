"""Sampling profiler with per-plugin attribution and speedscope import/export.

    with Profiler(interval=0.001, plugin_roots={"echo": "plugins/echo"}) as p:
        work()
    p.profile.functions()          # hottest functions first
    p.profile.plugin_seconds()     # {"echo": 0.42}
    p.profile.to_speedscope()      # open in speedscope or the Studio's profiler pane

A background thread reads the profiled thread's stack (``sys._current_frames``)
instead of tracing every call, so the profiled code runs at nearly full speed.
Call counts (:class:`DeterministicProfiler`) and memory (:class:`MemorySnapshot`)
are separate, on-demand tools because they do slow the code down.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import _speedscope
from ._callcounts import CallStats, DeterministicProfiler, count_calls
from ._memory import AllocationSite, MemorySnapshot, trace_memory
from ._model import (
    IDLE_NAME,
    Frame,
    FunctionStats,
    Sample,
    collapsed_stacks,
    fold_frames,
    function_stats,
    is_library_file,
    is_plugin_code,
)
from ._roots import PluginRoots
from ._sampler import StackSampler, cpu_clock_of

__all__ = [
    "AllocationSite",
    "CallStats",
    "DeterministicProfiler",
    "Frame",
    "FunctionStats",
    "MemorySnapshot",
    "Profile",
    "Profiler",
    "Sample",
    "count_calls",
    "is_library_file",
    "is_plugin_code",
    "record_thread",
    "trace_memory",
]

Clock = Literal["wall", "cpu"]


@dataclass
class Profile:
    """A recorded or imported profile: frames, weighted samples and how they were taken.

    ``duration`` is the wall time the recording covered (for imported files, the
    file's end minus start value) and ``sample_rate`` the achieved samples per
    second (0.0 for files that do not record it). Sample
    weights are seconds of ``clock`` time, or raw values when ``unit`` is
    ``"bytes"`` or ``"none"`` (imported files only). ``plugin_roots`` maps the plugin
    ids to the folders the samples were attributed by (empty when unknown).
    """

    frames: list[Frame]
    samples: list[Sample]
    name: str = "profile"
    unit: str = "seconds"
    clock: str = "wall"
    duration: float = 0.0
    sample_rate: float = 0.0
    interval: float | None = None
    switch_interval: float | None = None
    plugin_roots: dict[str, str] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        """Sum of all sample weights."""
        return sum(sample.weight for sample in self.samples)

    def functions(self) -> list[FunctionStats]:
        """Self and total time per function, hottest self time first."""
        return function_stats(self.frames, self.samples)

    def plugin_seconds(self) -> dict[str, float]:
        """Time charged to each plugin (the plugin nearest the top of each sample's stack)."""
        return self._seconds_by(lambda sample: sample.plugin)

    def message_seconds(self) -> dict[str, float]:
        """Time charged to each message reported by the ``message_of`` hook."""
        return self._seconds_by(lambda sample: sample.message)

    def idle_seconds(self) -> float:
        """Time the thread spent waiting (in a selector or a threading wait)."""
        return sum(
            sample.weight
            for sample in self.samples
            if sample.stack and self.frames[sample.stack[-1]].name == IDLE_NAME
        )

    def plugin_code_only(self) -> Profile:
        """This profile with idle, runtime and library frames folded away (their time goes
        to the plugin function that called them; samples without plugin code are dropped),
        so a plugin's own time fills a flame chart. Frame indices are unchanged.

        Plugin code is code in the :attr:`plugin_roots` folders; for a profile without
        them (an imported file), any code outside the standard library, installed packages
        and the runtime (:func:`is_plugin_code`)."""
        keep = _in_folders(PluginRoots(self.plugin_roots)) if self.plugin_roots else is_plugin_code
        return dataclasses.replace(self, samples=fold_frames(self.frames, self.samples, keep))

    def _seconds_by(self, key: Callable[[Sample], str | None]) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for sample in self.samples:
            owner = key(sample)
            if owner is not None:
                totals[owner] += sample.weight
        return dict(totals)

    def to_speedscope(self) -> dict[str, Any]:
        """This profile as a speedscope file (one "sampled" profile), ready for ``json.dump``."""
        extension = {
            "clock": self.clock,
            "duration": self.duration,
            "sampleRate": self.sample_rate,
            "interval": self.interval,
            "switchInterval": self.switch_interval,
            "pluginRoots": self.plugin_roots,
        }
        return _speedscope.encode(
            self.name, self.frames, self.samples, unit=self.unit, extension=extension
        )

    def save_speedscope(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_speedscope` to ``path`` (conventionally ``*.speedscope.json``)."""
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(self.to_speedscope(), stream)

    @classmethod
    def from_speedscope(
        cls, source: str | os.PathLike[str] | Mapping[str, Any], index: int | None = None
    ) -> Profile:
        """Read a speedscope file (path or parsed dict): sampled or evented profiles.

        ``index`` picks one of several profiles (py-spy writes one per thread);
        by default the file's active profile.
        """
        decoded = _speedscope.decode(_speedscope.load(source), index)
        ext = decoded.extension
        return cls(
            frames=decoded.frames,
            samples=decoded.samples,
            name=decoded.name,
            unit=decoded.unit,
            clock=ext.get("clock") or "wall",
            duration=ext.get("duration") or decoded.duration,
            sample_rate=ext.get("sampleRate") or 0.0,
            interval=ext.get("interval"),
            switch_interval=ext.get("switchInterval"),
            plugin_roots=_roots(ext.get("pluginRoots")),
        )

    def with_processes(self, processes: Mapping[str, Mapping[str, Any]]) -> Profile:
        """This profile plus isolated plugins' profiles recorded in their own processes
        over the same span (plugin id -> speedscope JSON): each one's samples come after
        the runtime's, under a root frame naming the process."""
        frames, samples = list(self.frames), list(self.samples)
        roots = dict(self.plugin_roots)
        for plugin, data in processes.items():
            other = Profile.from_speedscope(data)
            root, offset = len(frames), len(frames) + 1
            frames.append(Frame(f"{plugin} (isolated process)"))
            frames.extend(other.frames)
            samples.extend(Sample((root, *(offset + i for i in s.stack)), s.weight,
                                  s.plugin, s.message) for s in other.samples)
            roots.update(other.plugin_roots)
        return dataclasses.replace(self, frames=frames, samples=samples, plugin_roots=roots)

    def to_collapsed(self, unit: Literal["microseconds", "samples"] = "microseconds") -> str:
        """Brendan Gregg's folded stacks: ``outer (file:line);inner (file:line) value`` lines."""
        return collapsed_stacks(self.frames, self.samples, unit=unit)


def _in_folders(roots: PluginRoots) -> Callable[[Frame], bool]:
    def keep(frame: Frame) -> bool:
        return frame.name != IDLE_NAME and roots.plugin_of(frame.file) is not None

    return keep


def _roots(value: object) -> dict[str, str]:
    """The ``pluginRoots`` of a speedscope file, if it is a mapping of strings."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


class Profiler:
    """Samples one thread's stack from a background thread; use as a context manager.

    ``thread`` is a thread ident or a started :class:`threading.Thread`; None
    means the thread that starts the profiler. ``clock="cpu"`` weights samples by
    the target's CPU time instead of wall time (Unix). ``switch_interval``, when
    set, lowers ``sys.setswitchinterval`` while profiling so a CPU-bound target
    hands over the GIL (and gets sampled) more often; it is process-wide and is
    restored afterwards. ``plugin_roots`` maps plugin ids to their folders;
    ``message_of`` is called on every sample to tag the message being handled.
    """

    def __init__(
        self,
        interval: float = 0.001,
        thread: int | threading.Thread | None = None,
        *,
        clock: Clock = "wall",
        switch_interval: float | None = None,
        plugin_roots: Mapping[str, str | os.PathLike[str]] | None = None,
        message_of: Callable[[], str | None] | None = None,
        name: str = "profile",
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        self.interval = interval
        self.thread = thread
        self.clock = clock
        self.switch_interval = switch_interval
        self.plugin_roots = dict(plugin_roots or {})
        self.message_of = message_of
        self.name = name
        self._sampler: StackSampler | None = None
        self._saved_switch_interval: float | None = None
        self._profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        """The finished profile; available once the profiler has stopped."""
        if self._profile is None:
            raise RuntimeError("the profile is available after the profiler stops")
        return self._profile

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._sampler is not None and self._profile is None

    def start(self) -> Profiler:
        """Start sampling the target thread."""
        if self._sampler is not None:
            raise RuntimeError("a Profiler records once; create a new one")
        ident = self._target_ident()
        read_clock = cpu_clock_of(ident) if self.clock == "cpu" else time.perf_counter
        self._sampler = StackSampler(
            ident,
            self.interval,
            read_clock=read_clock,
            roots=PluginRoots(self.plugin_roots),
            message_of=self.message_of,
        )
        if self.switch_interval is not None:
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self.switch_interval)
        self._sampler.start()
        return self

    def stop(self) -> Profile:
        """Stop sampling, restore the switch interval and return the profile."""
        if self._sampler is None:
            raise RuntimeError("the profiler was not started")
        if self._profile is None:
            try:
                self._sampler.stop()
            finally:
                if self._saved_switch_interval is not None:
                    sys.setswitchinterval(self._saved_switch_interval)
                    self._saved_switch_interval = None
            self._profile = self.snapshot()
        return self._profile

    def snapshot(self) -> Profile:
        """The profile so far, while sampling continues (for live views)."""
        sampler = self._sampler
        if sampler is None:
            raise RuntimeError("the profiler was not started")
        samples = sampler.samples()
        end = sampler.stopped_at or time.perf_counter()
        duration = max(end - sampler.started_at, 0.0)
        return Profile(
            frames=list(sampler.frames),
            samples=samples,
            name=self.name,
            clock=self.clock,
            duration=duration,
            sample_rate=len(samples) / duration if duration else 0.0,
            interval=self.interval,
            switch_interval=self.switch_interval,
            plugin_roots={plugin: os.fspath(folder) for plugin, folder in
                          self.plugin_roots.items()},
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds; True if sampling ended (the target thread exited)."""
        if self._sampler is None:
            raise RuntimeError("the profiler was not started")
        return self._sampler.finished.wait(timeout)

    def __enter__(self) -> Profiler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _target_ident(self) -> int:
        thread = self.thread
        if thread is None:
            return threading.get_ident()
        if isinstance(thread, threading.Thread):
            if thread.ident is None:
                raise ValueError(f"thread {thread.name!r} has not been started")
            return thread.ident
        return thread


def record_thread(
    thread_ident: int,
    duration: float,
    interval: float = 0.001,
    plugin_roots: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    clock: Clock = "wall",
    switch_interval: float | None = None,
    message_of: Callable[[], str | None] | None = None,
    name: str = "profile",
) -> Profile:
    """Profile another thread (e.g. the runtime's) for ``duration`` seconds, blocking the caller.

    Returns early if the target thread ends. This is what the headless
    ``logomesh-studio profile`` command runs.
    """
    if thread_ident == threading.get_ident():
        raise ValueError("record_thread blocks its caller, so it cannot profile the calling thread")
    profiler = Profiler(
        interval,
        thread_ident,
        clock=clock,
        switch_interval=switch_interval,
        plugin_roots=plugin_roots,
        message_of=message_of,
        name=name,
    )
    profiler.start()
    try:
        profiler.wait(duration)
    finally:
        profile = profiler.stop()
    return profile
