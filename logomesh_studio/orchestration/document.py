"""The orchestration the graph editor edits: YAML that keeps its comments, with undo.

    doc = OrchestrationDocument.load("plugins/text-pipeline.orchestration.yaml")
    doc.add_task("split", "shout", "echo", type="echo", input={"text": "${input.text}"})
    doc.set_position("shout", 120, 40)
    doc.problems()            # every problem at once, with phase, task, field and line
    doc.undo(); doc.save()

The file is held as ruamel.yaml's round-trip tree, so an edit changes only what it
touches: comments, key order, quoting and blank lines elsewhere survive, and an
unchanged document's :meth:`~OrchestrationDocument.text` is the file byte for byte.
Every edit is checked before it changes anything (a bad one raises ValueError naming
the field) and is one undo step. The editor in Studio is a view over this class;
no Qt here.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from logomesh_studio.orchestration import graph as graphs
from logomesh_studio.orchestration import yaml_text
from logomesh_studio.orchestration._tree_child import TreeBuild
from logomesh_studio.orchestration.conditions import rename_name
from logomesh_studio.orchestration.io import _compose as compose
from logomesh_studio.orchestration.model import PLUGIN_ID, Phase, Problem, Task, line_of
from logomesh_studio.orchestration.validation import CheckCache, check_all
from logomesh_studio.orchestration.workspace_view import WorkspaceView
from logomesh_studio.orchestration.yaml_lines import LineIndex
from logomesh_studio.runtime.payload import find_invalid
from logomesh_studio.runtime.templates import rename_reference

TASK_FIELDS = tuple(Task.model_fields)
PHASE_FIELDS = tuple(name for name in Phase.model_fields if name != "tasks")
MODES = ("sequential", "parallel", "conditional")
LAYOUT = "layout"
EXACT_LINES = 200
"""Files whose units cannot be placed apart (anchors and aliases, see
:class:`LineIndex`) get exact lines after an edit up to this many lines, by writing the
text out and reading its lines again (0.2 ms a line); see ``_current_lines``."""
BACKGROUND_LINES = 1000
"""Files of this many lines or more build their round-trip tree in a child process
(:meth:`OrchestrationDocument.prepare_edits`); ruamel reads about 3,000 lines a second."""


@dataclass(frozen=True, slots=True)
class DocumentProblem:
    """A problem of the document with the phase and task it belongs to ("" for none)."""

    phase: str
    task: str
    field: str
    line: int
    reason: str
    severity: str = "error"
    path: str = ""

    @property
    def node(self) -> str:
        """The graph node the problem shows on: its task, else its phase, else ""."""
        return self.task or self.phase

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.path or '<new>'}:{self.line}: {label}{self.field}: {self.reason}"


class _Flag:
    """A yes/no answer usable as a property (``if doc.can_undo``) or a call (``can_undo()``)."""

    __slots__ = ("_value",)

    def __init__(self, value: bool) -> None:
        self._value = value

    def __bool__(self) -> bool:
        return self._value

    def __call__(self) -> bool:
        return self._value

    def __eq__(self, other: object) -> bool:
        return bool(self) == other

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return repr(self._value)


@dataclass(slots=True)
class _Step:
    label: str
    do: Callable[[], None]
    undo: Callable[[], None]
    state: int


class OrchestrationDocument:
    """One ``*.orchestration.yaml`` file being edited: its round-trip tree and undo history."""

    def __init__(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self._original = text
        self._newline = "\r\n" if "\r\n" in text else "\n"
        self._round_trip: YAML | None = None
        # Reading needs only PyYAML (libyaml, ~15x faster); the round-trip tree is built
        # by the first edit (or ahead of it, see prepare_edits), so opening a big file to
        # look at it stays fast.
        self._root: Any = None
        self._build: TreeBuild | None = None
        self._loaded: tuple[Any, Mapping[tuple[Any, ...], int], list[Problem]] | None = None
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._state = 0
        self._next_state = 1
        self._saved_state = 0
        self._texts: dict[int, str] = {0: text}
        self._plain: tuple[int, dict[str, Any], Mapping[tuple[Any, ...], int]] | None = None
        self._checks = CheckCache()
        self._exact: tuple[int, Mapping[tuple[Any, ...], int]] | None = None
        self._index: LineIndex | None = None
        self._versions: dict[int, int] = {}  # id -> edits in place (see _ensure_list)
        self._reader = yaml_text.TreeReader()
        self._listeners: list[Callable[[str], None]] = []

    # -- files ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> OrchestrationDocument:
        """Read the file at ``path`` (OSError if unreadable, ValueError if not UTF-8 text).

        A file with YAML errors still loads: :meth:`problems` reports them, edits refuse.
        """
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start})") from None
        return cls(text, Path(path))

    @classmethod
    def new(cls, name: str, initiator: str) -> OrchestrationDocument:
        """A new, unsaved orchestration with no phases yet."""
        if not name.strip():
            raise ValueError("name: the orchestration needs a name")
        _check_plugin_id("initiator", initiator)
        root = CommentedMap(name=name, description="", initiator=initiator)
        root["participants"] = yaml_text.node([])
        root["phases"] = yaml_text.node([])
        return cls(yaml_text.dumps(yaml_text.make_yaml(), root))

    def prepare_edits(self) -> bool:
        """Start building the round-trip tree of a big file (:data:`BACKGROUND_LINES`
        lines or more) in a child process, so the first edit only has to unpickle it;
        True if started. Smaller files build it at the first edit in a few ms."""
        if self._root is not None or self._build is not None or \
                self._original.count("\n") < BACKGROUND_LINES:
            return False
        data, _, problems = self._read()
        if problems or not isinstance(data, dict):
            return False  # edits are refused until the YAML is fixed anyway
        try:
            self._build = TreeBuild(self._original)
        except OSError:  # no child process to be had: the first edit builds it here
            return False
        return True

    def text(self) -> str:
        """The YAML that :meth:`save` writes."""
        text = self._texts.get(self._state)
        if text is None:
            text = yaml_text.dumps(self._yaml(), self._root)
            if self._newline != "\n":
                text = text.replace("\n", self._newline)
            self._texts = {0: self._original, self._saved_state: self._texts[self._saved_state],
                           self._state: text}
        return text

    def save(self, path: Path | str | None = None) -> Path:
        """Write :meth:`text` to ``path`` (default: where it was loaded) atomically."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("path: a new orchestration needs a file name to save to")
        text = self.text()
        temporary = target.with_name(f".{target.name}.saving")
        temporary.write_bytes(text.encode("utf-8"))
        os.replace(temporary, target)
        self.path = target
        self._saved_state = self._state
        self._texts[self._state] = text
        self._notify("save")
        return target

    @property
    def modified(self) -> bool:
        """True when the text differs from what was last loaded or saved."""
        return self._state != self._saved_state

    # -- reading ----------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """The document as plain data (what the engine would validate); {} if unreadable."""
        if self._root is None:
            data = self._read()[0]
            return data if isinstance(data, dict) else {}
        return self._tree_data()[0]

    def _tree_data(self) -> tuple[dict[str, Any], Mapping[tuple[Any, ...], int]]:
        if self._plain is None or self._plain[0] != self._state:
            self._plain = (self._state, *self._reader.read(self._root))
        return self._plain[1], self._plain[2]

    def phase_names(self) -> list[str]:
        """The phases' names in run order."""
        return [str(p.get("name", "")) for p in self._seq(self.data(), "phases")
                if isinstance(p, dict)]

    def task_names(self, phase: str) -> list[str]:
        """The names of ``phase``'s tasks in order (ValueError if there is no such phase)."""
        for found in self._seq(self.data(), "phases"):
            if isinstance(found, dict) and found.get("name") == phase:
                return [str(t.get("name", "")) for t in self._seq(found, "tasks")
                        if isinstance(t, dict)]
        raise ValueError(f"phase: no phase named {phase!r}")

    def line_of(self, node: str) -> int:
        """The line of task or phase ``node`` (its ``- name:`` item) in :meth:`text` as it
        is now, edits included; ValueError if there is no such node."""
        for p, phase in enumerate(self._seq(self.data(), "phases")):
            if not isinstance(phase, dict):
                continue
            if phase.get("name") == node:
                return self._line(("phases", p))
            for t, task in enumerate(self._seq(phase, "tasks")):
                if isinstance(task, dict) and task.get("name") == node:
                    return self._line(("phases", p, "tasks", t))
        raise ValueError(f"node: no task or phase named {node!r}")

    def _line(self, loc: tuple[Any, ...]) -> int:
        if self._root is None:
            return line_of(self._read()[1], loc)
        return line_of(self._current_lines(self._tree_data()[1]), loc)

    def position(self, node: str) -> tuple[float, float] | None:
        """The saved position of a task or phase node, or None (the editor lays it out)."""
        layout = self.data().get(LAYOUT)
        entry = layout.get(node) if isinstance(layout, dict) else None
        if isinstance(entry, dict) and _is_number(entry.get("x")) and _is_number(entry.get("y")):
            return float(entry["x"]), float(entry["y"])
        return None

    # -- edits ------------------------------------------------------------------------------

    def add_phase(self, name: str, mode: str = "sequential", index: int | None = None) -> None:
        """Add an empty phase (at ``index``, default last)."""
        root = self._tree()
        _check_name("name", name)
        _check_choice("mode", mode, MODES)
        if name in self.phase_names():
            raise ValueError(f"name: a phase named {name!r} already exists")
        phases = self._seq(root, "phases")
        index = _index("index", index, len(phases))
        phase = CommentedMap(name=name, mode=mode)
        phase["tasks"] = CommentedSeq()
        self._apply(f"add phase {name}", *self._ensure_list(root, "phases", index, phase))

    def add_task(self, phase: str, name: str, target: str, type: str | None = None,
                 input: Any = None, index: int | None = None) -> None:
        """Add a task to ``phase``; a target plugin missing from participants is added too."""
        root = self._tree()
        p, found = self._phase(phase)
        _check_name("name", name)
        if self._find_task(name) is not None:
            raise ValueError(f"name: a task named {name!r} already exists (task names are "
                             "unique in the file)")
        fields: dict[str, Any] = {"name": name, "target": target}
        if type is not None:
            fields["type"] = type
        if input is not None:
            fields["input"] = input
        _check_task_fields(fields)
        tasks = self._seq(found, "tasks")
        index = _index("index", index, len(tasks))
        task = CommentedMap((key, yaml_text.node(value)) for key, value in fields.items())
        steps = [self._ensure_list(found, "tasks", index, task)]
        participants = [_participant_id(item) for item in self._seq(root, "participants")]
        if not target.startswith("capability:") and target not in participants:
            steps.append(self._ensure_list(root, "participants", len(participants), target))
        self._apply(f"add task {name}", *_chain(steps))

    def set_task(self, phase: str, task: str, **fields: Any) -> None:
        """Set fields of a task (``None`` removes an optional one).

        Renaming a task moves its layout entry and, when the task writes its name to the
        context (no ``output_mapping``), points the ``${old...}`` references and condition
        names of the tasks reading it at the new name, all in the same undo step.
        """
        self._tree()
        _, found = self._phase(phase)
        t, old = self._task_in(found, task)
        unknown = [name for name in fields if name not in TASK_FIELDS]
        if unknown:
            raise ValueError(f"{unknown[0]}: not a task field (fields: {', '.join(TASK_FIELDS)})")
        for required in ("name", "target"):
            if required in fields and fields[required] is None:
                raise ValueError(f"{required}: a task needs a {required}")
        merged = {**yaml_text.plain(old), **fields}
        _check_task_fields({k: v for k, v in merged.items() if v is not None}, only=set(fields))
        new_name = fields.get("name")
        if new_name is not None and new_name != task and self._find_task(new_name) is not None:
            raise ValueError(f"name: a task named {new_name!r} already exists")
        new = copy.deepcopy(old)
        _update(new, fields, order=TASK_FIELDS)
        steps = [self._replace(self._seq(found, "tasks"), t, new)]
        if new_name is not None and new_name != task:
            steps += self._rename_layout(task, new_name)
            if graphs.writes(yaml_text.plain(old)) == (task,) and \
                    graphs.writes(yaml_text.plain(new)) == (new_name,):
                steps += self._rename_readers(task, new_name)
        self._apply(f"edit task {task}", *_chain(steps))

    def set_phase(self, phase: str, **fields: Any) -> None:
        """Set fields of a phase (name, mode, required, timeout; ``None`` removes one)."""
        self._tree()
        _, old = self._phase(phase)
        unknown = [name for name in fields if name not in PHASE_FIELDS]
        if unknown:
            raise ValueError(f"{unknown[0]}: not a phase field (fields: "
                             f"{', '.join(PHASE_FIELDS)}; edit tasks with set_task)")
        if "name" in fields:
            _check_name("name", fields["name"])
            if fields["name"] != phase and fields["name"] in self.phase_names():
                raise ValueError(f"name: a phase named {fields['name']!r} already exists")
        if "mode" in fields and fields["mode"] is not None:
            _check_choice("mode", fields["mode"], MODES)
        if fields.get("required") is not None and not isinstance(fields["required"], bool):
            raise ValueError(f"required: must be true or false, not {fields['required']!r}")
        if fields.get("timeout") is not None:
            _check_timeout(fields["timeout"])
        # In place, key by key: copying the phase would copy (and re-read) all its tasks.
        order = (*PHASE_FIELDS, "tasks")
        steps = []
        for key, value in fields.items():
            if value is None:
                if key in old:
                    steps.append(_del_key(old, key))
            elif key in old:
                steps.append(_set_key(old, key, yaml_text.node(value, like=old[key])))
            else:
                steps.append(_set_key(old, key, yaml_text.node(value), _rank(old, key, order)))
        if fields.get("name") not in (None, phase):
            steps += self._rename_layout(phase, fields["name"])
        self._apply(f"edit phase {phase}", *_chain(steps))

    def remove_task(self, phase: str, task: str) -> None:
        """Remove a task (its layout entry goes with it)."""
        self._tree()
        _, found = self._phase(phase)
        t, _ = self._task_in(found, task)
        steps = [_remove(self._seq(found, "tasks"), t), *self._drop_layout(task)]
        self._apply(f"remove task {task}", *_chain(steps))

    def remove_phase(self, phase: str) -> None:
        """Remove a phase with its tasks (and their layout entries)."""
        root = self._tree()
        p, found = self._phase(phase)
        names = [phase, *self.task_names(phase)]
        steps = [_remove(self._seq(root, "phases"), p)]
        for name in names:
            steps += self._drop_layout(name)
        self._apply(f"remove phase {phase}", *_chain(steps))

    def move_task(self, phase: str, task: str, to_phase: str, index: int | None = None) -> None:
        """Move a task to position ``index`` of ``to_phase`` (which may be the same phase)."""
        self._tree()
        _, source = self._phase(phase)
        t, item = self._task_in(source, task)
        _, target = self._phase(to_phase)
        source_tasks = self._seq(source, "tasks")
        remaining = len(self._seq(target, "tasks")) - (1 if target is source else 0)
        index = _index("index", index, remaining)
        take = _remove(source_tasks, t)
        do_take, undo_take = take

        def do() -> None:
            do_take()
            put_do()

        def undo() -> None:
            put_undo()
            undo_take()

        put_do, put_undo = self._ensure_list(target, "tasks", index, item)
        self._apply(f"move task {task}", do, undo)

    def set_position(self, node: str, x: float, y: float) -> None:
        """Record where a task or phase node is drawn (in the ``layout`` section)."""
        root = self._tree()
        if not _is_number(x) or not _is_number(y):
            raise ValueError(f"x: positions are numbers, not {x!r}, {y!r}")
        if self._find_task(node) is None and node not in self.phase_names():
            raise ValueError(f"node: no task or phase named {node!r}")
        value = yaml_text.node({"x": _round(x), "y": _round(y)})
        layout = root.get(LAYOUT)
        if not isinstance(layout, CommentedMap):
            fresh = CommentedMap()
            fresh[node] = value
            self._apply(f"move {node}", *_set_key(root, LAYOUT, fresh))
            return
        self._apply(f"move {node}", *_set_key(layout, node, value))

    # -- undo -------------------------------------------------------------------------------

    @property
    def can_undo(self) -> _Flag:
        """Whether there is an edit to undo."""
        return _Flag(bool(self._undo))

    @property
    def can_redo(self) -> _Flag:
        """Whether there is an undone edit to redo."""
        return _Flag(bool(self._redo))

    @property
    def undo_label(self) -> str:
        """What :meth:`undo` would undo ("" if nothing)."""
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        """What :meth:`redo` would redo ("" if nothing)."""
        return self._redo[-1].label if self._redo else ""

    def undo(self) -> bool:
        """Undo the last edit; False if there is none."""
        if not self._undo:
            return False
        step = self._undo.pop()
        step.undo()
        self._redo.append(step)
        self._state = self._undo[-1].state if self._undo else 0
        self._notify(f"undo {step.label}")
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False if there is none."""
        if not self._redo:
            return False
        step = self._redo.pop()
        step.do()
        self._undo.append(step)
        self._state = step.state
        self._notify(f"redo {step.label}")
        return True

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(what)`` after every change; returns the unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    # -- problems ---------------------------------------------------------------------------

    def problems(self, workspace: Any = None) -> list[DocumentProblem]:
        """Every problem of the document in one pass, by line.

        ``workspace`` (a folder, a PluginHost on its loop, a list of PluginInfo, or a
        :class:`WorkspaceView`) adds unknown participants, handlers and capabilities and
        the initiator's missing permissions.
        """
        data, lines, unreadable = self._read()
        if self._root is None:
            if data is None:  # YAML that does not parse: nothing more can be checked
                return [_located(problem, {}) for problem in unreadable]
        else:  # edited: the tree is the truth (and its YAML was sound)
            unreadable = []
            data, lines = self._tree_data()
            lines = self._current_lines(lines)
        view = WorkspaceView.of(workspace) if workspace is not None else None
        found = check_all(str(self.path or "<new>"), data, lines, view, self._checks)
        return [_located(problem, data) for problem in sorted(
            [*unreadable, *found], key=lambda p: (p.line, p.severity != "error"))]

    # -- internals --------------------------------------------------------------------------

    def _current_lines(self, tree_lines: Mapping[tuple[Any, ...], int]
                       ) -> Mapping[tuple[Any, ...], int]:
        """Field lines of :meth:`text` as it is now.

        ruamel keeps the line each node had when the file was read, which an edit above
        it makes stale (and nodes added by edits have none). :class:`LineIndex` moves the
        lines of what the edits left alone and writes out only what they changed, so the
        lines are exact after every edit at the cost of the edit's own size. Files it
        cannot take apart (anchors, aliases, tags) read the lines of the text again, up to
        :data:`EXACT_LINES` lines; bigger ones of those keep the loaded lines until saved.
        """
        if self._state == 0:
            return tree_lines
        if self._exact is not None and self._exact[0] == self._state:
            return self._exact[1]
        if self._index is not None and self._index.supported:
            lines: Mapping[tuple[Any, ...], int] = self._index.lines(
                self._root, tree_lines, self._versions)
        elif self._state != self._saved_state and self._original.count("\n") > EXACT_LINES:
            return tree_lines
        else:
            lines = compose(self.text(), str(self.path or "<new>"), [])[1]
        self._exact = (self._state, lines)
        return lines

    def _yaml(self) -> YAML:
        """The round-trip reader and writer, set up for the file's indentation (made when
        first needed: looking at a file does not need it)."""
        if self._round_trip is None:
            self._round_trip = yaml_text.make_yaml(self._original)
        return self._round_trip

    def _read(self) -> tuple[Any, Mapping[tuple[Any, ...], int], list[Problem]]:
        """The loaded text as PyYAML reads it: data, field lines, YAML-level problems."""
        if self._loaded is None:
            problems: list[Problem] = []
            data, lines = compose(self._original, str(self.path or "<new>"), problems)
            self._loaded = (data, lines, problems)
        return self._loaded

    def _tree(self) -> Any:
        """The round-trip tree, built on first use; ValueError while the YAML is broken."""
        if self._root is None:
            data, _, problems = self._read()
            first = problems[0] if problems else None
            if first is None and not isinstance(data, dict):
                first = Problem("", 1, "(document)", "must be a mapping of fields")
            if first is None:
                build, self._build = self._build, None
                root = build.tree() if build is not None else None
                try:
                    self._root = root if root is not None else self._yaml().load(self._original)
                except YAMLError as exc:
                    first = Problem("", 1, "(syntax)", str(exc).splitlines()[0])
                else:
                    self._index = LineIndex(self._yaml(), self._root, self._original)
            if first is not None:
                raise ValueError(f"{first.field}: the file cannot be edited until its YAML is "
                                 f"fixed (line {first.line}: {first.reason})")
        return self._root

    def _apply(self, label: str, do: Callable[[], None], undo: Callable[[], None]) -> None:
        do()
        self._undo.append(_Step(label, do, undo, self._next_state))
        self._state = self._next_state
        self._next_state += 1
        self._redo.clear()
        self._notify(label)

    def _notify(self, what: str) -> None:
        for callback in list(self._listeners):
            callback(what)

    @staticmethod
    def _seq(parent: Any, key: str) -> list[Any]:
        value = parent.get(key) if isinstance(parent, dict) else None
        return value if isinstance(value, list) else []

    def _phase(self, name: str) -> tuple[int, CommentedMap]:
        for p, phase in enumerate(self._seq(self._tree(), "phases")):
            if isinstance(phase, dict) and phase.get("name") == name:
                return p, cast(CommentedMap, phase)  # the round-trip loader's mapping type
        names = self.phase_names()
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"phase: no phase named {name!r} ({hint}phases: "
                         f"{', '.join(names) or 'none'})")

    def _task_in(self, phase: CommentedMap, name: str) -> tuple[int, CommentedMap]:
        for t, task in enumerate(self._seq(phase, "tasks")):
            if isinstance(task, dict) and task.get("name") == name:
                return t, cast(CommentedMap, task)
        tasks = [str(t.get("name")) for t in self._seq(phase, "tasks") if isinstance(t, dict)]
        raise ValueError(f"task: no task named {name!r} in phase {phase.get('name')!r} "
                         f"(tasks: {', '.join(tasks) or 'none'})")

    def _find_task(self, name: str) -> tuple[str, int] | None:
        for phase in self._seq(self._root, "phases"):
            for t, task in enumerate(self._seq(phase, "tasks")):
                if isinstance(task, dict) and task.get("name") == name:
                    return str(phase.get("name")), t
        return None

    def _ensure_list(self, parent: CommentedMap, key: str, index: int, item: Any
                     ) -> tuple[Callable[[], None], Callable[[], None]]:
        """Insert ``item`` into list ``parent[key]``, creating the list if it is missing."""
        existing = parent.get(key)
        if isinstance(existing, CommentedSeq):
            do, undo = _insert(existing, index, item)
            if not existing or index < len(existing):
                return do, undo
            # Appending moves the blank lines after the last item to the new one: what
            # both items (and what holds them) span changes in place (see LineIndex).
            touched = [*yaml_text.last_path(existing[-1]), *yaml_text.last_path(item)]

            def do_touching() -> None:
                do()
                self._touch(touched)

            def undo_touching() -> None:
                undo()
                self._touch(touched)

            return do_touching, undo_touching
        fresh = CommentedSeq([item])
        if isinstance(item, str):
            fresh.fa.set_flow_style()
        return _set_key(parent, key, fresh)

    def _touch(self, values: list[Any]) -> None:
        for value in values:
            self._versions[id(value)] = self._versions.get(id(value), 0) + 1

    def _replace(self, seq: list[Any], index: int, item: Any
                 ) -> tuple[Callable[[], None], Callable[[], None]]:
        old = seq[index]

        def do() -> None:
            seq[index] = item

        def undo() -> None:
            seq[index] = old

        return do, undo

    def _rename_layout(self, old: str, new: str) -> list[tuple[Callable[[], None],
                                                                Callable[[], None]]]:
        layout = self._root.get(LAYOUT)
        if not isinstance(layout, CommentedMap) or old not in layout:
            return []
        renamed = CommentedMap((new if k == old else k, v) for k, v in layout.items())
        renamed.fa.set_block_style()
        return [_set_key(self._root, LAYOUT, renamed)]

    def _rename_readers(self, old: str, new: str) -> list[Edit]:
        """Steps pointing the tasks that read context key ``old`` from task ``old`` at ``new``."""
        readers = {edge.target for edge in graphs.build(self.data()).edges
                   if edge.source == old and edge.key == old}
        steps = []
        for phase in self._seq(self._root, "phases"):
            tasks = self._seq(phase, "tasks")
            for t, task in enumerate(tasks):
                if not isinstance(task, CommentedMap) or task.get("name") not in readers:
                    continue
                edited = copy.deepcopy(task)
                if "input" in edited:
                    edited["input"] = _map_strings(
                        edited["input"], lambda text: rename_reference(text, old, new))
                if isinstance(edited.get("condition"), str) and new.isidentifier():
                    edited["condition"] = _map_strings(
                        edited["condition"], lambda text: rename_name(text, old, new))
                steps.append(self._replace(tasks, t, edited))
        return steps

    def _drop_layout(self, node: str) -> list[tuple[Callable[[], None], Callable[[], None]]]:
        layout = self._root.get(LAYOUT)
        if not isinstance(layout, CommentedMap) or node not in layout:
            return []
        return [_del_key(layout, node)]


# -- edit primitives (each returns do, undo) -------------------------------------------------

Edit = tuple[Callable[[], None], Callable[[], None]]


def _chain(steps: list[Edit]) -> Edit:
    def do() -> None:
        for step_do, _ in steps:
            step_do()

    def undo() -> None:
        for _, step_undo in reversed(steps):
            step_undo()

    return do, undo


def _insert(seq: CommentedSeq, index: int, item: Any) -> Edit:
    comments = dict(seq.ca.items)
    style = seq.fa.flow_style()
    empty = not seq  # the first item decides: names inline, mappings one per block
    # Blank lines after the last item belong to it in ruamel's tree; an item appended
    # after it takes them, so the gap stays between this list and what follows it.
    gap = yaml_text.trailing_gap(seq[-1], item) if seq and index == len(seq) else None

    def do() -> None:
        if empty:
            if isinstance(item, dict):
                seq.fa.set_block_style()
            else:
                seq.fa.set_flow_style()
        seq.insert(index, item)
        if gap is not None:
            gap[0]()

    def undo() -> None:
        if gap is not None:
            gap[1]()
        del seq[index]
        seq.ca.items.clear()
        seq.ca.items.update(comments)
        seq.fa._flow_style = style

    return do, undo


def _remove(seq: list[Any], index: int) -> Edit:
    item = seq[index]
    comments = dict(seq.ca.items) if isinstance(seq, CommentedSeq) else {}

    def do() -> None:
        del seq[index]

    def undo() -> None:
        seq.insert(index, item)
        if isinstance(seq, CommentedSeq):
            seq.ca.items.clear()
            seq.ca.items.update(comments)

    return do, undo


def _set_key(mapping: CommentedMap, key: str, value: Any, position: int | None = None) -> Edit:
    had = key in mapping
    old = mapping.get(key)
    if position is None:
        position = list(mapping).index(key) if had else len(mapping)
    comments = dict(mapping.ca.items)

    def do() -> None:
        if had:
            mapping[key] = value
        else:
            mapping.insert(position, key, value)

    def undo() -> None:
        if had:
            mapping[key] = old
        else:
            del mapping[key]
        mapping.ca.items.clear()
        mapping.ca.items.update(comments)

    return do, undo


def _del_key(mapping: CommentedMap, key: str) -> Edit:
    old = mapping[key]
    position = list(mapping).index(key)
    comments = dict(mapping.ca.items)

    def do() -> None:
        del mapping[key]

    def undo() -> None:
        mapping.insert(position, key, old)
        mapping.ca.items.clear()
        mapping.ca.items.update(comments)

    return do, undo


def _update(mapping: CommentedMap, fields: dict[str, Any], order: tuple[str, ...]) -> None:
    """Set or (for None) remove ``fields`` of a copied mapping; new keys go in field order."""
    for key, value in fields.items():
        if value is None:
            mapping.pop(key, None)
        elif key in mapping:
            mapping[key] = yaml_text.node(value, like=mapping[key])
        else:
            mapping.insert(_rank(mapping, key, order), key, _quoted(value) if key == "condition"
                           else yaml_text.node(value))


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (a round-trip node, changed in place) with ``change`` applied to every
    string in it; a string keeps its quoting style."""
    if isinstance(value, str):
        changed = change(str(value))
        return value if changed == value else type(value)(changed)
    if isinstance(value, dict):
        for key in value:
            value[key] = _map_strings(value[key], change)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _map_strings(item, change)
    return value


