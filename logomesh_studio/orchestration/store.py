"""Run history in SQLite: ``<workspace>/.logomesh/runs.sqlite`` (or the user's data folder
for a read-only workspace: :mod:`logomesh_studio.runtime.workspace_state`), in WAL mode.

The engine stages every run, phase and task row on the runtime loop; a writer thread
commits what is staged in one transaction (a 10,000-task run costs a few hundred
commits), so a slow disk or another process holding the database never blocks the
loop. A commit that fails (the database locked past the busy timeout, the disk full)
keeps its rows staged and is retried; :attr:`RunStore.problem` says why until a
commit succeeds again. WAL with ``synchronous=NORMAL`` keeps every committed row
through a crash of the process.

Before a task is sent, the engine appends it to the run's *started journal*
(``runs.sqlite-started/<run id>``, one small ``write()``, which a crash of the
process does not lose): :meth:`RunStore.recover` marks a run whose process died
``interrupted`` and each of its tasks that was sent but has no result
``may_have_run``.

A file that is not a database or is damaged is moved aside (``runs.sqlite.corrupt-<time>``)
and a fresh history starts, whether the damage shows when the store opens or later, when
a read or a commit fails with it (the read is answered from the fresh history, the
commit is made there); :attr:`RunStore.notice` says so and where the old one went.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from logomesh_studio.orchestration.records import (
    ACTIVE,
    BY_CONDITION,
    COMPLETED,
    FINISHED,
    INTERRUPTED,
    PENDING,
    RUNNING,
    SKIPPED,
    PhaseResult,
    RunRecord,
    RunSummary,
    TaskResult,
)
from logomesh_studio.runtime.workspace_state import state_dir

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, orchestration TEXT NOT NULL, path TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT NOT NULL, input TEXT, context TEXT, metrics TEXT,
    progress REAL NOT NULL, created REAL NOT NULL, finished REAL NOT NULL,
    resumed_from TEXT NOT NULL, owner_pid INTEGER NOT NULL, owner_host TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs(created);
CREATE TABLE IF NOT EXISTS documents (run_id TEXT PRIMARY KEY, path TEXT, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS phases (
    run_id TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, mode TEXT NOT NULL,
    status TEXT NOT NULL, required INTEGER NOT NULL, error TEXT NOT NULL,
    started REAL NOT NULL, duration REAL NOT NULL, PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT NOT NULL, phase_idx INTEGER NOT NULL, idx INTEGER NOT NULL,
    name TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL, provider TEXT NOT NULL,
    input TEXT, outputs TEXT, error TEXT NOT NULL, skipped_by TEXT NOT NULL,
    started REAL NOT NULL, duration REAL NOT NULL, reused INTEGER NOT NULL,
    may_have_run INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, phase_idx, idx));
"""
_UPSERT = {
    "runs": "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "documents": "INSERT OR REPLACE INTO documents VALUES (?,?,?)",
    "phases": "INSERT OR REPLACE INTO phases VALUES (?,?,?,?,?,?,?,?,?)",
    "tasks": "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
}
_FINISH = "UPDATE runs SET status = ?, error = ?, finished = ? WHERE id = ?"
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_log = logging.getLogger(__name__)
_T = TypeVar("_T")

BUSY_TIMEOUT = 1.0
"""Seconds one commit waits for another process's write lock before it is retried."""
RETRY_DELAY = 0.1
"""Seconds between attempts to commit while the database cannot be written."""
CLOSE_TIMEOUT = 10.0
"""Seconds :meth:`RunStore.close` keeps trying to write what is staged."""


def _json(value: Any) -> str | None:
    return None if value is None else _dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def workspace_store_path(workspace: Path | str) -> Path:
    """Where a workspace keeps its run history."""
    return state_dir(workspace) / "runs.sqlite"


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """Why the history cannot be written right now; ``since`` is a ``time.monotonic()``."""

    path: str
    cause: str
    since: float

    def __str__(self) -> str:
        return f"cannot write the run history {self.path}: {self.cause}"


