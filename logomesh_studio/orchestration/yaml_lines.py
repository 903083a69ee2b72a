"""The line of every field of an edited round-trip tree, without writing the file out.

ruamel.yaml records the line each node had when the file was read; an edit above a
node makes that line stale, and writing a 6,000-line file out again to read its
lines costs over a second. So the text is seen as a column of *units*: the lines
before the first key, each top-level key, and for ``phases`` its head, then per
phase its head (``- name:`` down to its first task), each task and its tail (keys
after ``tasks``). A unit the edits left as it was keeps the height it had in the
file, and its fields keep their lines relative to its start; a unit an edit made or
changed is written out alone (a few lines) and read back. A field's line is then its
unit's start, the sum of the heights above it, plus its offset in the unit.

Comments before a list item belong to the item's unit (except before the first
item, where they belong to the head above); comments after a value belong to the
unit holding the value, as ruamel keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import Comment, CommentedMap, CommentedSeq, Format, merge_attrib

from logomesh_studio.orchestration import yaml_text

Loc = tuple[Any, ...]
PHASES, TASKS = "phases", "tasks"


@dataclass(slots=True)
class _Unit:
    """A run of lines: where its fields live (``prefix``), what it is, how tall it is."""

    prefix: Loc  # the loc its fields are under: ("name",), ("phases", 2), ("phases", 2, ...)
    kind: str  # "key", "phases", "head", "tail", "phase", "task"
    signature: tuple[Any, ...]
    keep: tuple[Any, ...]  # the objects whose ids the signature holds
    measure: Any  # () -> _Measured, for a unit that has to be written out
    fields: frozenset[Any] | None = None  # the keys under prefix it holds (None: all)
    start: int = 0  # 0-based line where it starts now (in a phase: from the phase's start)
    own: int = 0  # lines from its start to its own key or item line (comments above it)
    load: int | None = None  # 0-based line where it started in the file, if unchanged since
    height: int = 0


@dataclass(slots=True)
class _Block:
    """One phase's units, placed from the phase's first line."""

    head: _Unit
    tasks: list[_Unit]
    tail: _Unit | None
    height: int


@dataclass(slots=True)
class _Measured:
    height: int
    offsets: dict[Loc, int] = field(default_factory=dict)  # field under prefix -> 0-based
    keep: tuple[Any, ...] = ()


class LineIndex:
    """Current field lines of one document's tree; made from the tree as loaded."""

    def __init__(self, yaml: YAML, root: Any, text: str) -> None:
        self._yaml = yaml
        self._measured: dict[tuple[Any, ...], _Measured] = {}
        self._loaded: dict[tuple[Any, ...], tuple[int, int, int]] = {}
        """signature -> (0-based start, height, offset of the unit's own key or item line)"""
        self._blocks: dict[tuple[Any, ...], _Block] = {}
        self.supported = isinstance(root, CommentedMap) and _independent(root)
        if not self.supported:
            return
        units = list(self._units(root, {}))
        total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        found = [_load_start(unit, root) for unit in units]
        for i in reversed(range(len(units))):  # comments closing a list: above what follows
            if units[i].kind == "end":
                following = found[i + 1] if i + 1 < len(units) else None
                after = following[0] if following is not None else total
                height = units[i].measure().height
                found[i] = (after - height, after - height)
        starts = [item[0] for item in found if item is not None]
        if len(starts) != len(units) or starts != sorted(starts):
            self.supported = False
            return
        self._preamble = starts[0] if starts else total
        for i, unit in enumerate(units):
            end = starts[i + 1] if i + 1 < len(units) else total
            start, own = found[i]  # type: ignore[misc]
            if unit.kind != "end":
                self._loaded[unit.signature] = (start, end - start, own - start)

    def lines(self, root: Any, loaded: Mapping[Loc, int], versions: Mapping[int, int]
              ) -> CurrentLines:
        """1-based lines of ``root`` as it is now; ``loaded`` holds the lines ruamel
        recorded (what :class:`yaml_text.TreeReader` reads), right for unchanged units;
        ``versions`` counts the edits in place of each task (by id)."""
        top: list[_Unit] = []
        blocks: dict[int, tuple[int, _Block]] = {}
        used: dict[tuple[Any, ...], _Measured] = {}
        kept: dict[tuple[Any, ...], _Block] = {}
        line = self._preamble
        for unit in self._units(root, versions, blocks=True):
            if isinstance(unit, _Unit):
                line += self._place(unit, line, used)
                top.append(unit)
                continue
            phases, p, phase = unit
            key = _phase_key(phases, p, phase, versions)
            block = self._blocks.get(key) or self._block(phases, p, phase, versions, used)
            kept[key] = block
            blocks[p] = (line, block)
            line += block.height
        self._measured.update(used)
        if len(self._measured) > 4 * (len(used) + 64):
            self._measured = used
        self._blocks = {**self._blocks, **kept} if len(self._blocks) < 8 * len(kept) + 64 else kept
        return CurrentLines(top, blocks, loaded)

    def _place(self, unit: _Unit, line: int, used: dict[tuple[Any, ...], _Measured]) -> int:
        """Put ``unit`` at ``line``; its height."""
        unit.start = line
        found = self._loaded.get(unit.signature)
        if found is not None:
            unit.load, unit.height, unit.own = found
        else:
            measured = self._measured.get(unit.signature) or unit.measure()
            used[unit.signature] = measured
            unit.measure = measured
            unit.height = measured.height
        return unit.height

    def _block(self, phases: CommentedSeq, p: int, phase: CommentedMap,
               versions: Mapping[int, int], used: dict[tuple[Any, ...], _Measured]) -> _Block:
        units = list(self._phase_units(phases, p, phase, versions))
        line = 0
        for unit in units:
            line += self._place(unit, line, used)
        tails = [u for u in units if u.kind == "tail"]
        return _Block(units[0], [u for u in units if u.kind == "task"],
                      tails[0] if tails else None, line)

    # -- the units of a tree, in text order -----------------------------------------------------

    def _units(self, root: CommentedMap, versions: Mapping[int, int], blocks: bool = False
               ) -> Iterator[Any]:
        """``versions``: id -> how often an edit changed that task in place (moving the blank
        lines after it, see :func:`yaml_text.trailing_gap`)."""
        for key, value in root.items():
            entry = root.ca.items.get(key)
            if key == PHASES and _block_seq(value) and value and all(
                    type(p) is CommentedMap and not p.fa.flow_style() for p in list.copy(value)):
                yield self._unit((key,), "phases", (id(value), value.fa.flow_style(),
                                                     id(entry), id(value.ca.items.get(0))),
                                 (value, entry), lambda v=value, e=entry: self._phases_head(v, e))
                for p, phase in enumerate(list.copy(value)):
                    if blocks and _structured(phase):
                        yield value, p, phase  # placed as one block (see lines)
                    else:
                        yield from self._phase_units(value, p, phase, versions)
                yield from _end_unit((PHASES, "<end>"), value)
            else:
                yield self._unit((key,), "key", (key, id(value), id(entry), *_content(value)),
                                 (value, entry), lambda k=key, v=value, e=entry:
                                 self._write_key(k, v, e))

    def _phase_units(self, phases: CommentedSeq, p: int, phase: CommentedMap,
                     versions: Mapping[int, int]) -> Iterator[_Unit]:
        before = phases.ca.items.get(p) if p else None
        tasks = phase.get(TASKS)
        signature = (id(phase), id(before), *_content(phase), id(tasks))
        keep = (phase, before, tasks)
        if not _structured(phase):
            yield self._unit((PHASES, p), "phase", signature, keep,
                             lambda: self._write_item(phase, before))
            yield from _end_unit((PHASES, p, "<end>"), phase)
            return
        items = list.copy(tasks)  # a CommentedSeq iterates through Python __getitem__ calls
        keys = list(phase)
        split = keys.index(TASKS) + 1
        tasks_signature = (id(tasks.ca.items.get(0)), *_content(tasks, items=False))
        yield self._unit((PHASES, p), "head", (*signature, *tasks_signature), keep,
                         lambda: self._phase_parts(phase, before)[0], frozenset(keys[:split]))
        comments = tasks.ca.items
        for t, task in enumerate(items):
            comment = comments.get(t) if t else None
            yield _Unit((PHASES, p, TASKS, t), "task",
                        ("task", id(task), id(comment), versions.get(id(task), 0)),
                        (task, comment), lambda task=task, c=comment: self._write_item(task, c))
        yield from _end_unit((PHASES, p, TASKS, "<end>"), tasks)
        if split < len(keys):
            yield self._unit((PHASES, p), "tail", (*signature, id(_last_entry(phase))), keep,
                             lambda: self._phase_parts(phase, before)[1], frozenset(keys[split:]))
        yield from _end_unit((PHASES, p, "<end>"), phase)

    @staticmethod
    def _unit(prefix: Loc, kind: str, signature: tuple[Any, ...], keep: tuple[Any, ...],
              measure: Any, fields: frozenset[Any] | None = None) -> _Unit:
        return _Unit(prefix, kind, (kind, *signature), keep, measure, fields)

    # -- writing a unit out alone ------------------------------------------------------------------

    def _read_back(self, data: Any) -> tuple[str, dict[Loc, int]]:
        from logomesh_studio.orchestration.io import _compose

        text = yaml_text.dumps(self._yaml, data)
        _, lines = _compose(text, "<unit>", [])
        return text, lines

    def _write_key(self, key: Any, value: Any, entry: Any) -> _Measured:
        alone = CommentedMap()
        alone[key] = value
        if entry is not None:
            alone.ca.items[key] = entry
        text, lines = self._read_back(alone)
        return _Measured(text.count("\n"), {loc[1:]: n - 1 for loc, n in lines.items()
                                            if loc[:1] == (key,)}, (alone,))

    def _write_item(self, item: Any, before: Any) -> _Measured:
        """A list item with the comment lines above it (``before``, the list's entry)."""
        above = _comment_lines(before)
        text, lines = self._read_back(CommentedSeq([item]))
        return _Measured(above + text.count("\n"), {loc[1:]: above + n - 1 for loc, n
                                                    in lines.items() if loc[:1] == (0,)}, (item,))

    def _phases_head(self, phases: CommentedSeq, entry: Any) -> _Measured:
        """``phases:`` and the comments down to the first phase (written with a stand-in)."""
        stand_in = _with_items(phases, [CommentedMap(name="x")])
        alone = CommentedMap()
        alone[PHASES] = stand_in
        if entry is not None:
            alone.ca.items[PHASES] = entry
        text, lines = self._read_back(alone)
        first = lines[(PHASES, 0)] - 1
        return _Measured(first, {(): lines[(PHASES,)] - 1}, (alone,))

    def _phase_parts(self, phase: CommentedMap, before: Any) -> tuple[_Measured, _Measured]:
        """The head and the tail of ``phase``, written with one stand-in task."""
        above = _comment_lines(before)
        copy = CommentedMap()
        for key, value in phase.items():
            copy[key] = _with_items(value, [CommentedMap(name="x")]) if key == TASKS else value
        copy._yaml_comment = phase.ca  # type: ignore[attr-defined]  # same comments
        copy.fa._flow_style = phase.fa.flow_style()
        text, lines = self._read_back(CommentedSeq([copy]))
        stand_in = lines[(0, TASKS, 0)] - 1
        head = _Measured(above + stand_in, {}, (copy,))
        tail = _Measured(text.count("\n") - stand_in - 1, {}, (copy,))
        keys = list(phase)
        after = set(keys[keys.index(TASKS) + 1:])
        for loc, n in lines.items():
            if len(loc) < 2 or loc[0] != 0:
                continue
            if loc[1] in after:
                tail.offsets[loc[1:]] = n - 1 - stand_in - 1
            elif not (loc[1] == TASKS and len(loc) > 2):
                head.offsets[loc[1:]] = above + n - 1
        head.offsets[()] = above
        return head, tail


