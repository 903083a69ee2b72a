"""The engine: modes, failures, conditions, data flow, timeouts, pause/resume/cancel, events."""

from __future__ import annotations

import asyncio

from logomesh_studio.orchestration.records import (
    BY_CONDITION,
    CANCELLED,
    COMPLETED,
    FAILED,
    NOT_REACHED,
    PAUSED,
    RUNNING,
    SKIPPED,
)
from logomesh_studio.runtime.events import event_from_json

HEAD = """
name: test
initiator: boss
participants: [alpha, beta, gamma]
"""

COMPLEX = HEAD + """
timeout: 30
resources: {max_concurrency: 4}
phases:
  - name: prepare
    mode: sequential
    tasks:
      - {name: first, target: alpha, type: work, input: {n: "${input.n}"}, output_mapping: {n: echo.n}}
      - {name: second, target: beta, type: work, input: {doubled: "${n}", text: "n=${n}"}}
  - name: fan
    mode: parallel
    tasks:
      - {name: a, target: alpha, type: work, input: {i: 1}, output_mapping: {a: by}}
      - {name: b, target: beta, type: work, input: {i: 2}, output_mapping: {b: by}}
      - {name: c, target: capability:compute, input: {i: 3}, output_mapping: {c: executed.i}}
      - {name: d, target: gamma, input: {i: 4}, output_mapping: {d: executed.i}}
  - name: decide
    mode: conditional
    tasks:
      - {name: big, target: gamma, type: work, condition: "n > 10", input: {size: big}}
      - {name: small, target: gamma, type: work, condition: "n <= 10 and a == 'alpha'", input: {size: small}}
"""


WAIT_FOREVER = """
import asyncio
from logomesh_studio.sdk import Plugin


class Slow(Plugin):
    async def execute(self, input):
        await asyncio.Event().wait()
"""


def statuses(record):
    return {task.name: task.status for phase in record.phases for task in phase.tasks}


def test_complex_template_completes_with_every_phase_successful(studio):
    record = studio.run(COMPLEX, {"n": 3})
    assert record.status == COMPLETED and record.error == ""
    assert [phase.status for phase in record.phases] == [COMPLETED] * 3
    assert statuses(record) == {"first": COMPLETED, "second": COMPLETED, "a": COMPLETED,
                                "b": COMPLETED, "c": COMPLETED, "d": COMPLETED,
                                "big": SKIPPED, "small": COMPLETED}
    assert record.progress == 1.0


def test_failing_template_ends_failed_with_an_error_naming_the_task(studio):
    record = studio.run(HEAD + """
phases:
  - name: only
    tasks:
      - {name: ok, target: alpha, type: work}
      - {name: broken, target: beta, type: fail}
""")
    assert record.status == FAILED
    assert "broken" in record.error and "refused on purpose" in record.error
    assert record.task("broken").status == FAILED
    assert "ValueError: refused on purpose" in record.task("broken").error


def test_phases_after_a_failed_required_phase_do_not_run(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: broken, target: alpha, type: fail}, {name: after, target: alpha, type: work}]
  - name: two
    tasks: [{name: later, target: beta, type: work}]
""")
    assert record.phase("two").status == SKIPPED
    assert record.task("after").status == record.task("later").status == SKIPPED
    assert record.task("later").skipped_by == NOT_REACHED
    assert [m.type for m in studio.messages()] == ["fail"]


def test_optional_task_failure_is_recorded_and_the_phase_goes_on(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: maybe, target: alpha, type: fail, required: false}
      - {name: after, target: beta, type: work}
""")
    assert record.status == COMPLETED
    assert record.task("maybe").status == FAILED and record.task("after").status == COMPLETED


def test_optional_phase_failure_is_recorded_and_the_run_goes_on(studio):
    record = studio.run(HEAD + """
phases:
  - name: optional
    required: false
    tasks: [{name: broken, target: alpha, type: fail}]
  - name: main
    tasks: [{name: after, target: beta, type: work}]
""")
    assert record.status == COMPLETED
    assert record.phase("optional").status == FAILED
    assert "broken" in record.phase("optional").error
    assert record.task("after").status == COMPLETED


