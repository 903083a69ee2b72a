"""Expand values of a stopped frame into children, through ``Debugger.evaluate`` only.

A variables view asks for the children of an expression (``message``, then
``message.payload``, then ``message.payload['items']``...). Each child comes with the
expression that reaches it, so expanding never holds a live object outside the
target thread, and a child can be added to the watches as it is.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import keyword
import re
import types
from dataclasses import asdict, dataclass
from typing import Any

from logomesh_studio.devtools._breakpoints import short_repr
from logomesh_studio.devtools.debugger import Debugger, EvaluationError

__all__ = [
    "CHILD_LIMIT",
    "Child",
    "children",
    "describe",
    "frame_variables",
    "looks_expandable",
    "summarize",
    "watch",
]

CHILD_LIMIT = 200
"""Most children listed for one value; a last ``…`` row says how many were left out."""

_SIMPLE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]]*\])*")
_SCALAR = re.compile(
    r"""(?:[-+]?[\d.]+(?:e[-+]?\d+)?j?|None|True|False|Ellipsis|b?r?(?:'.*'|".*")|.*…)""",
    re.DOTALL,
)
# How an expression evaluated in the target's frame reaches this module's helpers.
_MODULE = f"__import__({__name__!r}, fromlist=['describe'])"
_LEAF_PREFIXES = ("<function ", "<built-in ", "<bound method ", "<class ", "<module ", "<method")
_LEAF_TYPES = (str, bytes, bytearray, int, float, complex, bool, type(None), type, types.ModuleType)


@dataclass(frozen=True)
class Child:
    """One child of a value: the name to show, the expression that evaluates to it,
    its short repr and type name, and whether it has children of its own."""

    name: str
    expression: str
    value: str
    type: str
    expandable: bool

    def to_json(self) -> dict[str, Any]:
        """This child as a JSON-compatible dict."""
        return asdict(self)


def children(debugger: Debugger, frame_id: int, expression: str,
             limit: int = CHILD_LIMIT) -> list[Child]:
    """The children of ``expression`` in a frame of the debugger's current stop.

    Raises EvaluationError (UnknownFrameError once the target has moved on).
    """
    listing = f"{_MODULE}.describe(({expression}), {expression!r}, {limit})"
    text = debugger.evaluate(listing, frame_id)
    try:
        rows = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise EvaluationError(f"cannot list the children of {expression!r}: {exc}") from None
    return [Child(*row) for row in rows]


def frame_variables(debugger: Debugger, frame_id: int) -> list[Child]:
    """The locals of a frame of the current stop, with their type names and whether
    they expand (one ``variables`` call and one ``evaluate``)."""
    reprs = debugger.variables(frame_id)
    names = [name for name in reprs if name.isidentifier() and not keyword.iskeyword(name)]
    kinds: dict[str, tuple[str, bool]] = {}
    if names:
        listing = f"{_MODULE}.summarize(({', '.join(names)},))"
        with contextlib.suppress(EvaluationError, ValueError, SyntaxError):
            kinds = dict(zip(names, ast.literal_eval(debugger.evaluate(listing, frame_id)),
                             strict=True))
    return [
        Child(name, name, value, *kinds.get(name, ("", looks_expandable(value))))
        for name, value in reprs.items()
    ]


def watch(debugger: Debugger, frame_id: int, expression: str) -> Child:
    """``expression`` evaluated in a frame of the current stop, as a row of its own.

    Raises EvaluationError when it cannot be evaluated (the message says why).
    """
    listing = f"{_MODULE}.summarize(({expression},), with_repr=True)"
    text = debugger.evaluate(listing, frame_id)
    ((type_name, expandable, value),) = ast.literal_eval(text)
    return Child(expression, expression, value, type_name, expandable)


def summarize(values: tuple[Any, ...], with_repr: bool = False) -> list[tuple[Any, ...]]:
    """``(type name, expandable[, short repr])`` per value; runs on the target thread."""
    return [
        (type(value).__qualname__, _expandable(value), short_repr(value))[: 3 if with_repr else 2]
        for value in values
    ]


def looks_expandable(value_repr: str) -> bool:
    """Whether a variable shown as ``value_repr`` may have children (numbers, strings,
    None, functions and classes do not); a guess to draw an expand arrow by."""
    text = value_repr.strip()
    if not text or text.startswith(_LEAF_PREFIXES):
        return False
    if text in ("{}", "[]", "()", "set()", "frozenset()"):
        return False
    return _SCALAR.fullmatch(text) is None or text.startswith(("{", "[", "("))


def describe(value: Any, expression: str, limit: int = CHILD_LIMIT) -> list[tuple[Any, ...]]:
    """Rows ``(name, expression, repr, type, expandable)`` for the children of ``value``.

    Runs on the target thread (``children`` evaluates a call to it in the frame);
    returns only strings and booleans, so its repr reads back with ``literal_eval``.
    """
    base = expression if _SIMPLE.fullmatch(expression) else f"({expression})"
    rows: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        total = len(value)
        for index, (key, child) in enumerate(itertools.islice(value.items(), limit)):
            key_text = _full_repr(key)
            reachable = key_text is not None and _is_literal(key_text)
            path = f"{base}[{key_text}]" if reachable else f"list({base}.values())[{index}]"
            rows.append((short_repr(key), path, child))
    elif isinstance(value, list | tuple):
        total = len(value)
        rows = [(f"[{i}]", f"{base}[{i}]", child) for i, child in enumerate(value[:limit])]
    elif isinstance(value, set | frozenset):
        total = len(value)
        items = itertools.islice(value, limit)
        rows = [(f"[{i}]", f"list({base})[{i}]", child) for i, child in enumerate(items)]
    else:
        attributes = _attributes(value)
        names = sorted(name for name in attributes if not name.startswith("__"))
        total = len(names)
        for name in names[:limit]:
            path = f"{base}.{name}" if name.isidentifier() else f"vars({base})[{name!r}]"
            rows.append((name, path, attributes[name]))
    described = [
        (name, path, short_repr(child), type(child).__qualname__, _expandable(child))
        for name, path, child in rows
    ]
    if total > len(rows):
        described.append(("…", "", f"{total - len(rows)} more", "", False))
    return described


def _attributes(value: Any) -> dict[str, Any]:
    """Instance attributes: ``vars()`` plus ``__slots__`` (dataclasses with slots=True)."""
    if isinstance(value, _LEAF_TYPES) or callable(value):
        return {}
    found: dict[str, Any] = {}
    with contextlib.suppress(TypeError):  # no __dict__
        found.update(vars(value))
    for cls in type(value).__mro__:
        slots = getattr(cls, "__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in found or name in ("__dict__", "__weakref__"):
                continue
            with contextlib.suppress(AttributeError):  # an unset slot
                found[name] = getattr(value, name)
    return found


def _expandable(value: Any) -> bool:
    if isinstance(value, dict | list | tuple | set | frozenset):
        return bool(value)
    try:
        return any(not name.startswith("__") for name in _attributes(value))
    except Exception:  # an object's __getattr__ may raise anything
        return False


def _full_repr(value: Any) -> str | None:
    try:
        text = repr(value)
    except Exception:  # user __repr__ may raise anything
        return None
    return text if len(text) <= 1000 else None


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True
