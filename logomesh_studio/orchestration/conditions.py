"""Task conditions: safe expressions over the run context, with no ``eval``.

A condition is checked against a whitelist of syntax when the file is loaded
(comparisons, ``and``/``or``/``not``, arithmetic, ``in``, indexing, literals, a few
pure functions such as ``len``) and evaluated by simpleeval, which also caps
runaway arithmetic and string sizes. ``a.b`` reads key ``b`` of mapping ``a``; it
never reaches a Python attribute, so there are no attribute tricks to play.

Bare names read the run context: ``input`` and every key a task has written. A
name no task has written yet (because the task was skipped or failed) reads as
``None``; validation has already rejected names no earlier task could write.
"""

from __future__ import annotations

import ast
import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import simpleeval

FUNCTIONS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "sum": sum,
    "any": any, "all": all, "int": int, "float": float, "str": str, "bool": bool,
    "sorted": sorted,
}
"""The functions a condition may call, by name."""

_ALLOWED: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.Attribute,
    ast.Subscript, ast.Slice, ast.Call, ast.List, ast.Tuple, ast.Dict, ast.Set,
)


class ConditionError(ValueError):
    """A condition is not allowed syntax, or could not be evaluated on this context."""


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A checked condition; ``names`` are the context names it reads."""

    text: str
    names: frozenset[str]
    tree: ast.expr

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True if the condition holds on ``context``; ConditionError if it cannot say."""
        evaluator = _evaluator()
        evaluator.context = context
        try:
            return bool(evaluator.eval(self.text, previously_parsed=self.tree))
        except ConditionError:
            raise
        except simpleeval.InvalidExpression as exc:
            raise ConditionError(str(exc)) from None
        except (KeyError, IndexError) as exc:
            raise ConditionError(f"{exc.args[0]!r} is not available") from None
        except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
            raise ConditionError(f"{type(exc).__name__}: {exc}") from None
        finally:
            evaluator.context = {}


@functools.lru_cache(maxsize=16384)
def compile_condition(text: str) -> Condition:
    """Parse and check ``text``; raises ConditionError naming what is not allowed.

    Conditions are immutable, so one compiled condition serves every run (validation
    and the engine both ask for it).
    """
    if not text.strip():
        raise ConditionError("is empty (write an expression such as 'len(tokens) > 0')")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"invalid syntax at column {exc.offset}: {exc.msg}") from None
    names: dict[int, str] = {}
    called: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConditionError(f"{_describe(node)} is not allowed in a condition")
        if isinstance(node, ast.Call):
            _check_call(node)
            called.add(id(node.func))
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ConditionError(f"'.{node.attr}': names starting with '_' are not allowed")
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ConditionError(f"{node.id!r}: names starting with '_' are not allowed")
            names[id(node)] = node.id
    context_names = frozenset(name for key, name in names.items() if key not in called)
    return Condition(text, context_names, tree.body)


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        raise ConditionError("a call must name one of the functions "
                             + ", ".join(sorted(FUNCTIONS)) + " (methods are not available)")
    if node.func.id not in FUNCTIONS:
        raise ConditionError(f"{node.func.id}() is not available (use one of: "
                             + ", ".join(sorted(FUNCTIONS)) + ")")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ConditionError(f"{node.func.id}(): only plain positional arguments are allowed")


def _describe(node: ast.AST) -> str:
    names = {ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.GeneratorExp:
             "a generator", ast.DictComp: "a comprehension", ast.SetComp: "a comprehension",
             ast.NamedExpr: "':='", ast.JoinedStr: "an f-string", ast.Starred: "'*' unpacking",
             ast.Await: "await", ast.Yield: "yield"}
    return names.get(type(node), f"{type(node).__name__} syntax")


class _Evaluator(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]  # untyped base
    """simpleeval with context-only names and mapping-only attribute access."""

    def __init__(self) -> None:
        super().__init__(functions=dict(FUNCTIONS), names={})
        self.context: Mapping[str, Any] = {}

    def _eval_name(self, node: ast.Name) -> Any:
        if node.id in self.context:
            return self.context[node.id]
        if node.id in FUNCTIONS:
            return FUNCTIONS[node.id]
        return {"True": True, "False": False, "None": None}.get(node.id)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        if isinstance(value, Mapping) and node.attr in value:
            return value[node.attr]
        where = ast.unparse(node.value)
        if isinstance(value, Mapping):
            raise ConditionError(f"{where}.{node.attr}: {where} has no key {node.attr!r}")
        raise ConditionError(f"{where}.{node.attr}: {where} is {type(value).__name__}, "
                             "not a mapping")


_local = threading.local()


def _evaluator() -> _Evaluator:
    # One evaluator per thread: simpleeval keeps per-evaluation state on the instance.
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = _Evaluator()
    return evaluator
