"""Orchestration events: what the CLI's progress lines and Studio's graph editor show live.

They travel through the host's EventHub like every runtime event (subclassing
:class:`~logomesh_studio.runtime.events.Event` registers them for
``event_from_json``), so a front end never touches the engine. Studio's
RuntimeClient hands them to the GUI in order, one batch per tick, on
``sig_orchestration_events``; the editor's run monitor colours the nodes from
TaskStarted / TaskFinished and follows the run's status from RunStatusChanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from logomesh_studio.runtime.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStatusChanged(Event):
    """A run moved from ``previous`` to ``status``; ``metrics`` is filled once it finishes.

    ``progress`` is (completed + condition-skipped tasks) / ``total``.
    """

    kind: ClassVar[str] = "orchestration_status"
    run_id: str
    orchestration: str
    status: str
    previous: str = ""
    phase: str = ""
    progress: float = 0.0
    completed: int = 0
    skipped: int = 0
    failed: int = 0
    total: int = 0
    error: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStarted(Event):
    """A phase began running its tasks."""

    kind: ClassVar[str] = "orchestration_phase_started"
    run_id: str
    phase: str
    mode: str
    tasks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseFinished(Event):
    """A phase ended: completed, failed or skipped (never reached)."""

    kind: ClassVar[str] = "orchestration_phase_finished"
    run_id: str
    phase: str
    status: str
    duration: float
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStarted(Event):
    """A task was dispatched to ``target`` (a plugin id or ``capability:<name>``)."""

    kind: ClassVar[str] = "orchestration_task_started"
    run_id: str
    phase: str
    task: str
    target: str
    in_flight: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFinished(Event):
    """A task ended as completed, failed or skipped; ``progress`` is the run's after it."""

    kind: ClassVar[str] = "orchestration_task_finished"
    run_id: str
    phase: str
    task: str
    status: str
    duration: float
    provider: str = ""
    error: str = ""
    skipped_by: str = ""
    reused: bool = False
    progress: float = 0.0
