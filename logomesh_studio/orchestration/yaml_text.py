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
from collections.abc import Iterator, Mapping
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import CommentMark
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarint import OctalInt
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

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


class PyYAMLResolver(VersionedResolver):
    """ruamel's resolver with PyYAML's implicit types, so the editor and the engine agree.

    The engine reads files with PyYAML (YAML 1.1: ``yes``/``no``/``on``/``off`` are
    booleans, ``010`` is octal 8, ``1:30`` is 90); ruamel reads YAML 1.2 by default
    (``yes`` is a string, ``010`` is 10). Reading and writing through PyYAML's own
    table means the editor sees every value as the engine will, and a string like
    ``"yes"`` that PyYAML would read as a boolean is written quoted. Setting ruamel's
    ``version`` instead would write a ``%YAML 1.1`` directive into the file.
    """

    processing_version = (1, 1)  # how ruamel's constructor reads ints and floats

    @property
    def versioned_resolver(self) -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
        return _PYYAML_RESOLVERS


_PYYAML_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
    first: list(entries) for first, entries in pyyaml.SafeLoader.yaml_implicit_resolvers.items()}


class SpelledBool(ScalarBoolean):
    """A boolean written another way than ``true``/``false`` (``yes``, ``Off``...),
    kept so that an edit elsewhere in the file does not respell it."""

    spelling: str

    def __new__(cls, value: bool, spelling: str) -> SpelledBool:
        made: SpelledBool = super().__new__(cls, value)
        made.spelling = spelling
        return made

    def __getnewargs__(self) -> tuple[bool, str]:  # type: ignore[override]  # deepcopy, pickle
        return bool(self), self.spelling


class _Constructor(RoundTripConstructor):
    def construct_yaml_bool(self, node: Any) -> Any:
        value = super().construct_yaml_bool(node)
        if node.value in ("true", "false") or not isinstance(value, bool):
            return value
        return SpelledBool(value, node.value)


class _Representer(RoundTripRepresenter):
    def represent_spelled_bool(self, data: SpelledBool) -> Any:
        return self.represent_scalar("tag:yaml.org,2002:bool", data.spelling)

    def represent_octal_int(self, data: Any) -> Any:
        """Octal as YAML 1.1 (and PyYAML) writes it: ``010``, not 1.2's ``0o10``."""
        digits = f"{data:0{data._width}o}" if data._width is not None else format(data, "o")
        return self.insert_underscore("0", digits, data._underscore,
                                      anchor=data.yaml_anchor(any=True))


_Constructor.add_constructor("tag:yaml.org,2002:bool", _Constructor.construct_yaml_bool)
_Representer.add_representer(SpelledBool, _Representer.represent_spelled_bool)
_Representer.add_representer(OctalInt, _Representer.represent_octal_int)


def make_yaml(text: str = "") -> YAML:
    """A round-trip YAML instance with ``text``'s indentation, no line wrapping."""
    yaml = YAML(typ="rt")
    yaml.Resolver = PyYAMLResolver
    yaml.Constructor = _Constructor
    yaml.Representer = _Representer
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
    if isinstance(value, ScalarBoolean):
        return bool(value)
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


def last_path(value: Any) -> list[Any]:
    """The mappings and lists passed on the way down from ``value`` along last items, to
    where what follows ``value`` in the text is kept (a flow-style one holds none)."""
    path = []
    while isinstance(value, CommentedMap | CommentedSeq) and value:
        path.append(value)
        if isinstance(value, CommentedSeq):
            value = value[-1]
            continue
        value = value[list(value)[-1]]
        if isinstance(value, CommentedMap | CommentedSeq) and value.fa.flow_style():
            break
    return path


def _last_key(value: Any) -> tuple[CommentedMap, Any] | None:
    """The mapping and key whose comment slot holds what follows ``value`` in the text."""
    mapping = next((m for m in reversed(last_path(value)) if isinstance(m, CommentedMap)),
                   None)
    return None if mapping is None else (mapping, list(mapping)[-1])


def trailing_gap(previous: Any, new: Any) -> tuple[Any, Any] | None:
    """``(do, undo)`` moving the blank lines after ``previous`` to after ``new``, or None."""
    old_slot, new_slot = _last_key(previous), _last_key(new)
    if old_slot is None or new_slot is None:
        return None
    mapping, key = old_slot
    entry = mapping.ca.items.get(key)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None or not isinstance(token.value, str):
        return None
    head, _, rest = token.value.partition("\n")
    if not rest.strip("\n") == "" or not rest:
        return None  # only blank lines move; comments stay where they were written
    kept = CommentToken(head + "\n", CommentMark(token.column), None)
    moved = CommentToken("\n" + rest, CommentMark(0), None)
    target, target_key = new_slot

    def do() -> None:
        mapping.ca.items[key] = [*entry[:2], kept, *entry[3:]]
        target.ca.items[target_key] = [None, None, moved, None]

    def undo() -> None:
        mapping.ca.items[key] = entry
        target.ca.items.pop(target_key, None)

    return do, undo


