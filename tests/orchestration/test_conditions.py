"""Conditions: what they may say, how they read the context, what they refuse."""

from __future__ import annotations

import textwrap

import pytest

from logomesh_studio.orchestration.conditions import ConditionError, compile_condition
from logomesh_studio.orchestration.io import loads
from logomesh_studio.orchestration.model import OrchestrationInvalid

CONTEXT = {"input": {"text": "a b c", "n": 4, "tags": ["x", "y"]}, "tokens": ["a", "b", "c"],
           "total": 3}


@pytest.mark.parametrize(("text", "expected"), [
    ("total == 3", True),
    ("total != 3 or input.n >= 4", True),
    ("not (total > 2 and input.n < 4)", True),
    ("(total + input.n) * 2 - 1 == 13", True),
    ("input.n / 2 == 2 and input.n // 3 == 1 and input.n % 3 == 1", True),
    ("len(tokens) == 3 and len(input.text) > 0", True),
    ("'b' in tokens and 'z' not in input.tags", True),
    ("tokens[0] == 'a' and input.tags[-1] == 'y'", True),
    ("input['n'] == 4 and tokens[1:] == ['b', 'c']", True),
    ("[1, 2] == [1, 2] and {'k': None} != {} and (1, 2)[0] == 1", True),
    ("max(total, input.n) == 4 and sum([1, 2]) == 3 and abs(-2) == 2", True),
    ("'yes' if total > 2 else ''", True),
    ("total is None", False),
])
def test_conditions_support_the_documented_syntax(text, expected):
    assert compile_condition(text).evaluate(CONTEXT) is expected


def test_names_are_the_context_names_a_condition_reads():
    assert compile_condition("len(tokens) > input.n").names == {"tokens", "input"}


def test_a_name_no_task_has_written_reads_as_none():
    assert compile_condition("skipped_output is None").evaluate(CONTEXT)


def test_a_missing_key_is_an_evaluation_error():
    with pytest.raises(ConditionError, match="input has no key 'missing'"):
        compile_condition("input.missing > 1").evaluate(CONTEXT)


def test_attribute_access_reads_mapping_keys_only():
    with pytest.raises(ConditionError, match="is list, not a mapping"):
        compile_condition("tokens.count").evaluate(CONTEXT)


@pytest.mark.parametrize(("text", "reason"), [
    ("input.text.upper() == 'A'", "methods are not available"),
    ("__import__('os')", "not available"),
    ("open('/etc/passwd')", "open() is not available"),
    ("input.__class__", "names starting with '_'"),
    ("(lambda: 1)()", "a call must name one of the functions"),
    ("[t for t in tokens]", "a comprehension is not allowed"),
    ("(x := 1)", "':=' is not allowed"),
    ("f'{total}'", "an f-string is not allowed"),
    ("len(*tokens)", "only plain positional arguments"),
    ("total = 1", "invalid syntax"),
    ("  ", "is empty"),
])
def test_disallowed_syntax_is_refused_when_compiled(text, reason):
    with pytest.raises(ConditionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        compile_condition(text)


@pytest.mark.parametrize("text", ["10 ** 10 ** 10 > 0", "len('a' * 10 ** 9) > 0"])
def test_runaway_arithmetic_is_refused(text):
    with pytest.raises(ConditionError):
        compile_condition(text).evaluate(CONTEXT)


def test_type_errors_become_condition_errors():
    with pytest.raises(ConditionError, match="TypeError"):
        compile_condition("tokens > 3").evaluate(CONTEXT)


@pytest.mark.parametrize("text", [
    "[[1]*100000]*100000 == 0",
    "[[1] * 1000] * 1000 == 0",
    "str([[1] * 400] * 400) == ''",
    "sorted(input.tags * 60000) == []",
    "[input.tags, input.tags] * 30000 == []",
    "9 ** 4000000 > 0",
    "2 ** 60000 * 2 ** 60000 > 0",
])
def test_values_a_condition_builds_are_capped_counting_repeated_references(text):
    with pytest.raises(ConditionError, match="more than 100,000"):
        compile_condition(text).evaluate(CONTEXT)


def test_a_condition_may_build_values_up_to_the_cap():
    assert compile_condition("len([0] * 50000 + [1] * 40000) == 90000").evaluate(CONTEXT)


@pytest.mark.parametrize(("text", "reason"), [
    ("1 + " * 1000 + "1 == 0", "is 4,006 characters long; conditions are limited to 1,000"),
    ("-" * 300 + "1 == 0", "nests more than 100 levels deep"),
    ("[" * 150 + "1" + "]" * 150 + " == 1", "nests more than 100 levels deep"),
])
def test_very_long_or_deep_conditions_get_a_clear_error(text, reason):
    with pytest.raises(ConditionError, match=reason):
        compile_condition(text)


def test_a_very_long_condition_is_reported_at_its_file_line_and_field():
    text = textwrap.dedent("""\
        name: demo
        initiator: boss
        participants: [alpha]
        phases:
          - name: one
            tasks:
              - name: t
                target: alpha
                condition: "CONDITION"
        """).replace("CONDITION", "1 + " * 40000 + "1 == 0")
    with pytest.raises(OrchestrationInvalid) as caught:
        loads(text, "long.orchestration.yaml")
    [problem] = caught.value.errors
    assert str(problem).startswith("long.orchestration.yaml:9: phases[0].tasks[0].condition: "
                                   "is 160,006 characters long")
