"""The example orchestrations run to completion against the example workspace."""

from __future__ import annotations

import pytest

from logomesh_studio.examples import example_workspace
from logomesh_studio.orchestration.engine import OrchestrationEngine
from logomesh_studio.orchestration.io import load
from logomesh_studio.orchestration.store import RunStore
from logomesh_studio.testing import PluginHarness

EXAMPLES = example_workspace()

INPUTS = {
    "text-pipeline": {"id": "d1", "text": "To be, or not to be: that is the question."},
    "fan-out": {"id": "n7", "title": "Urgent: disk full", "tags": ["ops"],
                "body": "The disk is full. Free some space on the disk."},
}


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """The example workspace running, with run history kept out of the workspace."""
    with PluginHarness(EXAMPLES) as harness:
        store = RunStore(tmp_path_factory.mktemp("history") / "runs.sqlite")
        engine = OrchestrationEngine(harness.host, store)
        yield harness, engine
        harness.runtime.run(engine.close())


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_example_orchestration_completes(examples, name):
    harness, engine = examples
    file = load(EXAMPLES / f"{name}.orchestration.yaml")
    record = harness.runtime.run(engine.run(file, INPUTS[name]))
    assert (record.status, record.error) == ("completed", "")


def test_text_pipeline_routes_a_long_text_to_the_long_branch(examples):
    harness, engine = examples
    file = load(EXAMPLES / "text-pipeline.orchestration.yaml")
    record = harness.runtime.run(engine.run(file, INPUTS["text-pipeline"]))
    assert record.context["total"] == 10
    assert [record.task("long-text").status, record.task("short-text").status] == [
        "completed", "skipped"]
    assert record.task("store-summary").provider == "store"
