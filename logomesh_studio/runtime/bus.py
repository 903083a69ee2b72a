"""The communication bridge: permission-checked messages between plugins.

Delivery is in-process and inline: ``send`` runs the target's handler in the
sender's task, so a request/response costs microseconds and re-entrant calls
(A asks B, B asks A) cannot deadlock. Every call is recorded in a bounded history
(see history.py) and published as a :class:`MessageRecorded` event. Whatever a
handler raises, any BaseException included, reaches the sender as a PluginError.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from logomesh_studio import sdk
from logomesh_studio.runtime import payload as payloads
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import (
    EventHub,
    MessageRecorded,
    field_setters,
    message_recorded,
)
from logomesh_studio.runtime.history import Connection, MessageHistory, TrafficStats
from logomesh_studio.runtime.plugin_record import runtime_cancelled
from logomesh_studio.runtime.security import EVERYONE, PermissionSet, required_permission
from logomesh_studio.runtime.workflow import run_workflow

if TYPE_CHECKING:
    from logomesh_studio.runtime.manifest import Manifest

__all__ = ["CommunicationBridge", "Connection", "DeliveryHook"]



class Outcome(StrEnum):
    """How a recorded message ended; the value is what history, JSON and the CLI show."""

    OK = "ok"
    ERROR = "error"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    NO_HANDLER = "no_handler"
    INVALID = "invalid"


# Short names used inside the bus.
OK, ERROR, REFUSED, TIMEOUT = Outcome.OK, Outcome.ERROR, Outcome.REFUSED, Outcome.TIMEOUT
CANCELLED, INVALID = Outcome.CANCELLED, Outcome.INVALID
NOT_FOUND, NO_HANDLER = Outcome.NOT_FOUND, Outcome.NO_HANDLER
EXECUTE = "execute"
"""The message type under which ``execute(input)`` calls are recorded."""

T = TypeVar("T")
_perf = time.perf_counter
_current_task = asyncio.current_task
_handling: contextvars.ContextVar[tuple[object, tuple[str, ...]]] = contextvars.ContextVar(
    "logomesh_handling", default=(None, ()))
"""The task running the current synchronous call chain, and the plugins whose handlers
are on it, outermost first (re-entrant calls skip gates). A task a handler spawns
inherits the variable but is another task, so its messages wait at the gate like
anyone else's."""
_NO_PERMISSIONS = PermissionSet(())
_new = object.__new__
_set_source, _set_type, _set_payload, _set_id = field_setters(
    sdk.Message, "source", "type", "payload", "id")


def _message(source: str, type: str, payload: Any) -> sdk.Message:
    """``sdk.Message(source, type, payload, 0)``, built as fast as the bridge needs (one
    per call; see ``events.field_setters``)."""
    message: sdk.Message = _new(sdk.Message)
    _set_source(message, source)
    _set_type(message, type)
    _set_payload(message, payload)
    _set_id(message, 0)
    return message


_NOT_AWAITABLE = frozenset({dict, list, str, int, float, bool, type(None), tuple})
"""Types of the usual handler results, answered without asking ``inspect.isawaitable``."""

FAIR_QUOTA = 64
"""Calls a sender's tasks may start between two turns of the fair scheduler without
waiting (a task's calls one after another count once)."""
TURN_SHARE = 4
"""Calls of each waiting sender the fair scheduler lets start per turn."""
GO, YIELD, WAIT = 0, 1, 2
"""What the fair scheduler says to a call: start now, start after one turn of the
loop, or wait for the sender's turn."""


