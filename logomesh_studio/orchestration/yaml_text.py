"""Round-trip YAML for the orchestration editor: comments, key order and quoting survive.

ruamel.yaml's round-trip mode keeps what PyYAML throws away (comments, flow or block
style, quotes, blank lines). It does not detect a file's indentation, so
:func:`indentation` reads it from the text; new values get the house style of the
example files (short mappings and lists in flow style, references double-quoted).
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

_KEY_ONLY = re.compile(r"^( *)(?:- +)?[^#\s][^#]*:\s*(?:#.*)?$")
_DASH = re.compile(r"^( *)- ")
_INDENT = re.compile(r"^( *)\S")
FLOW_LIMIT = 80
"""New mappings and lists of scalars shorter than this (as flow text) are written inline."""


def indentation(text: str) -> tuple[int, int, int]:
    """``(mapping, sequence, offset)`` as ruamel's ``YAML.indent`` takes them, read from ``text``.

    The first block sequence under a key gives the dash offset; the first nested
    mapping gives the mapping indent. Defaults are the example files' style (2, 4, 2).
    """
    mapping = offset = None
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        opener = _KEY_ONLY.match(line)
        if opener is None:
            continue
        parent = len(line) - len(line.lstrip(" -"))  # the key's column, after any dash
        nxt = next((n for n in lines[i + 1:] if n.strip() and not n.lstrip().startswith("#")), "")
        dash = _DASH.match(nxt)
        if dash is not None and offset is None:
            offset = max(0, len(dash.group(1)) - parent)
        elif dash is None and mapping is None:
            found = _INDENT.match(nxt)
            if found is not None and len(found.group(1)) > parent:
                mapping = len(found.group(1)) - parent
        if mapping is not None and offset is not None:
            break
    mapping = mapping or 2
    offset = 2 if offset is None else offset
    return mapping, offset + 2, offset


def make_yaml(text: str = "") -> YAML:
    """A round-trip YAML instance with ``text``'s indentation, no line wrapping."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    mapping, sequence, offset = indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = 4096  # never re-wrap a long line the user wrote
    return yaml


def dumps(yaml: YAML, data: Any) -> str:
    """``data`` as YAML text."""
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def plain(value: Any) -> Any:
    """ruamel's round-trip values as plain JSON-like Python (what the model validates)."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime.date):
        return value
    if hasattr(value, "value") and hasattr(value, "tag"):  # TaggedScalar: keep the text
        return str(value.value)
    return value


def node(value: Any, like: Any = None) -> Any:
    """``value`` as a round-trip node in house style; a string keeps ``like``'s quotes."""
    if isinstance(value, Mapping):
        out = CommentedMap((str(k), node(v)) for k, v in value.items())
        if _short(value):
            out.fa.set_flow_style()
        else:
            out.fa.set_block_style()
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq(node(v) for v in value)
        if _short(value):
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        return seq
    if isinstance(value, str):
        if isinstance(like, DoubleQuotedScalarString | SingleQuotedScalarString):
            return type(like)(value)
        if "${" in value:
            return DoubleQuotedScalarString(value)
    return value


def _short(value: Any) -> bool:
    items = value.values() if isinstance(value, Mapping) else value
    if any(isinstance(v, Mapping | list | tuple) and not _short(v) for v in items):
        return False
    return len(repr(value)) < FLOW_LIMIT


def key_lines(root: Any) -> dict[tuple[Any, ...], int]:
    """Field path -> 1-based line, from the positions ruamel recorded while loading.

    Nodes added by edits have no position; ``model.line_of`` then falls back to their
    nearest ancestor that has one.
    """
    lines: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, CommentedMap):
            data = value.lc.data or {}
            for key, item in value.items():
                where = data.get(key)
                if where is not None:
                    lines[(*loc, key)] = where[0] + 1
                if isinstance(item, CommentedMap | CommentedSeq):
                    stack.append((item, (*loc, key)))
        elif isinstance(value, CommentedSeq):
            data = value.lc.data
            for index, item in enumerate(value):
                where = data.get(index) if isinstance(data, dict) else None
                if where is not None:
                    lines[(*loc, index)] = where[0] + 1
                if isinstance(item, CommentedMap | CommentedSeq):
                    stack.append((item, (*loc, index)))
    if getattr(root, "lc", None) is not None and root.lc.line is not None:
        lines[()] = root.lc.line + 1
    return lines