def test_exact_reference_keeps_its_type_and_embedded_reference_becomes_text(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: t, target: alpha, type: work, input: {exact: "${input.items}", text: "got ${input.items[1]} of ${input.items}"}}
""", {"items": [1, 2]})
    assert record.task("t").input == {"exact": [1, 2], "text": "got 2 of [1, 2]"}


def test_task_without_output_mapping_stores_its_whole_response_under_its_name(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: t, target: alpha, type: work, input: 5}
      - {name: u, target: beta, type: work, input: "${t.echo}"}
""")
    assert record.context["t"] == {"echo": 5, "by": "alpha"}
    assert record.task("u").input == 5


def test_output_mapping_path_missing_from_the_response_fails_the_task(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work, output_mapping: {x: nothing.here}}]
""")
    assert record.task("t").status == FAILED
    assert "output_mapping.x" in record.task("t").error


def test_parallel_tasks_are_in_flight_at_once(studio, event_kind):
    run = studio.start(HEAD + """
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: a, target: alpha, type: wait}
      - {name: b, target: beta, type: wait}
      - {name: c, target: gamma, type: wait}
""")
    studio.wait_for(event_kind("orchestration_task_started"), count=3)
    for pid in ("alpha", "beta", "gamma"):
        studio.send(pid, "open")
    record = studio.wait(run)
    assert record.status == COMPLETED
    assert record.metrics["max_concurrency"] == 3


def test_parallel_outputs_merge_in_task_order_not_finishing_order(studio, event_kind):
    run = studio.start(HEAD + """
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: slow, target: alpha, type: wait, output_mapping: {winner: by}}
      - {name: fast, target: beta, type: work, output_mapping: {winner: by}}
""")
    studio.wait_for(event_kind("orchestration_task_finished", task="fast"))
    studio.send("alpha", "open")
    record = studio.wait(run)
    assert record.context["winner"] == "beta"


def test_required_failure_in_a_parallel_phase_starts_no_new_tasks(studio):
    record = studio.run(HEAD + """
resources: {max_concurrency: 1}
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: a, target: alpha, type: fail}
      - {name: b, target: beta, type: work}
""")
    assert record.task("b").status == SKIPPED and record.task("b").skipped_by == NOT_REACHED
    assert record.phase("fan").error.startswith("task 'a' failed")


def test_run_concurrency_limit_caps_tasks_in_flight(studio, event_kind):
    run = studio.start(HEAD + """
resources: {max_concurrency: 2}
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: a, target: alpha, type: wait}
      - {name: b, target: beta, type: wait}
      - {name: c, target: gamma, type: wait}
""")
    studio.wait_for(event_kind("orchestration_task_started"), count=2)
    running = studio.on_loop(lambda: [t.status for t in run.snapshot().phases[0].tasks])
    assert sorted(running) == ["pending", "running", "running"]
    for pid in ("alpha", "beta", "gamma"):
        studio.send(pid, "open")
    assert studio.wait(run).metrics["max_concurrency"] == 2


def test_participant_concurrency_limit_caps_its_tasks(studio, event_kind):
    run = studio.start("""
name: test
initiator: boss
participants: [{id: alpha, max_concurrency: 1}]
phases:
  - name: fan
    mode: parallel
    tasks:
      - {name: a, target: alpha, type: wait}
      - {name: b, target: alpha, type: wait}
      - {name: c, target: alpha, type: wait}
""")
    studio.wait_for(event_kind("orchestration_task_started"))
    studio.send("alpha", "open")
    assert studio.wait(run).status == COMPLETED
    assert studio.send("alpha", "stats")["peak"] == 1


def test_false_condition_skips_a_task_in_a_sequential_phase(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: t, target: alpha, type: work, condition: "input.go"}
      - {name: u, target: beta, type: work}
""", {"go": False})
    assert record.task("t").status == SKIPPED
    assert record.task("t").skipped_by == BY_CONDITION
    assert record.task("u").status == COMPLETED


def test_conditional_phase_runs_only_tasks_whose_condition_holds(studio):
    record = studio.run(HEAD + """
phases:
  - name: pick
    mode: conditional
    tasks:
      - {name: small, target: alpha, type: work, condition: "input.n < 10"}
      - {name: large, target: beta, type: work, condition: "input.n >= 10"}
      - {name: any, target: gamma, type: work, condition: "input.n in [3, 30]"}
""", {"n": 30})
    assert statuses(record) == {"small": SKIPPED, "large": COMPLETED, "any": COMPLETED}