class _FairShare:
    """Fair scheduling of calls per sender, so a plugin flooding the bridge cannot
    starve the others.

    Calls run inline in the sender's task, so a flood lives in the event loop's ready
    queue: a handler that spawns two unawaited sends per message doubles it at every
    turn, and everyone else's messages wait behind all of it. Here a sender starts up
    to ``FAIR_QUOTA`` calls at once; beyond that its calls wait in a queue of their own
    (at most ``max_inflight_calls``, counting those running, before ``Overloaded``), and
    a scheduler, one callback per turn of the loop, lets ``TURN_SHARE`` waiting calls of
    every sender start, round robin, and gives every sender a fresh quota. A flood thus
    advances by a bounded share per turn and keeps a bounded number of calls (and so
    of tasks) alive, while other senders' calls start at once.

    A flood is many tasks, each starting a call. One task awaits each call before it
    makes the next, so the calls a task makes one after another are one flow: they use
    one unit of the quota, and a sequential sender never waits for a turn. A call to a
    sync handler runs to its end without giving the loop back, though, so every
    ``FAIR_QUOTA`` calls of one flow the sender yields to the loop once: a plugin
    sending a long list item by item does not hold up every other plugin meanwhile.
    """

    __slots__ = ("_used", "_queues", "_scheduled", "_last", "_streak")

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._queues: dict[str, collections.deque[asyncio.Future[None]]] = {}
        self._scheduled = False
        self._last: dict[str, object] = {}
        """The task that started each sender's latest admitted call."""
        self._streak: dict[str, int] = {}
        """Calls that task made one after another since it last yielded."""

    def admit(self, source: str, task: object) -> int:
        """Whether ``source`` may start a call from ``task`` now: GO (counted, unless
        ``task`` started ``source``'s previous call too), YIELD (after one turn of the
        loop: ``task`` made ``FAIR_QUOTA`` calls in a row) or WAIT (for its turn)."""
        if source in self._queues:
            return WAIT  # others of its calls wait already: after them
        if self._last.get(source) is task:  # the same task again: its previous call ended
            streak = self._streak.get(source, 0) + 1
            if streak < FAIR_QUOTA:
                self._streak[source] = streak
                return GO
            self._streak[source] = 0
            return YIELD
        used = self._used.get(source, 0)
        if used >= FAIR_QUOTA:
            return WAIT
        self._used[source] = used + 1
        self._last[source] = task
        self._streak[source] = 0
        return GO

    def waiting(self, source: str) -> int:
        queue = self._queues.get(source)
        return len(queue) if queue is not None else 0

    async def wait(self, source: str) -> None:
        """Wait for ``source``'s turn."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._queues.setdefault(source, collections.deque()).append(turn)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._turn)
        try:
            await turn
        except BaseException:
            queue = self._queues.get(source)
            if queue is not None and turn in queue:
                queue.remove(turn)
                if not queue:
                    del self._queues[source]
            raise

    def _turn(self) -> None:
        self._scheduled = False
        self._used.clear()
        self._last.clear()  # holds finished tasks no longer
        self._streak.clear()
        for source, queue in list(self._queues.items()):
            started = 0
            while queue and started < TURN_SHARE:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)
                    started += 1
            self._used[source] = started
            if not queue:
                del self._queues[source]
        if self._queues:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._turn)


_log = logging.getLogger(__name__)
DeliveryHook = Callable[[str, str, str], None]
"""``hook(source, target, type)``, called right before a handler runs."""
HOOK_LOG_INTERVAL = 10.0
"""Seconds during which further failures of one delivery hook are not logged again."""


class _Route:
    """Where messages for one running plugin go; ``gate`` holds them during a reload."""

    __slots__ = ("plugin_id", "instance", "encoded", "log", "capabilities", "priority",
                 "index", "gate", "inflight", "drained")

    def __init__(self, plugin_id: str, instance: sdk.Plugin, manifest: Manifest,
                 log: logging.Logger, index: int) -> None:
        self.plugin_id = plugin_id
        self.instance = instance
        self.encoded = takes_encoded_payloads(instance)
        self.log = log
        self.capabilities = frozenset(manifest.capabilities)
        self.priority = manifest.priority
        self.index = index
        self.gate: asyncio.Future[None] | None = None
        self.inflight = 0
        self.drained: asyncio.Future[None] | None = None


class _Port:
    """The messaging port of one plugin's context: the bridge's calls with the sender fixed.

    Closures rather than bound methods or partials, so no plain attribute of the port
    (``send.__self__``, ``send.func``) leads to the bridge. This keeps honest plugins
    from stumbling on it; it is no barrier to code that wants to get there
    (``__closure__``, ``gc.get_objects()``): see the guide's "Security" section.
    """

    __slots__ = ("send", "broadcast", "request_capability", "providers", "workflow")

    def __init__(self, bus: CommunicationBridge, source: str) -> None:
        # Plain functions returning the bridge's coroutines: no extra coroutine per call.
        def send(target: str, type: str, payload: Any = None,
                 timeout: float | None = None) -> Coroutine[Any, Any, Any]:
            return bus.send(source, target, type, payload, timeout)

        def broadcast(type: str, payload: Any = None, capability: str | None = None
                      ) -> Coroutine[Any, Any, dict[str, Any]]:
            return bus.broadcast(source, type, payload, capability)

        def request_capability(name: str, params: Any = None
                               ) -> Coroutine[Any, Any, tuple[str, Any]]:
            return bus.request_capability(source, name, params)

        def providers(capability: str) -> list[str]:
            return bus.providers(capability)

        async def workflow(steps: list[dict[str, Any]]) -> dict[str, Any]:
            return await run_workflow(send, steps)

        self.send, self.broadcast, self.workflow = send, broadcast, workflow
        self.request_capability, self.providers = request_capability, providers


class CommunicationBridge:
    """Routes messages between running plugins, checks permissions, keeps history."""

    def __init__(self, events: EventHub | None = None, config: RuntimeConfig | None = None) -> None:
        self.events = events or EventHub()
        self.config = config or RuntimeConfig()
        self.history = MessageHistory(self.config.history_size, self.config.history_bytes)
        self.traffic = TrafficStats()
        self._routes: dict[str, _Route] = {}
        self._permissions: dict[str, PermissionSet] = {}
        self._busy: dict[str, int] = {}
        """Calls each sender has in flight (bounded by ``max_inflight_calls``)."""
        self._fair = _FairShare()
        self._ids = itertools.count(1)
        self._order = itertools.count()
        self._hooks: tuple[DeliveryHook, ...] = ()
        self._hook_failures: dict[DeliveryHook, float] = {}

    # -- wiring (runtime only) --------------------------------------------------------------

    def bind_context(self, context: sdk.PluginContext, manifest: Manifest) -> None:
        """Give ``context`` its port; its permissions come from ``manifest``."""
        self._permissions[context.plugin_id] = PermissionSet(manifest.permissions)
        sdk._bind(context, _Port(self, context.plugin_id))

    def add_delivery_hook(self, hook: DeliveryHook) -> Callable[[], None]:
        """Call ``hook(source, target, type)`` on the runtime thread right before each
        handler runs (devtools use it for message breakpoints); returns its remover.

        A hook that raises is logged (at most once per :data:`HOOK_LOG_INTERVAL` seconds)
        and skipped: the handler still runs and the sender never sees the hook's error.
        """
        self._hooks = (*self._hooks, hook)

        def remove() -> None:
            self._hooks = tuple(known for known in self._hooks if known is not hook)
            self._hook_failures.pop(hook, None)

        return remove

    def _run_hooks(self, source: str, target: str, type: str) -> None:
        for hook in self._hooks:
            try:
                hook(source, target, type)
            except Exception:  # a devtool's bug is not the target's error
                now = time.monotonic()
                if now - self._hook_failures.get(hook, -HOOK_LOG_INTERVAL) >= HOOK_LOG_INTERVAL:
                    self._hook_failures[hook] = now
                    _log.exception("delivery hook %r failed on %r from %s to %s (skipped; "
                                   "further failures within %g s are not logged)",
                                   hook, type, source, target, HOOK_LOG_INTERVAL)

    def grant(self, sender: str, permissions: list[str]) -> None:
        """Let a non-plugin sender (a test driver, a tool) send with ``permissions``."""
        self._permissions[sender] = PermissionSet(permissions)

    def attach(self, plugin_id: str, instance: sdk.Plugin, manifest: Manifest,
               log: logging.Logger) -> None:
        """Start routing messages for ``plugin_id`` to ``instance``."""
        self._permissions[plugin_id] = PermissionSet(manifest.permissions)
        self._routes[plugin_id] = _Route(plugin_id, instance, manifest, log, next(self._order))

    def detach(self, plugin_id: str, keep_permissions: bool = False) -> None:
        """Stop routing to ``plugin_id``; messages held for it fail with PluginNotFound.
        With ``keep_permissions`` it may still send (from ``cleanup``) until ``revoke``."""
        route = self._routes.pop(plugin_id, None)
        if not keep_permissions:
            self.revoke(plugin_id)
        if route is not None and route.gate is not None and not route.gate.done():
            route.gate.set_result(None)

    def revoke(self, plugin_id: str) -> None:
        """Forget ``plugin_id``'s permissions: it can no longer send anything."""
        self._permissions.pop(plugin_id, None)

    async def hold(self, plugin_id: str, drain_timeout: float | None = None) -> None:
        """Queue new messages for ``plugin_id`` and wait for those in flight to finish."""
        route = self._routes[plugin_id]
        loop = asyncio.get_running_loop()
        if route.gate is None:
            route.gate = loop.create_future()
        if route.inflight:
            route.drained = loop.create_future()
            try:
                async with asyncio.timeout(drain_timeout):
                    await route.drained
            finally:
                route.drained = None

    def release(self, plugin_id: str, instance: sdk.Plugin | None = None,
                manifest: Manifest | None = None, log: logging.Logger | None = None) -> None:
        """Deliver the held messages, to ``instance`` if given (a reload's new version)."""
        route = self._routes[plugin_id]
        if instance is not None:
            route.instance = instance
            route.encoded = takes_encoded_payloads(instance)
        if manifest is not None:
            route.capabilities = frozenset(manifest.capabilities)
            route.priority = manifest.priority
            self._permissions[plugin_id] = PermissionSet(manifest.permissions)
        if log is not None:
            route.log = log
        gate, route.gate = route.gate, None
        if gate is not None and not gate.done():
            gate.set_result(None)

    # -- queries ----------------------------------------------------------------------------

    def providers(self, capability: str) -> list[str]:
        """Providers of ``capability``: highest manifest priority first, then load order."""
        found = [r for r in self._routes.values() if capability in r.capabilities]
        found.sort(key=lambda r: (-r.priority, r.index))
        return [r.plugin_id for r in found]

    def running(self) -> list[str]:
        """Ids of the plugins messages can currently reach, in load order."""
        return [r.plugin_id for r in sorted(self._routes.values(), key=lambda r: r.index)]

    def connections(self, plugin_id: str) -> list[Connection]:
        """Per-peer traffic summary of ``plugin_id`` (both directions), by peer id."""
        return self.traffic.connections(plugin_id)

    def consumers_of(self, plugin_id: str) -> set[str]:
        """Plugins observed sending messages to ``plugin_id`` (the traffic graph)."""
        return self.traffic.consumers_of(plugin_id)

    def clear_history(self) -> None:
        """Forget recorded messages (connection statistics are kept)."""
        self.history.clear()

    # -- recording --------------------------------------------------------------------------

    def _record(self, call: str, source: str, target: str, type: str, size: int, started: float,
                outcome: str, error: str = "", payload: str = "", response: str = "",
                peer: bool = True) -> None:
        """Append to the history, publish it, and (``peer``: target is a plugin) count
        it in the pair's statistics; broadcast and capability targets are not peers."""
        duration = _perf() - started
        now = time.time()
        keep = self.config.history_text_limit
        response_size = len(response)
        truncated = len(payload) > keep or response_size > keep
        if truncated:  # the ring must not hold 10,000 copies of megabyte payloads
            payload, response = payload[:keep], response[:keep]
        record = message_recorded(id=next(self._ids), call=call, source=source, target=target,
                                  type=type, size=size, duration=duration, outcome=outcome,
                                  error=error, payload=payload, response=response, time=now,
                                  truncated=truncated, response_size=response_size)
        self.history.append(record)
        if peer:
            self.traffic.count(source, target, type, duration, now, outcome != OK)
        self.events.emit(record)

    def _refuse(self, call: str, source: str, target: str, type: str, started: float,
                needed: str, what: str, payload: Any = None) -> sdk.PermissionDenied:
        message = f"{source} may not {what}: its manifest needs the permission {needed!r}"
        try:  # kept so the call can be replayed once the permission is granted
            text = payloads.encode(payload, self.config.payload_limit)
        except sdk.InvalidPayload:
            text = ""
        self._record(call, source, target, type, len(text), started, REFUSED, message, text,
                     peer=call == "send")
        return sdk.PermissionDenied(message, needed)

    def _encode(self, call: str, source: str, target: str, type: str, value: Any,
                started: float) -> str:
        try:
            return payloads.encode(value, self.config.payload_limit)
        except sdk.InvalidPayload as exc:
            self._record(call, source, target, type, 0, started, INVALID, str(exc),
                         peer=call == "send")
            raise

    # -- calls ------------------------------------------------------------------------------

    async def send(self, source: str, target: str, type: str, payload: Any = None,
                   timeout: float | None = None, *, fallback_execute: bool = False) -> Any:
        """Deliver ``type`` to ``target``'s handler and return its (copied) response.

        ``fallback_execute`` (what :meth:`execute` passes): without a handler for
        ``type``, call the target's own ``execute`` with the bare payload."""
        started = _perf()
        if not self._permissions.get(source, _NO_PERMISSIONS).allows("send", target, type):
            what = f"execute {target}" if fallback_execute else f"send {type!r} to {target}"
            raise self._refuse("send", source, target, type, started,
                               required_permission("send", target, type), what, payload)
        text = self._encode("send", source, target, type, payload, started)
        return await self._deliver("send", source, target, type, payload, text, timeout, started,
                                   fallback_execute)

    def execute(self, source: str, target: str, input: Any = None,
                timeout: float | None = None) -> Coroutine[Any, Any, Any]:
        """Call ``target``'s ``execute(input)`` as a recorded message of type ``execute``
        (needs ``send:<target>:execute``); a handler for ``execute`` takes precedence."""
        return self.send(source, target, EXECUTE, input, timeout, fallback_execute=True)

    async def replay(self, record: MessageRecorded) -> Any:
        """Make the recorded call again, as the same kind of call from the same source
        (whose current permissions apply). A truncated record cannot be replayed."""
        if record.truncated:
            raise sdk.InvalidPayload(f"message #{record.id} was recorded truncated "
                                     "(over history_text_limit); it cannot be replayed")
        payload = json.loads(record.payload) if record.payload else None
        if record.call == "broadcast":
            if record.target in self._routes:  # one delivery of a broadcast: that one again
                return await self._redeliver(record, payload)
            capability = None if record.target == "*" else record.target
            return await self.broadcast(record.source, record.type, payload, capability)
        if record.call == "capability":
            return await self.request_capability(record.source, record.type, payload)
        if record.type == EXECUTE:  # a handler for "execute" still takes precedence there
            return await self.execute(record.source, record.target, payload)
        return await self.send(record.source, record.target, record.type, payload)

    async def _redeliver(self, record: MessageRecorded, payload: Any) -> Any:
        """Deliver one recorded broadcast delivery again, if the source may still
        broadcast ``type`` to that receiver (to everyone or to one of its capabilities)."""
        started = _perf()
        source, target, type = record.source, record.target, record.type
        rules = self._permissions.get(source, _NO_PERMISSIONS)
        scopes = (EVERYONE, *self._routes[target].capabilities)
        if not any(rules.allows("broadcast", scope, type) for scope in scopes):
            raise self._refuse("broadcast", source, target, type, started,
                               required_permission("broadcast", EVERYONE),
                               f"broadcast {type!r} to {target}", payload)
        text = self._encode("broadcast", source, target, type, payload, started)
        return await self._deliver("broadcast", source, target, type, payload, text, None,
                                   started)

    async def _deliver(self, call: str, source: str, target: str, type: str, payload: Any,
                       text: str, timeout: float | None, started: float,
                       fallback_execute: bool = False) -> Any:
        """Run ``target``'s handler for one call and return its copied response; every
        outcome is recorded. The steps: turn, route, handler, admission, call, response."""
        task = _current_task()
        admission = self._fair.admit(source, task)
        if admission:  # not GO
            if admission == WAIT:
                await self._wait_turn(call, source, target, type, text, started)
            else:  # a long run of calls from one task lets the loop run others once
                await asyncio.sleep(0)
        route = self._routes.get(target)
        if route is None or route.gate is not None:
            route = await self._route(call, source, target, type, text, timeout, started)
        method, message = self._handler(route, call, source, type, payload, text, started,
                                        fallback_execute)
        busy = self._busy.get(source, 0)
        if busy >= self.config.max_inflight_calls:
            raise self._overloaded(call, source, target, type, text, started)
        self._busy[source] = busy + 1
        route.inflight += 1
        # A plugin in its own process runs no code in this task: no call chain for it.
        token = None
        if not route.encoded:
            running, chain = _handling.get()
            token = _handling.set((task, (*chain, target) if running is task else (target,)))
        scope = None
        try:
            if self._hooks:
                self._run_hooks(source, target, type)
            if route.encoded:  # its stand-in keeps the deadline; it answers Encoded
                result = await method(message, self.config.message_timeout if timeout is None
                                      else timeout)
            else:
                result = method(message)
                if result.__class__ not in _NOT_AWAITABLE and inspect.isawaitable(result):
                    scope = asyncio.timeout(self.config.message_timeout if timeout is None
                                            else timeout)
                    async with scope:
                        result = await result
        except BaseException as exc:  # any the handler raises; our cancellation goes on
            expired = scope.expired() if scope is not None else \
                route.encoded and exc.__class__ is TimeoutError
            raise self._failed(route, call, source, type, text, started, exc, expired,
                               timeout) from None
        finally:
            if token is not None:
                _handling.reset(token)
            self._busy[source] -= 1
            route.inflight -= 1
            if not route.inflight and route.drained is not None and not route.drained.done():
                route.drained.set_result(None)
        return self._respond(call, source, target, type, text, started, result)

    async def _wait_turn(self, call: str, source: str, target: str, type: str, text: str,
                         started: float) -> None:
        """Wait for the fair scheduler to let ``source``'s call start (see _FairShare);
        Overloaded if too many of its calls wait or run already."""
        if self._fair.waiting(source) + self._busy.get(source, 0) >= \
                self.config.max_inflight_calls:
            raise self._overloaded(call, source, target, type, text, started)
        await self._fair.wait(source)

    async def _route(self, call: str, source: str, target: str, type: str, text: str,
                     timeout: float | None, started: float) -> _Route:
        """The route to ``target`` once no reload holds it (PluginNotFound if none)."""
        route = self._routes.get(target)
        if route is not None and route.gate is not None:
            route = await self._pass_gate(call, source, target, type, text, timeout, started)
        if route is None:
            error = f"no plugin {target!r} is running"
            self._record(call, source, target, type, len(text), started, NOT_FOUND, error, text)
            raise sdk.PluginNotFound(error)
        return route

    async def _pass_gate(self, call: str, source: str, target: str, type: str, text: str,
                         timeout: float | None, started: float) -> _Route | None:
        """Wait while ``target`` is held for a reload (within the sender's timeout), unless
        this call comes back from one of its own handlers (A -> B -> A) on the same task:
        the reload is waiting for that handler."""
        route = self._routes.get(target)
        if target in _call_chain():
            return route
        limit = self.config.message_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                while route is not None and route.gate is not None:
                    await asyncio.shield(route.gate)
                    route = self._routes.get(target)
        except TimeoutError:
            error = f"{target} did not answer {type!r} within {limit} s (it was reloading)"
            self._record(call, source, target, type, len(text), started, TIMEOUT, error, text)
            raise sdk.MessageTimeout(error) from None
        return route

    def _handler(self, route: _Route, call: str, source: str, type: str, payload: Any,
                 text: str, started: float, fallback_execute: bool
                 ) -> tuple[Callable[..., Any], Any]:
        """The method to call and what to pass it: a handler and a Message (for a
        plugin in its own process, its stand-in's handler and ``(source, type, text)``:
        see takes_encoded_payloads), or for an ``execute`` call without a handler,
        ``execute`` and the bare input."""
        instance = route.instance
        method = instance.handler_for(type)
        if method is not None:
            if route.encoded:  # the stand-in of a plugin in its own process: the JSON goes
                return method, (source, type, text)
            return method, _message(source, type, payloads.decode(text, payload))
        if fallback_execute and type_overrides_execute(instance):
            return instance.execute, payloads.decode(text, payload)
        handled = ", ".join(instance.handled_types()) or "none"
        error = f"{route.plugin_id} has no handler for {type!r} (it handles: {handled})"
        self._record(call, source, route.plugin_id, type, len(text), started, NO_HANDLER,
                     error, text)
        raise sdk.NoHandler(error)

    def _overloaded(self, call: str, source: str, target: str, type: str, text: str,
                    started: float) -> sdk.Overloaded:
        error = sdk.Overloaded(source, self.config.max_inflight_calls)
        self._record(call, source, target, type, len(text), started, REFUSED, str(error), text)
        return error

    def _failed(self, route: _Route, call: str, source: str, type: str, text: str,
                started: float, exc: BaseException, expired: bool, timeout: float | None
                ) -> BaseException:
        """Record a call whose handler did not return; what the sender gets instead."""
        target = route.plugin_id
        if expired:
            limit = self.config.message_timeout if timeout is None else timeout
            error = f"{target} did not answer {type!r} within {limit} s"
            self._record(call, source, target, type, len(text), started, TIMEOUT, error, text)
            return sdk.MessageTimeout(error)
        if runtime_cancelled(exc):
            self._record(call, source, target, type, len(text), started, CANCELLED,
                         "cancelled by the sender", text)
            return exc
        if isinstance(exc, sdk.PluginCrashed) and exc.plugin_id == target \
                or isinstance(exc, sdk.ResponseRefused) and exc.target == target:
            self._record(call, source, target, type, len(text), started, ERROR, str(exc), text)
            return exc
        return self._remote_error(route, call, source, type, text, started, exc)

    def _remote_error(self, route: _Route, call: str, source: str, type: str, text: str,
                      started: float, exc: BaseException) -> sdk.RemoteError:
        """Log and record a handler's exception; the RemoteError the sender gets."""
        route.log.error("handler for %r from %s raised", type, source, exc_info=exc)
        error = f"{type_name(exc)}: {exc}"
        self._record(call, source, route.plugin_id, type, len(text), started, ERROR, error, text)
        return sdk.RemoteError(route.plugin_id, type_name(exc), str(exc))

    def _respond(self, call: str, source: str, target: str, type: str, text: str,
                 started: float, result: Any) -> Any:
        """Record the answer and return the sender's copy of it, unless the bridge
        refuses it (not JSON-compatible, too large): then ResponseRefused."""
        try:
            reply = payloads.encode(result, self.config.payload_limit, "response")
        except sdk.InvalidPayload as exc:
            refused = sdk.ResponseRefused(target, str(exc))
            self._record(call, source, target, type, len(text), started, ERROR, str(refused),
                         text)
            raise refused from None
        self._record(call, source, target, type, len(text), started, OK, "", text, reply)
        return payloads.decode(reply, result)

    async def broadcast(self, source: str, type: str, payload: Any = None,
                        capability: str | None = None) -> dict[str, Any]:
        """Deliver to every other plugin handling ``type`` (or every provider of
        ``capability``) at once. Values are responses, or the PluginError of a receiver
        that failed."""
        started = _perf()
        scope = EVERYONE if capability is None else capability
        shown = capability or "*"
        if not self._permissions.get(source, _NO_PERMISSIONS).allows("broadcast", scope, type):
            where = f"providers of {capability!r}" if capability else "every plugin"
            raise self._refuse("broadcast", source, shown, type, started,
                               required_permission("broadcast", scope),
                               f"broadcast {type!r} to {where}", payload)
        text = self._encode("broadcast", source, shown, type, payload, started)
        if capability is not None:
            targets = [pid for pid in self.providers(capability) if pid != source]
        else:
            targets = [pid for pid, r in self._routes.items()
                       if pid != source and r.instance.handler_for(type) is not None]
        if not targets:
            self._record("broadcast", source, shown, type, len(text), started, OK, "", text, "{}",
                         peer=False)
            return {}
        chain = _call_chain()  # gather runs each delivery in a task of its own
        results = await asyncio.gather(
            *(_on_chain(chain, self._deliver("broadcast", source, pid, type, payload, text,
                                             None, started))
              for pid in targets), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, sdk.PluginError):
                raise result
        return dict(zip(targets, results, strict=True))

    async def request_capability(self, source: str, name: str, params: Any = None
                                 ) -> tuple[str, Any]:
        """Try providers of ``name`` in order until one answers; ``(provider, result)``.

        A provider answers through its handler for the message type ``name``, or its
        ``execute(params)`` when it has no such handler.
        """
        started = _perf()
        if not self._permissions.get(source, _NO_PERMISSIONS).allows("capability", name):
            raise self._refuse("capability", source, name, name, started,
                               required_permission("capability", name),
                               f"request capability {name!r}", params)
        text = self._encode("capability", source, name, name, params, started)
        providers = [pid for pid in self.providers(name) if pid != source]
        if not providers:
            self._record("capability", source, name, name, len(text), started, NOT_FOUND,
                         f"no running plugin provides {name!r}", text, peer=False)
        errors: dict[str, str] = {}
        for pid in providers:
            try:
                return pid, await self._deliver("capability", source, pid, name, params, text,
                                                None, _perf(), fallback_execute=True)
            except sdk.PluginError as exc:
                errors[pid] = str(exc)
        raise sdk.CapabilityUnavailable(name, errors)


