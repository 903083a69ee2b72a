"""Task conditions: safe expressions over the run context, with no ``eval``.

A condition is checked against a whitelist of syntax when the file is loaded
(comparisons, ``and``/``or``/``not``, arithmetic, ``in``, indexing, literals, a few
pure functions such as ``len``) and evaluated by simpleeval. Every condition runs in
bounded time: its text is at most :data:`MAX_LENGTH` characters nested at most
:data:`MAX_DEPTH` deep, and every value it builds (a list literal, ``*``, ``+``,
``sorted``, ``**``) is refused beyond :data:`MAX_ITEMS` items or :data:`MAX_INT_BITS`
bits, counting what shared references expand to. ``a.b`` reads key ``b`` of mapping
``a``; it never reaches a Python attribute, so there are no attribute tricks to play.

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

MAX_LENGTH = 1000
"""Characters a condition may have (compute anything bigger in a task)."""
MAX_DEPTH = 100
"""How deeply a condition's expression may nest."""
MAX_ITEMS = 100_000
"""Items (characters for a string) a value built by a condition may hold, nested ones
and repeated references counted as often as they appear."""
MAX_INT_BITS = 100_000
"""Bits an integer computed by a condition may have."""


def _size(value: Any, budget: int = MAX_ITEMS) -> int:
    """Items in ``value`` counting nested ones (a string counts its characters), as
    JSON would write them out; counting stops once over ``budget``."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            count += max(1, len(item))
        elif isinstance(item, list | tuple | set | frozenset):
            count += 1
            if count + len(item) <= budget:
                stack.extend(item)
            else:
                count += len(item)
        elif isinstance(item, dict):
            count += 1 + len(item)  # the container and its keys
            if count + len(item) <= budget:
                stack.extend(item.values())
            else:
                count += len(item)
        else:
            count += 1
        if count > budget:
            break
    return count


def _built(value: Any, what: str = "the value") -> Any:
    """``value`` if it is within :data:`MAX_ITEMS`, else ConditionError."""
    if isinstance(value, list | tuple | set | frozenset | dict | str) \
            and _size(value) > MAX_ITEMS:
        raise ConditionError(f"{what} would hold more than {MAX_ITEMS:,} items; conditions "
                             "may not build values that big (compute it in a task)")
    return value


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


def _mult(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, list | tuple | str) and isinstance(times, int):
            each = _size(seq) - (not isinstance(seq, str))  # the items, not their container
            if times > 0 and each * times > MAX_ITEMS:
                raise ConditionError(f"repeating a {type(seq).__name__} {times:,} times would "
                                     f"hold more than {MAX_ITEMS:,} items")
            return seq * times
    if _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
        raise ConditionError(f"the product would have more than {MAX_INT_BITS:,} bits")
    return a * b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, list | tuple | str) and isinstance(b, list | tuple | str):
        if _size(a) + _size(b) > MAX_ITEMS:
            raise ConditionError(f"the sum would hold more than {MAX_ITEMS:,} items")
    return a + b


def _power(a: Any, b: Any) -> Any:
    if isinstance(b, int) and not isinstance(b, bool) and _int_bits(a) > 1 \
            and b * (_int_bits(a) - 1) > MAX_INT_BITS:
        raise ConditionError(f"{a} ** {b} would have more than {MAX_INT_BITS:,} bits")
    return a ** b


def _sorted(value: Any) -> list[Any]:
    return _built(sorted(value), "sorted()")  # type: ignore[no-any-return]


FUNCTIONS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "sum": sum,
    "any": any, "all": all, "int": int, "float": float, "str": str, "bool": bool,
    "sorted": _sorted,
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
        except RecursionError:
            raise ConditionError("a value it reads is nested too deeply to compare") from None
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
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"is {len(text):,} characters long; conditions are limited to "
                             f"{MAX_LENGTH:,} (compute the value in a task and test its output)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"invalid syntax at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConditionError(f"nests more than {MAX_DEPTH} levels deep") from None
    names: dict[int, str] = {}
    called: set[int] = set()
    for node, depth in _nodes(tree):
        if depth > MAX_DEPTH:
            raise ConditionError(f"nests more than {MAX_DEPTH} levels deep (split it, or "
                                 "compute part of it in a task)")
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


def rename_name(text: str, old: str, new: str) -> str:
    """``text`` with every context name ``old`` read as ``new`` (``old.x`` too, not ``a.old``
    or ``"old"``); unchanged if it does not parse. Renaming a task in the editor uses it."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return text
    lead = len(text) - len(text.lstrip())
    lines = text[lead:].split("\n")
    starts = [lead]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    spots = []
    for node, _ in _nodes(tree):
        if isinstance(node, ast.Name) and node.id == old:
            line = lines[node.lineno - 1]  # col_offset counts UTF-8 bytes
            column = len(line.encode()[:node.col_offset].decode())
            spots.append(starts[node.lineno - 1] + column)
    for spot in sorted(spots, reverse=True):
        text = text[:spot] + new + text[spot + len(old):]
    return text


def _nodes(tree: ast.AST) -> list[tuple[ast.AST, int]]:
    """Every node of ``tree`` with its depth (iteratively: a deep tree must not recurse)."""
    found, stack = [], [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        found.append((node, depth))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return found


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
        self.operators.update({ast.Mult: _mult, ast.Add: _add, ast.Pow: _power})
        self.context: Mapping[str, Any] = {}

    def _check_disallowed_items(self, item: Any) -> None:
        # simpleeval walks every result looking for modules and forbidden functions: a
        # walk that follows repeated references (10**10 steps for [[1]*10**5]*10**5).
        # Nothing here can reach one: names read JSON context or FUNCTIONS, attributes
        # read mapping keys, and compile_condition refused every other construct.
        return None

    def _eval_list(self, node: ast.List) -> Any:
        return _built(super()._eval_list(node), "the list")

    def _eval_tuple(self, node: ast.Tuple) -> Any:
        return _built(super()._eval_tuple(node), "the tuple")

    def _eval_set(self, node: ast.Set) -> Any:
        return _built(super()._eval_set(node), "the set")

    def _eval_dict(self, node: ast.Dict) -> Any:
        return _built(super()._eval_dict(node), "the dict")

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
