"""Checks that run before any task does.

:func:`check_document` needs only the file: duplicate names, targets that are not
participants, condition syntax, ``${...}`` references no earlier task can satisfy,
inputs that are not JSON, two tasks writing one key (a warning).
:func:`check_runtime` asks the running workspace: participants and the initiator
loaded, capabilities provided, handlers present, and the initiator's permission
for every task, so a run that would be refused half-way is refused up front.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from logomesh_studio._validation import field_path
from logomesh_studio.orchestration.conditions import ConditionError, compile_condition
from logomesh_studio.orchestration.model import (
    CONDITIONAL,
    PARALLEL,
    Orchestration,
    OrchestrationFile,
    Participant,
    Phase,
    Problem,
    Resources,
    Task,
    line_of,
)
from logomesh_studio.orchestration.workspace_view import WorkspaceView
from logomesh_studio.runtime.payload import find_invalid
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.runtime.security import PermissionSet, required_permission
from logomesh_studio.runtime.templates import references, strings_in

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost

EXECUTE_TYPE = "execute"
"""The message type a task without ``type`` is checked as: ``send:<target>:execute``."""

_TOP = re.compile(r"[A-Za-z_][\w\-]*")
_PATH_PART = re.compile(r"(?:^|\.)([^.\[]+)|\[(\d+)\]")


def writes(task: Task) -> list[str]:
    """The context keys ``task`` writes: its mapping's keys, else its own name."""
    return list(task.output_mapping) or [task.name]


class CheckCache:
    """Per-task results kept between checks of one document as it is edited.

    The editor hands :func:`check_all` the same plain dict for every task an edit did
    not touch, so a task is validated (and its input read for references) once, not
    on every keystroke: after one edit of a 1,000-task file, one task is checked again.
    """

    def __init__(self) -> None:
        self._tasks: dict[int, tuple[Any, Task | None]] = {}  # id(dict) -> (dict, model)
        self._inputs: dict[int, tuple[Task, _InputFacts]] = {}  # id(model) -> facts

    def validated(self, data: dict[str, Any]) -> Orchestration | None:
        """``data`` validated, reusing unchanged tasks' models; None if anything is
        invalid (the caller then validates in full to report it)."""
        phases = data.get("phases")
        if not isinstance(phases, list):
            return None
        used: dict[int, tuple[Any, Task | None]] = {}
        skeleton = []
        for phase in phases:
            tasks = phase.get("tasks") if isinstance(phase, dict) else None
            if not isinstance(tasks, list):
                return None
            models = []
            for task in tasks:
                hit = self._tasks.get(id(task))
                if hit is None or hit[0] is not task:
                    try:
                        hit = (task, Task.model_validate(task))
                    except ValidationError:
                        hit = (task, None)
                used[id(task)] = hit
                if hit[1] is None:
                    return None
                models.append(hit[1])
            skeleton.append({**phase, "tasks": models})
        self._tasks = used
        try:  # the tasks are models already: pydantic takes them as they are
            return Orchestration.model_validate({**data, "phases": skeleton})
        except ValidationError:
            return None

    def input_facts(self, task: Task) -> _InputFacts:
        """What :func:`_check_input` reads from ``task.input``, kept per task model."""
        hit = self._inputs.get(id(task))
        if hit is None or hit[0] is not task:
            hit = (task, _input_facts(task))
            if len(self._inputs) > 4 * max(len(self._tasks), 1000):
                self._inputs.clear()  # models of tasks edited since
            self._inputs[id(task)] = hit
        return hit[1]


_InputFacts = tuple[str | None, list[str], list[tuple[str, str]]]
"""find_invalid's answer for the input, its strings with a malformed reference, and
every reference with the context key it reads."""


def _input_facts(task: Task) -> _InputFacts:
    malformed, refs = [], []
    for text in strings_in(task.input):
        found = references(text)
        if text.count("${") > len(found):
            malformed.append(text)
        refs += [(ref, _TOP.match(ref).group(0)) for ref in found]  # type: ignore[union-attr]
    return find_invalid(task.input, "input"), malformed, refs


