"""One live run: phases and tasks dispatched through the bridge, pause/resume/cancel.

All methods run on the runtime loop. Front ends on another thread reach a run
through ``RuntimeThread.call_soon(run.pause)`` and see it through events.

The run never waits on the history store, except where the history must be right:
before its first task (the run is recorded) and before it reports its outcome (the
outcome is recorded). While the store cannot write, the run is paused with the
store's error and goes on by itself once the store writes again; after
``store_patience`` seconds it stops, failed, saying that its result is not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from logomesh_studio.orchestration.conditions import ConditionError
from logomesh_studio.orchestration.dispatch import Dispatcher, TaskFailed, map_outputs
from logomesh_studio.orchestration.events import (
    PhaseFinished,
    PhaseStarted,
    RunStatusChanged,
    TaskFinished,
    TaskStarted,
)
from logomesh_studio.orchestration.model import PARALLEL, OrchestrationFile
from logomesh_studio.orchestration.records import (
    BY_CONDITION,
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    INITIALIZING,
    NOT_REACHED,
    PAUSED,
    PENDING,
    RUNNING,
    SKIPPED,
    RunRecord,
    TaskResult,
)
from logomesh_studio.orchestration.state import PhaseState, TaskState
from logomesh_studio.runtime.templates import TemplateError, render

if TYPE_CHECKING:
    from logomesh_studio.orchestration.store import RunStore, StoreProblem
    from logomesh_studio.runtime.host import PluginHost

_perf = time.perf_counter
_log = logging.getLogger(__name__)
FLUSH_DELAY = 0.02
"""Seconds staged history rows may wait before they are committed."""
FLUSH_ROWS = 1000
"""Staged rows that force a commit at once."""
YIELD_EVERY = 0.002
"""Seconds of tasks answered inline (sync handlers) before the engine yields the loop."""
STORE_PATIENCE = 60.0
"""Seconds a run waits, paused, for a history store that cannot write before it stops."""


class OrchestrationRun:
    """A run in progress; ``await run.wait()`` gives its final :class:`RunRecord`."""

    def __init__(self, host: PluginHost, store: RunStore, file: OrchestrationFile, input: Any,
                 *, reuse: dict[tuple[int, int], TaskResult] | None = None,
                 resumed_from: str = "",
                 on_finish: Callable[[OrchestrationRun], None] | None = None,
                 store_patience: float = STORE_PATIENCE) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.file = file
        self.document = doc = file.document
        self.resumed_from = resumed_from
        self.warnings: tuple[str, ...] = ()
        """What the user should know before the run goes on (a resume sets it)."""
        self.status: str = INITIALIZING
        self.error, self.current_phase = "", ""
        self.context: dict[str, Any] = {"input": input}
        reuse = reuse or {}
        self.phases = [PhaseState(phase, p, [TaskState(task, p, t, reuse.get((p, t)))
                                               for t, task in enumerate(phase.tasks)])
                       for p, phase in enumerate(doc.phases)]
        self.total = sum(len(phase.tasks) for phase in self.phases)
        self.completed = self.skipped = self.failed = 0
        self.messages = self.max_in_flight = 0
        self.created, self.finished = time.time(), 0.0
        self._store, self._events, self._on_finish = store, host.events, on_finish
        self._dispatcher = Dispatcher(host, doc.initiator)
        self._limits = {p.id: asyncio.Semaphore(p.max_concurrency)
                        for p in doc.participants if p.max_concurrency}
        self._providers: set[str] = set()
        self._in_flight: dict[TaskState, None] = {}
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._deadlines: list[asyncio.Timeout] = []
        self._held: dict[asyncio.Timeout, float] = {}  # deadline -> seconds left at pause
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[RunRecord] | None = None
        self._cancel_requested = False
        self._flush_handle: asyncio.TimerHandle | None = None
        self._dirty: dict[TaskState, None] = {}
        self._journal = False  # whether a task was marked started in the store's journal
        self._final: RunRecord | None = None
        self._user_paused = False
        self._store_problem: StoreProblem | None = None
        self._store_patience = store_patience
        self._give_up: asyncio.TimerHandle | None = None
        self._gave_up = asyncio.Event()
        self._settling = False
        self._unwatch: Callable[[], None] | None = None
        self._begun = 0
        self._last_yield = _perf()
        self._t0 = _perf()
        self._ended = 0.0

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Record the run and start dispatching (called by the engine)."""
        self._begun = self._store.begin(self.snapshot(), self.file.text, wait=False)
        loop = self._loop

        def health(problem: StoreProblem | None) -> None:  # on the store's writer thread
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self._on_store, problem)

        self._unwatch = self._store.watch(health)
        if self._store.problem is not None:
            self._on_store(self._store.problem)
        self._emit_status("")
        self._task = self._loop.create_task(self._main(), name=f"orchestration {self.id}")

    def pause(self) -> bool:
        """Stop dispatching new tasks (running ones finish); False unless running."""
        if self.status != RUNNING:
            return False
        self._user_paused = True
        self._hold()
        self._set_status(PAUSED)
        return True

    def resume(self) -> bool:
        """Continue a paused run; False unless paused by :meth:`pause`. A run also paused
        because the history cannot be written goes on once it can."""
        if self.status != PAUSED or not self._user_paused:
            return False
        self._user_paused = False
        if self._store_problem is None:
            self._release()
            self._set_status(RUNNING)
        return True

    def _hold(self) -> None:
        """Stop dispatching; run and phase timeouts stop counting."""
        self._unpaused.clear()
        now = self._loop.time()
        for deadline in self._deadlines:
            when = deadline.when()
            if when is not None:
                self._held[deadline] = max(0.0, when - now)
                deadline.reschedule(None)

    def _release(self) -> None:
        now = self._loop.time()
        for deadline, left in self._held.items():
            if deadline in self._deadlines:
                deadline.reschedule(now + left)
        self._held.clear()
        self._unpaused.set()

    def _stop_unrecorded(self) -> None:
        """The store has not written for ``store_patience`` seconds: stop the run."""
        self._gave_up.set()
        if not self._settling and self._task is not None and not self._task.done():
            self._task.cancel()

    def _on_store(self, problem: StoreProblem | None) -> None:
        """The history store started failing (``problem``) or writes again (None)."""
        if (self.status in FINISHED and not self._settling) or \
                (problem is None) == (self._store_problem is None):
            return
        self._store_problem = problem
        if problem is not None:
            self._give_up = self._loop.call_later(self._store_patience, self._stop_unrecorded)
            if self._settling:  # the outcome waits to be recorded; say why
                self._emit_status(self.status, PAUSED, f"{problem}; the run's result is "
                                  "recorded once it can be written")
                return
            if not self._user_paused:
                self._hold()
            previous, self.status = self.status, PAUSED  # not staged: the store cannot write
            self._emit_status(previous, error=f"{problem}; the run waits until it can be written")
            return
        if self._give_up is not None:
            self._give_up.cancel()
        if self._settling:
            return
        if not self._user_paused:
            self._release()
            self._set_status(RUNNING)
        else:
            self._set_status(PAUSED)

    def cancel(self) -> bool:
        """Stop dispatching and cancel tasks in flight; False if the run already finished."""
        if self.status in FINISHED or self._settling or self._task is None or self._task.done():
            return False
        self._cancel_requested = True
        if self.status != INITIALIZING:  # else _main has not started: it sees the flag
            self._task.cancel()
        return True

    async def wait(self) -> RunRecord:
        """The final record once the run has finished (cancelling the wait leaves the run)."""
        assert self._task is not None, "start() the run first"
        return await asyncio.shield(self._task)

    @property
    def progress(self) -> float:
        """(completed + condition-skipped tasks) / all tasks."""
        return (self.completed + self.skipped) / self.total

    def snapshot(self) -> RunRecord:
        """The run as plain data, as it stands now."""
        return RunRecord(
            id=self.id, orchestration=self.document.name, path=self.file.path,
            status=self.status, error=self.error, input=self.context["input"],
            context=dict(self.context) if self.status in FINISHED else None,
            metrics=self.metrics() if self.status in FINISHED else None,
            progress=self.progress, created=self.created, finished=self.finished,
            resumed_from=self.resumed_from, phases=tuple(p.result() for p in self.phases))

    def metrics(self) -> dict[str, Any]:
        """Counts and timings so far."""
        return {
            "messages": self.messages, "participants": len(self._providers),
            "max_concurrency": self.max_in_flight,
            "duration": (self._ended or _perf()) - self._t0,
            "tasks": {"total": self.total, "completed": self.completed,
                      "skipped": self.skipped, "failed": self.failed},
            "phase_durations": {p.spec.name: p.duration for p in self.phases
                                if p.status not in (PENDING, SKIPPED)},
            "task_durations": {t.spec.name: t.duration for p in self.phases for t in p.tasks
                               if t.started},
        }

    # -- the run ---------------------------------------------------------------------------

    async def _main(self) -> RunRecord:
        if self._cancel_requested:
            self.error = "cancelled"
            return await self._settle(CANCELLED)
        final = COMPLETED
        try:
            if not await self._recorded(self._begun):
                raise asyncio.CancelledError  # gave up waiting on the store: _settle says so
            if self.status == INITIALIZING:
                self._set_status(RUNNING)
            try:
                async with self._deadline(self.document.timeout) as deadline:
                    for phase in self.phases:
                        await self._run_phase(phase)
                        if phase.status == FAILED and phase.spec.required:
                            final = FAILED
                            self.error = f"phase {phase.spec.name!r} failed: {phase.error}"
                            break
            except TimeoutError:
                if not deadline.expired():
                    raise
                final = FAILED
                self.error = f"the run timed out after {self.document.timeout:g} s"
                self._stop_in_flight(self.error)
        except asyncio.CancelledError:
            final, self.error = CANCELLED, "cancelled"
            if self._gave_up.is_set():  # the store stopped it: _settle says why
                final, self.error = FAILED, ""
            self._stop_in_flight("cancelled" if final == CANCELLED else "stopped: "
                                 f"{self._store_problem}")
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            if not self._cancel_requested and not self._gave_up.is_set():
                await self._settle(final)
                raise
        except BaseException as exc:  # an engine bug: record it rather than leave the run active
            _log.error("orchestration run %s failed inside the engine", self.id, exc_info=exc)
            final, self.error = FAILED, f"internal error: {type(exc).__name__}: {exc}"
            self._stop_in_flight(self.error)
        return await self._settle(final)

    async def _settle(self, status: str) -> RunRecord:
        """Record the outcome, then report it; an outcome the store could not record within
        its patience is reported as a failure saying so (and stays unrecorded)."""
        self._settling, previous = True, self.status
        recorded = await self._recorded(self._finish(status))
        if not recorded:
            outcome = f"{self.status}: {self.error}" if self.error else self.status
            self.status = FAILED
            self.error = (f"{self._store_problem} for {self._store_patience:g} s, so the run "
                          f"stopped; its result ({outcome}) is not in the run history")
            self._final = self.snapshot()
        elif self._journal:
            self._store.forget_started(self.id)
        if self._unwatch is not None:
            self._unwatch()
        self._settling = False
        if self._give_up is not None:
            self._give_up.cancel()
        self._emit_status(previous)
        if self._on_finish is not None:
            self._on_finish(self)
        assert self._final is not None
        return self._final

    async def _recorded(self, ticket: int) -> bool:
        """Wait until the store has written ``ticket``; False if it gave up first."""
        if self._store.written(ticket):
            return True
        written = self._loop.create_task(self._store.wait_written(ticket))
        gave_up = self._loop.create_task(self._gave_up.wait())
        try:
            await asyncio.wait((written, gave_up), return_when=asyncio.FIRST_COMPLETED)
        finally:
            written.cancel()
            gave_up.cancel()
        return self._store.written(ticket)

    @contextlib.asynccontextmanager
    async def _deadline(self, seconds: float | None) -> AsyncIterator[asyncio.Timeout]:
        """``asyncio.timeout(seconds)`` that stops counting while the run is paused."""
        held = self.status == PAUSED and seconds is not None
        async with asyncio.timeout(None if held else seconds) as deadline:
            if held:
                self._held[deadline] = seconds  # type: ignore[assignment]
            self._deadlines.append(deadline)
            try:
                yield deadline
            finally:
                self._deadlines.remove(deadline)

    async def _run_phase(self, phase: PhaseState) -> None:
        spec = phase.spec
        phase.status, phase.started, t0 = RUNNING, time.time(), _perf()
        self.current_phase = spec.name
        self._store.stage_phase(self.id, phase.index, phase.result(with_tasks=False))
        self._events.emit(PhaseStarted(run_id=self.id, phase=spec.name, mode=spec.mode,
                                       tasks=len(phase.tasks)))
        try:
            async with self._deadline(spec.timeout) as deadline:
                if spec.mode == PARALLEL:
                    await self._run_parallel(phase)
                else:
                    await self._run_in_order(phase)
        except TimeoutError:
            if not deadline.expired():
                raise
            phase.error = f"phase {spec.name!r} timed out after {spec.timeout:g} s"
            self._stop_in_flight(phase.error)
        finally:
            phase.duration = _perf() - t0
        if spec.mode == PARALLEL:  # outputs merge in task order once all are done
            for task in phase.tasks:
                if task.status == COMPLETED:
                    self.context.update(task.outputs or {})
        if not phase.error:
            failed = next((t for t in phase.tasks if t.status == FAILED and t.spec.required), None)
            if failed is not None:
                phase.error = f"task {failed.spec.name!r} failed: {failed.error}"
        self._end_phase(phase, FAILED if phase.error else COMPLETED)

    async def _run_in_order(self, phase: PhaseState) -> None:
        for task in phase.tasks:
            await self._run_task(task)
            if task.status == COMPLETED:
                self.context.update(task.outputs or {})
            elif task.status == FAILED and task.spec.required:
                return

    async def _run_parallel(self, phase: PhaseState) -> None:
        queue = iter(phase.tasks)
        width = min(len(phase.tasks), self.document.resources.max_concurrency or len(phase.tasks))

        async def worker() -> None:
            for task in queue:
                if phase.stopping:
                    return
                await self._run_task(task)
                if task.status == FAILED and task.spec.required:
                    phase.stopping = True  # tasks in flight finish; no new ones start

        if width == 1:
            await worker()
        else:
            await asyncio.gather(*(worker() for _ in range(width)))

    async def _run_task(self, task: TaskState) -> None:
        if task.reuse is not None:
            self._reuse(task)
            return
        if _perf() - self._last_yield > YIELD_EVERY:
            self._last_yield = _perf()
            await asyncio.sleep(0)  # let pause/cancel and the rest of the runtime in
            if self._overdue():  # a run or phase deadline passed while a handler held the loop
                await self._loop.create_future()  # its timeout fires next and cancels this
        limit = self._limits.get(task.spec.target)
        if limit is None:
            await self._start_task(task)
        else:
            async with limit:  # the participant's max_concurrency
                await self._start_task(task)

    def _overdue(self) -> bool:
        now = self._loop.time()
        return any((when := d.when()) is not None and when <= now for d in self._deadlines)

    async def _start_task(self, task: TaskState) -> None:
        if not self._unpaused.is_set():
            await self._unpaused.wait()
        spec = task.spec
        if task.condition is not None:
            try:
                holds = task.condition.evaluate(self.context)
            except ConditionError as exc:
                return self._end_task(task, FAILED, error=f"condition {spec.condition!r}: {exc}")
            if not holds:
                return self._end_task(task, SKIPPED, skipped_by=BY_CONDITION)
        try:
            task.input = render(spec.input, self.context)
        except TemplateError as exc:
            return self._end_task(task, FAILED, error=f"input: {exc}")
        task.status, task.started, task.t0 = RUNNING, time.time(), _perf()
        self._in_flight[task] = None
        self.max_in_flight = max(self.max_in_flight, len(self._in_flight))
        self.messages += 1
        self._events.emit(TaskStarted(run_id=self.id, phase=self.phases[task.phase].spec.name,
                                      task=spec.name, target=spec.target,
                                      in_flight=len(self._in_flight)))
        self._stage(task)
        self._store.mark_started(self.id, task.phase, task.index)  # before it can have run
        self._journal = True
        try:
            response, provider = await self._dispatcher.call(spec, task.input)
            self._providers.add(provider)
            outputs = map_outputs(spec, response)
        except TaskFailed as exc:
            return self._end_task(task, FAILED, error=str(exc))
        self._end_task(task, COMPLETED, outputs=outputs, provider=provider)

    # -- bookkeeping -----------------------------------------------------------------------

    def _reuse(self, task: TaskState) -> None:
        old = task.reuse
        assert old is not None
        task.input, task.provider, task.reused = old.input, old.provider, True
        task.started, task.duration = old.started, old.duration
        self._end_task(task, old.status, outputs=old.outputs, provider=old.provider,
                       skipped_by=old.skipped_by, duration=old.duration)

    def _end_task(self, task: TaskState, status: str, *, error: str = "",
                  outputs: dict[str, Any] | None = None, provider: str = "",
                  skipped_by: str = "", duration: float | None = None) -> None:
        task.status, task.error, task.outputs, task.skipped_by = status, error, outputs, skipped_by
        task.provider = provider or task.provider
        if duration is not None:
            task.duration = duration
        elif task.t0:
            task.duration = _perf() - task.t0
        self._in_flight.pop(task, None)
        if status == COMPLETED:
            self.completed += 1
        elif status == FAILED:
            self.failed += 1
        elif skipped_by == BY_CONDITION:
            self.skipped += 1
        self._events.emit(TaskFinished(
            run_id=self.id, phase=self.phases[task.phase].spec.name, task=task.spec.name,
            status=status, duration=task.duration, provider=task.provider, error=error,
            skipped_by=skipped_by, reused=task.reused, progress=self.progress))
        self._stage(task)

    def _end_phase(self, phase: PhaseState, status: str) -> None:
        for task in phase.tasks:
            if task.status == PENDING:
                self._end_task(task, SKIPPED, skipped_by=NOT_REACHED)
        phase.status = status
        self._store.stage_phase(self.id, phase.index, phase.result(with_tasks=False))
        self._events.emit(PhaseFinished(run_id=self.id, phase=phase.spec.name, status=status,
                                        duration=phase.duration, error=phase.error))

    def _stop_in_flight(self, reason: str) -> None:
        """Fail the tasks that were running when a timeout or cancel cut them off."""
        for task in list(self._in_flight):
            self._end_task(task, FAILED, error=reason)

    def _finish(self, status: str) -> int:
        """End every phase, stage the final record; the store's ticket for it."""
        for phase in self.phases:
            if phase.status == RUNNING:
                phase.error = phase.error or self.error
                phase.duration = phase.duration or (_perf() - self._t0)
                self._end_phase(phase, FAILED)
            elif phase.status == PENDING:
                self._end_phase(phase, SKIPPED)
        self.finished, self._ended = time.time(), _perf()
        self.status = status
        self._final = self.snapshot()
        self._store.stage_run(self._final)
        return self._flush()

    def _set_status(self, status: str) -> None:
        previous, self.status = self.status, status
        self._store.stage_run(self._light_record())
        self._flush()
        self._emit_status(previous)

    def _light_record(self) -> RunRecord:
        return RunRecord(id=self.id, orchestration=self.document.name, path=self.file.path,
                         status=self.status, error=self.error, input=self.context["input"],
                         progress=self.progress, created=self.created,
                         resumed_from=self.resumed_from)

    def _emit_status(self, previous: str, status: str = "", error: str = "") -> None:
        status = status or self.status
        done = status in FINISHED
        self._events.emit(RunStatusChanged(
            run_id=self.id, orchestration=self.document.name, status=status,
            previous=previous, phase=self.current_phase, progress=self.progress,
            completed=self.completed, skipped=self.skipped, failed=self.failed,
            total=self.total, error=error or self.error, metrics=self.metrics() if done else {}))

    def _stage(self, task: TaskState) -> None:
        """Mark ``task``'s row for the next commit; one row per task however often it changed."""
        self._dirty[task] = None
        if len(self._dirty) >= FLUSH_ROWS:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_later(FLUSH_DELAY, self._flush)

    def _flush(self) -> int:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for task in self._dirty:
            self._store.stage_task(self.id, task.phase, task.index, task.result())
        self._dirty.clear()
        return self._store.flush()

