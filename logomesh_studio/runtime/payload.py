"""Message payloads travel as JSON: validated, size-limited and copied on delivery.

Encoding to JSON text once gives all three at C speed: the text's length is the
size, decoding it is the deep copy, and an encoder error means the payload is not
JSON-compatible (then :func:`find_invalid` names the offending path). As in JSON,
tuples arrive as lists and number keys as strings.
"""

from __future__ import annotations

import json
import json.scanner
import math
from collections.abc import Callable
from json.encoder import (  # type: ignore[attr-defined]  # not in typeshed
    c_make_encoder,
    encode_basestring_ascii,
)
from typing import Any

from logomesh_studio.sdk import InvalidPayload

_IMMUTABLE = (str, int, float, bool, type(None))
_SHAREABLE = frozenset(_IMMUTABLE)
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder())  # type: ignore[arg-type]  # typeshed types the context as a scanner
"""The decoder's scanner called directly: the bridge decodes only text that ``encode``
made (one value, no whitespace), so ``JSONDecoder.decode``'s two Python calls and its
trailing-whitespace check would be spent for nothing (they were half a decode's cost)."""


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON-compatible")


if c_make_encoder is not None:
    # One C encoder built directly, for every call: it skips JSONEncoder.encode's
    # per-call Python set-up and building an encoder per call (together half of a
    # small payload's cost). Without a markers dict it keeps no state, so threads may
    # share it; a circular reference ends in RecursionError, and ``encode`` then
    # names it (``find_invalid``).
    _iterencode = c_make_encoder(None, _refuse, encode_basestring_ascii, None, ":", ",",
                                 False, False, False)

    def _encode(value: Any) -> str:
        return "".join(_iterencode(value, 0))
else:  # pragma: no cover - interpreters without the C accelerator
    _encode = json.JSONEncoder(  # type: ignore[assignment]  # same signature, bound method
        allow_nan=False, separators=(",", ":")).encode


def find_invalid(value: Any, path: str = "payload", _active: frozenset[int] = frozenset()) -> str:
    """Describe the first non-JSON-compatible part of ``value``, e.g.
    ``payload.items[3]: set is not JSON-compatible``; '' if there is none."""
    if isinstance(value, bool | int | str) or value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isfinite(value) else f"{path}: {value!r} is not JSON-compatible"
    if id(value) in _active:
        return f"{path}: refers back to itself (circular reference)"
    if isinstance(value, dict):
        inner = _active | {id(value)}
        try:
            items = list(value.items())
        except Exception as exc:  # a dict subclass's own items() may raise anything
            return (f"{path}: {type(value).__name__}.items() raised "
                    f"{type(exc).__name__}: {exc}")
        for key, item in items:
            if not isinstance(key, _IMMUTABLE) or (isinstance(key, float)
                                                   and not math.isfinite(key)):
                return f"{path}: key {key!r} is not JSON-compatible, keys must be strings"
            found = find_invalid(item, f"{path}.{key}", inner)
            if found:
                return found
        return ""
    if isinstance(value, list | tuple):
        inner = _active | {id(value)}
        try:
            items = list(value)
        except Exception as exc:  # a list subclass's own __iter__ may raise anything
            return f"{path}: iterating {type(value).__name__} raised {type(exc).__name__}: {exc}"
        for index, item in enumerate(items):
            found = find_invalid(item, f"{path}[{index}]", inner)
            if found:
                return found
        return ""
    return f"{path}: {type(value).__name__} is not JSON-compatible"


class Encoded:
    """A value that arrives as JSON text from another process (an isolated plugin's
    answer, or a payload on its way there), with what that text decodes to.

    :func:`encode` takes its text as is (only the size limit is checked) and
    :func:`decode` gives its value, so the bridge neither encodes it again nor copies
    the copy. Build one with :func:`from_text` (which validates foreign text) or
    around text :func:`encode` made.
    """

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: Any) -> None:
        self.text = text
        self.value = value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON-compatible")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


_decode_strict = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite).decode


def from_text(text: str, what: str = "payload") -> Encoded:
    """``text`` decoded as strictly as :func:`encode` encodes (no NaN or infinity);
    InvalidPayload if it is not such JSON."""
    try:
        return Encoded(text, _decode_strict(text))
    except (ValueError, RecursionError) as exc:
        raise InvalidPayload(f"{what}: is not valid JSON ({exc})") from None


def encode(value: Any, limit: int, what: str = "payload") -> str:
    """JSON text of ``value``; raises InvalidPayload naming the path or the size."""
    problem = ""
    try:
        text = value.text if type(value) is Encoded else _encode(value)
    except Exception as exc:  # also what a dict or list subclass's own methods raise
        text = ""
        try:
            problem = find_invalid(value, what)
        except RecursionError:
            problem = ""
        if not problem and isinstance(exc, RecursionError):
            problem = f"{what}: is nested too deeply to be sent as JSON"
        problem = problem or f"{what}: cannot be sent as JSON ({type(exc).__name__}: {exc})"
    if problem:
        raise InvalidPayload(problem)
    if len(text) > limit:
        raise InvalidPayload(f"{what}: is {len(text)} bytes as JSON, over the {limit}-byte limit")
    return text


def decode(text: str, original: Any) -> Any:
    """A private copy of ``original`` from ``text``, what :func:`encode` made of it
    (immutable values are shared).

    Only exact built-in types are shared: a ``str`` or ``int`` subclass may carry
    mutable attributes, so it is decoded like any container.
    """
    if type(original) in _SHAREABLE:
        return original
    if type(original) is Encoded:  # decoded from its text already: a copy of its own
        return original.value
    return _scan(text, 0)[0]