def check_document(file: OrchestrationFile, cache: CheckCache | None = None) -> list[Problem]:
    """Problems visible in the file alone (errors and warnings)."""
    doc = file.document
    problems: list[Problem] = []
    participants: dict[str, int] = {}
    for i, participant in enumerate(doc.participants):
        if participant.id in participants:
            problems.append(file.problem(("participants", i), f"{participant.id!r} is listed "
                                         f"twice (first at participants[{participants[participant.id]}])"))
        participants.setdefault(participant.id, i)
    phase_names: dict[str, int] = {}
    task_names: dict[str, tuple[Any, ...]] = {}
    writers: dict[str, tuple[str, tuple[Any, ...]]] = {}
    known = {"input"}
    used: set[str] = set()
    for p, phase in enumerate(doc.phases):
        if phase.name in phase_names:
            problems.append(file.problem(("phases", p, "name"), f"phase {phase.name!r} is defined "
                                         f"twice (first on line {phase_names[phase.name]})"))
        phase_names.setdefault(phase.name, file.line(("phases", p, "name")))
        written_here: set[str] = set()
        for t, task in enumerate(phase.tasks):
            loc = ("phases", p, "tasks", t)
            if task.name in task_names:
                problems.append(file.problem((*loc, "name"), f"task {task.name!r} is defined twice "
                                             f"(first on line {file.line(task_names[task.name])}); "
                                             "task names must be unique in the file"))
            task_names.setdefault(task.name, (*loc, "name"))
            problems += _check_target(file, loc, task, participants)
            used.add(task.target)
            problems += _check_condition(file, loc, task, phase.mode, known)
            problems += _check_input(file, loc, task, known, cache)
            for key in writes(task):
                where = (*loc, "output_mapping", key) if task.output_mapping else (*loc, "name")
                if key in writers:
                    other, other_loc = writers[key]
                    problems.append(file.problem(where, f"{key!r} is also written by task "
                                                 f"{other!r} (line {file.line(other_loc)}); the "
                                                 "later write wins", "warning"))
                writers[key] = (task.name, where)
                (written_here if phase.mode == PARALLEL else known).add(key)
        known |= written_here
    for i, participant in enumerate(doc.participants):
        if participant.id not in used:
            problems.append(file.problem(("participants", i), f"{participant.id!r} is not the "
                                         "target of any task", "warning"))
    return problems


def check_all(path: str, data: Any, lines: Mapping[tuple[Any, ...], int],
              workspace: WorkspaceView | None = None,
              cache: CheckCache | None = None) -> list[Problem]:
    """Every problem of plain ``data`` in one pass, sorted by line.

    Schema errors (unknown fields, wrong types) do not hide the other checks: the
    fields they name are set aside and everything else is checked as usual (and
    against ``workspace`` when given); problems those fields would cause are dropped.
    ``cache`` keeps per-task results between calls on successive edits of one document.
    """
    from logomesh_studio.orchestration.io import _reason

    if not isinstance(data, dict):
        return [Problem(path, lines.get((), 1), "(document)",
                        f"must be a mapping of fields, not {type(data).__name__}")]
    problems: list[Problem] = []
    bad: list[tuple[Any, ...]] = []
    document = cache.validated(data) if cache is not None else None
    if document is None:
        try:
            document = Orchestration.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(err["loc"])
                problems.append(Problem(path, line_of(lines, loc), field_path(loc),
                                        _reason(err)))
                bad.append(loc)
            document = _salvage(data, set(bad))
    file = OrchestrationFile(path, "", document, lines)
    checked = check_document(file, cache)
    if workspace is not None:
        checked += check_workspace(file, workspace)
    hidden = [field_path(loc) for loc in bad]
    problems += [p for p in checked if not any(_under(p.field, h) for h in hidden)]
    return sorted(problems, key=lambda p: (p.line, p.severity != "error"))