class CurrentLines(Mapping[Loc, int]):
    """Field path -> 1-based line in the text as it is now (see :class:`LineIndex`)."""

    def __init__(self, top: list[_Unit], blocks: dict[int, tuple[int, _Block]],
                 loaded: Mapping[Loc, int]) -> None:
        self._loaded = loaded
        self._top: dict[Loc, list[_Unit]] = {}
        for unit in top:
            self._top.setdefault(unit.prefix, []).append(unit)
        self._blocks = blocks
        self._first: Loc = top[0].prefix[:1] if top else ()

    def _find(self, loc: Loc) -> tuple[_Unit, Loc, int] | None:
        """The unit holding ``loc``, the rest of ``loc`` under it, and its start's base."""
        placed = self._blocks.get(loc[1]) if len(loc) >= 2 and loc[0] == PHASES else None
        if placed is not None:
            base, block = placed
            rest = loc[2:]
            if len(rest) >= 2 and rest[0] == TASKS and isinstance(rest[1], int):
                if not 0 <= rest[1] < len(block.tasks):
                    return None
                return block.tasks[rest[1]], rest[2:], base
            if block.tail is not None and rest and block.tail.fields and \
                    rest[0] in block.tail.fields:
                return block.tail, rest, base
            return block.head, rest, base
        for size in (2, 1):
            units = self._top.get(loc[:size]) if len(loc) >= size else None
            if units:
                return units[0], loc[size:], 0
        return None

    def __getitem__(self, loc: Loc) -> int:
        loc = tuple(loc)
        if not loc:  # the document: where its first key is
            return self[self._first] if self._first else 1
        found = self._find(loc)
        if found is None:
            raise KeyError(loc)
        unit, rest, base = found
        start = base + unit.start
        if unit.load is not None:
            # a list's recorded item lines go by index, which edits shift: not for rest == ()
            return start + unit.own + 1 if not rest else self._loaded[loc] - unit.load + start
        offset: int | None = unit.measure.offsets.get(rest)
        if offset is None:
            raise KeyError(loc)
        return start + offset + 1

    def __contains__(self, loc: object) -> bool:
        try:
            self[loc]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[Loc]:
        yield ()
        yield from (loc for loc in self._loaded if loc in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _structured(phase: Any) -> bool:
    """A phase laid out as head, a block list of task mappings and tail."""
    if type(phase) is not CommentedMap:
        return False
    tasks = phase.get(TASKS)
    return _block_seq(tasks) and bool(tasks) and all(
        type(task) is CommentedMap for task in list.copy(tasks))


def _phase_key(phases: CommentedSeq, p: int, phase: CommentedMap,
               versions: Mapping[int, int]) -> tuple[Any, ...]:
    """What a phase's block depends on: its content, its tasks (by identity), the
    comments of its lists and the edits in place of its tasks."""
    tasks = phase[TASKS]
    ids = tuple(map(id, list.copy(tasks)))
    touched = tuple(sorted((i, versions[i]) for i in set(ids) & versions.keys())) \
        if versions else ()
    comment = getattr(tasks, Comment.attrib, None)
    return (id(phase), id(phases.ca.items.get(p)) if p else None, *_content(phase), ids,
            touched, tuple((k, id(v)) for k, v in comment.items.items()) if comment else (),
            id(getattr(comment, "end", None)), tasks.fa.flow_style())


def _end_unit(prefix: Loc, container: Any) -> Iterator[_Unit]:
    """The comment lines ruamel keeps at the end of ``container``, if any (written after
    its last item, whichever that is now)."""
    comment = getattr(container, Comment.attrib, None)
    tokens = getattr(comment, "end", None) or []
    lines = sum(str(getattr(token, "value", "")).count("\n") for token in tokens)
    if lines:
        yield _Unit(prefix, "end", ("end", id(container), lines), (container,),
                    lambda: _Measured(lines))


def _load_start(unit: _Unit, root: CommentedMap) -> tuple[int, int] | None:
    """The 0-based lines where ``unit`` started in the file and where its own key or item
    was (after the comments above it), from what ruamel recorded."""
    prefix = unit.prefix
    if unit.kind == "end":
        return None  # placed from what follows it
    if unit.kind in ("key", "phases"):
        return _first_line(root.lc.key(prefix[0]), root.ca.items.get(prefix[0]))
    phases = root[PHASES]
    p = prefix[1]
    if unit.kind in ("head", "phase"):
        return _first_line(phases.lc.item(p), phases.ca.items.get(p) if p else None)
    phase = phases[p]
    if unit.kind == "task":
        t = prefix[3]
        tasks = phase[TASKS]
        return _first_line(tasks.lc.item(t), tasks.ca.items.get(t) if t else None)
    keys = list(phase)
    first = keys[keys.index(TASKS) + 1]
    return _first_line(phase.lc.key(first), phase.ca.items.get(first))


def _first_line(position: Any, entry: Any) -> tuple[int, int] | None:
    if not position or position[0] is None:
        return None
    own: int = position[0]
    line = own
    for token in _before(entry):
        mark = getattr(token, "start_mark", None)
        if mark is not None:
            line = min(line, mark.line)
    return line, own


def _before(entry: Any) -> list[Any]:
    """The comment tokens an entry of ``ca.items`` puts above its key or item."""
    if isinstance(entry, list) and len(entry) > 1 and isinstance(entry[1], list):
        return [token for token in entry[1] if token is not None]
    return []


def _comment_lines(entry: Any) -> int:
    return sum(str(token.value).count("\n") for token in _before(entry))


def _block_seq(value: Any) -> bool:
    return isinstance(value, CommentedSeq) and not value.fa.flow_style()


def _with_items(seq: Any, items: list[Any]) -> Any:
    """A list like ``seq`` (style, comments) holding ``items``."""
    if not isinstance(seq, CommentedSeq):
        return seq
    copy = CommentedSeq(items)
    copy._yaml_comment = seq.ca  # type: ignore[attr-defined]
    copy.fa._flow_style = seq.fa.flow_style()
    return copy


def _content(value: Any, items: bool = True) -> tuple[Any, ...]:
    """What an edit in place changes in a mapping or list: its keys and values, styles
    and comments (by identity)."""
    if isinstance(value, CommentedMap):
        return (tuple(value), tuple(map(id, value.values())), value.fa.flow_style(),
                tuple(map(id, value.ca.items.values())), id(_last_entry(value)))
    if isinstance(value, CommentedSeq):
        return (len(value), tuple(map(id, value)) if items else (), value.fa.flow_style(),
                tuple(map(id, value.ca.items.values())) if items else (),
                id(_last_entry(value)) if items else None)
    return (value,) if isinstance(value, str | int | float | bool) or value is None else ()


def _last_entry(value: Any) -> Any:
    """The ``ca.items`` entry holding what follows ``value`` in the text (the blank lines
    an append moves, see :func:`yaml_text.trailing_gap`); read without making comment or
    format records on the nodes it passes (``.ca`` and ``.fa`` would)."""
    found = None
    while isinstance(value, CommentedMap | CommentedSeq) and value:
        if isinstance(value, CommentedSeq):
            value = value[-1]
            continue
        key = next(reversed(value))  # no merge keys here (see _independent): C speed
        found = (value, key)
        value = dict.__getitem__(value, key)
        style = getattr(value, Format.attrib, None)
        if style is not None and style.flow_style():
            break
    if found is None:
        return None
    comment = getattr(found[0], Comment.attrib, None)
    return comment.items.get(found[1]) if comment is not None else None


def _independent(root: Any) -> bool:
    """False if a mapping or list appears twice in the tree (a YAML alias) or a mapping
    merges another (``<<``): written alone, a unit would spell out what it shares."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen or getattr(value, merge_attrib, None):
            return False
        seen.add(id(value))
        if isinstance(value, CommentedMap):
            stack.extend(v for v in value.values() if isinstance(v, CommentedMap | CommentedSeq))
        else:
            stack.extend(v for v in value if isinstance(v, CommentedMap | CommentedSeq))
    return True
