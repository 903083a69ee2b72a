"""The engine's working state of a run's phases and tasks (mutable, private to a run).

:meth:`TaskState.result` and :meth:`PhaseState.result` turn it into the plain
records that leave the engine.
"""

from __future__ import annotations

from typing import Any

from logomesh_studio.orchestration.conditions import compile_condition
from logomesh_studio.orchestration.model import Phase, Task
from logomesh_studio.orchestration.records import PENDING, PhaseResult, TaskResult


class TaskState:
    """The engine's mutable view of one task during a run."""

    __slots__ = ("spec", "phase", "index", "status", "provider", "input", "outputs", "error",
                 "skipped_by", "started", "duration", "reused", "condition", "t0", "reuse")

    def __init__(self, spec: Task, phase: int, index: int, reuse: TaskResult | None) -> None:
        self.spec, self.phase, self.index, self.reuse = spec, phase, index, reuse
        self.status: str = PENDING
        self.provider, self.error, self.skipped_by = "", "", ""
        self.input: Any = None
        self.outputs: dict[str, Any] | None = None
        self.started = self.duration = self.t0 = 0.0
        self.reused = False
        self.condition = compile_condition(spec.condition) if spec.condition else None

    def result(self) -> TaskResult:
        """The task as plain data."""
        return TaskResult(self.spec.name, self.spec.target, self.status, self.provider,
                          self.input, self.outputs, self.error, self.skipped_by, self.started,
                          self.duration, self.reused)


class PhaseState:
    """The engine's mutable view of one phase during a run."""

    __slots__ = ("spec", "index", "status", "error", "started", "duration", "tasks", "stopping")

    def __init__(self, spec: Phase, index: int, tasks: list[TaskState]) -> None:
        self.spec, self.index, self.tasks = spec, index, tasks
        self.status: str = PENDING
        self.error, self.stopping = "", False
        self.started = self.duration = 0.0

    def result(self, with_tasks: bool = True) -> PhaseResult:
        """The phase as plain data (with its tasks unless ``with_tasks`` is false)."""
        return PhaseResult(self.spec.name, self.spec.mode, self.status, self.spec.required,
                           self.error, self.started, self.duration,
                           tuple(task.result() for task in self.tasks) if with_tasks else ())
