"""Runtime events: plain, frozen data that crosses from the runtime to its front ends.

Every event serialises with ``to_json()`` and comes back with ``event_from_json``,
so a front end never holds a live runtime object (and a future child-process
runtime can send the same events over a socket).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

_log = logging.getLogger(__name__)
_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all runtime events; ``kind`` names the event in JSON."""

    kind: ClassVar[str] = "event"
    time: float = field(default_factory=time.time)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # No super(): slots=True rebuilds the class, which breaks zero-argument super.
        _REGISTRY[cls.kind] = cls

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return {"event": self.kind, **data}


def event_from_json(data: dict[str, Any]) -> Event:
    """Rebuild an event from ``Event.to_json()`` output."""
    payload = dict(data)
    cls = _REGISTRY[payload.pop("event")]
    for f in dataclasses.fields(cls):
        if isinstance(payload.get(f.name), list):
            payload[f.name] = tuple(payload[f.name])
    return cls(**payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestInvalid(Event):
    """A manifest or dependency problem found while loading the workspace."""

    kind: ClassVar[str] = "manifest_invalid"
    path: str
    field: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginLoaded(Event):
    """A plugin was imported and initialized and is now running."""

    kind: ClassVar[str] = "plugin_loaded"
    plugin_id: str
    version: str
    folder: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginFailed(Event):
    """A plugin could not start (or failed while running); it is marked failed."""

    kind: ClassVar[str] = "plugin_failed"
    plugin_id: str
    stage: str
    error: str
    traceback: str = ""
    path: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginStopped(Event):
    """A plugin was stopped (cleanup ran) and unloaded."""

    kind: ClassVar[str] = "plugin_stopped"
    plugin_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceLoaded(Event):
    """The initial load of a workspace finished."""

    kind: ClassVar[str] = "workspace_loaded"
    workspace: str
    running: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRecorded(Event):
    """A plugin wrote a log record through ``ctx.log``."""

    kind: ClassVar[str] = "log"
    plugin_id: str
    level: str
    message: str
    path: str = ""
    line: int = 0
    traceback: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecorded(Event):
    """One bridge call as the history records it.

    ``call`` is send, broadcast or capability; ``outcome`` is ok, error, refused,
    cancelled, timeout, not_found, no_handler or invalid. Payload and response are kept as the
    JSON text that was delivered, so the record can be shown and replayed later;
    text longer than ``RuntimeConfig.history_text_limit`` is cut and ``truncated`` set
    (such a record cannot be replayed). ``size`` and ``response_size`` are the full
    JSON lengths in bytes, whatever was cut.
    """

    kind: ClassVar[str] = "message"
    id: int
    call: str
    source: str
    target: str
    type: str
    size: int
    duration: float
    outcome: str
    error: str = ""
    payload: str = ""
    response: str = ""
    truncated: bool = False
    response_size: int = 0


def field_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of the fields ``names`` of frozen dataclass ``cls``, which must
    name every field (TypeError otherwise).

    An instance of ``object.__new__(cls)`` with each of them called once equals the one
    ``cls(...)`` builds, at a third of the cost: a frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__``. Kept for the objects the bridge builds
    per message (:func:`message_recorded`, the handler's ``sdk.Message``).
    """
    fields = sorted(f.name for f in dataclasses.fields(cls))
    if sorted(names) != fields:
        raise TypeError(f"{cls.__name__} has the fields {fields}, not {sorted(names)}")
    return tuple(getattr(cls, name).__set__ for name in names)


_new = object.__new__
(_set_time, _set_id, _set_call, _set_source, _set_target, _set_type, _set_size,
 _set_duration, _set_outcome, _set_error, _set_payload, _set_response, _set_truncated,
 _set_response_size) = field_setters(
    MessageRecorded, "time", "id", "call", "source", "target", "type", "size", "duration",
    "outcome", "error", "payload", "response", "truncated", "response_size")


def message_recorded(*, time: float, id: int, call: str, source: str, target: str,
                     type: str, size: int, duration: float, outcome: str, error: str,
                     payload: str, response: str, truncated: bool, response_size: int
                     ) -> MessageRecorded:
    """``MessageRecorded(...)`` with every field given, built as fast as the bridge needs
    (one per call; see :func:`field_setters`)."""
    record: MessageRecorded = _new(MessageRecorded)
    _set_time(record, time)
    _set_id(record, id)
    _set_call(record, call)
    _set_source(record, source)
    _set_target(record, target)
    _set_type(record, type)
    _set_size(record, size)
    _set_duration(record, duration)
    _set_outcome(record, outcome)
    _set_error(record, error)
    _set_payload(record, payload)
    _set_response(record, response)
    _set_truncated(record, truncated)
    _set_response_size(record, response_size)
    return record


@dataclass(frozen=True, slots=True, kw_only=True)
class Watching(Event):
    """The file watcher is running: saved edits under ``workspace`` now reload."""

    kind: ClassVar[str] = "watching"
    workspace: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadStarted(Event):
    """A reload of ``plugin_id`` began; ``cause`` is the changed file or the trigger."""

    kind: ClassVar[str] = "reload_started"
    plugin_id: str
    cause: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadCompleted(Event):
    """``plugin_id`` now runs the new code with its state restored.

    ``timings`` splits the seconds spent: detect, save (the file still being written),
    debounce, copy (of the state), unload, import, init, restore, reload and total
    (detect/save/debounce are 0 for a manual reload).
    """

    kind: ClassVar[str] = "reload_completed"
    plugin_id: str
    version: str
    cause: str = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadFailed(Event):
    """A reload failed at ``stage``; the old version keeps running with its state."""

    kind: ClassVar[str] = "reload_failed"
    plugin_id: str
    stage: str
    error: str
    traceback: str = ""
    path: str = ""
    line: int = 0
    cause: str = ""


class PermissionsStatus(StrEnum):
    """What happened to a reload's widened permissions (see :class:`PermissionsChanged`)."""

    APPLIED = "applied"
    PENDING = "pending"
    REFUSED = "refused"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionsChanged(Event):
    """A reload changed ``plugin_id``'s manifest permissions.

    ``status`` says what happened to the widened ones (added permissions that grant
    something new): ``applied`` (none, or allowed), ``pending`` (in force only once the
    user approves), ``refused`` (the old ones stay), then ``approved`` or ``rejected``,
    or ``withdrawn`` when a later edit no longer asks for them.
    Removed permissions always apply at once. ``granted`` is what is now in force.
    """

    kind: ClassVar[str] = "permissions_changed"
    plugin_id: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    widened: tuple[str, ...] = ()
    status: str = PermissionsStatus.APPLIED
    granted: tuple[str, ...] = ()


Subscriber = Callable[[Event], None]


class EventHub:
    """Fan-out of events to subscribers, called synchronously on the emitting thread.

    Subscribers must be quick and thread-safe (a GUI client only queues the event);
    one raising subscriber is logged and never stops the others.
    """

    def __init__(self) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it."""
        self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                _log.exception("event subscriber %r failed on %s", subscriber, event.kind)
