"""``ctx.workflow(steps)`` and the ``${...}`` references its payloads use."""

from __future__ import annotations

import pytest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.templates import TemplateError, lookup, references, render
from logomesh_studio.runtime.workflow import run_workflow
from logomesh_studio.testing import DRIVER, PluginHarness


def _as_driver(harness):
    """The test driver's ``send``, as a context's ``ctx.send`` is bound to its plugin."""
    bus = harness.host.bus
    return lambda target, type, payload, timeout: bus.send(DRIVER, target, type, payload,
                                                           timeout)

# Runs the steps it is sent as a workflow through its own ctx.
RUNNER = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("run")
    async def run(self, message):
        return await self.ctx.workflow(message.payload)
"""

TEXT = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.data["seen"] = []

    @handler("tokenize")
    def tokenize(self, message):
        self.data["seen"].append(message.type)
        return {"words": message.payload["text"].split()}

    @handler("count")
    def count(self, message):
        self.data["seen"].append(message.type)
        return {"n": len(message.payload["words"]), "first": message.payload["words"][0]}

    @handler("label")
    def label(self, message):
        self.data["seen"].append(message.type)
        return message.payload

    @handler("fail")
    def fail(self, message):
        self.data["seen"].append(message.type)
        raise ValueError(message.payload or "step failed")

    @handler("seen")
    def seen(self, message):
        return self.data["seen"]
"""


@pytest.fixture
def h(workspace):
    workspace.plugin("runner", RUNNER, permissions=["send:text"])
    workspace.plugin("text", TEXT)
    with PluginHarness(workspace.root, RuntimeConfig(entry_points=False)) as harness:
        yield harness


def run(h: PluginHarness, steps: list[dict]) -> dict:
    return h.send("runner", "run", steps)


def statuses(result: dict) -> list[tuple[str, str]]:
    return [(step["name"], step["status"]) for step in result["steps"]]


PIPELINE = [
    {"name": "tokens", "target": "text", "type": "tokenize", "payload": {"text": "a bb ccc"}},
    {"name": "count", "target": "text", "type": "count",
     "payload": {"words": "${tokens.words}"}},
    {"name": "label", "target": "text", "type": "label",
     "payload": {"summary": "${count.n} words, second is ${tokens.words[1]}",
                 "first": "${count.first}", "last": "${previous.n}"}},
]


# -- running ----------------------------------------------------------------------------------


def test_three_step_workflow_completes_with_three_successful_results(h):
    result = run(h, PIPELINE)
    assert result["status"] == "completed" and result["error"] == ""
    assert statuses(result) == [("tokens", "completed"), ("count", "completed"),
                                ("label", "completed")]
    assert [step["output"] for step in result["steps"][:2]] == [
        {"words": ["a", "bb", "ccc"]}, {"n": 3, "first": "a"}]


def test_step_payload_uses_earlier_outputs(h):
    label = run(h, PIPELINE)["steps"][2]["output"]
    assert label == {"summary": "3 words, second is bb", "first": "a", "last": 3}


def test_every_step_result_has_target_type_output_and_duration(h):
    result = run(h, PIPELINE)
    for step in result["steps"]:
        assert set(step) == {"name", "target", "type", "status", "output", "error", "duration"}
        assert step["duration"] > 0
    assert result["duration"] >= sum(step["duration"] for step in result["steps"])


def test_unnamed_steps_are_named_by_position(h):
    result = run(h, [{"target": "text", "type": "label", "payload": 1},
                     {"target": "text", "type": "label", "payload": "${step1}"}])
    assert statuses(result) == [("step1", "completed"), ("step2", "completed")]
    assert result["steps"][1]["output"] == 1


def test_optional_failing_step_is_recorded_and_the_workflow_goes_on(h):
    result = run(h, [
        {"name": "first", "target": "text", "type": "label", "payload": 1},
        {"name": "maybe", "target": "text", "type": "fail", "payload": "no luck",
         "required": False},
        {"name": "last", "target": "text", "type": "label", "payload": "${first}"},
    ])
    assert result["status"] == "completed" and result["error"] == ""
    assert statuses(result) == [("first", "completed"), ("maybe", "failed"),
                                ("last", "completed")]
    assert result["steps"][1]["error"] == "RemoteError: text raised ValueError: no luck"
    assert result["steps"][2]["output"] == 1


def test_required_failing_step_stops_the_workflow_and_skips_the_rest(h):
    result = run(h, [
        {"name": "first", "target": "text", "type": "label", "payload": 1},
        {"name": "must", "target": "text", "type": "fail", "payload": "broken"},
        {"name": "after", "target": "text", "type": "label", "payload": 2},
    ])
    assert result["status"] == "failed"
    assert statuses(result) == [("first", "completed"), ("must", "failed"), ("after", "skipped")]
    assert result["error"] == "must: RemoteError: text raised ValueError: broken"
    assert result["steps"][2]["output"] is None and result["steps"][2]["duration"] == 0.0
    assert h.send("text", "seen") == ["label", "fail"]  # the skipped step was never sent


