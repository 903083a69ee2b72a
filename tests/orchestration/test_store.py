"""Run history in SQLite, interrupted runs, and resuming from the failed task."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from logomesh_studio.orchestration.engine import RunNotResumable, reuse_plan
from logomesh_studio.orchestration.records import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    RUNNING,
    PhaseResult,
    RunRecord,
    TaskResult,
)
from logomesh_studio.orchestration.store import RunStore, workspace_store_path

HEAD = """
name: test
initiator: boss
participants: [alpha, beta, gamma]
"""

FLAKY = HEAD + """
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: {n: "${input.n}"}, output_mapping: {n: echo.n}}
  - name: two
    mode: parallel
    tasks:
      - {name: sibling, target: gamma, type: work, input: {n: "${n}"}}
      - {name: flaky, target: beta, type: flaky, input: {marker: "${input.marker}"}}
  - name: three
    tasks:
      - {name: last, target: gamma, type: work, input: {n: "${n}"}}
"""


def test_store_runs_in_wal_mode(tmp_path):
    assert RunStore(tmp_path / "runs.sqlite").journal_mode == "wal"


def test_runs_are_stored_in_the_workspace(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work, input: 1}]
""")
    stored = RunStore(workspace_store_path(studio.root)).run(record.id)
    assert stored.to_json() == record.to_json()


def test_run_record_round_trips_through_json(studio):
    record = studio.run(FLAKY, {"n": 1, "marker": "/nonexistent/marker"})
    assert RunRecord.from_json(record.to_json()) == record


def test_task_rows_are_written_while_the_run_is_in_progress(studio, event_kind):
    run = studio.start(HEAD + """
phases:
  - name: one
    tasks: [{name: first, target: alpha, type: work}, {name: long, target: beta, type: wait}]
""")
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    reader = RunStore(workspace_store_path(studio.root))
    poll = threading.Event()
    for _ in range(200):  # the engine commits within its flush delay
        if reader.run(run.id).task("long").status == RUNNING:
            break
        poll.wait(0.01)
    reader = reader.run(run.id)
    assert reader.status == RUNNING
    assert [t.status for t in reader.phases[0].tasks] == [COMPLETED, RUNNING]
    assert reader.task("first").outputs == {"first": {"echo": None, "by": "alpha"}}
    studio.send("beta", "open")
    studio.wait(run)


def test_run_whose_process_died_is_marked_interrupted(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.begin(RunRecord(id="r1", orchestration="demo", path="demo.yaml", status=RUNNING),
                "name: demo")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.execute("UPDATE runs SET owner_pid = ? WHERE id = 'r1'", (dead.pid,))
    assert RunStore(tmp_path / "runs.sqlite").recover() == ["r1"]
    record = store.run("r1")
    assert record.status == INTERRUPTED
    assert f"pid {dead.pid}" in record.error


def test_run_of_a_live_process_is_not_marked_interrupted(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.begin(RunRecord(id="r1", orchestration="demo", path="demo.yaml", status=RUNNING),
                "name: demo")
    assert RunStore(tmp_path / "runs.sqlite").recover() == []


def test_resume_reruns_from_the_failed_task_reusing_earlier_outputs(studio, tmp_path):
    marker = tmp_path / "marker"
    marker.touch()
    failed = studio.run(FLAKY, {"n": 7, "marker": str(marker)})
    assert failed.status == FAILED and failed.task("flaky").status == FAILED
    marker.unlink()
    calls_before = studio.send("alpha", "stats")["calls"]
    resumed = studio.wait(studio.runtime.run(studio.engine.resume(failed.id)))
    assert resumed.status == COMPLETED
    assert resumed.resumed_from == failed.id
    assert resumed.task("first").reused and resumed.task("first").outputs == {"n": 7}
    assert studio.send("alpha", "stats")["calls"] == calls_before
    assert resumed.task("last").input == {"n": 7}


def test_resume_keeps_completed_siblings_in_the_failed_parallel_phase(studio, tmp_path):
    marker = tmp_path / "marker"
    marker.touch()
    failed = studio.run(FLAKY, {"n": 1, "marker": str(marker)})
    marker.unlink()
    resumed = studio.wait(studio.runtime.run(studio.engine.resume(failed.id)))
    assert resumed.task("sibling").reused
    assert not resumed.task("flaky").reused and resumed.task("flaky").status == COMPLETED


def test_resume_refuses_a_completed_run(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work}]
""")
    with pytest.raises(RunNotResumable, match="nothing to resume"):
        studio.runtime.run(studio.engine.resume(record.id))


def test_resume_refuses_an_unknown_run(studio):
    with pytest.raises(RunNotResumable, match="no run 'nope'"):
        studio.runtime.run(studio.engine.resume("nope"))


def task(name, status, skipped_by=""):
    return TaskResult(name, "alpha", status, skipped_by=skipped_by)


def test_reuse_plan_stops_at_the_first_unfinished_task():
    record = RunRecord("r", "demo", "x", FAILED, phases=(
        PhaseResult("one", "sequential", COMPLETED, tasks=(
            task("a", COMPLETED), task("b", "skipped", "condition"))),
        PhaseResult("two", "sequential", FAILED, tasks=(
            task("c", COMPLETED), task("d", RUNNING), task("e", COMPLETED))),
    ))
    assert sorted(reuse_plan(record)) == [(0, 0), (0, 1), (1, 0)]
