"""Reading orchestration files: the format, and every problem reported as file:line."""

from __future__ import annotations

import textwrap

import pytest

from logomesh_studio.examples import example_workspace
from logomesh_studio.orchestration.io import dump, load, loads
from logomesh_studio.orchestration.model import OrchestrationInvalid, Problem

EXAMPLES = example_workspace()

GOOD = """\
name: demo
initiator: boss
participants: [alpha, {id: beta, max_concurrency: 2}]
phases:
  - name: one
    tasks:
      - name: first
        target: alpha
        type: work
        input: {text: "${input.text}"}
        output_mapping: {tokens: tokens}
      - name: second
        target: beta
        input: {tokens: "${tokens}"}
layout: {nodes: {first: [10, 20]}}
"""


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(OrchestrationInvalid) as caught:
        loads(textwrap.dedent(text), "demo.orchestration.yaml")
    return caught.value.errors


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize("name", ["text-pipeline", "fan-out"])
def test_example_orchestrations_load_without_problems(name):
    file = load(EXAMPLES / f"{name}.orchestration.yaml")
    assert file.warnings == ()


def test_example_orchestrations_use_all_three_modes():
    modes = {phase.mode for name in ("text-pipeline", "fan-out")
             for phase in load(EXAMPLES / f"{name}.orchestration.yaml").document.phases}
    assert modes == {"sequential", "parallel", "conditional"}


def test_participants_accept_plain_ids_and_mappings():
    participants = loads(GOOD).document.participants
    assert [(p.id, p.max_concurrency) for p in participants] == [("alpha", None), ("beta", 2)]


def test_problem_reads_file_line_field_reason():
    problem = Problem("x.orchestration.yaml", 7, "phases[0].name", "is bad")
    assert str(problem) == "x.orchestration.yaml:7: phases[0].name: is bad"


def test_unknown_field_names_its_line_and_suggests_the_right_one():
    [problem] = problems_of(edit("        output_mapping:", "        outputs:"))
    assert str(problem).startswith("demo.orchestration.yaml:11: phases[0].tasks[0].outputs: "
                                   "unknown field (did you mean 'output_mapping'?")


def test_missing_field_points_at_the_mapping_that_lacks_it():
    [problem] = problems_of(edit("        target: beta\n", ""))
    assert (problem.line, problem.field) == (12, "phases[0].tasks[1].target")
    assert problem.reason == "required field is missing"


def test_yaml_syntax_error_reports_its_line():
    [problem] = problems_of(edit("type: work", "type: [work"))
    assert problem.field == "(syntax)" and problem.line == 10


def test_empty_file_is_reported():
    [problem] = problems_of("")
    assert problem.reason.startswith("the file is empty")


def test_every_problem_is_reported_at_once():
    text = edit("target: alpha", "target: alpah").replace(
        "input: {tokens", "condition: 'tokens.upper()'\n        input: {tokens")
    found = [(p.line, p.field) for p in problems_of(text)]
    assert found == [(8, "phases[0].tasks[0].target"), (14, "phases[0].tasks[1].condition")]


def test_schema_errors_are_all_reported_together():
    text = GOOD.replace("name: one", "name: one\n    mode: serial").replace(
        "max_concurrency: 2", "max_concurrency: 0")
    found = [(p.line, p.field) for p in problems_of(text)]
    assert found == [(3, "participants[1].max_concurrency"), (6, "phases[0].mode")]


def test_duplicate_task_names_are_rejected():
    [problem] = problems_of(edit("name: second", "name: first"))
    assert (problem.line, problem.field) == (12, "phases[0].tasks[1].name")
    assert "defined twice (first on line 7)" in problem.reason


def test_duplicate_yaml_keys_are_rejected():
    [problem] = problems_of(edit("        type: work\n", "        type: work\n        type: x\n"))
    assert (problem.line, problem.field) == (10, "phases[0].tasks[0].type")