def _under(field: str, prefix: str) -> bool:
    return field == prefix or (field.startswith(prefix) and field[len(prefix)] in ".[") \
        or prefix == "(document)"


def _salvage(data: dict[str, Any], bad: set[tuple[Any, ...]]) -> Orchestration:
    """An Orchestration built without validation from ``data``, where every field named in
    ``bad`` (or of the wrong shape) falls back to its default or an empty placeholder."""

    def build(model: type[BaseModel], raw: Any, loc: tuple[Any, ...],
              nested: dict[str, Any] | None = None) -> Any:
        values: dict[str, Any] = {}
        raw = raw if isinstance(raw, dict) else {}
        if model is Participant and isinstance(raw, str):
            raw = {"id": raw}
        for name, info in model.model_fields.items():
            here = (*loc, name)
            if nested and name in nested:
                values[name] = nested[name]
            elif name in raw and here not in bad and not any(b[:len(here)] == here for b in bad):
                values[name] = raw[name]
            elif name in raw and isinstance(raw[name], str) and info.annotation in (str, "str"):
                values[name] = raw[name]  # a bad name or target is still checked for the rest
            elif info.is_required():
                values[name] = [] if name in ("participants", "phases", "tasks") else ""
            else:
                values[name] = info.get_default(call_default_factory=True)
        return model.model_construct(**values)

    def items(key: str, raw: Any) -> list[Any]:
        value = raw.get(key) if isinstance(raw, dict) else None
        return value if isinstance(value, list) else []

    participants = [build(Participant, {"id": item} if isinstance(item, str) else item,
                          ("participants", i)) for i, item in enumerate(items("participants", data))]
    phases = []
    for p, phase in enumerate(items("phases", data)):
        tasks = [build(Task, task, ("phases", p, "tasks", t))
                 for t, task in enumerate(items("tasks", phase))]
        phases.append(build(Phase, phase, ("phases", p), {"tasks": tasks}))
    document = build(Orchestration, data, (), {"participants": participants, "phases": phases,
                                               "resources": Resources.model_construct()})
    assert isinstance(document, Orchestration)
    return document