def test_condition_that_cannot_be_evaluated_fails_the_task(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work, condition: "input.missing > 1"}]
""")
    assert record.task("t").status == FAILED
    assert "input has no key 'missing'" in record.task("t").error


def test_capability_target_is_served_by_a_provider(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: capability:compute, input: {x: 1}}]
""")
    assert record.task("t").provider == "alpha"
    assert record.context["t"] == {"executed": {"x": 1}}


def test_task_without_type_calls_the_plugins_execute(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: beta, input: {x: 2}}]
""")
    assert record.context["t"] == {"executed": {"x": 2}}


def test_message_tasks_are_recorded_bridge_messages_from_the_initiator(studio):
    studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: t, target: alpha, type: work}
      - {name: u, target: capability:compute}
""")
    sent = [(m.call, m.target, m.type, m.outcome) for m in studio.messages()]
    assert sent == [("send", "alpha", "work", "ok"), ("capability", "alpha", "compute", "ok")]


def test_task_timeout_fails_the_task_and_the_bridge_records_it(studio):
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: wait, timeout: 0.05}]
""")
    assert record.task("t").status == FAILED
    assert record.task("t").error.startswith("MessageTimeout: alpha did not answer 'wait'")
    assert [m.outcome for m in studio.messages()] == ["timeout"]


def test_capability_task_timeout_fails_the_task(studio):
    studio.workspace.plugin("slowcap", code=WAIT_FOREVER, cls="Slow", capabilities=["nap"])
    record = studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: t, target: "capability:nap", timeout: 0.05}]
""")
    assert record.task("t").error == "timed out after 0.05 s"


def test_phase_timeout_fails_the_phase_and_its_running_tasks(studio):
    record = studio.run(HEAD + """
phases:
  - name: slow
    mode: parallel
    timeout: 0.05
    tasks:
      - {name: a, target: alpha, type: wait}
      - {name: b, target: beta, type: work}
""")
    assert record.status == FAILED
    assert record.phase("slow").error == "phase 'slow' timed out after 0.05 s"
    assert record.task("a").status == FAILED and "timed out" in record.task("a").error
    assert record.task("b").status == COMPLETED


def test_run_timeout_fails_the_run(studio):
    record = studio.run(HEAD + """
timeout: 0.05
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: wait}, {name: u, target: beta, type: work}]
""")
    assert record.status == FAILED
    assert record.error == "the run timed out after 0.05 s"
    assert record.task("u").status == SKIPPED


WAITING = HEAD + """
phases:
  - name: one
    tasks:
      - {name: long, target: alpha, type: wait}
      - {name: next, target: beta, type: work}
"""


def test_pause_then_resume_shows_paused_then_running_then_completed(studio, event_kind):
    run = studio.start(WAITING)
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    assert studio.on_loop(run.pause)
    studio.send("alpha", "open")
    studio.wait_for(event_kind("orchestration_task_finished", task="long"))
    assert studio.on_loop(run.resume)
    assert studio.wait(run).status == COMPLETED
    changes = [e.status for e in studio.events if e.kind == "orchestration_status"]
    assert changes == ["initializing", RUNNING, PAUSED, RUNNING, COMPLETED]


def test_paused_run_dispatches_no_new_tasks(studio, event_kind):
    run = studio.start(WAITING)
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    studio.on_loop(run.pause)
    studio.send("alpha", "open")
    studio.wait_for(event_kind("orchestration_task_finished", task="long"))
    snapshot = studio.on_loop(run.snapshot)
    assert snapshot.status == PAUSED
    assert snapshot.task("next").status == "pending"
    studio.on_loop(run.resume)
    studio.wait(run)


def test_paused_time_does_not_count_against_the_run_timeout(studio, event_kind):
    run = studio.start(HEAD + """
timeout: 0.2
phases:
  - name: one
    tasks: [{name: long, target: alpha, type: wait}, {name: next, target: beta, type: work}]
""")
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    studio.on_loop(run.pause)
    studio.runtime.run(asyncio.sleep(0.3))  # paused for longer than the whole run may take
    studio.send("alpha", "open")
    studio.on_loop(run.resume)
    assert studio.wait(run).status == COMPLETED


