"""The plugin SDK: everything a LogoMesh plugin imports.

A plugin subclasses :class:`Plugin`, marks message handlers with :func:`handler`
and talks to the rest of the world only through the :class:`PluginContext` it is
given in ``initialize``. This module is the stable public surface; the runtime
behind it is private.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = [
    "CapabilityUnavailable",
    "InvalidPayload",
    "Message",
    "MessageTimeout",
    "NoHandler",
    "Overloaded",
    "PermissionDenied",
    "Plugin",
    "PluginContext",
    "PluginCrashed",
    "PluginError",
    "PluginNotFound",
    "RemoteError",
    "ResponseRefused",
    "handler",
]

_HANDLER_ATTR = "__logomesh_handles__"


class PluginError(Exception):
    """Base class of every error the runtime raises into plugin code."""


class PluginNotFound(PluginError):
    """A message was addressed to a plugin id that is not loaded."""


class NoHandler(PluginError):
    """The target plugin has no handler for the message type."""


class RemoteError(PluginError):
    """The target's handler raised; carries the remote exception's type and message."""

    def __init__(self, target: str, error_type: str, message: str) -> None:
        super().__init__(f"{target} raised {error_type}: {message}")
        self.target = target
        self.error_type = error_type
        self.remote_message = message


class MessageTimeout(PluginError):
    """The target did not answer within the timeout."""


class PermissionDenied(PluginError):
    """The sender's manifest does not grant the permission the call needs."""

    def __init__(self, message: str, permission: str = "") -> None:
        super().__init__(message)
        self.permission = permission


class InvalidPayload(PluginError):
    """A payload is not JSON-compatible or too large; the message names the path."""


class ResponseRefused(InvalidPayload):
    """The target answered, but the bridge refused its response (not JSON-compatible or
    over the size limit): the target's handler ran; its answer could not travel."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"bridge refused the response of {target!r}: {reason}")
        self.target = target
        self.reason = reason


class Overloaded(PluginError):
    """The sender already has as many calls in flight as the runtime allows
    (``max_inflight_calls``): a plugin flooding the bridge is refused, others go on."""

    def __init__(self, sender: str, limit: int) -> None:
        super().__init__(f"{sender} already has {limit} calls in flight (the runtime's "
                         "max_inflight_calls); wait for answers before sending more")
        self.sender = sender
        self.limit = limit


class PluginCrashed(PluginError):
    """An isolated plugin's process ended while a call to it was in flight: the reason
    names the exit code or signal, and the limit hit when a ``[limits]`` entry ended it
    (e.g. "memory limit 256 MB"). The runtime restarts the plugin (see the guide)."""

    def __init__(self, plugin_id: str, reason: str) -> None:
        super().__init__(f"{plugin_id} crashed: {reason}")
        self.plugin_id = plugin_id
        self.reason = reason


class CapabilityUnavailable(PluginError):
    """No provider of a capability could serve the request; lists each provider's error."""

    def __init__(self, capability: str, errors: Mapping[str, str]) -> None:
        detail = "; ".join(f"{pid}: {err}" for pid, err in errors.items()) or "no providers"
        super().__init__(f"capability {capability!r} unavailable ({detail})")
        self.capability = capability
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class Message:
    """A message as a handler receives it: who sent it, its type and its payload."""

    source: str
    type: str
    payload: Any = None
    id: int = 0


