"""Named states are compared through their enums, never as string literals."""

from __future__ import annotations

import ast
from pathlib import Path

import logomesh_studio
from logomesh_studio.orchestration.records import Status
from logomesh_studio.runtime.bus import Outcome
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio.client import ClientState

PACKAGE = Path(logomesh_studio.__file__).parent
STATE_VALUES = {m.value for enum in (PluginStatus, Outcome, Status, ClientState)
                for m in enum}
STATE_NAMES = ("status", "state", "outcome")


def _names_a_state(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name.lstrip("_").endswith(STATE_NAMES)


def _literals(node: ast.expr) -> list[str]:
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def state_literal_comparisons(source: str) -> list[tuple[int, str]]:
    """``(line, literal)`` for each comparison of a status/state/outcome with a literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any(_names_a_state(side) for side in sides):
            continue
        for side in sides:
            found += [(node.lineno, text) for text in _literals(side) if text in STATE_VALUES]
    return found


def test_the_check_sees_a_literal_comparison() -> None:
    assert state_literal_comparisons('if info.status == "running": pass') == [(1, "running")]
    assert state_literal_comparisons('ok = state in ("stopped", "failed")') == [
        (1, "stopped"), (1, "failed")]
    assert state_literal_comparisons("if info.status == PluginStatus.RUNNING: pass") == []


def test_no_state_is_compared_as_a_string_literal() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 for line, text in state_literal_comparisons(path.read_text())]
    assert offenders == [], "compare with the state's enum instead:\n" + "\n".join(offenders)
