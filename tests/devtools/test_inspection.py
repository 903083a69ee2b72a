"""Expanding values of a stopped frame through Debugger.evaluate."""

from __future__ import annotations

import contextlib
import sys

import pytest

from logomesh_studio.devtools import inspection
from logomesh_studio.devtools.debugger import Debugger, DebugSessionTerminated, EvaluationError
from tests.conftest import import_file

WAIT = 10.0

MODULE = """
from dataclasses import dataclass


@dataclass(slots=True)
class Point:
    x: int
    y: int


class Box:
    def __init__(self):
        self.label = "box"
        self.items = [1, 2]
        self._hidden = True


def inspect_me():
    mapping = {"a": 1, ("t", 1): [1, 2], 3: {}}
    numbers = list(range(250))
    point = Point(1, 2)
    box = Box()
    tags = {"only"}
    text = "hello"
    return mapping  # stop-here
"""


@pytest.fixture
def stopped(tmp_path, monkeypatch):
    """A debugger stopped at the end of ``inspect_me``; yields (debugger, frame id)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "plugin" / "inspected.py"
    module = import_file(path, MODULE)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if text.endswith("# stop-here"))
    debugger = Debugger(roots=[path.parent])
    debugger.set_breakpoint(path, line)
    debugger.start(module.inspect_me)
    stop = debugger.wait_for_stop(timeout=WAIT)
    yield debugger, stop.frames[0].id
    debugger.terminate()
    with contextlib.suppress(Exception, DebugSessionTerminated):
        debugger.wait_finished(timeout=WAIT)


def by_name(children):
    return {child.name: child for child in children}


def test_frame_variables_have_types_and_expandability(stopped):
    debugger, frame = stopped

    rows = by_name(inspection.frame_variables(debugger, frame))

    assert (rows["mapping"].type, rows["mapping"].expandable) == ("dict", True)
    assert (rows["text"].type, rows["text"].expandable) == ("str", False)
    assert (rows["point"].type, rows["point"].expandable) == ("Point", True)
    assert rows["text"].value == "'hello'"


def test_dict_children_are_reached_by_key_or_by_position(stopped):
    debugger, frame = stopped

    rows = by_name(inspection.children(debugger, frame, "mapping"))

    assert rows["'a'"].expression == "mapping['a']"
    assert rows["('t', 1)"].expression == "mapping[('t', 1)]"
    assert debugger.evaluate(rows["('t', 1)"].expression, frame) == "[1, 2]"
    assert not rows["3"].expandable  # an empty dict


def test_long_sequences_list_a_limited_number_of_children(stopped):
    debugger, frame = stopped

    rows = inspection.children(debugger, frame, "numbers")

    assert len(rows) == inspection.CHILD_LIMIT + 1
    assert rows[-1].name == "…"
    assert rows[-1].value == f"{250 - inspection.CHILD_LIMIT} more"
    assert rows[5].expression == "numbers[5]"


def test_objects_expand_to_attributes_including_slots(stopped):
    debugger, frame = stopped

    box = by_name(inspection.children(debugger, frame, "box"))
    point = by_name(inspection.children(debugger, frame, "point"))

    assert set(box) == {"label", "items", "_hidden"}
    assert box["items"].expression == "box.items"
    assert [(p.name, p.value) for p in point.values()] == [("x", "1"), ("y", "2")]


def test_children_of_a_child_expression(stopped):
    debugger, frame = stopped

    rows = inspection.children(debugger, frame, "box.items")

    assert [(row.name, row.expression) for row in rows] == [("[0]", "box.items[0]"),
                                                             ("[1]", "box.items[1]")]


def test_set_members_are_reached_by_position(stopped):
    debugger, frame = stopped

    (member,) = inspection.children(debugger, frame, "tags")

    assert debugger.evaluate(member.expression, frame) == "'only'"


def test_watch_evaluates_an_expression_as_a_row(stopped):
    debugger, frame = stopped

    row = inspection.watch(debugger, frame, "len(numbers) * 2")

    assert (row.name, row.value, row.type, row.expandable) == ("len(numbers) * 2", "500", "int",
                                                               False)
    with pytest.raises(EvaluationError, match="NameError"):
        inspection.watch(debugger, frame, "missing + 1")


@pytest.mark.parametrize("shown, expandable", [
    ("1", False), ("-2.5e-05", False), ("'text'", False), ("None", False), ("True", False),
    ("[]", False), ("{}", False), ("<function f at 0x1>", False),
    ("[1, 2]", True), ("{'a': 1}", True), ("<Box object at 0x1>", True),
    ("Point(x=1, y=2)", True),
])
def test_looks_expandable_guesses_from_the_repr(shown, expandable):
    assert inspection.looks_expandable(shown) is expandable
