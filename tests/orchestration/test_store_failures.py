"""The history store when it cannot write: nothing staged is lost, the loop never waits on
it, a run pauses (and finally fails) saying why, and a damaged file is moved aside."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logomesh_studio.orchestration.engine import OrchestrationEngine
from logomesh_studio.orchestration.records import COMPLETED, FAILED, PAUSED, RUNNING, RunRecord
from logomesh_studio.orchestration.store import (
    HistoryUnwritable,
    RunStore,
    StoreProblem,
    workspace_store_path,
)
from tests.orchestration.test_commands import cli
from tests.orchestration.test_engine import HEAD

GATED = HEAD + """
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: 1}
      - {name: long, target: beta, type: wait, input: 2}
      - {name: last, target: gamma, type: work, input: 3}
"""


def record(run_id: str, status: str = RUNNING, **fields: object) -> RunRecord:
    return RunRecord(id=run_id, orchestration="demo", path="demo.yaml", status=status,
                     **fields)  # type: ignore[arg-type]


def problems(store: RunStore) -> tuple[threading.Event, list[StoreProblem | None]]:
    """An event set on the store's first reported problem, and every report."""
    seen: list[StoreProblem | None] = []
    failing = threading.Event()

    def watch(problem: StoreProblem | None) -> None:
        seen.append(problem)
        if problem is not None:
            failing.set()
    store.watch(watch)
    return failing, seen


@pytest.fixture
def locked() -> Iterator[Callable[[Path], sqlite3.Connection]]:
    """``lock(path)`` holds the database's write lock from another connection until the
    test releases it (``.execute("ROLLBACK")``) or ends."""
    held: list[sqlite3.Connection] = []

    def lock(path: Path) -> sqlite3.Connection:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        held.append(other)
        return other

    yield lock
    for other in held:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def test_rows_staged_while_another_connection_holds_the_lock_are_kept_and_written(
        tmp_path, locked):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path, busy_timeout=0.01)
    store.begin(record("r1"), "name: demo")
    failing, seen = problems(store)
    other = locked(path)
    store.stage_run(record("r1", COMPLETED))
    ticket = store.flush()
    assert failing.wait(30)
    assert str(store.problem) == f"cannot write the run history {path}: database is locked"
    assert not store.written(ticket) and store.pending == 1
    with pytest.raises(HistoryUnwritable, match=f"1 change.* could not be written to the run "
                                                f"history {path}: database is locked"):
        store.sync(timeout=0)
    other.execute("ROLLBACK")
    store.sync(timeout=30)
    assert store.problem is None and seen[-1] is None
    assert RunStore(path).run("r1").status == COMPLETED
    store.close()


def test_rows_staged_while_the_disk_is_full_are_kept_and_written_once_there_is_room(tmp_path):
    path = tmp_path / "runs.sqlite"
    connections: list[sqlite3.Connection] = []

    def connect(where: str) -> sqlite3.Connection:
        db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
        connections.append(db)
        return db

    store = RunStore(path, connect=connect)
    store.begin(record("r1"), "name: demo")  # opens the writer's connection
    writer = connections[-1]
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")  # the disk holds not one page more
    failing, _ = problems(store)
    store.stage_run(record("r1", COMPLETED, input={"big": "x" * 200_000}))
    store.flush()
    assert failing.wait(30)
    assert str(store.problem).endswith(": database or disk is full")
    writer.execute("PRAGMA max_page_count = 1073741823")  # room again
    store.sync(timeout=30)
    assert RunStore(path).run("r1").input == {"big": "x" * 200_000}
    store.close()


def test_close_says_what_it_could_not_write(tmp_path, locked):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path, busy_timeout=0.01)
    store.begin(record("r1"), "name: demo")
    locked(path)
    store.stage_run(record("r1", COMPLETED))
    with pytest.raises(HistoryUnwritable, match=f"history {path}: database is locked"):
        store.close(timeout=0.2)


def test_a_run_pauses_while_its_history_is_locked_and_the_loop_keeps_serving(
        studio, event_kind, locked):
    path = workspace_store_path(studio.root)
    run = studio.start(GATED)
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    other = locked(path)
    studio.send("beta", "open")  # a message completes while another process holds the lock
    paused = studio.wait_for(event_kind("orchestration_status", run_id=run.id, status=PAUSED))
    assert paused[0].error.startswith(f"cannot write the run history {path}: database is "
                                      "locked; the run's result is recorded once it can be "
                                      "written")
    assert studio.send("gamma", "stats")["calls"] == 1  # the loop still serves everyone
    assert not [e for e in studio.events if e.kind == "orchestration_status"
                and e.status == COMPLETED]  # not reported complete: not recorded yet
    other.execute("ROLLBACK")
    final = studio.wait(run)
    assert final.status == COMPLETED
    stored = RunStore(path).run(run.id)
    assert stored.status == COMPLETED
    assert [t.status for t in stored.phases[0].tasks] == [COMPLETED] * 3


