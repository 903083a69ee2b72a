"""``${name}`` references in payloads, read from a context of earlier results.

A string that is exactly one reference takes the referenced value with its type;
a reference inside longer text is interpolated as text. Paths use dots and
indices: ``${tokenize.tokens[0]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\{\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+|\[\d+\])*)\s*\}")
_PART = re.compile(r"\.?([\w\-]+)|\[(\d+)\]")


class TemplateError(KeyError):
    """A ``${...}`` reference names something the context does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``a.b[2].c``) in ``context``; TemplateError if absent."""
    value: Any = context
    walked = ""
    for match in _PART.finditer(path):
        key, index = match.group(1), match.group(2)
        walked += match.group(0)
        try:
            if index is not None:
                value = value[int(index)]
            elif isinstance(value, Mapping):
                value = value[key]
            elif isinstance(value, list) and key.isdigit():
                value = value[int(key)]
            else:
                raise KeyError(key)
        except (KeyError, IndexError, TypeError):
            raise TemplateError(f"${{{path}}}: {walked.lstrip('.')!r} is not available") from None
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Replace every ``${...}`` reference inside ``value`` (recursively)."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value.strip())
        if whole:
            return lookup(context, whole.group(1))
        if "${" not in value:
            return value
        return _REF.sub(lambda m: _as_text(lookup(context, m.group(1))), value)
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def references(value: Any) -> list[str]:
    """Every reference path used inside ``value``, in order."""
    if isinstance(value, str):
        return _REF.findall(value)
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
