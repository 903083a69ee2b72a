"""How one task reaches its plugin: a bridge message, a capability request or ``execute``.

Every call is made as the document's initiator, so the bridge checks the
initiator's permissions and records the message. A task without a ``type`` calls
the target's ``execute(input)`` through the bridge as a message of type ``execute``
(permission ``send:<target>:execute``).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from logomesh_studio.orchestration.model import Task
from logomesh_studio.runtime.templates import TemplateError, lookup

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost


class TaskFailed(Exception):
    """A task's call or its output mapping failed; the message is the task's error."""


class Dispatcher:
    """Calls tasks as ``initiator`` through ``host``'s bridge."""

    def __init__(self, host: PluginHost, initiator: str) -> None:
        self._bus = host.bus
        self._initiator = initiator

    async def call(self, spec: Task, payload: Any) -> tuple[Any, str]:
        """``(response, provider)`` of ``spec`` called with ``payload``; raises TaskFailed.

        Whatever the call raises fails the task, ``BaseException`` included (a handler's
        stray ``CancelledError`` or ``KeyboardInterrupt``); only a cancellation of the run
        itself propagates. A handler that answers synchronously cannot be interrupted, so
        one that returns after the task's ``timeout`` fails the task as timed out.
        """
        deadline = None
        started = time.perf_counter()
        try:
            if spec.timeout is None or spec.call != "capability":  # the bridge times these itself
                result = await self._call(spec, payload)
            else:
                async with asyncio.timeout(spec.timeout) as deadline:
                    result = await self._call(spec, payload)
        except TimeoutError as exc:
            if deadline is not None and deadline.expired():
                raise TaskFailed(f"timed out after {spec.timeout:g} s") from None
            raise TaskFailed(describe(exc)) from None
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # the run (or its phase) was cancelled
                raise
            raise TaskFailed(describe(exc)) from None
        except BaseException as exc:  # plugin errors arrive as PluginError; execute() may raise any
            raise TaskFailed(describe(exc)) from None
        took = time.perf_counter() - started
        if spec.timeout is not None and took > spec.timeout:
            raise TaskFailed(f"timed out after {spec.timeout:g} s (the handler held the runtime "
                             f"for {took:.2f} s without yielding, so it could not be "
                             "interrupted; its response is discarded)")
        return result

    async def _call(self, spec: Task, payload: Any) -> tuple[Any, str]:
        if spec.capability is not None:
            provider, response = await self._bus.request_capability(
                self._initiator, spec.capability, payload)
            return response, provider
        if spec.type is not None:
            return await self._bus.send(self._initiator, spec.target, spec.type, payload,
                                        spec.timeout), spec.target
        return await self._bus.execute(self._initiator, spec.target, payload,
                                       spec.timeout), spec.target

def map_outputs(spec: Task, response: Any) -> dict[str, Any]:
    """The context keys ``spec`` writes from ``response``; raises TaskFailed for a bad path."""
    if not spec.output_mapping:
        return {spec.name: response}
    outputs = {}
    for key, path in spec.output_mapping.items():
        try:
            outputs[key] = lookup(response, path) if path else response
        except TemplateError:
            raise TaskFailed(f"output_mapping.{key}: the response has no {path!r} (it has: "
                             f"{_keys(response)})") from None
    return outputs


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, as task errors show it."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _keys(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(map(str, value)) or "no keys"
    return f"a {type(value).__name__}"
