"""Conditions: what they may say, how they read the context, what they refuse."""

from __future__ import annotations

import pytest

from logomesh_studio.orchestration.conditions import ConditionError, compile_condition

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