def test_control_applies_pause_resume_and_cancel_by_run_id(studio, event_kind):
    run = studio.start(WAITING)
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    control = studio.engine.control
    assert studio.on_loop(control, run.id, "pause")
    assert not studio.on_loop(control, run.id, "pause")
    assert studio.on_loop(control, run.id, "resume")
    assert studio.on_loop(control, run.id, "cancel")
    assert studio.wait(run).status == CANCELLED
    assert not studio.on_loop(control, run.id, "resume")


def test_cancel_stops_dispatching_and_cancels_tasks_in_flight(studio, event_kind):
    run = studio.start(WAITING)
    studio.wait_for(event_kind("orchestration_task_started", task="long"))
    assert studio.on_loop(run.cancel)
    record = studio.wait(run)
    assert record.status == CANCELLED
    assert record.task("long").status == FAILED and record.task("long").error == "cancelled"
    assert record.task("next").status == SKIPPED
    started = [e.task for e in studio.events if e.kind == "orchestration_task_started"]
    assert started == ["long"]


def test_cancel_before_the_run_starts_dispatching_records_it_cancelled(studio):
    file = studio.load(WAITING)

    async def start_and_cancel():
        run = await studio.engine.start(file)
        assert run.cancel()
        return await run.wait()

    record = studio.runtime.run(start_and_cancel())
    assert record.status == CANCELLED
    assert {t.skipped_by for p in record.phases for t in p.tasks} == {NOT_REACHED}
    assert not studio.messages()


def test_progress_counts_completed_and_skipped_tasks(studio):
    studio.run(HEAD + """
phases:
  - name: one
    tasks:
      - {name: a, target: alpha, type: work}
      - {name: b, target: beta, type: work, condition: "False"}
      - {name: c, target: gamma, type: fail, required: false}
      - {name: d, target: gamma, type: work}
""")
    progress = [e.progress for e in studio.events if e.kind == "orchestration_task_finished"]
    assert progress == [0.25, 0.5, 0.5, 0.75]


def test_each_task_emits_a_start_and_a_finish_event(studio):
    studio.run(HEAD + """
phases:
  - name: one
    tasks: [{name: a, target: alpha, type: work}, {name: b, target: beta, type: work}]
""")
    flow = [(e.kind, e.task) for e in studio.events if e.kind.startswith("orchestration_task")]
    assert flow == [("orchestration_task_started", "a"), ("orchestration_task_finished", "a"),
                    ("orchestration_task_started", "b"), ("orchestration_task_finished", "b")]


def test_orchestration_events_round_trip_through_json(studio):
    studio.run(COMPLEX, {"n": 3})
    mine = [e for e in studio.events if e.kind.startswith("orchestration")]
    assert {e.kind for e in mine} == {"orchestration_status", "orchestration_phase_started",
                                      "orchestration_phase_finished",
                                      "orchestration_task_started",
                                      "orchestration_task_finished"}
    assert all(event_from_json(e.to_json()) == e for e in mine)


def test_metrics_count_messages_participants_and_durations(studio):
    record = studio.run(COMPLEX, {"n": 3})
    metrics = record.metrics
    assert metrics["messages"] == 7
    assert metrics["participants"] == 3
    assert set(metrics["phase_durations"]) == {"prepare", "fan", "decide"}
    assert set(metrics["task_durations"]) == {"first", "second", "a", "b", "c", "d", "small"}
    assert all(d > 0 for d in metrics["task_durations"].values())


RAISES_TIMEOUT = """
from logomesh_studio.sdk import Plugin


class Raiser(Plugin):
    def execute(self, input):
        raise TimeoutError("the plugin's own timeout")
"""


def test_plugins_own_timeout_error_is_reported_as_its_failure(studio):
    studio.workspace.plugin("raiser", code=RAISES_TIMEOUT, cls="Raiser")
    record = studio.run(HEAD.replace("[alpha, beta, gamma]", "[raiser]") + """
phases:
  - name: one
    tasks: [{name: t, target: raiser, timeout: 5, required: false}, {name: u, target: raiser}]
""")
    expected = "RemoteError: raiser raised TimeoutError: the plugin's own timeout"
    assert record.task("t").error == expected
    assert record.task("u").error == expected
