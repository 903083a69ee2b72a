"""Reading and writing ``*.orchestration.yaml`` files with the line of every field.

PyYAML composes the file into nodes first, so each key and list item keeps the
line it starts on; pydantic then validates the plain data, and every error it
finds (with the checks in :mod:`.validation`) becomes a ``file:line: field:
reason`` problem. All problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from logomesh_studio._collector import collector_paused
from logomesh_studio._validation import field_path, reason
from logomesh_studio.orchestration.model import (
    MODELS,
    Orchestration,
    OrchestrationFile,
    OrchestrationInvalid,
    Problem,
    line_of,
)
from logomesh_studio.orchestration.validation import check_document
from logomesh_studio.runtime.config import RuntimeConfig

SUFFIX = ".orchestration.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: ~10x
MAX_BYTES = 16 * 1024 * 1024
MAX_ALIAS_EXPANSION = RuntimeConfig().payload_limit
"""Bytes (as JSON) YAML aliases may add to a document beyond what its text spells out:
a few nested aliases can otherwise describe gigabytes in a few hundred bytes."""


def load(path: Path | str) -> OrchestrationFile:
    """Read and validate the file at ``path``; raises OrchestrationInvalid."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise OrchestrationInvalid([Problem(where, 1, "(file)",
                                            f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise OrchestrationInvalid([Problem(where, 1, "(file)", f"is {len(raw)} bytes "
                                            f"(orchestrations are limited to {MAX_BYTES})")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrchestrationInvalid([Problem(where, 1, "(file)", "not UTF-8 text (byte "
                                            f"0x{raw[exc.start]:02x} at offset {exc.start})")]
                                   ) from None
    return loads(text, where)


def loads(text: str, path: str = "<string>") -> OrchestrationFile:
    """Validate orchestration YAML ``text`` (``path`` names it in problems)."""
    problems: list[Problem] = []
    data, lines = _compose(text, path, problems)
    if data is None:
        raise OrchestrationInvalid(problems)
    try:
        document = Orchestration.model_validate(data)
    except ValidationError as exc:
        problems += [Problem(path, line_of(lines, err["loc"]), field_path(err["loc"]),
                             _reason(err)) for err in exc.errors(include_url=False)]
        raise OrchestrationInvalid(_sorted(problems)) from None
    file = OrchestrationFile(path, text, document, lines)
    problems += check_document(file)
    if any(p.severity == "error" for p in problems):
        raise OrchestrationInvalid(_sorted(problems))
    return OrchestrationFile(path, text, document, lines, tuple(_sorted(problems)))


def dump(document: Orchestration) -> str:
    """YAML text of ``document`` in field order (what the visual editor saves)."""
    return yaml.safe_dump(document.to_json(), sort_keys=False, allow_unicode=True, width=100)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.severity != "error"))


def _compose(text: str, path: str, problems: list[Problem]
             ) -> tuple[dict[str, Any] | None, dict[tuple[Any, ...], int]]:
    """Parse ``text`` into plain data plus a map of field path -> line."""
    with collector_paused():  # a big file's nodes and values would set off full collections
        return _compose_nodes(text, path, problems)


def _compose_nodes(text: str, path: str, problems: list[Problem]
                   ) -> tuple[dict[str, Any] | None, dict[tuple[Any, ...], int]]:
    lines: dict[tuple[Any, ...], int] = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            problems.append(Problem(path, 1, "(document)", "the file is empty (expected name, "
                                    "initiator, participants and phases)"))
            return None, lines
        lines[()] = node.start_mark.line + 1
        seen: set[int] = set()
        if _walk(node, (), lines, problems, path, seen) and not _aliases_fit(
                node, len(text), lines, problems, path):
            return None, lines
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.append(Problem(path, mark.line + 1 if mark else 1, "(syntax)",
                                f"invalid YAML: {detail}"))
        return None, lines
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, "(syntax)", f"invalid YAML: {exc}"))
        return None, lines
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        problems.append(Problem(path, lines[()], "(document)",
                                f"must be a mapping of fields, not {type(data).__name__}"))
        return None, lines
    return data, lines