def _check_target(file: OrchestrationFile, loc: tuple[Any, ...], task: Task,
                  participants: dict[str, int]) -> list[Problem]:
    if task.capability is not None:
        if task.type is not None:
            return [file.problem((*loc, "type"), "a capability task cannot set a type (the "
                                 "capability name is the message type); remove 'type'")]
        return []
    if task.target not in participants:
        close = difflib.get_close_matches(task.target, participants, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return [file.problem((*loc, "target"), f"{task.target!r} is not a participant ({hint}"
                             "add it to participants, or use capability:<name>)")]
    return []


def _check_condition(file: OrchestrationFile, loc: tuple[Any, ...], task: Task, mode: str,
                     known: set[str]) -> list[Problem]:
    if task.condition is None:
        if mode == CONDITIONAL:
            return [file.problem((*loc, "condition"), "every task in a conditional phase needs "
                                 "a condition")]
        return []
    try:
        condition = compile_condition(task.condition)
    except ConditionError as exc:
        return [file.problem((*loc, "condition"), str(exc))]
    return [file.problem((*loc, "condition"), _unknown(name, known))
            for name in sorted(condition.names - known)]


def _check_input(file: OrchestrationFile, loc: tuple[Any, ...], task: Task,
                 known: set[str], cache: CheckCache | None = None) -> list[Problem]:
    problems = []
    invalid, malformed, refs = cache.input_facts(task) if cache is not None \
        else _input_facts(task)
    if invalid:
        field, _, reason = invalid.partition(": ")
        parts = tuple(key or int(index)
                      for key, index in _PATH_PART.findall(field))
        problems.append(file.problem((*loc, *parts), f"{reason} (quote the value)"))
    for text in malformed:
        problems.append(file.problem((*loc, "input"), f"{text[:60]!r} has a malformed "
                                     "reference (write ${name} or ${name.key[0]})"))
    for ref, top in refs:
        if top not in known:
            problems.append(file.problem((*loc, "input"), f"${{{ref}}}: {_unknown(top, known)}"))
    return problems


def _unknown(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"{name!r} is not written by any earlier task ({hint}available here: "
            f"{', '.join(sorted(known))})")


def check_runtime(file: OrchestrationFile, host: PluginHost) -> list[Problem]:
    """Problems against the running workspace: loaded plugins, providers, permissions.

    Call on the runtime loop (it reads the host's live state).
    """
    return check_workspace(file, WorkspaceView.from_host(host))


def check_workspace(file: OrchestrationFile, workspace: WorkspaceView) -> list[Problem]:
    """Problems of ``file`` against ``workspace``: plugins present and loaded, capabilities
    provided, handlers present, and every permission the initiator needs."""
    doc = file.document
    plugins = workspace.plugins
    problems: list[Problem] = []

    def not_running(plugin_id: str, loc: tuple[Any, ...]) -> bool:
        info = plugins.get(plugin_id)
        if info is None:
            close = difflib.get_close_matches(plugin_id, plugins, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(file.problem(loc, f"no plugin {plugin_id!r} in the workspace{hint}"))
            return True
        if info.status != PluginStatus.RUNNING:
            why = f": {info.error}" if info.error else ""
            problems.append(file.problem(loc, f"plugin {plugin_id!r} is not loaded "
                                         f"({info.status}{why})"))
            return True
        return False

    initiator_missing = not_running(doc.initiator, ("initiator",))
    permissions = PermissionSet(plugins[doc.initiator].permissions) if not initiator_missing \
        else None
    for i, participant in enumerate(doc.participants):
        not_running(participant.id, ("participants", i))
    for p, t, _phase, task in doc.tasks():
        loc = ("phases", p, "tasks", t)
        if task.capability is not None:
            problems += _check_provider(file, loc, task.capability, workspace, doc.initiator)
        elif task.type is not None:
            info = plugins.get(task.target)
            if info is not None and info.status == PluginStatus.RUNNING and info.handles is not None \
                    and task.type not in info.handles:
                handled = ", ".join(info.handles) or "none"
                problems.append(file.problem((*loc, "type"), f"{task.target} has no handler for "
                                             f"{task.type!r} (it handles: {handled})"))
        if permissions is not None:
            kind, target, type_ = permission_request(task)
            if not permissions.allows(kind, target, type_):
                needed = required_permission(kind, target, type_ if kind == "send" else "")
                problems.append(file.problem((*loc, "target"), f"the initiator {doc.initiator!r} "
                                             f"lacks the permission {needed!r} (add it to its "
                                             "manifest's permissions)"))
    return problems


def permission_request(task: Task) -> tuple[str, str, str]:
    """``(kind, target, type)`` the initiator needs for ``task``, as PermissionSet.allows takes."""
    if task.capability is not None:
        return "capability", task.capability, ""
    return "send", task.target, task.type or EXECUTE_TYPE


def _check_provider(file: OrchestrationFile, loc: tuple[Any, ...], capability: str,
                    workspace: WorkspaceView, initiator: str) -> list[Problem]:
    providers = workspace.providers(capability)
    if [pid for pid in providers if pid != initiator]:
        return []
    if providers:  # a capability request never goes to its own sender
        return [file.problem((*loc, "target"), f"only the initiator {initiator!r} provides "
                             f"{capability!r}, and a plugin cannot request its own capability")]
    declared = sorted(pid for pid, info in workspace.plugins.items()
                      if capability in info.capabilities)
    if declared:
        return [file.problem((*loc, "target"), f"no running plugin provides {capability!r} "
                             f"(declared by {', '.join(declared)}, not loaded)")]
    return [file.problem((*loc, "target"), f"no plugin in the workspace provides capability "
                         f"{capability!r}")]
