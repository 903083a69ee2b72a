"""Checks against the running workspace, made before any task is sent."""

from __future__ import annotations

import pytest

from logomesh_studio.orchestration.model import OrchestrationInvalid

BROKEN = """
from logomesh_studio.sdk import Plugin


class Broken(Plugin):
    def initialize(self, ctx):
        raise RuntimeError("cannot start")
"""


def refusal(studio, text):
    with pytest.raises(OrchestrationInvalid) as caught:
        studio.start(text)
    return caught.value.errors


def test_missing_permission_refuses_the_run_before_any_message_is_sent(studio):
    studio.workspace.plugin("limited", permissions=["send:alpha:work"])
    [problem] = refusal(studio, """
name: test
initiator: limited
participants: [alpha, beta]
phases:
  - name: one
    tasks:
      - {name: allowed, target: alpha, type: work}
      - {name: refused, target: beta, type: work}
""")
    assert (problem.line, problem.field) == (9, "phases[0].tasks[1].target")
    assert "lacks the permission 'send:beta:work'" in problem.reason
    assert not studio.runtime.host.bus.history
    assert studio.engine.store.runs() == []


def test_execute_and_capability_tasks_need_their_permissions(studio):
    studio.workspace.plugin("limited", permissions=["send:alpha:work"])
    problems = refusal(studio, """
name: test
initiator: limited
participants: [alpha]
phases:
  - name: one
    tasks:
      - {name: run, target: alpha}
      - {name: ask, target: capability:compute}
""")
    assert "'send:alpha:execute'" in problems[0].reason
    assert "'capability:compute'" in problems[1].reason


def test_unknown_participant_is_reported_with_a_suggestion(studio):
    [problem] = refusal(studio, """
name: test
initiator: boss
participants: [alpah]
phases:
  - name: one
    tasks: [{name: t, target: alpah, type: work}]
""")
    assert problem.field == "participants[0]"
    assert problem.reason == "no plugin 'alpah' in the workspace (did you mean 'alpha'?)"


def test_participant_that_failed_to_load_is_reported(studio):
    studio.workspace.plugin("broken", code=BROKEN, cls="Broken")
    [problem] = refusal(studio, """
name: test
initiator: boss
participants: [broken]
phases:
  - name: one
    tasks: [{name: t, target: broken}]
""")
    assert problem.field == "participants[0]"
    assert problem.reason.startswith("plugin 'broken' is not loaded (failed: RuntimeError")


def test_initiator_must_be_running(studio):
    [problem] = refusal(studio, """
name: test
initiator: nobody
participants: [alpha]
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work}]
""")
    assert (problem.line, problem.field) == (3, "initiator")


def test_capability_nobody_provides_is_reported(studio):
    [problem] = refusal(studio, """
name: test
initiator: boss
participants: [alpha]
phases:
  - name: one
    tasks:
      - {name: a, target: alpha, type: work}
      - {name: t, target: capability:teleport}
""")
    assert problem.field == "phases[0].tasks[1].target"
    assert "provides capability 'teleport'" in problem.reason


def test_message_type_the_target_does_not_handle_is_reported(studio):
    [problem] = refusal(studio, """
name: test
initiator: boss
participants: [alpha]
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: dance}]
""")
    assert problem.field == "phases[0].tasks[0].type"
    assert "alpha has no handler for 'dance' (it handles: fail, flaky" in problem.reason


def test_run_input_must_be_json(studio):
    with pytest.raises(OrchestrationInvalid, match="run input"):
        studio.start("""
name: test
initiator: boss
participants: [alpha]
phases:
  - name: one
    tasks: [{name: t, target: alpha, type: work}]
""", {"when": object()})