def _rank(mapping: CommentedMap, key: str, order: tuple[str, ...]) -> int:
    """Where a new ``key`` goes so the mapping's keys stay in field ``order``."""
    rank = order.index(key)
    return next((i for i, k in enumerate(mapping) if k in order and order.index(k) > rank),
                len(mapping))


def _quoted(value: Any) -> Any:
    return DoubleQuotedScalarString(value) if isinstance(value, str) else value


# -- checks ----------------------------------------------------------------------------------


def _check_task_fields(fields: dict[str, Any], only: set[str] | None = None) -> None:
    """Raise ValueError naming the first bad field of a task (``only`` limits the fields)."""
    try:
        Task.model_validate(fields)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "task"
            if only is None or name in only:
                message = err["msg"].removeprefix("Value error, ")
                raise ValueError(f"{name}: {message} (got {err.get('input')!r:.60})") from None
    if fields.get("type") is not None and str(fields.get("target", "")).startswith("capability:"):
        if only is None or {"type", "target"} & only:
            raise ValueError("type: a capability task cannot set a type (the capability name "
                             "is the message type)")
    invalid = find_invalid(fields.get("input"), "input")
    if invalid and (only is None or "input" in only):
        raise ValueError(invalid)


def _check_name(field: str, value: Any) -> None:
    try:
        Phase.model_validate({"name": value, "tasks": [{"name": "t", "target": "x"}]})
    except ValidationError:
        raise ValueError(f"{field}: {value!r} is not a name (letters, digits, '_' and '-', "
                         "not starting with a digit)") from None


