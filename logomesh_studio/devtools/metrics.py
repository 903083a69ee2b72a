"""Per-plugin performance metrics, collected on the runtime thread while a workspace runs.

    metrics = Metrics(runtime.host.bus)   # hooks into delivery, subscribes to the bus's events
    metrics.snapshot()                    # MetricsSnapshot: per plugin, message type and pair
    metrics.close()

The bus's :class:`MessageRecorded` events give, per (source, target, type): calls, errors,
latency (a log-spaced histogram: p50/p95/p99 without keeping the values), payload and
response bytes (the lengths of the bus's one JSON encode, never encoded again). On the hot
path the runtime thread only appends each event to a queue (a C call); :meth:`drain`
counts them in batches, from the runtime loop's heartbeat or before a read. Which handler
runs is read off the runtime thread's stack (the bus's delivery frame) by the samplers,
so the CPU meter's samples give the time each handler held the loop at no cost per
message. Once a large payload shows up, a delivery hook times the copies of the next ones.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import time
import tracemalloc
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from types import CoroutineType, FrameType, GeneratorType
from typing import Any

from logomesh_studio.runtime.bus import CommunicationBridge, Outcome
from logomesh_studio.runtime.events import Event, LogRecorded, MessageRecorded

from ._memory import MemorySnapshot
from ._model import Frame
from ._roots import PluginRoots
from .cpu_meter import CpuMeter

__all__ = ["Histogram", "Metrics", "MetricsSnapshot", "PairMetrics", "PluginMetrics",
           "TypeMetrics"]

PER_DECADE = 16
"""Histogram buckets per factor of ten: neighbouring bounds differ by 15 %."""
_LOW = 1e-6
_DECADES = 8  # 1 us .. 100 s
_BUCKETS = PER_DECADE * _DECADES
_log10 = math.log10
_perf = time.perf_counter
_now = time.time
_TRACE_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>.+)$',
                         re.MULTILINE)
_NEEDED = re.compile(r"needs the permission '([^']+)'")
_HANDLER_RAISED = "handler for "
INBOX = 200_000
"""Events waiting to be counted at most (a loop that never yields: the oldest go, counted
in :attr:`Metrics.missed`)."""
_FAILED = frozenset({Outcome.ERROR, Outcome.TIMEOUT})
_HANDLED = frozenset({Outcome.OK, Outcome.ERROR, Outcome.TIMEOUT, Outcome.CANCELLED})
_OK = Outcome.OK
"""Outcomes of calls whose handler ran (the delivery hook saw them start)."""
_DELIVER = CommunicationBridge._deliver.__code__
TAG = "\x1f"
"""Separates target and type in the CPU meter's message tags."""


class Histogram:
    """Counts of durations in log-spaced buckets from 1 us to 100 s (quantiles within
    one bucket, ~15 %); what a sorted list of every latency would answer, in 1 KiB."""

    __slots__ = ("counts", "total", "sum", "max")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.total = 0
        self.sum = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Count one duration."""
        index = int((_log10(seconds) + 6.0) * PER_DECADE) if seconds > _LOW else 0
        self.counts[index if index < _BUCKETS else _BUCKETS - 1] += 1
        self.total += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds

    @classmethod
    def merged(cls, histograms: list[Histogram]) -> Histogram:
        """One histogram counting what all of ``histograms`` counted."""
        if len(histograms) == 1:
            return histograms[0]
        merged = cls()
        if histograms:
            merged.counts = [sum(column) for column in zip(*(h.counts for h in histograms),
                                                            strict=True)]
            merged.total = sum(h.total for h in histograms)
            merged.sum = sum(h.sum for h in histograms)
            merged.max = max(h.max for h in histograms)
        return merged

    def quantiles(self, *qs: float) -> list[float]:
        """The durations below which fractions ``qs`` of the counted ones fall (each the
        geometric middle of its bucket, never above the largest seen); 0 when empty."""
        if not self.total:
            return [0.0] * len(qs)
        cumulative = list(accumulate(self.counts))
        return [min(10 ** ((bisect_left(cumulative, q * self.total) + 0.5) / PER_DECADE - 6.0),
                    self.max) for q in qs]

    def quantile(self, q: float) -> float:
        """One of :meth:`quantiles`."""
        return self.quantiles(q)[0]


class _Pair:
    """Traffic of one (source, target): counts, and calls per whole second."""

    __slots__ = ("calls", "bytes", "next_second", "in_second", "peak", "first", "last")

    def __init__(self, now: float) -> None:
        self.calls = self.bytes = self.in_second = self.peak = 0
        self.next_second = float(int(now) + 1)
        self.first = self.last = now

    def roll(self, now: float) -> None:
        """The first call of a new second (``now``): keep the busiest second's count."""
        if self.in_second > self.peak:
            self.peak = self.in_second
        self.next_second = float(int(now) + 1)
        self.in_second = 1