class HistoryUnwritable(Exception):
    """Staged history could not be committed in time; the message names the file and why."""


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


class RunStore:
    """Durable run history; safe to share between threads.

    ``connect`` opens a connection to ``path`` (tests inject failing ones);
    ``busy_timeout`` is how long one commit waits for another process's lock.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = BUSY_TIMEOUT,
                 connect: Callable[[str], sqlite3.Connection] = _connect) -> None:
        self.path = str(path)
        self.notice = ""
        """Set when the store found a damaged history and moved it aside: what it did."""
        self._generation = 0  # +1 each time a damaged file is replaced (the writer reopens)
        self.commits = 0
        self.commit_seconds = 0.0
        self._memory = self.path == ":memory:"
        self._busy_ms = int(busy_timeout * 1000)
        self._connect = connect
        self._db_lock = threading.Lock()  # around self._db (reads; every use in memory)
        self._changed = threading.Condition()  # around everything below
        self._pending: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
        self._requested = self._written = 0
        self._problem: StoreProblem | None = None
        self._watchers: list[Callable[[StoreProblem | None], None]] = []
        self._callbacks: list[tuple[int, Callable[[], None]]] = []
        self._writer: threading.Thread | None = None
        self._closing = False
        self._journals: dict[str, int] = {}
        self._host = socket.gethostname()
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open()

    @classmethod
    def for_workspace(cls, workspace: Path | str) -> RunStore:
        """The store of ``workspace`` (created on first use)."""
        return cls(workspace_store_path(workspace))

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this database (``wal``)."""
        return self._read(lambda db: str(db.execute("PRAGMA journal_mode").fetchone()[0]))

    @property
    def problem(self) -> StoreProblem | None:
        """Why staged rows cannot be written right now; None while writes succeed."""
        return self._problem

    @property
    def pending(self) -> int:
        """Rows staged and not yet committed."""
        return len(self._pending)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Write what is staged (trying for ``timeout`` seconds) and close the database;
        raises HistoryUnwritable, after closing, if something could not be written."""
        lost = ""
        try:
            self.sync(timeout)
        except HistoryUnwritable as exc:
            lost = str(exc)
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        if self._writer is not None:
            self._writer.join(timeout)
        for run_id in list(self._journals):
            os.close(self._journals.pop(run_id))
        with self._db_lock:
            self._db.close()
        if lost:
            raise HistoryUnwritable(lost)

    # -- opening ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return self._open_schema()
        except sqlite3.DatabaseError as exc:
            if self._memory or not _damaged(exc):
                raise
            return self._start_fresh(exc)

    def _start_fresh(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Move the damaged file aside, say so, and open a fresh history."""
        moved = self._move_aside()
        notice = (f"the run history {self.path} was damaged ({exc}); it was moved to {moved} "
                  "and a fresh history started")
        self.notice = f"{self.notice}; {notice}" if self.notice else notice
        _log.warning("%s", notice)
        return self._open_schema()

    def _replace_damaged(self, exc: sqlite3.DatabaseError, generation: int) -> None:
        """A read or a commit found the open history damaged: replace it with a fresh one
        (once: ``generation`` is what the caller used, no-op if replaced since). Caller
        holds ``_db_lock``."""
        if generation != self._generation:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._db = self._start_fresh(exc)
        self._generation += 1

    def _read(self, read: Callable[[sqlite3.Connection], _T]) -> _T:
        """``read(db)`` on the reading connection. A history found damaged now is handled
        as at open (moved aside, a fresh one started) and ``read`` runs again there."""
        with self._db_lock:
            generation = self._generation
            try:
                return read(self._db)
            except sqlite3.DatabaseError as exc:
                if self._memory or not _damaged(exc):
                    raise
                with contextlib.suppress(sqlite3.Error):
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                self._replace_damaged(exc, generation)
            return read(self._db)

    def _open_schema(self) -> sqlite3.Connection:
        db = self._connect(self.path)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(_SCHEMA)  # writes: only when the schema is not there yet
                columns = {row[1] for row in db.execute("PRAGMA table_info(tasks)")}
                if "may_have_run" not in columns:  # a history written before schema 2
                    db.execute("ALTER TABLE tasks ADD COLUMN may_have_run INTEGER NOT NULL "
                               "DEFAULT 0")
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if not self._memory:
                db.execute("PRAGMA quick_check(1)").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved = f"{self.path}.corrupt-{stamp}"
        suffix = 1
        while os.path.exists(moved):
            suffix += 1
            moved = f"{self.path}.corrupt-{stamp}-{suffix}"
        os.replace(self.path, moved)
        for extra in ("-wal", "-shm"):  # the old log belongs to the old file, not a new one
            if os.path.exists(self.path + extra):
                os.replace(self.path + extra, moved + extra)
        return moved

    # -- staging (any thread, never blocks on the database) ---------------------------------

    def begin(self, run: RunRecord, text: str, *, wait: bool = True) -> int:
        """Stage a new run with its document and every phase and task; with ``wait``,
        return once it is committed (raises HistoryUnwritable). The flush ticket."""
        with self._changed:
            self._pending[("documents", run.id)] = (_UPSERT["documents"],
                                                    (run.id, run.path, text))
        self.stage_run(run)
        for p, phase in enumerate(run.phases):
            self.stage_phase(run.id, p, phase)
            for t, task in enumerate(phase.tasks):
                self.stage_task(run.id, p, t, task)
        if wait:
            return self.sync()
        return self.flush()

    def stage_run(self, run: RunRecord) -> None:
        """Stage the run row (status, error, progress, context, metrics)."""
        row = (run.id, run.orchestration, run.path, run.status, run.error, _json(run.input),
               _json(run.context), _json(run.metrics), run.progress, run.created, run.finished,
               run.resumed_from, os.getpid(), self._host)
        with self._changed:
            self._pending[("runs", run.id)] = (_UPSERT["runs"], row)

    def stage_phase(self, run_id: str, index: int, phase: PhaseResult) -> None:
        """Stage one phase row (its tasks are staged separately)."""
        row = (run_id, index, phase.name, phase.mode, phase.status, int(phase.required),
               phase.error, phase.started, phase.duration)
        with self._changed:
            self._pending[("phases", run_id, index)] = (_UPSERT["phases"], row)

    def stage_task(self, run_id: str, phase_index: int, index: int, task: TaskResult) -> None:
        """Stage one task row; a later change of the same task replaces it before commit."""
        row = (run_id, phase_index, index, task.name, task.target, task.status, task.provider,
               _json(task.input), _json(task.outputs), task.error, task.skipped_by,
               task.started, task.duration, int(task.reused), int(task.may_have_run))
        with self._changed:
            self._pending[("tasks", run_id, phase_index, index)] = (_UPSERT["tasks"], row)

    def stage_finish(self, run_id: str, status: str, error: str) -> None:
        """Stage an update of a run's status and error alone, applied after its rows (for a
        front end ending a run whose loop no longer answers)."""
        with self._changed:
            self._pending[("finish", run_id)] = (_FINISH, (status, error, time.time(), run_id))

    def flush(self) -> int:
        """Ask the writer to commit everything staged; the ticket :meth:`written` takes."""
        with self._changed:
            if self._pending:
                self._requested += 1
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                                    name=f"logomesh-history {self.path}")
                    self._writer.start()
                self._changed.notify_all()
            return self._requested

    def written(self, ticket: int) -> bool:
        """True once everything staged before :meth:`flush` returned ``ticket`` is committed."""
        return self._written >= ticket

    def sync(self, timeout: float | None = CLOSE_TIMEOUT) -> int:
        """Commit everything staged and wait for it; raises HistoryUnwritable naming the
        file and the cause if that takes longer than ``timeout``. The ticket."""
        ticket = self.flush()
        with self._changed:
            if not self._changed.wait_for(lambda: self._written >= ticket, timeout):
                problem = self._problem
                raise HistoryUnwritable(
                    f"{len(self._pending)} change(s) could not be written to the run history "
                    f"{self.path}: {problem.cause if problem else 'the writer did not answer'}")
        return ticket

    async def wait_written(self, ticket: int) -> None:
        """Return once ``ticket`` is written (on the caller's event loop, never blocking it)."""
        if self._written >= ticket:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(settle)

        with self._changed:
            if self._written >= ticket:
                return
            self._callbacks.append((ticket, wake))
        await done

    def watch(self, callback: Callable[[StoreProblem | None], None]) -> Callable[[], None]:
        """Call ``callback(problem)`` (on the writer thread) when writes start failing, and
        ``callback(None)`` when they succeed again; returns the unsubscribe function."""
        with self._changed:
            self._watchers.append(callback)

        def unsubscribe() -> None:
            with self._changed, contextlib.suppress(ValueError):
                self._watchers.remove(callback)
        return unsubscribe

    # -- the started journal ---------------------------------------------------------------

    def mark_started(self, run_id: str, phase_index: int, index: int) -> None:
        """Note, durably against a crash of the process, that a task is about to be sent."""
        fd = self._journals.get(run_id)
        if fd is None:
            if self._memory:
                return
            folder = self.path + "-started"
            try:
                os.makedirs(folder, exist_ok=True)
                fd = os.open(os.path.join(folder, run_id),
                             os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as exc:
                _log.warning("cannot record started tasks of run %s in %s: %s", run_id,
                             folder, exc)
                self._journals[run_id] = -1
                return
            self._journals[run_id] = fd
        if fd >= 0:
            try:
                os.write(fd, b"%d %d\n" % (phase_index, index))
            except OSError as exc:
                _log.warning("cannot record that task %d/%d of run %s started: %s",
                             phase_index, index, run_id, exc)

    def forget_started(self, run_id: str) -> None:
        """Drop the started journal of a run whose outcome is committed."""
        fd = self._journals.pop(run_id, None)
        if fd is not None and fd >= 0:
            os.close(fd)
        if not self._memory:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.path + "-started", run_id))

    # -- the writer thread -----------------------------------------------------------------

    def _write_loop(self) -> None:
        generation = self._generation
        try:
            db = self._db if self._memory else self._open_writer()
        except sqlite3.Error as exc:
            db = None
            self._failed(exc)
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closing or self._requested > self._written)
                if self._requested <= self._written:
                    break  # closing, and nothing is left to write
                if self._closing and self._problem is not None:
                    break  # close() gave up waiting
                ticket, batch, self._pending = self._requested, self._pending, {}
            try:
                if db is not None and generation != self._generation:
                    db.close()  # the file was replaced: write to the fresh one
                    db = None
                if db is None:
                    generation = self._generation
                    db = self._open_writer()
                self._commit(db, batch)
                if generation != self._generation:  # replaced meanwhile: write it again
                    raise _Replaced
            except (sqlite3.Error, _Replaced) as exc:
                with self._changed:
                    batch.update(self._pending)  # what was staged since is newer: it wins
                    self._pending = batch
                if isinstance(exc, _Replaced):
                    continue
                if (isinstance(exc, sqlite3.DatabaseError) and not self._memory
                        and _damaged(exc)):
                    with self._db_lock:
                        self._replace_damaged(exc, generation)
                    continue  # at once, into the fresh history
                self._failed(exc)
                with self._changed:
                    self._changed.wait_for(lambda: self._closing, RETRY_DELAY)
                continue
            self._succeeded(ticket)
        if db is not None and db is not self._db:
            db.close()

    def _open_writer(self) -> sqlite3.Connection:
        db = self._connect(self.path)
        db.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _commit(self, db: sqlite3.Connection, batch: dict[Any, tuple[str, tuple[Any, ...]]]
                ) -> None:
        started = time.perf_counter()
        by_sql: dict[str, list[tuple[Any, ...]]] = {sql: [] for sql in _UPSERT.values()}
        by_sql[_FINISH] = []  # after the rows it updates
        for sql, row in batch.values():
            by_sql[sql].append(row)
        lock = self._db_lock if db is self._db else contextlib.nullcontext()
        with lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in by_sql.items():
                    if rows:
                        db.executemany(sql, rows)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        self.commits += 1
        self.commit_seconds += time.perf_counter() - started

    def _failed(self, exc: sqlite3.Error) -> None:
        with self._changed:
            first = self._problem is None
            since = time.monotonic() if first else self._problem.since  # type: ignore[union-attr]
            self._problem = StoreProblem(self.path, str(exc), since)
            watchers = list(self._watchers) if first else []
        if first:
            _log.warning("%s (kept; retrying)", self._problem)
        for watcher in watchers:
            watcher(self._problem)

    def _succeeded(self, ticket: int) -> None:
        with self._changed:
            recovered, self._problem = self._problem is not None, None
            watchers = list(self._watchers) if recovered else []
        if recovered:  # said before anyone waiting for this ticket wakes
            _log.warning("the run history %s is written again", self.path)
        for watcher in watchers:
            watcher(None)
        with self._changed:
            self._written = ticket
            due = [wake for t, wake in self._callbacks if t <= ticket]
            self._callbacks = [(t, wake) for t, wake in self._callbacks if t > ticket]
            self._changed.notify_all()
        for wake in due:
            wake()

    # -- recovery and reading --------------------------------------------------------------

    def recover(self) -> list[str]:
        """Mark runs whose process on this machine has died as ``interrupted``, and their
        tasks that were sent with no result recorded as ``may_have_run``; their ids."""
        def mark(db: sqlite3.Connection) -> list[tuple[str, int]] | None:
            rows = db.execute(
                f"SELECT id, owner_pid FROM runs WHERE status IN ({','.join('?' * len(ACTIVE))})"
                " AND owner_host = ?", (*sorted(ACTIVE), self._host)).fetchall()
            dead = [(run_id, pid) for run_id, pid in rows if not _alive(pid)]
            try:
                db.execute("BEGIN IMMEDIATE")
                for run_id, pid in dead:
                    self._interrupt(db, run_id, f"the process running it (pid {pid}) ended "
                                    "before it finished")
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # locked or full: recover next time
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                _log.warning("cannot mark interrupted runs in %s yet: %s", self.path, exc)
                return None
            return dead

        dead = self._read(mark)
        if dead is None:
            return []
        for run_id, _ in dead:
            self.forget_started(run_id)
        self._forget_stale_journals()
        return [run_id for run_id, _ in dead]

    def interrupt(self, run_id: str, why: str) -> None:
        """Mark ``run_id`` interrupted because ``why`` (for a front end whose runtime no
        longer answers), its sent tasks without a result ``may_have_run``."""
        def mark(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._interrupt(db, run_id, why)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        self._read(mark)
        self.forget_started(run_id)

    def _interrupt(self, db: sqlite3.Connection, run_id: str, why: str) -> None:
        for p, t in self._journaled(run_id):
            db.execute("UPDATE tasks SET status = ? WHERE run_id = ? AND phase_idx = ? "
                       "AND idx = ? AND status = ?", (RUNNING, run_id, p, t, PENDING))
        db.execute("UPDATE tasks SET may_have_run = 1 WHERE run_id = ? AND status = ?",
                   (run_id, RUNNING))
        total, settled, unsure = db.execute(
            "SELECT count(*), sum(status = ? OR (status = ? AND skipped_by = ?)), "
            "sum(may_have_run) FROM tasks WHERE run_id = ?",
            (COMPLETED, SKIPPED, BY_CONDITION, run_id)).fetchone()
        note = (f"; {unsure} task{'s' * (unsure != 1)} may have run (sent, no result "
                "recorded): a resume runs them again") if unsure else ""
        db.execute("UPDATE runs SET status = ?, error = ?, finished = ?, progress = ? "
                   "WHERE id = ?",
                   (INTERRUPTED, f"interrupted: {why}; resume it to continue{note}", time.time(),
                    (settled or 0) / total if total else 0.0, run_id))

    def _journaled(self, run_id: str) -> set[tuple[int, int]]:
        if self._memory:
            return set()
        try:
            text = Path(self.path + "-started", run_id).read_text()
        except OSError:
            return set()
        found = set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                found.add((int(parts[0]), int(parts[1])))
        return found  # a line cut short by the crash is left out

    def _forget_stale_journals(self) -> None:
        folder = Path(self.path + "-started")
        if self._memory or not folder.is_dir():
            return
        names = [p.name for p in folder.iterdir() if p.name not in self._journals]
        if not names:
            return
        finished = self._read(lambda db: {row[0] for row in db.execute(
            f"SELECT id FROM runs WHERE status IN ({','.join('?' * len(FINISHED))})",
            tuple(FINISHED))})
        for name in names:
            if name in finished:
                with contextlib.suppress(OSError):
                    (folder / name).unlink()

    def runs(self, limit: int = 100) -> list[RunSummary]:
        """The newest ``limit`` runs, newest first."""
        rows = self._read(lambda db: db.execute(
            "SELECT id, orchestration, path, status, error, progress, created, finished, "
            "resumed_from, (SELECT count(*) FROM tasks WHERE tasks.run_id = runs.id AND "
            "tasks.may_have_run) FROM runs ORDER BY created DESC LIMIT ?", (limit,)).fetchall())
        return [RunSummary(*row) for row in rows]

    def run(self, run_id: str) -> RunRecord:
        """The whole stored run (KeyError if the store has no such run)."""
        def read(db: sqlite3.Connection) -> tuple[Any, list[Any], list[Any]]:
            return (
                db.execute(
                    "SELECT id, orchestration, path, status, error, input, context, metrics, "
                    "progress, created, finished, resumed_from FROM runs WHERE id = ?",
                    (run_id,)).fetchone(),
                db.execute(
                    "SELECT idx, name, mode, status, required, error, started, duration "
                    "FROM phases WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall(),
                db.execute(
                    "SELECT phase_idx, name, target, status, provider, input, outputs, error, "
                    "skipped_by, started, duration, reused, may_have_run FROM tasks "
                    "WHERE run_id = ? ORDER BY phase_idx, idx", (run_id,)).fetchall())

        row, phases, tasks = self._read(read)
        if row is None:
            raise KeyError(run_id)
        by_phase: dict[int, list[TaskResult]] = {}
        for (p, name, target, status, provider, input_, outputs, error, skipped_by, started,
             duration, reused, may_have_run) in tasks:
            by_phase.setdefault(p, []).append(TaskResult(
                name, target, status, provider, _load(input_), _load(outputs), error,
                skipped_by, started, duration, bool(reused), bool(may_have_run)))
        return RunRecord(
            id=row[0], orchestration=row[1], path=row[2], status=row[3], error=row[4],
            input=_load(row[5]), context=_load(row[6]), metrics=_load(row[7]), progress=row[8],
            created=row[9], finished=row[10], resumed_from=row[11],
            phases=tuple(PhaseResult(name, mode, status, bool(required), error, started,
                                     duration, tuple(by_phase.get(p, ())))
                         for p, name, mode, status, required, error, started, duration
                         in phases))

    def document(self, run_id: str) -> tuple[str, str]:
        """``(path, text)`` of the orchestration file as the run read it."""
        row = self._read(lambda db: db.execute(
            "SELECT path, text FROM documents WHERE run_id = ?", (run_id,)).fetchone())
        if row is None:
            raise KeyError(run_id)
        return row[0], row[1]


class _Replaced(Exception):
    """The history file was replaced while a commit went to the old one."""


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """True if ``exc`` says the file is not a database or is corrupt (not locked, not full)."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT,
                                                       sqlite3.SQLITE_NOTADB)


def _alive(pid: int) -> bool:
    """True if a process with ``pid`` exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