def test_error_names_the_required_step_not_an_earlier_optional_failure(h):
    result = run(h, [
        {"name": "optional", "target": "text", "type": "fail", "required": False},
        {"name": "required", "target": "text", "type": "fail", "payload": "this one"},
    ])
    assert result["status"] == "failed"
    assert result["error"] == "required: RemoteError: text raised ValueError: this one"


def test_reference_to_a_missing_output_fails_the_step(h):
    result = run(h, [
        {"name": "maybe", "target": "text", "type": "fail", "required": False},
        {"name": "uses", "target": "text", "type": "label", "payload": "${maybe.value}"},
    ])
    assert statuses(result) == [("maybe", "failed"), ("uses", "failed")]
    assert result["steps"][1]["error"] == "TemplateError: ${maybe.value}: 'maybe' is not available"


def test_refused_step_fails_with_permission_denied(h):
    result = run(h, [{"name": "elsewhere", "target": "runner", "type": "run", "payload": []}])
    assert result["status"] == "failed"
    assert result["steps"][0]["error"].startswith("PermissionDenied: runner may not send")


def test_step_timeout_applies_to_that_step(workspace):
    workspace.plugin("slow", """
import asyncio

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("wait")
    async def wait(self, message):
        await asyncio.Event().wait()
""")
    with PluginHarness(workspace.root, RuntimeConfig(entry_points=False)) as harness:
        result = harness.runtime.run(run_workflow(_as_driver(harness), [
            {"name": "wait", "target": "slow", "type": "wait", "timeout": 0.05,
             "required": False}]))
    assert result["steps"][0]["status"] == "failed"
    assert result["steps"][0]["error"].startswith("MessageTimeout: slow did not answer")


@pytest.mark.parametrize("steps, problem", [
    (["not a dict"], r"steps\[0\]: must be a dict"),
    ([{"type": "label"}], r"steps\[0\]\.target: required"),
    ([{"target": "text", "type": ""}], r"steps\[0\]\.type: required"),
    ([{"target": "text", "type": "label", "retry": 3}], r"steps\[0\]: unknown keys \['retry'\]"),
    ([{"name": "a", "target": "text", "type": "label"},
      {"name": "a", "target": "text", "type": "label"}], "step names must be unique"),
    ([{"name": "previous", "target": "text", "type": "label"}], "'previous' is not a step name"),
    ([{"target": "text", "type": "label", "required": "no"}], r"steps\[0\]\.required: must be"),
    ([{"target": "text", "type": "label", "timeout": "1"}], r"steps\[0\]\.timeout: must be"),
    ([{"target": "text", "type": "label", "timeout": 0}], r"steps\[0\]\.timeout: must be"),
])
def test_malformed_steps_are_rejected_before_anything_is_sent(h, steps, problem):
    with pytest.raises(ValueError, match=problem):
        h.runtime.run(run_workflow(_as_driver(h), steps))
    assert h.send("text", "seen") == []


# -- ${...} references ------------------------------------------------------------------------

CONTEXT = {"tokens": {"words": ["a", "bb"], "meta": {"lang": "en"}}, "count": 2,
           "rows": [{"id": 7}], "dash-name": {"x": 1}}


@pytest.mark.parametrize("template, value", [
    ("${count}", 2),
    ("${tokens.words}", ["a", "bb"]),
    ("${tokens.words[1]}", "bb"),
    ("${tokens.words.0}", "a"),
    ("${rows[0].id}", 7),
    ("${ tokens.meta.lang }", "en"),
    ("${dash-name.x}", 1),
    ("${count} words", "2 words"),
    ("words: ${tokens.words}", 'words: ["a", "bb"]'),
    ("${tokens.meta.lang}-${count}", "en-2"),
    ("no reference", "no reference"),
    ("$count {count}", "$count {count}"),
    ({"k": ["${count}", {"deep": "${rows[0]}"}]}, {"k": [2, {"deep": {"id": 7}}]}),
    (5, 5),
    (None, None),
])
def test_render_replaces_references(template, value):
    assert render(template, CONTEXT) == value


@pytest.mark.parametrize("path, walked", [
    ("missing", "missing"),
    ("tokens.nothing", "tokens.nothing"),
    ("tokens.words[5]", "tokens.words[5]"),
    ("count.x", "count.x"),
    ("rows[0].id.more", "rows[0].id.more"),
])
def test_lookup_of_a_missing_path_names_how_far_it_got(path, walked):
    with pytest.raises(TemplateError) as caught:
        lookup(CONTEXT, path)
    assert str(caught.value) == f"${{{path}}}: {walked!r} is not available"


def test_render_does_not_change_the_template():
    template = {"a": ["${count}"]}
    render(template, CONTEXT)
    assert template == {"a": ["${count}"]}


def test_references_lists_every_path_in_order():
    assert references({"a": "${x.y} and ${z[0]}", "b": ["${w}", 3]}) == ["x.y", "z[0]", "w"]
