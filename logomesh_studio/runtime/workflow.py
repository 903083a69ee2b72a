"""``ctx.workflow(steps)``: ordered message steps, each able to use earlier outputs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from logomesh_studio import sdk
from logomesh_studio.runtime.templates import TemplateError, render

Send = Callable[[str, str, Any, "float | None"], Awaitable[Any]]
"""``send(target, type, payload, timeout)`` as one sender: a context's ``ctx.send``."""

_STEP_KEYS = {"name", "target", "type", "payload", "required", "timeout"}


class StepStatus(StrEnum):
    """A workflow step's status, and the workflow's own (completed or failed)."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


def _check_step(index: int, step: Any) -> dict[str, Any]:
    where = f"steps[{index}]"
    if not isinstance(step, dict):
        raise ValueError(f"{where}: must be a dict with target and type")
    unknown = set(step) - _STEP_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_STEP_KEYS)})")
    for key in ("target", "type"):
        if not isinstance(step.get(key), str) or not step[key]:
            raise ValueError(f"{where}.{key}: required, a non-empty string")
    if not isinstance(step.get("required", True), bool):
        raise ValueError(f"{where}.required: must be true or false")
    timeout = step.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or not timeout > 0):
        raise ValueError(f"{where}.timeout: must be a positive number of seconds")
    return {"name": step.get("name") or f"step{index + 1}", "payload": None, "required": True,
            "timeout": None, **step}


async def run_workflow(send: Send, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``steps`` in order through ``send`` (so as the sender it is bound to).

    Each step is ``{name?, target, type, payload?, required? (True), timeout?}``; a
    payload may reference earlier outputs as ``${<step name>...}`` (``${previous}`` is
    the last output). A failing required step stops the workflow (later steps are
    ``skipped``); a failing optional step is recorded and the workflow goes on.
    """
    checked = [_check_step(i, step) for i, step in enumerate(steps)]
    names = [s["name"] for s in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"step names must be unique: {names}")
    if "previous" in names:
        raise ValueError("'previous' is not a step name: ${previous} means the last output")
    started = time.perf_counter()
    outputs: dict[str, Any] = {"previous": None}
    results: list[dict[str, Any]] = []
    status = StepStatus.COMPLETED
    error = ""
    for step in checked:
        result = {"name": step["name"], "target": step["target"], "type": step["type"],
                  "status": StepStatus.SKIPPED, "output": None, "error": "", "duration": 0.0}
        results.append(result)
        if status == StepStatus.FAILED:
            continue
        step_started = time.perf_counter()
        try:
            payload = render(step["payload"], outputs)
            output = await send(step["target"], step["type"], payload, step["timeout"])
        except (sdk.PluginError, TemplateError) as exc:
            result.update(status=StepStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            if step["required"]:
                status = StepStatus.FAILED
                error = f"{step['name']}: {result['error']}"
        else:
            result.update(status=StepStatus.COMPLETED, output=output)
            outputs[step["name"]] = outputs["previous"] = output
        result["duration"] = time.perf_counter() - step_started
    return {"status": status, "steps": results, "duration": time.perf_counter() - started,
            "error": error}
