"""The orchestration engine: validates, starts, tracks and resumes runs on the runtime loop.

    engine = OrchestrationEngine(runtime.host)
    record = runtime.run(engine.run(load("plugins/text-pipeline.orchestration.yaml"),
                                    {"text": "to be or not to be"}))

Every task is dispatched through the host's bridge as the document's initiator,
so permissions apply and messages are recorded. Runs are persisted in the
workspace's :class:`RunStore`; ``resume(run_id)`` re-runs a failed, cancelled or
interrupted run from its first failed or unfinished task, reusing the stored
outputs of the tasks before it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from logomesh_studio import sdk
from logomesh_studio.orchestration.io import loads
from logomesh_studio.orchestration.model import (
    PARALLEL,
    OrchestrationFile,
    OrchestrationInvalid,
    Problem,
)
from logomesh_studio.orchestration.records import (
    ACTIVE,
    BY_CONDITION,
    COMPLETED,
    SKIPPED,
    RunRecord,
    TaskResult,
)
from logomesh_studio.orchestration.run import STORE_PATIENCE, OrchestrationRun
from logomesh_studio.orchestration.store import RunStore
from logomesh_studio.orchestration.validation import check_runtime
from logomesh_studio.runtime import payload as payloads

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost

_log = logging.getLogger(__name__)


class RunNotResumable(Exception):
    """``resume(run_id)`` was asked for a run that is unknown, still active or completed."""


class OrchestrationEngine:
    """Runs orchestrations for one host; coroutine methods run on the runtime loop."""

    def __init__(self, host: PluginHost, store: RunStore | None = None, *,
                 store_patience: float = STORE_PATIENCE) -> None:
        self.host = host
        if store is None:
            store = RunStore.for_workspace(host.workspace) if host.workspace else \
                RunStore(":memory:")
        self.store = store
        self.store.recover()
        self._store_patience = store_patience
        self._live: dict[str, OrchestrationRun] = {}

    def validate(self, file: OrchestrationFile) -> list[Problem]:
        """The file's warnings plus every problem against the running workspace."""
        problems = [*file.warnings, *check_runtime(file, self.host)]
        return sorted(problems, key=lambda p: (p.line, p.severity != "error"))

    async def start(self, file: OrchestrationFile, input: Any = None) -> OrchestrationRun:
        """Validate ``file`` and start a run with ``input``; raises OrchestrationInvalid
        (nothing is sent then) when any check fails."""
        return self._start(file, input, None, "")

    async def run(self, file: OrchestrationFile, input: Any = None) -> RunRecord:
        """Start a run and wait for its final record."""
        return await (await self.start(file, input)).wait()

    async def resume(self, run_id: str) -> OrchestrationRun:
        """Re-run stored run ``run_id`` from its first failed or unfinished task.

        The new run reads the document as the old run stored it, reuses the outputs of
        every task before that point (and of completed tasks in the same parallel
        phase), and records ``resumed_from``. Raises RunNotResumable or
        OrchestrationInvalid.
        """
        if run_id in self._live:
            raise RunNotResumable(f"run {run_id} is still {self._live[run_id].status}")
        self.store.recover()
        try:
            record = self.store.run(run_id)
            path, text = self.store.document(run_id)
        except KeyError:
            raise RunNotResumable(f"no run {run_id!r} in {self.store.path}") from None
        if record.status in ACTIVE:
            raise RunNotResumable(f"run {run_id} is still {record.status} in another process")
        if record.status == COMPLETED:
            raise RunNotResumable(f"run {run_id} completed; there is nothing to resume")
        plan = reuse_plan(record)
        run = self._start(loads(text, path), record.input, plan, run_id)
        run.warnings = tuple(
            f"task {task.name!r} may have run before run {run_id} stopped (it was sent and "
            "no result was recorded); it runs again"
            for p, phase in enumerate(record.phases) for t, task in enumerate(phase.tasks)
            if task.may_have_run and (p, t) not in plan)
        for warning in run.warnings:
            _log.warning("%s", warning)
        return run

    def control(self, run_id: str, action: str) -> bool:
        """Apply ``pause``, ``resume`` or ``cancel`` to a run in progress, by id.

        The plain-data entry point for front ends; False if the run is not in progress
        here or is not in a state the action applies to.
        """
        if action not in ("pause", "resume", "cancel"):
            raise ValueError(f"unknown run action {action!r} (pause, resume or cancel)")
        run = self._live.get(run_id)
        return run is not None and getattr(run, action)()

    def live(self, run_id: str) -> OrchestrationRun:
        """The run ``run_id`` if it is in progress here (KeyError otherwise)."""
        return self._live[run_id]

    def runs(self) -> list[OrchestrationRun]:
        """Runs in progress in this engine."""
        return list(self._live.values())

    async def close(self) -> None:
        """Cancel the runs in progress, wait for them to record it, close the store (off
        the loop; raises HistoryUnwritable if what is staged could not be written)."""
        runs = list(self._live.values())
        for run in runs:
            run.cancel()
        for run in runs:
            await run.wait()
        await asyncio.to_thread(self.store.close)

    def _start(self, file: OrchestrationFile, input: Any,
               reuse: dict[tuple[int, int], TaskResult] | None,
               resumed_from: str) -> OrchestrationRun:
        problems = self.validate(file)
        input = {} if input is None else input
        try:  # the run keeps its own copy of the input, checked like a message payload
            input = payloads.decode(
                payloads.encode(input, self.host.config.payload_limit, "input"), input)
        except sdk.InvalidPayload as exc:
            problems.append(Problem(file.path, 1, "(run input)", str(exc)))
        if any(p.severity == "error" for p in problems):
            raise OrchestrationInvalid(problems)
        run = OrchestrationRun(self.host, self.store, file, input, reuse=reuse,
                               resumed_from=resumed_from, on_finish=self._forget,
                               store_patience=self._store_patience)
        self._live[run.id] = run
        run.start()
        return run

    def _forget(self, run: OrchestrationRun) -> None:
        self._live.pop(run.id, None)


def reuse_plan(record: RunRecord) -> dict[tuple[int, int], TaskResult]:
    """The tasks of ``record`` a resume keeps, by ``(phase index, task index)``.

    Everything before the first task that is not completed (or skipped by its
    condition) is kept; in a parallel phase holding that task, its completed
    siblings are kept too (parallel tasks never read each other's outputs).
    """
    order = [(p, t, task) for p, phase in enumerate(record.phases)
             for t, task in enumerate(phase.tasks)]

    def settled(task: TaskResult) -> bool:
        return task.status == COMPLETED or (task.status == SKIPPED
                                            and task.skipped_by == BY_CONDITION)

    point = next((i for i, (_, _, task) in enumerate(order) if not settled(task)), len(order))
    plan = {(p, t): task for p, t, task in order[:point]}
    if point < len(order):
        phase_index = order[point][0]
        if record.phases[phase_index].mode == PARALLEL:
            plan.update({(p, t): task for p, t, task in order
                         if p == phase_index and task.status == COMPLETED})
    return plan
