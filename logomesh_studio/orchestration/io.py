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

SUFFIX = ".orchestration.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: ~10x
MAX_BYTES = 16 * 1024 * 1024


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
    lines: dict[tuple[Any, ...], int] = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            problems.append(Problem(path, 1, "(document)", "the file is empty (expected name, "
                                    "initiator, participants and phases)"))
            return None, lines
        lines[()] = node.start_mark.line + 1
        _walk(node, (), lines, problems, path, set())
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
          problems: list[Problem], path: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: its lines are recorded where the anchor is
        return
    seen.add(id(node))
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
            _walk(value_node, (*loc, key), lines, problems, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), lines, problems, path, seen)


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
