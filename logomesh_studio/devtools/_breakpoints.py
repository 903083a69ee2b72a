"""Breakpoint internals for the debugger: executable lines, hit conditions, logpoints."""

from __future__ import annotations

import re
import reprlib
import tokenize
import types
from collections.abc import Callable
from dataclasses import dataclass, field

_HIT_CONDITION = re.compile(r"\s*(==|>=|>|%)?\s*(\d+)\s*")

_reprs = reprlib.Repr()
_reprs.maxlevel = 3
_reprs.maxstring = 120
_reprs.maxother = 120
_reprs.maxlist = _reprs.maxtuple = _reprs.maxset = _reprs.maxfrozenset = 20
_reprs.maxdict = 20
_reprs.maxdeque = _reprs.maxarray = 20

#: Longest repr :func:`short_repr` returns before cutting it with an ellipsis.
REPR_LIMIT = 200


def executable_lines(path: str) -> set[int]:
    """Lines of ``path`` that hold bytecode, from ``co_lines()`` of every code object in it.

    Raises OSError if the file cannot be read and SyntaxError if it does not compile.
    """
    with tokenize.open(path) as source:
        code = compile(source.read(), path, "exec", dont_inherit=True)
    lines: set[int] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        lines.update(line for _, _, line in current.co_lines() if line)
        pending.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    return lines


def code_lines(code: types.CodeType) -> frozenset[int]:
    """Lines that ``code`` itself executes (nested functions are separate code objects)."""
    return frozenset(line for _, _, line in code.co_lines() if line)


def parse_hit_condition(text: str) -> Callable[[int], bool]:
    """Turn ``"N"``, ``"== N"``, ``">= N"``, ``"> N"`` or ``"% N"`` into a test on the hit count."""
    match = _HIT_CONDITION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"hit condition {text!r} is not one of 'N', '== N', '>= N', '> N', '% N' "
            "(N a whole number, e.g. '>= 3')"
        )
    operator, count = match.group(1) or "==", int(match.group(2))
    if operator == "==":
        return lambda hits: hits == count
    if operator == ">=":
        return lambda hits: hits >= count
    if operator == ">":
        return lambda hits: hits > count
    if count == 0:
        raise ValueError(f"hit condition {text!r}: '% 0' never matches (use '% 1' for every hit)")
    return lambda hits: hits % count == 0


def compile_expression(expression: str, what: str) -> types.CodeType:
    """Compile ``expression`` for eval, naming ``what`` it is when it is not valid Python."""
    try:
        return compile(expression.strip(), f"<{what}>", "eval", dont_inherit=True)
    except SyntaxError as exc:
        raise ValueError(f"{what} {expression!r} is not a Python expression: {exc.msg}") from None


def parse_log_message(message: str) -> list[str | types.CodeType]:
    """Split a logpoint message into literal text and compiled ``{expression}`` parts.

    ``{{`` and ``}}`` stand for literal braces; braces nest inside an expression.
    """
    parts: list[str | types.CodeType] = []
    literal: list[str] = []
    index = 0
    while index < len(message):
        char = message[index]
        if char in "{}" and message[index + 1 : index + 2] == char:
            literal.append(char)
            index += 2
            continue
        if char == "}":
            raise ValueError(f"log message {message!r}: unmatched '}}' (write '}}}}' for a brace)")
        if char != "{":
            literal.append(char)
            index += 1
            continue
        depth, end = 1, index + 1
        while end < len(message) and depth:
            depth += {"{": 1, "}": -1}.get(message[end], 0)
            end += 1
        if depth:
            raise ValueError(f"log message {message!r}: unmatched '{{' (write '{{{{' for a brace)")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(compile_expression(message[index + 1 : end - 1], "log message expression"))
        index = end
    if literal:
        parts.append("".join(literal))
    return parts


def eval_in_frame(code: types.CodeType, frame: types.FrameType) -> object:
    """Evaluate ``code`` with the frame's names; locals are merged into globals so that
    comprehensions and lambdas in the expression see them too."""
    namespace = dict(frame.f_globals)
    namespace.update(frame.f_locals)
    return eval(code, namespace)


def describe_error(exc: BaseException) -> str:
    """``"TypeName: message"`` for an exception, without ever raising."""
    return f"{type(exc).__qualname__}: {safe_str(exc)}"


def safe_str(value: object) -> str:
    """``str(value)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception as exc:  # user __str__ may raise anything
        return f"<str() failed: {type(exc).__qualname__}>"


def short_repr(value: object) -> str:
    """A bounded repr for a variables view: nested containers abridged, long text cut."""
    try:
        text = _reprs.repr(value)
    except Exception as exc:  # user __repr__ may raise anything
        return f"<repr() failed: {describe_error(exc)}>"
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 1] + "…"


@dataclass(eq=False)
class BreakpointState:
    """A breakpoint with its compiled condition, hit test, logpoint parts and hit count."""

    id: int
    path: str
    requested_line: int
    line: int
    verified: bool
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    hits: int = 0
    _condition_code: types.CodeType | None = field(default=None, repr=False)
    _hit_test: Callable[[int], bool] | None = field(default=None, repr=False)
    _log_parts: list[str | types.CodeType] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.condition is not None:
            self._condition_code = compile_expression(self.condition, "condition")
        if self.hit_condition is not None:
            self._hit_test = parse_hit_condition(self.hit_condition)
        if self.log_message is not None:
            self._log_parts = parse_log_message(self.log_message)

    @property
    def is_logpoint(self) -> bool:
        """True when hitting this breakpoint logs a message instead of stopping."""
        return self._log_parts is not None

    def hit(self, frame: types.FrameType) -> tuple[bool, str | None]:
        """Count a hit in ``frame``: ``(fires, condition_error)``.

        The hit count only advances when the condition holds; a condition that raises
        fires regardless of the hit condition, as in pdb, and its error is returned.
        """
        if self._condition_code is not None:
            try:
                holds = bool(eval_in_frame(self._condition_code, frame))
            except Exception as exc:  # the user's condition may raise anything
                return True, f"condition {self.condition!r} raised {describe_error(exc)}"
            if not holds:
                return False, None
        self.hits += 1
        if self._hit_test is not None and not self._hit_test(self.hits):
            return False, None
        return True, None

    def render(self, frame: types.FrameType) -> str:
        """The logpoint message with each ``{expression}`` replaced by its ``str()`` in ``frame``."""
        pieces = []
        for part in self._log_parts or ():
            if isinstance(part, str):
                pieces.append(part)
                continue
            try:
                pieces.append(safe_str(eval_in_frame(part, frame)))
            except Exception as exc:  # the user's expression may raise anything
                pieces.append(f"<{describe_error(exc)}>")
        return "".join(pieces)
