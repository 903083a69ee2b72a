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


def strings_in(value: Any) -> list[str]:
    """Every string inside a JSON-like ``value`` (mapping values and list items), in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def references(value: Any) -> list[str]:
    """Every reference path used inside ``value``, in order."""
    return [ref for text in strings_in(value) for ref in _REF.findall(text)]


def rename_reference(text: str, old: str, new: str) -> str:
    """``text`` with every reference to context key ``old`` (``${old}``, ``${old.a[0]}``)
    pointing at ``new`` instead; other references and text are left as they are."""
    def renamed(match: re.Match[str]) -> str:
        path = match.group(1)
        if path != old and not path.startswith((f"{old}.", f"{old}[")):
            return match.group(0)
        start, end = match.span(1)
        whole = match.group(0)
        offset = match.start(0)
        return whole[:start - offset] + new + path[len(old):] + whole[end - offset:]

    return _REF.sub(renamed, text) if "${" in text else text


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
