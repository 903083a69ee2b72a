"""Hostile tasks and conditions: they fail their task, never the engine, and never outlast
their run's, phase's or task's timeout."""

from __future__ import annotations

import pytest

from logomesh_studio.orchestration.records import COMPLETED, FAILED, NOT_REACHED, SKIPPED
from tests.orchestration.test_engine import HEAD


@pytest.mark.parametrize("kind", ["cancelled", "interrupt", "exit"])
def test_a_handler_raising_a_base_exception_fails_its_task_not_the_engine(studio, kind):
    record = studio.run(HEAD + f"""
phases:
  - name: one
    tasks:
      - {{name: hostile, target: alpha, type: raise, input: {kind}, required: false}}
      - {{name: after, target: beta, type: work}}
""")
    assert record.status == COMPLETED
    hostile = record.task("hostile")
    assert hostile.status == FAILED
    assert hostile.error.startswith(("CancelledError", "KeyboardInterrupt", "GeneratorExit",
                                     "RemoteError"))
    assert record.task("after").status == COMPLETED
    assert studio.send("gamma", "stats")["calls"] == 0  # the runtime still answers


def test_a_stray_cancelled_error_in_a_parallel_phase_fails_only_its_task(studio):
    record = studio.run(HEAD + """
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: sibling, target: beta, type: wait}
      - {name: opener, target: beta, type: open}
      - {name: hostile, target: alpha, type: raise, input: cancelled}
""")
    assert record.status == FAILED
    assert "task 'hostile' failed" in record.error
    assert record.task("sibling").status == COMPLETED


def test_a_condition_building_a_huge_value_fails_its_task_and_the_loop_stays_free(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: bomb, target: alpha, type: work, condition: "[[1]*100000]*100000 == 0"}
""")
    assert record.status == FAILED
    assert "more than 100,000 items" in record.task("bomb").error
    assert studio.send("alpha", "stats")["calls"] == 0


def test_a_sync_handler_that_returns_after_the_task_timeout_fails_the_task(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: slow, target: alpha, type: hog, input: 0.2, timeout: 0.05}]
""")
    slow = record.task("slow")
    assert slow.status == FAILED
    assert slow.error.startswith("timed out after 0.05 s (the handler held the runtime")


@pytest.mark.parametrize("where", ["run", "phase"])
def test_a_deadline_passed_during_a_blocking_handler_stops_the_next_task(studio, where):
    timeout = "timeout: 0.1"
    record = studio.run(HEAD + (timeout if where == "run" else "") + f"""
phases:
  - name: one
    {timeout if where == "phase" else ""}
    tasks:
      - {{name: slow, target: alpha, type: hog, input: 0.3}}
      - {{name: next, target: beta, type: work}}
      - {{name: last, target: beta, type: work}}
""")
    assert record.status == FAILED
    assert "timed out after 0.1 s" in record.error
    assert [record.task(t).skipped_by for t in ("next", "last")] == [NOT_REACHED] * 2
    assert record.task("next").status == SKIPPED
    assert studio.send("beta", "stats")["calls"] == 0  # nothing ran past the deadline
