"""What the bridge remembers about past calls: a bounded message history and per-pair
traffic statistics (the traffic graph that reload cascades and the plugins pane use)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

from logomesh_studio.runtime.events import MessageRecorded

RECORD_OVERHEAD = 400
"""Bytes a history record costs beyond its text (the object, its fields, the ring slot)."""


def record_bytes(record: MessageRecorded) -> int:
    """What ``record`` costs the history: its payload, response and error text (JSON text
    is ASCII, one byte a character) plus :data:`RECORD_OVERHEAD`."""
    return len(record.payload) + len(record.response) + len(record.error) + RECORD_OVERHEAD


class MessageHistory:
    """The most recent call records, oldest first, bounded by count and by bytes.

    Reads like a sequence (``len``, iteration, ``history[-1]``); the newest record is
    always kept, even alone over ``max_bytes``.
    """

    __slots__ = ("_records", "_sizes", "bytes", "max_count", "max_bytes")

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self._records: deque[MessageRecorded] = deque()
        self._sizes: deque[int] = deque()
        self.bytes = 0
        """What the kept records cost, as :func:`record_bytes` counts."""
        self.max_count = max_count
        self.max_bytes = max_bytes

    def append(self, record: MessageRecorded) -> None:
        """Keep ``record``, forgetting the oldest ones beyond either bound."""
        size = record_bytes(record)
        self._records.append(record)
        self._sizes.append(size)
        self.bytes += size
        while len(self._sizes) > 1 and (self.bytes > self.max_bytes
                                        or len(self._sizes) > self.max_count):
            self._records.popleft()
            self.bytes -= self._sizes.popleft()
        if len(self._sizes) > self.max_count:  # max_count 0: keep nothing
            self.clear()

    def clear(self) -> None:
        """Forget every record."""
        self._records.clear()
        self._sizes.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[MessageRecorded]:
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> MessageRecorded: ...
    @overload
    def __getitem__(self, index: slice) -> list[MessageRecorded]: ...

    def __getitem__(self, index: int | slice) -> MessageRecorded | list[MessageRecorded]:
        if isinstance(index, slice):
            return list(self._records)[index]
        return self._records[index]


@dataclass(frozen=True, slots=True)
class Connection:
    """Traffic between a plugin and one peer, as ``connections()`` summarises it."""

    peer: str
    sent: int
    received: int
    types: tuple[str, ...]
    last_time: float
    mean_latency: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return {"peer": self.peer, "sent": self.sent, "received": self.received,
                "types": list(self.types), "last_time": self.last_time,
                "mean_latency": self.mean_latency, "errors": self.errors}


class _PairStats:
    __slots__ = ("count", "errors", "latency", "last", "types")

    def __init__(self) -> None:
        self.count = self.errors = 0
        self.latency = self.last = 0.0
        self.types: set[str] = set()


class TrafficStats:
    """Calls counted per (source, target) pair of plugins; kept when the history is
    cleared, since reload cascades follow observed traffic."""

    __slots__ = ("_pairs",)

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], _PairStats] = {}

    def count(self, source: str, target: str, type: str, duration: float, now: float,
              failed: bool) -> None:
        """Count one call from ``source`` to ``target``."""
        stats = self._pairs.get((source, target))
        if stats is None:
            stats = self._pairs[(source, target)] = _PairStats()
        stats.count += 1
        stats.latency += duration
        stats.last = now
        stats.types.add(type)
        if failed:
            stats.errors += 1

    def connections(self, plugin_id: str) -> list[Connection]:
        """Per-peer traffic summary of ``plugin_id`` (both directions), by peer id."""
        peers: dict[str, list[Any]] = {}
        for (source, target), stats in self._pairs.items():
            if plugin_id not in (source, target):
                continue
            peer = target if source == plugin_id else source
            acc = peers.setdefault(peer, [0, 0, set(), 0.0, 0.0, 0])
            acc[0 if source == plugin_id else 1] += stats.count
            acc[2] |= stats.types
            acc[3] = max(acc[3], stats.last)
            acc[4] += stats.latency
            acc[5] += stats.errors
        return [Connection(peer, sent, received, tuple(sorted(types)), last,
                           latency / (sent + received) if sent + received else 0.0, errors)
                for peer, (sent, received, types, last, latency, errors) in sorted(peers.items())]

    def consumers_of(self, plugin_id: str) -> set[str]:
        """Plugins observed successfully sending messages to ``plugin_id``."""
        return {source for (source, target), stats in self._pairs.items()
                if target == plugin_id and source != plugin_id and stats.count > stats.errors}
