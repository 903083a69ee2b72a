"""Turning pydantic validation errors into ``field: reason`` text people can act on.

Shared by plugin manifests and orchestration files, so both speak the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

_TYPE_NAMES = {"string_type": "a string", "int_type": "an integer", "list_type": "a list",
               "dict_type": "a table/object", "bool_type": "true or false",
               "int_from_float": "an integer", "float_type": "a number"}


def json_type(value: Any) -> str:
    """What ``value`` is, in the words of TOML/JSON/YAML ("a number", "a list", ...)."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a table/object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def field_path(loc: Iterable[Any], empty: str = "(document)") -> str:
    """``('phases', 0, 'tasks', 1, 'target')`` as ``phases[0].tasks[1].target``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or empty


def reason(error: Mapping[str, Any], allowed: Iterable[str] = ()) -> str:
    """The reason of one pydantic error; ``allowed`` lists the fields an unknown one could
    have meant (a close match is suggested)."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = list(allowed)
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown field ({hint}allowed: {', '.join(allowed)})"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "literal_error":
        return f"{error['input']!r} is not one of {error['ctx']['expected']}"
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, not {json_type(error.get('input'))}"
    message: str = error["msg"]
    if message.startswith("Input should be "):
        message = "must be " + message[len("Input should be "):]
    return message[0].lower() + message[1:]