def type_name(exc: BaseException) -> str:
    return type(exc).__name__


def takes_encoded_payloads(instance: sdk.Plugin) -> bool:
    """True for the stand-in of a plugin in another process: its handlers get no
    Message but ``(source, type, text)``, ``text`` being the payload's JSON (sent on as
    is), and answer with a ``payload.Encoded`` (the text the process sent, decoded
    strictly once). They also get the call's time limit (seconds) and keep it
    themselves, raising a bare ``TimeoutError()`` when it passes (one timer per
    process, not one per call); what they return is awaited as is."""
    return bool(getattr(type(instance), "encoded_payloads", False))


def type_overrides_execute(instance: sdk.Plugin) -> bool:
    """True if the plugin class implements ``execute`` itself."""
    return type(instance).execute is not sdk.Plugin.execute


def _call_chain() -> tuple[str, ...]:
    """Plugins whose handlers are on the synchronous call chain of the current task."""
    task, chain = _handling.get()
    return chain if task is _current_task() else ()


async def _on_chain(chain: tuple[str, ...], call: Awaitable[T]) -> T:
    """Await ``call`` (run in a new task by the bridge itself) as part of ``chain``."""
    token = _handling.set((_current_task(), chain))
    try:
        return await call
    finally:
        _handling.reset(token)
