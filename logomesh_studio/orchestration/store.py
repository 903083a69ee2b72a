"""Run history in SQLite: ``<workspace>/.logomesh/runs.sqlite``, in WAL mode.

Every run, phase and task row is written as it changes. Changes are staged and
committed together (the engine flushes once per event-loop tick, sooner when many
pile up), so a 10,000-task run costs a few hundred commits, not 20,000. WAL with
``synchronous=NORMAL`` keeps every committed row through a process crash; a run
whose process died is found by :meth:`RunStore.recover` and marked ``interrupted``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from logomesh_studio.orchestration.records import (
    ACTIVE,
    INTERRUPTED,
    PhaseResult,
    RunRecord,
    RunSummary,
    TaskResult,
)

SCHEMA_VERSION = 1
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
    PRIMARY KEY (run_id, phase_idx, idx));
"""
_UPSERT = {
    "runs": "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "phases": "INSERT OR REPLACE INTO phases VALUES (?,?,?,?,?,?,?,?,?)",
    "tasks": "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
}
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _json(value: Any) -> str | None:
    return None if value is None else _dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def workspace_store_path(workspace: Path | str) -> Path:
    """Where a workspace keeps its run history."""
    return Path(workspace) / ".logomesh" / "runs.sqlite"


class RunStore:
    """Durable run history; safe to share between threads (one lock around the database)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._pending: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
        self._host = socket.gethostname()
        self.commits = 0
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def for_workspace(cls, workspace: Path | str) -> RunStore:
        """The store of ``workspace`` (created on first use)."""
        return cls(workspace_store_path(workspace))

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this database (``wal``)."""
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Write what is staged and close the database."""
        with self._lock:
            self.flush()
            self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def begin(self, run: RunRecord, text: str) -> None:
        """Record a new run with its document and every phase and task (committed now)."""
        self.stage_run(run)
        with self._lock:
            self._pending[("documents", run.id)] = (
                "INSERT OR REPLACE INTO documents VALUES (?,?,?)", (run.id, run.path, text))
            for p, phase in enumerate(run.phases):
                self.stage_phase(run.id, p, phase)
                for t, task in enumerate(phase.tasks):
                    self.stage_task(run.id, p, t, task)
            self.flush()

    def stage_run(self, run: RunRecord) -> None:
        """Stage the run row (status, error, progress, context, metrics)."""
        row = (run.id, run.orchestration, run.path, run.status, run.error, _json(run.input),
               _json(run.context), _json(run.metrics), run.progress, run.created, run.finished,
               run.resumed_from, os.getpid(), self._host)
        with self._lock:
            self._pending[("runs", run.id)] = (_UPSERT["runs"], row)

    def stage_phase(self, run_id: str, index: int, phase: PhaseResult) -> None:
        """Stage one phase row (its tasks are staged separately)."""
        row = (run_id, index, phase.name, phase.mode, phase.status, int(phase.required),
               phase.error, phase.started, phase.duration)
        with self._lock:
            self._pending[("phases", run_id, index)] = (_UPSERT["phases"], row)

    def stage_task(self, run_id: str, phase_index: int, index: int, task: TaskResult) -> None:
        """Stage one task row; a later change of the same task replaces it before commit."""
        row = (run_id, phase_index, index, task.name, task.target, task.status, task.provider,
               _json(task.input), _json(task.outputs), task.error, task.skipped_by,
               task.started, task.duration, int(task.reused))
        with self._lock:
            self._pending[("tasks", run_id, phase_index, index)] = (_UPSERT["tasks"], row)

    @property
    def pending(self) -> int:
        """Rows staged and not yet committed."""
        return len(self._pending)

    def flush(self) -> None:
        """Commit every staged row in one transaction."""
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            by_sql: dict[str, list[tuple[Any, ...]]] = {}
            for sql, row in pending.values():
                by_sql.setdefault(sql, []).append(row)
            self._db.execute("BEGIN")
            try:
                for sql, rows in by_sql.items():
                    self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self.commits += 1

    def recover(self) -> list[str]:
        """Mark runs whose process on this machine has died as ``interrupted``; their ids."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, owner_pid FROM runs WHERE status IN ({','.join('?' * len(ACTIVE))})"
                " AND owner_host = ?", (*sorted(ACTIVE), self._host)).fetchall()
            dead = [(run_id, pid) for run_id, pid in rows if not _alive(pid)]
            for run_id, pid in dead:
                self._db.execute(
                    "UPDATE runs SET status = ?, error = ?, finished = ? WHERE id = ?",
                    (INTERRUPTED, f"interrupted: the process running it (pid {pid}) ended "
                     "before it finished; resume it to continue", time.time(), run_id))
            return [run_id for run_id, _ in dead]

    # -- reading ---------------------------------------------------------------------------

    def runs(self, limit: int = 100) -> list[RunSummary]:
        """The newest ``limit`` runs, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, orchestration, path, status, error, progress, created, finished, "
                "resumed_from FROM runs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [RunSummary(*row) for row in rows]

    def run(self, run_id: str) -> RunRecord:
        """The whole stored run (KeyError if the store has no such run)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, orchestration, path, status, error, input, context, metrics, "
                "progress, created, finished, resumed_from FROM runs WHERE id = ?",
                (run_id,)).fetchone()
            if row is None:
                raise KeyError(run_id)
            phases = self._db.execute(
                "SELECT idx, name, mode, status, required, error, started, duration FROM phases "
                "WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
            tasks = self._db.execute(
                "SELECT phase_idx, name, target, status, provider, input, outputs, error, "
                "skipped_by, started, duration, reused FROM tasks WHERE run_id = ? "
                "ORDER BY phase_idx, idx", (run_id,)).fetchall()
        by_phase: dict[int, list[TaskResult]] = {}
        for (p, name, target, status, provider, input_, outputs, error, skipped_by, started,
             duration, reused) in tasks:
            by_phase.setdefault(p, []).append(TaskResult(
                name, target, status, provider, _load(input_), _load(outputs), error,
                skipped_by, started, duration, bool(reused)))
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
        with self._lock:
            row = self._db.execute("SELECT path, text FROM documents WHERE run_id = ?",
                                   (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return row[0], row[1]


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