def _walk(node: yaml.Node, loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int],
          problems: list[Problem], path: str, seen: set[int]) -> bool:
    """Record the line of every field under ``node``; True if the document uses aliases."""
    if id(node) in seen:  # an alias: its lines are recorded where the anchor is
        return True
    seen.add(id(node))
    aliased = False
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            line = key_node.start_mark.line + 1
            if key in first:
                problems.append(Problem(path, line, field_path((*loc, key)),
                                        f"duplicate key (first given on line {first[key]}; "
                                        "YAML would silently keep only the last)"))
            first.setdefault(key, line)
            lines.setdefault((*loc, key), line)
            aliased |= _walk(value_node, (*loc, key), lines, problems, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            aliased |= _walk(item, (*loc, index), lines, problems, path, seen)
    return aliased


def _children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    """``(key, child)`` of a mapping's values or a sequence's items (mapping keys too,
    under ``None``: they are part of the size)."""
    if isinstance(node, yaml.MappingNode):
        return [pair for key_node, value_node in node.value
                for pair in ((None, key_node), (_key(key_node), value_node))]
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _key(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else repr(node)


def _aliases_fit(root: yaml.Node, text_size: int, lines: dict[tuple[Any, ...], int],
                 problems: list[Problem], path: str) -> bool:
    """Refuse a document whose aliases expand it past :data:`MAX_ALIAS_EXPANSION`.

    Sizes are JSON bytes, counted once per node and reused for every alias of it, so
    this takes time in proportion to the text, however far the aliases would expand.
    """
    size: dict[int, int] = {}
    parents: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            active.discard(id(node))
            children = _children(node)
            own = len(str(node.value)) + 2 if isinstance(node, yaml.ScalarNode) else 2
            size[id(node)] = own + sum(size[id(child)] + 1 for _, child in children)
            continue
        if id(node) in size:
            continue
        active.add(id(node))
        stack.append((node, True))
        for _, child in _children(node):
            parents[id(child)] = parents.get(id(child), 0) + 1
            if id(child) in active:
                problems.append(Problem(path, child.start_mark.line + 1, "(aliases)",
                                        "an alias refers to a node that contains it "
                                        "(orchestration data cannot be recursive)"))
                return False
            if id(child) not in size:
                stack.append((child, False))
    if size[id(root)] <= text_size + MAX_ALIAS_EXPANSION:
        return True
    node = root  # blame the innermost field the expansion still overflows
    loc: tuple[Any, ...] = ()
    while True:
        inner = next(((key, child) for key, child in _children(node)
                      if key is not None and parents[id(child)] == 1
                      and size[id(child)] > MAX_ALIAS_EXPANSION), None)
        if inner is None:
            break
        loc, node = (*loc, inner[0]), inner[1]
    problems.append(Problem(path, line_of(lines, loc), field_path(loc) or "(document)",
                            f"YAML aliases expand it to {size[id(node)]:,} bytes, over the "
                            f"{MAX_ALIAS_EXPANSION:,}-byte payload limit (write the value "
                            "out, or make it smaller)"))
    return False


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    for part in reversed(loc[:-1]):
        if isinstance(part, str):
            return MODELS.get(part, Orchestration)
    return Orchestration


def _reason(error: Mapping[str, Any]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "string_pattern_mismatch":
        return (f"{str(error['input'])[:60]!r} is not a name (letters, digits, '_' and '-', "
                "not starting with a digit)")
    if kind == "model_type" and loc[:1] == ("participants",):
        return "must be a plugin id or a mapping {id, max_concurrency}"
    text = reason(error, _model_at(loc).model_fields if kind == "extra_forbidden" else ())
    value = error.get("input")
    if kind in ("missing", "extra_forbidden", "value_error", "literal_error") or \
            text.startswith("must be ") and ", not " in text or isinstance(value, dict | list):
        return text
    return f"{text} (got {value!r:.60})"