def test_target_that_is_not_a_participant_is_rejected():
    [problem] = problems_of(edit("target: beta", "target: gamma"))
    assert problem.field == "phases[0].tasks[1].target"
    assert "'gamma' is not a participant" in problem.reason


def test_capability_task_with_a_type_is_rejected():
    [problem] = problems_of(edit("target: alpha", "target: capability:work"))
    assert problem.field == "phases[0].tasks[0].type"


def test_conditional_phase_task_without_condition_is_rejected():
    problems = problems_of(edit("name: one", "name: one\n    mode: conditional"))
    assert [p.field for p in problems] == ["phases[0].tasks[0].condition",
                                           "phases[0].tasks[1].condition"]


def test_condition_syntax_error_is_reported_at_its_line():
    [problem] = problems_of(edit("        type: work\n", "        type: work\n"
                                 "        condition: 'len(input.text) >'\n"))
    assert (problem.line, problem.field) == (10, "phases[0].tasks[0].condition")
    assert problem.reason.startswith("invalid syntax")


def test_reference_no_earlier_task_writes_is_rejected():
    [problem] = problems_of(edit('"${input.text}"', '"${tokens}"'))
    assert problem.field == "phases[0].tasks[0].input"
    assert "'tokens' is not written by any earlier task" in problem.reason


def test_parallel_tasks_cannot_read_their_siblings_outputs():
    [problem] = problems_of(edit("name: one", "name: one\n    mode: parallel"))
    assert problem.field == "phases[0].tasks[1].input"


def test_two_tasks_writing_one_key_is_a_warning():
    file = loads(edit("input: {tokens", "output_mapping: {tokens: x}\n        input: {tokens"))
    [warning] = file.warnings
    assert warning.severity == "warning"
    assert warning.field == "phases[0].tasks[1].output_mapping.tokens"
    assert "also written by task 'first' (line 11)" in warning.reason


def test_input_that_is_not_json_is_rejected_at_its_line():
    [problem] = problems_of(edit('{text: "${input.text}"}', "{text: 2024-01-31}"))
    assert (problem.line, problem.field) == (10, "phases[0].tasks[0].input.text")
    assert "date is not JSON-compatible" in problem.reason


def test_output_key_input_is_reserved():
    [problem] = problems_of(edit("{tokens: tokens}", "{input: tokens}"))
    assert problem.field == "phases[0].tasks[0].output_mapping"


def test_layout_is_kept_and_the_document_round_trips_through_dump():
    file = loads(GOOD)
    again = loads(dump(file.document))
    assert again.document == file.document
    assert again.document.layout == {"nodes": {"first": [10, 20]}}


def alias_bomb(depth: int) -> str:
    """An orchestration whose input nests YAML aliases ``depth`` deep, nine wide."""
    names = "abcdefghij"
    defs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    defs += [f"{names[i]}: &{names[i]} [{', '.join(f'*{names[i - 1]}' for _ in range(9))}]"
             for i in range(1, depth)]
    return GOOD.replace('input: {text: "${input.text}"}',
                        "input:\n" + "\n".join(f"          {d}" for d in defs))


@pytest.mark.parametrize("depth", [7, 8, 9])
def test_aliases_expanding_past_the_payload_limit_are_refused_at_their_field(depth):
    text = alias_bomb(depth)
    assert len(text) < 1000
    [problem] = problems_of(text)
    last = "abcdefghij"[depth - 1]
    assert problem.field == f"phases[0].tasks[0].input.{last}"
    assert problem.line == text.splitlines().index(
        next(line for line in text.splitlines() if line.strip().startswith(f"{last}:"))) + 1
    assert "YAML aliases expand it to" in problem.reason and "payload limit" in problem.reason


def test_aliases_that_stay_small_load():
    file = loads(alias_bomb(3))
    assert len(file.document.phases[0].tasks[0].input["c"]) == 9


def test_a_recursive_alias_is_refused():
    [problem] = problems_of(GOOD.replace('input: {text: "${input.text}"}',
                                         "input: &loop {again: [*loop]}"))
    assert problem.line == 10 and "cannot be recursive" in problem.reason
