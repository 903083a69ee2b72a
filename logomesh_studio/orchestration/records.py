"""What a run produced, as plain data: the run, its phases and their tasks.

These records are what the store keeps, the CLI prints with ``--json`` and a front
end shows; they never hold live engine objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Status of a run, a phase or a task (JSON and the store keep the value).

    A run: initializing -> running <-> paused -> completed | failed | cancelled; a run whose
    process died before it finished is found later as interrupted. A phase or a task:
    pending -> running -> completed | failed | skipped (cancelled when its run is).
    """

    INITIALIZING = "initializing"
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


# Short names used across the engine.
INITIALIZING, RUNNING, PAUSED = Status.INITIALIZING, Status.RUNNING, Status.PAUSED
COMPLETED, FAILED = Status.COMPLETED, Status.FAILED
CANCELLED, INTERRUPTED = Status.CANCELLED, Status.INTERRUPTED
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED, INTERRUPTED})
ACTIVE = frozenset({INITIALIZING, RUNNING, PAUSED})

# Task and phase statuses: pending -> running -> completed | failed | skipped.
PENDING, SKIPPED = Status.PENDING, Status.SKIPPED

# Why a task was skipped: its condition was false, or the run stopped before it.
BY_CONDITION, NOT_REACHED = "condition", "not_reached"


@dataclass(frozen=True, slots=True)
class TaskResult:
    """One task of a run: what it was sent, what it wrote into the context, how long.

    ``may_have_run`` is set on a task of an interrupted run that was sent but has no
    recorded result: its plugin may have done the work (a resume runs it again).
    """

    name: str
    target: str
    status: str = PENDING
    provider: str = ""
    input: Any = None
    outputs: dict[str, Any] | None = None
    error: str = ""
    skipped_by: str = ""
    started: float = 0.0
    duration: float = 0.0
    reused: bool = False
    may_have_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """The task result as plain JSON-compatible data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskResult:
        """Rebuild from ``to_json()`` output (unknown keys are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True, slots=True)
class PhaseResult:
    """One phase of a run and its tasks, in file order."""

    name: str
    mode: str
    status: str = PENDING
    required: bool = True
    error: str = ""
    started: float = 0.0
    duration: float = 0.0
    tasks: tuple[TaskResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The phase and its tasks as plain JSON-compatible data."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "tasks"}
        return {**data, "tasks": [task.to_json() for task in self.tasks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhaseResult:
        """Rebuild from ``to_json()`` output."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["tasks"] = tuple(TaskResult.from_json(t) for t in data.get("tasks", ()))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of run history; ``may_have_run`` counts tasks that may have run unrecorded."""

    id: str
    orchestration: str
    path: str
    status: str
    error: str = ""
    progress: float = 0.0
    created: float = 0.0
    finished: float = 0.0
    resumed_from: str = ""
    may_have_run: int = 0

    def to_json(self) -> dict[str, Any]:
        """The summary as plain JSON-compatible data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A whole run: status, error, the final context, metrics and every phase's tasks.

    ``progress`` is (completed + condition-skipped tasks) / all tasks. ``metrics``
    holds ``messages``, ``participants``, ``max_concurrency``, ``duration``,
    ``phase_durations`` and ``task_durations`` (seconds).
    """

    id: str
    orchestration: str
    path: str
    status: str
    error: str = ""
    input: Any = None
    context: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    progress: float = 0.0
    created: float = 0.0
    finished: float = 0.0
    resumed_from: str = ""
    phases: tuple[PhaseResult, ...] = ()

    def task(self, name: str) -> TaskResult:
        """The result of the task called ``name`` (KeyError if there is none)."""
        for phase in self.phases:
            for task in phase.tasks:
                if task.name == name:
                    return task
        raise KeyError(name)

    def phase(self, name: str) -> PhaseResult:
        """The result of the phase called ``name`` (KeyError if there is none)."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    @property
    def summary(self) -> RunSummary:
        """The run's line in the history."""
        unsure = sum(task.may_have_run for phase in self.phases for task in phase.tasks)
        return RunSummary(self.id, self.orchestration, self.path, self.status, self.error,
                          self.progress, self.created, self.finished, self.resumed_from, unsure)

    def to_json(self) -> dict[str, Any]:
        """The whole run as plain JSON-compatible data (what ``orchestrate --json`` prints)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "phases"}
        return {**data, "phases": [phase.to_json() for phase in self.phases]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """Rebuild from ``to_json()`` output."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["phases"] = tuple(PhaseResult.from_json(p) for p in data.get("phases", ()))
        return cls(**values)