def handler(message_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a plugin method as the handler for ``message_type``.

    The method is called as ``method(self, message: Message)``; it may be sync or
    ``async`` and its return value (JSON-compatible) is the response.
    """
    if not isinstance(message_type, str) or not message_type:
        raise TypeError("handler() needs a non-empty message type string")

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        types = getattr(func, _HANDLER_ATTR, ())
        setattr(func, _HANDLER_ATTR, (*types, message_type))
        return func

    return mark


class _Port(Protocol):
    """What the runtime plugs into a context: the messaging entry points."""

    async def send(self, target: str, type: str, payload: Any, timeout: float | None) -> Any: ...
    async def broadcast(self, type: str, payload: Any, capability: str | None
                        ) -> dict[str, Any]: ...
    async def request_capability(self, name: str, params: Any) -> tuple[str, Any]: ...
    def providers(self, capability: str) -> list[str]: ...
    async def workflow(self, steps: list[dict[str, Any]]) -> dict[str, Any]: ...


# Contexts find their port here rather than through an attribute, so a context's own
# attributes lead nowhere. That keeps honest plugins off the runtime's internals; it is
# no barrier to code that wants in (this module global, gc.get_objects(), closures all
# reach the bridge): see docs/plugin-guide.md, "Security".
_ports: weakref.WeakKeyDictionary[PluginContext, _Port] = weakref.WeakKeyDictionary()


class PluginContext:
    """The plugin's whole world: its id, its configuration, a logger and messaging.

    Messaging methods are coroutines: ``reply = await ctx.send("store", "put", {...})``.
    """

    __slots__ = ("plugin_id", "config", "log", "__weakref__")

    def __init__(self, plugin_id: str, config: Mapping[str, Any] | None = None,
                 log: logging.Logger | None = None) -> None:
        self.plugin_id = plugin_id
        self.config: dict[str, Any] = dict(config or {})
        self.log = log or logging.getLogger(f"logomesh.plugin.{plugin_id}")

    def _port(self) -> _Port:
        port = _ports.get(self)
        if port is None:
            raise PluginError(f"{self.plugin_id}: messaging is not available (context not bound)")
        return port

    async def send(self, target: str, type: str, payload: Any = None,
                   timeout: float | None = None) -> Any:
        """Send ``type`` with ``payload`` to plugin ``target`` and return its response."""
        return await self._port().send(target, type, payload, timeout)

    async def broadcast(self, type: str, payload: Any = None,
                        capability: str | None = None) -> dict[str, Any]:
        """Send to every other plugin (or every provider of ``capability``) in parallel."""
        return await self._port().broadcast(type, payload, capability)

    async def request_capability(self, name: str, params: Any = None) -> tuple[str, Any]:
        """Ask providers of capability ``name`` in order; return ``(provider_id, result)``."""
        return await self._port().request_capability(name, params)

    def providers(self, capability: str) -> list[str]:
        """Ids of the plugins providing ``capability``, in the order requests try them."""
        return self._port().providers(capability)

    async def workflow(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        """Run ordered message steps ``{target, type, payload, required}``; see the guide."""
        return await self._port().workflow(steps)


class Plugin:
    """Base class of every plugin.

    Override the lifecycle methods you need; all may be sync or ``async``:
    ``initialize(ctx)`` once loaded, ``execute(input)`` for direct calls,
    ``cleanup()`` before unloading. Hot reload calls ``on_before_reload()`` on the
    old instance and ``on_after_reload(state)`` on the new one; by default the old
    :attr:`data` is laid over the new instance's (old values win, new keys stay).
    Bump :attr:`state_version` when the state shape changes and implement
    ``migrate_state``.
    """

    state_version: ClassVar[int] = 1
    _handler_table: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            if klass is object or klass is Plugin:  # they declare no handlers (and many
                continue  # members: skipping them halves the cost of a plugin class)
            for name, member in vars(klass).items():
                for message_type in getattr(member, _HANDLER_ATTR, ()):
                    table[message_type] = name
        cls._handler_table = table

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None
        self.data: dict[str, Any] = {}

    def initialize(self, ctx: PluginContext) -> None | Awaitable[None]:
        """Called once after loading; keep ``ctx`` to send messages later."""
        self.ctx = ctx
        return None

    def execute(self, input: Any) -> Any:
        """Run the plugin's main action directly (orchestration tasks without a type)."""
        raise NoHandler(f"{type(self).__name__} does not implement execute()")

    def cleanup(self) -> None | Awaitable[None]:
        """Release resources before the plugin stops or is reloaded."""
        return None

    def on_before_reload(self) -> dict[str, Any]:
        """Return the state to carry into the new version (default: ``data``)."""
        return {"data": self.data}

    def on_after_reload(self, state: dict[str, Any]) -> None | Awaitable[None]:
        """Restore ``state`` returned by the old version's ``on_before_reload``.

        The default lays the old ``data`` over what the new ``initialize`` put there:
        keys both have keep the old value, keys only the new version sets are kept.
        """
        self.data = {**self.data, **state.get("data", {})}
        return None

    def migrate_state(self, old: dict[str, Any], old_version: int) -> dict[str, Any]:
        """Convert state saved by ``state_version == old_version`` to the current shape."""
        return old

    @classmethod
    def handled_types(cls) -> list[str]:
        """The message types this plugin class handles, sorted."""
        return sorted(cls._handler_table)

    def handler_for(self, message_type: str) -> Callable[[Message], Any] | None:
        """The bound handler for ``message_type``, or ``None``."""
        name = self._handler_table.get(message_type)
        return getattr(self, name) if name is not None else None


def _bind(context: PluginContext, port: _Port) -> None:
    """Runtime-only: connect ``context`` to its messaging port."""
    _ports[context] = port


def _unbind(context: PluginContext) -> None:
    """Runtime-only: disconnect ``context``; later messaging raises PluginError."""
    _ports.pop(context, None)