def test_a_run_dispatches_nothing_until_its_start_is_recorded(studio, event_kind, locked):
    path = workspace_store_path(studio.root)
    assert studio.runtime.host  # loaded, its engine's history open, before the lock
    other = locked(path)
    run = studio.start(GATED.replace("type: wait", "type: work"))
    paused = studio.wait_for(event_kind("orchestration_status", run_id=run.id, status=PAUSED))
    assert "database is locked; the run waits until it can be written" in paused[0].error
    assert studio.messages() == []  # no task was sent
    other.execute("ROLLBACK")
    assert studio.wait(run).status == COMPLETED
    assert RunStore(path).run(run.id).status == COMPLETED


def test_a_run_whose_history_stays_unwritable_fails_saying_its_result_is_not_recorded(
        studio, locked):
    path = workspace_store_path(studio.root)
    engine = OrchestrationEngine(studio.runtime.host, RunStore(path, busy_timeout=0.01),
                                 store_patience=0.3)
    locked(path)
    file = studio.load(GATED.replace("type: wait", "type: work"))
    run = studio.runtime.run(engine.start(file))
    final = studio.runtime.run(run.wait())
    assert final.status == FAILED
    assert final.error == (f"cannot write the run history {path}: database is locked for "
                           "0.3 s, so the run stopped; its result (failed) is not in the run "
                           "history")
    assert studio.messages() == []


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_history_is_moved_aside_and_a_fresh_one_started(tmp_path, capsys, damage):
    path = workspace_store_path(tmp_path)
    if damage == "garbage":
        path.parent.mkdir()
        path.write_bytes(b"not a database, whatever it says " * 200)
    else:
        store = RunStore(path)
        for i in range(300):
            store.begin(record(f"r{i}", COMPLETED, input={"pad": "x" * 2000}), "name: demo",
                        wait=False)
        store.close()
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    broken = path.read_bytes()
    assert cli("runs", str(tmp_path)) == 0
    captured = capsys.readouterr()
    [moved] = path.parent.glob("runs.sqlite.corrupt-*[0-9]")
    assert moved.read_bytes() == broken
    assert f"warning: the run history {path} was damaged (" in captured.err
    assert f"it was moved to {moved} and a fresh history started" in captured.err
    assert "no orchestration runs" in captured.out
    assert RunStore(path).runs() == []



def damage_under(store_path: Path) -> bytes:
    """Overwrite everything past the first pages of an open store's file with garbage, as
    a failing disk would, and have another connection touch the database (so the
    store's cached pages go stale); the broken file's bytes."""
    data = store_path.read_bytes()
    with open(store_path, "r+b") as file:
        file.seek(8192)
        file.write(b"\xff" * (len(data) - 8192))
    other = sqlite3.connect(store_path, isolation_level=None)
    other.execute("PRAGMA user_version=2")
    other.close()
    return store_path.read_bytes()


def filled_store(path: Path) -> RunStore:
    store = RunStore(path)
    for i in range(300):
        store.begin(record(f"r{i}", COMPLETED, input={"pad": "x" * 2000}), "name: demo",
                    wait=False)
    store.close()
    store = RunStore(path)
    assert len(store.runs(1000)) == 300 and store.notice == ""
    return store


@pytest.mark.parametrize("found_by", ["read", "write"])
def test_a_history_damaged_after_it_was_opened_is_moved_aside_and_a_fresh_one_started(
        tmp_path, found_by):
    path = workspace_store_path(tmp_path)
    store = filled_store(path)
    broken = damage_under(path)
    if found_by == "read":
        assert store.runs(1000) == []  # answered from the fresh history
    else:
        store.begin(record("after", COMPLETED), "name: demo")  # committed to the fresh one
    [moved] = path.parent.glob("runs.sqlite.corrupt-*[0-9]")
    kept = moved.read_bytes()  # the broken file is kept (closing it folded its log into
    assert (len(kept), kept[4096:]) == (len(broken), broken[4096:])  # page 1, no more)
    assert store.notice.startswith(f"the run history {path} was damaged (")
    assert store.notice.endswith(f"it was moved to {moved} and a fresh history started")
    store.begin(record("later", COMPLETED), "name: demo")
    expected = ["later", "after"] if found_by == "write" else ["later"]
    assert [run.id for run in store.runs()] == expected
    store.close()
    assert [run.id for run in RunStore(path).runs()] == expected  # and it is on disk