def _check_plugin_id(field: str, value: Any) -> None:
    if not isinstance(value, str) or not PLUGIN_ID.match(value):
        raise ValueError(f"{field}: {value!r} is not a plugin id")


def _check_choice(field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(choices)}")


def _check_timeout(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"timeout: must be a number of seconds above 0, not {value!r}")


def _index(field: str, index: int | None, size: int) -> int:
    if index is None:
        return size
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= size:
        raise ValueError(f"{field}: {index!r} is not a position between 0 and {size}")
    return index


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _round(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _participant_id(item: Any) -> str:
    return str(item.get("id")) if isinstance(item, dict) else str(item)


def _located(problem: Problem, data: dict[str, Any]) -> DocumentProblem:
    """``problem`` with the names of the phase and task its field belongs to."""
    phase = task = ""
    loc = list(_parse_field(problem.field))
    if loc[:1] == ["phases"] and len(loc) > 1 and isinstance(loc[1], int):
        phases = OrchestrationDocument._seq(data, "phases")
        item = phases[loc[1]] if loc[1] < len(phases) else None
        phase = str(item.get("name", "")) if isinstance(item, dict) else ""
        if loc[2:3] == ["tasks"] and len(loc) > 3 and isinstance(item, dict):
            tasks = OrchestrationDocument._seq(item, "tasks")
            entry = tasks[loc[3]] if isinstance(loc[3], int) and loc[3] < len(tasks) else None
            task = str(entry.get("name", "")) if isinstance(entry, dict) else ""
    return DocumentProblem(phase, task, problem.field, problem.line, problem.reason,
                           problem.severity, problem.path)


def _parse_field(field: str) -> Iterator[str | int]:
    for part in field.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            yield int(part[1:-1])
        elif part:
            yield part


__all__ = ["DocumentProblem", "OrchestrationDocument"]