class TreeReader:
    """Plain data and field lines of a round-trip tree, re-reading only what edits replaced.

    Edits never change a task's mapping in place (they swap in an edited copy), so a
    task's plain data and lines are kept per mapping object: after one edit of a
    1,000-task file only that task is read again, and the same plain dict stands for
    every unchanged task (so checks can keep their results per task too).
    """

    def __init__(self) -> None:
        self._tasks: dict[int, tuple[Any, Any, dict[tuple[Any, ...], int]]] = {}

    def read(self, root: Any) -> tuple[Any, Mapping[tuple[Any, ...], int]]:
        """``(plain data, field path -> 1-based line)`` of ``root``."""
        lines: dict[tuple[Any, ...], int] = {}
        tasks: dict[tuple[int, int], dict[tuple[Any, ...], int]] = {}
        if not isinstance(root, CommentedMap):
            return plain(root), lines
        used: dict[int, tuple[Any, Any, dict[tuple[Any, ...], int]]] = {}
        data: dict[Any, Any] = {}
        if root.lc.line is not None:
            lines[()] = root.lc.line + 1
        for key, value in root.items():
            _line(root, key, (), lines)
            if key == "phases" and isinstance(value, CommentedSeq):
                data[key] = [self._phase(phase, p, lines, tasks, used)
                             for p, phase in enumerate(value)]
                _item_lines(value, (key,), lines)
            else:
                data[key] = plain(value)
                _all_lines(value, (key,), lines)
        self._tasks = used
        return data, TreeLines(lines, tasks)

    def _phase(self, phase: Any, p: int, lines: dict[tuple[Any, ...], int],
               tasks: dict[tuple[int, int], dict[tuple[Any, ...], int]],
               used: dict[int, Any]) -> Any:
        loc = ("phases", p)
        if not isinstance(phase, CommentedMap):
            _all_lines(phase, loc, lines)
            return plain(phase)
        out: dict[Any, Any] = {}
        for key, value in phase.items():
            _line(phase, key, loc, lines)
            if key == "tasks" and isinstance(value, CommentedSeq):
                _item_lines(value, (*loc, key), lines)
                out[key] = [self._task(task, (p, t), tasks, used) for t, task in enumerate(value)]
            else:
                out[key] = plain(value)
                _all_lines(value, (*loc, key), lines)
        return out

    def _task(self, task: Any, where: tuple[int, int],
              tasks: dict[tuple[int, int], dict[tuple[Any, ...], int]],
              used: dict[int, Any]) -> Any:
        cached = self._tasks.get(id(task))
        if cached is None or cached[0] is not task:
            relative: dict[tuple[Any, ...], int] = {}
            _all_lines(task, (), relative)
            cached = (task, plain(task), relative)
        used[id(task)] = cached
        tasks[where] = cached[2]
        return cached[1]


class TreeLines(Mapping[tuple[Any, ...], int]):
    """Field path -> line, with each task's fields looked up in that task's own table
    (so reading the tree does not copy every field's line of every task)."""

    def __init__(self, lines: dict[tuple[Any, ...], int],
                 tasks: dict[tuple[int, int], dict[tuple[Any, ...], int]]) -> None:
        self._lines = lines
        self._tasks = tasks

    def _split(self, loc: tuple[Any, ...]) -> tuple[dict[tuple[Any, ...], int], tuple[Any, ...]]:
        if len(loc) > 4 and loc[0] == "phases" and loc[2] == "tasks":
            table = self._tasks.get((loc[1], loc[3]))
            if table is not None:
                return table, loc[4:]
        return self._lines, loc

    def __getitem__(self, loc: tuple[Any, ...]) -> int:
        table, key = self._split(tuple(loc))
        return table[key]

    def __contains__(self, loc: object) -> bool:
        if not isinstance(loc, tuple):
            return False
        table, key = self._split(loc)
        return key in table

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        yield from self._lines
        for (p, t), table in self._tasks.items():
            for sub in table:
                yield ("phases", p, "tasks", t, *sub)

    def __len__(self) -> int:
        return len(self._lines) + sum(len(table) for table in self._tasks.values())


def _line(mapping: CommentedMap, key: Any, loc: tuple[Any, ...],
          lines: dict[tuple[Any, ...], int]) -> None:
    where = (mapping.lc.data or {}).get(key)
    if where is not None:
        lines[(*loc, key)] = where[0] + 1


def _item_lines(seq: CommentedSeq, loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]
                ) -> None:
    data = seq.lc.data
    if isinstance(data, dict):
        for index in range(len(seq)):
            where = data.get(index)
            if where is not None:
                lines[(*loc, index)] = where[0] + 1


def _all_lines(value: Any, loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    """Lines of every field under ``value`` (positions ruamel recorded while loading; nodes
    added by edits have none, and ``model.line_of`` falls back to their nearest ancestor)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, loc)]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, CommentedMap):
            for key, item in value.items():
                _line(value, key, loc, lines)
                if isinstance(item, CommentedMap | CommentedSeq):
                    stack.append((item, (*loc, key)))
        elif isinstance(value, CommentedSeq):
            _item_lines(value, loc, lines)
            for index, item in enumerate(value):
                if isinstance(item, CommentedMap | CommentedSeq):
                    stack.append((item, (*loc, index)))