class _Calls:
    """What was seen of one (source, target, type)."""

    __slots__ = ("call", "pair", "calls", "errors", "timeouts", "latency", "payload_bytes",
                 "payload_max", "response_bytes", "response_max", "copy_max", "first",
                 "error_kinds")

    def __init__(self, call: str, pair: _Pair, now: float) -> None:
        self.call = call
        self.pair = pair
        self.calls = self.errors = self.timeouts = 0
        self.payload_bytes = self.payload_max = self.response_bytes = self.response_max = 0
        self.copy_max = 0.0
        self.latency = Histogram()
        self.first = now
        self.error_kinds: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class TypeMetrics:
    """One message type a plugin handles (all senders together)."""

    plugin: str
    type: str
    calls: int
    errors: int
    timeouts: int
    rate: float
    """Calls per second since the first one."""
    p50: float
    p95: float
    p99: float
    max: float
    payload_bytes: int
    payload_max: int
    response_bytes: int
    response_max: int
    held_s: float
    """Seconds the handler's own code held the runtime loop (sampled by the CPU meter)."""

    def to_json(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True, slots=True)
class PluginMetrics:
    """What one plugin handled, and how much of the runtime it took."""

    plugin: str
    calls: int
    errors: int
    rate: float
    p50: float
    p95: float
    p99: float
    payload_bytes: int
    response_bytes: int
    held_s: float
    cpu: float
    """Share of the runtime thread's last few seconds spent in the plugin's code."""
    sent: int
    """Calls the plugin made to others."""
    memory_bytes: int | None = None
    """Memory allocated by its code and still held (only while memory is traced)."""
    types: tuple[TypeMetrics, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = _fields(self)
        data["types"] = [t.to_json() for t in self.types]
        return data


@dataclass(frozen=True, slots=True)
class PairMetrics:
    """Traffic from one plugin (or sender) to another."""

    source: str
    target: str
    calls: int
    rate: float
    peak_rate: int
    """Calls in its busiest whole second."""
    mean_payload: float

    def to_json(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Every figure at one moment, as plain data."""

    time: float
    elapsed: float
    plugins: tuple[PluginMetrics, ...] = ()
    pairs: tuple[PairMetrics, ...] = ()

    def plugin(self, plugin_id: str) -> PluginMetrics | None:
        return next((p for p in self.plugins if p.plugin == plugin_id), None)

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "elapsed": self.elapsed,
                "plugins": [p.to_json() for p in self.plugins],
                "pairs": [p.to_json() for p in self.pairs]}


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@dataclass(slots=True)
class _ErrorSite:
    location: Frame | None = None
    count: int = 0


@dataclass(slots=True)
class _Slow:
    samples: Counter[Frame] = field(default_factory=Counter)


class Metrics:
    """Collects the figures of one bus; call :meth:`close` to stop."""

    def __init__(self, bus: CommunicationBridge, roots: Mapping[str, str | os.PathLike[str]]
                 | None = None) -> None:
        self.bus = bus
        self.started = _perf()
        self._calls: dict[tuple[str, str, str], _Calls] = {}
        self._by_type: dict[tuple[str, str], list[_Calls]] = {}
        """The same, grouped by (target, type): all senders of one message type."""
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._inbox: deque[Event] = deque(maxlen=INBOX)
        self._last_id = 0
        self.missed = 0
        """Messages that left the queue uncounted (over :data:`INBOX` between drains)."""
        self._ident: int | None = None
        self._hook_log: deque[tuple[float, str, str]] = deque(maxlen=10_000)
        self._remove_hook: Callable[[], None] | None = None
        self._errors: dict[tuple[str, str], dict[str, _ErrorSite]] = {}
        self._last_trace: dict[str, Frame | None] = {}
        self._slow: dict[tuple[str, str], _Slow] = {}
        self._refused: dict[tuple[str, str], tuple[int, str]] = {}
        self._roots = PluginRoots(roots)
        self._folders: dict[str, str] = {}
        self.large = 256 * 1024
        """Payloads from this size on have their copy cost measured."""
        self.meter: CpuMeter | None = None
        self._memory = False
        self._unsubscribe = bus.events.subscribe(self._inbox.append)

    # -- wiring -----------------------------------------------------------------------------

    def set_roots(self, roots: Mapping[str, str | os.PathLike[str]]) -> None:
        """Plugin folders, for error locations, sampled frames and the CPU meter."""
        self._folders = {pid: os.path.join(os.path.realpath(folder), "")
                         for pid, folder in roots.items()}
        self._roots = PluginRoots(roots)
        if self.meter is not None:
            self.meter.set_roots(roots)

    def start_meter(self, thread_ident: int, interval: float = 0.02) -> CpuMeter:
        """Sample thread ``thread_ident`` (the runtime's) for CPU shares and held time."""
        self._ident = thread_ident
        if self.meter is None:
            self.meter = CpuMeter(thread_ident, dict(self._folders), interval,
                                  message_of=self.current_message)
        return self.meter

    def close(self) -> None:
        """Stop collecting (the hook and subscription go; the figures stay readable)."""
        if self._remove_hook is not None:
            self._remove_hook()
        self._unsubscribe()
        if self.meter is not None:
            self.meter.close()
        self.trace_memory(False)

    def trace_memory(self, on: bool = True) -> None:
        """Trace allocations (tracemalloc, 25 frames) so snapshots carry memory per
        plugin; off by default, since tracing slows every allocation."""
        if on and not tracemalloc.is_tracing():
            tracemalloc.start(25)
            self._memory = True
        elif not on and self._memory:
            self._memory = False
            tracemalloc.stop()

    # -- the runtime thread's side (hot path) -----------------------------------------------

    def drain(self) -> int:
        """Count the events queued since the last drain (on the runtime loop); how many."""
        inbox, count, on_log = self._inbox, self._count, self._on_log
        drained = len(inbox)
        for _ in range(drained):
            event = inbox.popleft()
            kind = type(event)
            if kind is MessageRecorded:
                count(event)  # type: ignore[arg-type]  # checked just above
            elif kind is LogRecorded:
                on_log(event)  # type: ignore[arg-type]  # checked just above
        return drained

    def _on_delivery(self, source: str, target: str, type: str) -> None:
        self._hook_log.append((_now(), target, type))  # time.time(), as the record's

    def _count(self, record: MessageRecorded) -> None:
        if record.id != self._last_id + 1 and self._last_id:
            self.missed += max(record.id - self._last_id - 1, 0)
        self._last_id = record.id
        outcome = record.outcome
        if outcome not in _HANDLED:  # no handler ran: refused, not found, invalid...
            if outcome == Outcome.REFUSED:
                self._refused_call(record)
            return
        key = (record.source, record.target, record.type)
        stats = self._calls.get(key)
        if stats is None:
            stats = self._new_calls(key, record)
        size = record.size
        reply = record.response_size
        seconds = record.duration
        stats.calls += 1
        stats.payload_bytes += size
        stats.response_bytes += reply
        if size > stats.payload_max:
            stats.payload_max = size
        if size >= self.large:
            self._large(stats, record)
        if reply > stats.response_max:
            stats.response_max = reply
        latency = stats.latency
        index = int((_log10(seconds) + 6.0) * PER_DECADE) if seconds > _LOW else 0
        latency.counts[index if index < _BUCKETS else _BUCKETS - 1] += 1
        latency.total += 1
        latency.sum += seconds
        if seconds > latency.max:
            latency.max = seconds
        if outcome is not _OK:
            self._failed(stats, record)
        pair = stats.pair
        pair.calls += 1
        pair.bytes += size
        now = record.time
        pair.last = now
        if now < pair.next_second:
            pair.in_second += 1
        else:
            pair.roll(now)

    def _large(self, stats: _Calls, record: MessageRecorded) -> None:
        """A large payload: time its copy from the delivery hook (installed now, for the
        next ones, if this is the first)."""
        if self._remove_hook is None:
            self._remove_hook = self.bus.add_delivery_hook(self._on_delivery)
            return
        started, ended = record.time - record.duration, record.time
        for at, target, type_ in reversed(self._hook_log):
            if at < started:
                break
            if at <= ended and target == record.target and type_ == record.type:
                # The hook ran after the route, permission check, encode and decode.
                stats.copy_max = max(stats.copy_max, at - started)
                break

    def _new_calls(self, key: tuple[str, str, str], record: MessageRecorded) -> _Calls:
        pair = self._pairs.get(key[:2])
        if pair is None:
            pair = self._pairs[key[:2]] = _Pair(record.time)
        stats = self._calls[key] = _Calls(record.call, pair, record.time)
        self._by_type.setdefault(key[1:], []).append(stats)
        return stats

    def _refused_call(self, record: MessageRecorded) -> None:
        needed = _NEEDED.search(record.error)
        if needed is not None:
            key = (record.source, needed[1])
            refused = self._refused.get(key)
            self._refused[key] = (refused[0] + 1 if refused else 1,
                                  f"{record.call} {record.type!r} to {record.target}")

    def _failed(self, stats: _Calls, record: MessageRecorded) -> None:
        if record.outcome not in _FAILED:
            return  # cancelled by the sender: not the handler's failure
        stats.errors += 1
        if record.outcome == Outcome.TIMEOUT:
            stats.timeouts += 1
        stats.error_kinds[record.error] += 1
        sites = self._errors.setdefault((record.target, record.type), {})
        site = sites.get(record.error)
        if site is None:
            site = sites[record.error] = _ErrorSite()
        site.count += 1
        where = self._last_trace.pop(record.target, None)
        if where is not None:
            site.location = where

    def _on_log(self, event: LogRecorded) -> None:
        # The bus logs a handler's exception just before it records the call.
        if event.traceback and event.message.startswith(_HANDLER_RAISED):
            self._last_trace[event.plugin_id] = self._innermost_in(
                event.plugin_id, _TRACE_LINE.finditer(event.traceback))

    def _innermost_in(self, plugin_id: str, lines: Iterator[re.Match[str]]) -> Frame | None:
        folder = self._folders.get(plugin_id)
        found = None
        for line in lines:
            if folder is None or os.path.realpath(line["file"]).startswith(folder):
                found = Frame(line["name"], line["file"], int(line["line"]))
        return found

    # -- sampling (runtime loop, or the blocking watch's thread) ----------------------------

    def current_call(self) -> tuple[str, str] | None:
        """(target, type) of the handler running on the runtime thread now: its innermost
        delivery frame on the stack (any thread may ask; None before start_meter)."""
        if self._ident is None:
            return None
        frame = sys._current_frames().get(self._ident)
        while frame is not None:
            if frame.f_code is _DELIVER:
                names = frame.f_locals
                return names["target"], names["type"]
            frame = frame.f_back
        return None

    def current_message(self) -> str | None:
        """:meth:`current_call` as ``target<TAG>type`` (the CPU meter's message tag)."""
        current = self.current_call()
        return None if current is None else f"{current[0]}{TAG}{current[1]}"

    def sample_slow_calls(self, older_than: float) -> int:
        """On the runtime loop: note where each call in flight for over ``older_than``
        seconds waits (its plugin's innermost frame on the task's stack); the count.

        Calls in flight are found on the tasks' coroutine chains (the bus's delivery
        frames hold target, type and start), so the hot path keeps no list of them.
        """
        now = _perf()
        sampled = 0
        for task in asyncio.all_tasks():
            call: tuple[str, str, float] | None = None
            where: FrameType | None = None
            for frame in _task_frames(task):
                if frame.f_code is _DELIVER:
                    if call is not None and where is not None:
                        sampled += self._slow_sample(call, where, now, older_than)
                    names = frame.f_locals
                    call, where = (names["target"], names["type"], names["started"]), None
                elif call is not None and frame.f_code.co_filename.startswith(
                        self._folders.get(call[0], "\0")):
                    where = frame
            if call is not None and where is not None:
                sampled += self._slow_sample(call, where, now, older_than)
        return sampled

    def _slow_sample(self, call: tuple[str, str, float], where: FrameType, now: float,
                     older_than: float) -> int:
        if now - call[2] < older_than:
            return 0
        self.add_slow_sample(call[0], call[1], _frame_of(where))
        return 1

    def add_slow_sample(self, target: str, type: str, where: Frame, count: int = 1) -> None:
        """Count ``where`` as seen (``count`` times) during a long call of ``target``'s
        ``type`` handler."""
        slow = self._slow.get((target, type))
        if slow is None:
            slow = self._slow[(target, type)] = _Slow()
        slow.samples[where] += count

    # -- reading ----------------------------------------------------------------------------

    def slow_frames(self, target: str, type: str, top: int = 3) -> list[tuple[Frame, int]]:
        """The frames most often seen during long calls of ``target``'s ``type``."""
        slow = self._slow.get((target, type))
        return slow.samples.most_common(top) if slow is not None else []

    def error_sites(self, target: str, type: str) -> list[tuple[str, int, Frame | None]]:
        """(error, count, location) of ``target``'s ``type`` handler, most common first."""
        sites = self._errors.get((target, type), {})
        return sorted(((error, site.count, site.location) for error, site in sites.items()),
                      key=lambda item: -item[1])

    def calls(self) -> Iterator[tuple[tuple[str, str, str], str, int]]:
        """(source, target, type), kind of call (send, broadcast, capability) and count."""
        for key, stats in list(self._calls.items()):
            yield key, stats.call, stats.calls

    def refused(self) -> dict[tuple[str, str], tuple[int, str]]:
        """Refused calls per (sender, permission it lacked): count and the last call."""
        return dict(self._refused)

    def copy_cost(self, target: str, type: str) -> float:
        """The longest measured route + copy time of a large payload to ``target``."""
        return max((s.copy_max for s in self._by_type.get((target, type), ())), default=0.0)

    def types(self) -> list[tuple[str, str]]:
        """(target, type) of every message type that was handled."""
        return list(self._by_type)

    def type_metrics(self, target: str, type: str, held_s: float = 0.0) -> TypeMetrics:
        """The figures of ``target``'s ``type`` handler, all senders together."""
        group = self._by_type.get((target, type), [])
        latency = Histogram.merged([s.latency for s in group])
        p50, p95, p99 = latency.quantiles(0.5, 0.95, 0.99)
        calls = latency.total
        first = min((s.first for s in group), default=time.time())
        return TypeMetrics(
            plugin=target, type=type, calls=calls, errors=sum(s.errors for s in group),
            timeouts=sum(s.timeouts for s in group),
            rate=calls / max(time.time() - first, 1.0), p50=p50, p95=p95, p99=p99,
            max=latency.max, payload_bytes=sum(s.payload_bytes for s in group),
            payload_max=max((s.payload_max for s in group), default=0),
            response_bytes=sum(s.response_bytes for s in group),
            response_max=max((s.response_max for s in group), default=0), held_s=held_s)

    def type_figures(self) -> Iterator[tuple[str, str, int, int, float, int, int]]:
        """Cheap figures per (target, type) for the rules: calls, errors, the slowest
        call, the largest payload and response."""
        for (target, type_), group in list(self._by_type.items()):
            yield (target, type_, sum(s.calls for s in group), sum(s.errors for s in group),
                   max(s.latency.max for s in group), max(s.payload_max for s in group),
                   max(s.response_max for s in group))

    def pairs(self, min_rate: float = 0.0, max_payload: float = math.inf) -> list[PairMetrics]:
        """Traffic per (source, target); with the arguments, only pairs whose busiest
        second had over ``min_rate`` calls of under ``max_payload`` bytes on average."""
        return [PairMetrics(source=source, target=target, calls=pair.calls,
                            rate=pair.calls / max(pair.last - pair.first, 1.0),
                            peak_rate=max(pair.peak, pair.in_second),
                            mean_payload=pair.bytes / pair.calls)
                for (source, target), pair in sorted(self._pairs.items())
                if max(pair.peak, pair.in_second) > min_rate
                and pair.bytes < max_payload * pair.calls]

    def snapshot(self, window: float = 2.0, plugins: list[str] | None = None
                 ) -> MetricsSnapshot:
        """The figures now (of ``plugins`` only, if given); CPU shares cover the last
        ``window`` seconds."""
        self.drain()
        now_perf, now = _perf(), time.time()
        held = self.meter.held() if self.meter is not None else {}
        cpu = self.meter.shares(window) if self.meter is not None else {}
        held_by_type: dict[tuple[str, str], float] = {}
        held_by_plugin: dict[str, float] = {}
        for (plugin, message), seconds in held.items():
            held_by_plugin[plugin] = held_by_plugin.get(plugin, 0.0) + seconds
            if message is not None:
                target, _, type_ = message.partition(TAG)
                if target == plugin:
                    held_by_type[(plugin, type_)] = held_by_type.get((plugin, type_), 0.0) \
                        + seconds
        memory = None
        if tracemalloc.is_tracing() and self._folders:
            memory = MemorySnapshot.take().plugin_bytes(self._folders)
        wanted = set(plugins) if plugins is not None else None
        sent: dict[str, int] = {}
        for (source, _, _), stats in list(self._calls.items()):
            sent[source] = sent.get(source, 0) + stats.calls
        types: dict[str, list[TypeMetrics]] = {}
        latencies: dict[str, list[Histogram]] = {}
        for (target, type_), group in sorted(self._by_type.items()):
            if wanted is not None and target not in wanted:
                continue
            types.setdefault(target, []).append(
                self.type_metrics(target, type_, held_by_type.get((target, type_), 0.0)))
            latencies.setdefault(target, []).extend(s.latency for s in group)
        everyone = set(types) | set(held_by_plugin) | set(self._folders)
        found = []
        for plugin in sorted(everyone if wanted is None else everyone & wanted):
            mine = tuple(types.get(plugin, ()))
            p50, p95, p99 = Histogram.merged(latencies.get(plugin, [])).quantiles(
                0.5, 0.95, 0.99)
            found.append(PluginMetrics(
                plugin=plugin, calls=sum(t.calls for t in mine),
                errors=sum(t.errors for t in mine), rate=sum(t.rate for t in mine),
                p50=p50, p95=p95, p99=p99, payload_bytes=sum(t.payload_bytes for t in mine),
                response_bytes=sum(t.response_bytes for t in mine),
                held_s=held_by_plugin.get(plugin, 0.0), cpu=cpu.get(plugin, 0.0),
                sent=sent.get(plugin, 0),
                memory_bytes=None if memory is None else memory.get(plugin, 0), types=mine))
        pairs = [p for p in self.pairs() if wanted is None or p.source in wanted
                 or p.target in wanted]
        return MetricsSnapshot(time=now, elapsed=now_perf - self.started,
                               plugins=tuple(found), pairs=tuple(pairs))


def _frame_of(frame: FrameType) -> Frame:
    code = frame.f_code
    return Frame(code.co_qualname, code.co_filename, frame.f_lineno)


def _task_frames(task: object) -> Iterator[FrameType]:
    """The frames of a suspended task's coroutine chain, outermost first."""
    get_coro = getattr(task, "get_coro", None)
    coro: Any = get_coro() if get_coro is not None else None
    while coro is not None:
        if isinstance(coro, CoroutineType):
            frame, coro = coro.cr_frame, coro.cr_await
        elif isinstance(coro, GeneratorType):
            frame, coro = coro.gi_frame, coro.gi_yieldfrom
        else:
            break
        if frame is not None:
            yield frame
