"""The orchestration document: what an ``*.orchestration.yaml`` file holds.

:class:`Orchestration` is the validated document (pydantic, frozen); it says *what*
to run. :class:`OrchestrationFile` adds where it came from (path, text and the line
of every field) so every later problem can be reported as ``file:line: field: reason``.
The engine ignores ``layout``; the visual editor owns it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from logomesh_studio._validation import field_path

SEQUENTIAL: Final = "sequential"
PARALLEL: Final = "parallel"
CONDITIONAL: Final = "conditional"
Mode = Literal["sequential", "parallel", "conditional"]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
PLUGIN_ID = re.compile(r"^[a-z0-9]+(?:[.\-_][a-z0-9]+)*$")
CAPABILITY = re.compile(r"^capability:([a-z0-9][a-z0-9._\-]{0,99})$")
MESSAGE_TYPE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
RESPONSE_PATH = re.compile(r"^(?:[\w\-]+|\[\d+\])(?:\.[\w\-]+|\[\d+\])*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _plugin_id(value: str) -> str:
    if not PLUGIN_ID.match(value):
        raise ValueError(f"{value[:60]!r} is not a plugin id (lowercase letters and digits "
                         "separated by single dots, dashes or underscores)")
    return value


class Participant(_Strict):
    """A plugin taking part in the run; ``max_concurrency`` caps its tasks in flight."""

    id: str
    max_concurrency: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_plain_id(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _plugin_id(value)


class Resources(_Strict):
    """Limits across the whole run."""

    max_concurrency: int | None = Field(default=None, ge=1)


class Task(_Strict):
    """One call: a message to a participant, a capability request, or ``execute(input)``."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    target: str
    type: str | None = None
    input: Any = None
    output_mapping: dict[str, str] = Field(default_factory=dict)
    condition: str | None = None
    required: bool = True
    timeout: float | None = Field(default=None, gt=0)

    @field_validator("target")
    @classmethod
    def _valid_target(cls, value: str) -> str:
        if value.startswith("capability:"):
            if not CAPABILITY.match(value):
                raise ValueError(f"{value[:60]!r} is not 'capability:<name>' (lowercase "
                                 "letters, digits, '.', '-', '_')")
            return value
        try:
            return _plugin_id(value)
        except ValueError as exc:
            raise ValueError(f"{exc} nor 'capability:<name>'") from None

    @field_validator("type")
    @classmethod
    def _valid_type(cls, value: str | None) -> str | None:
        if value is not None and not MESSAGE_TYPE.match(value):
            raise ValueError(f"{value[:60]!r} is not a message type (letters, digits, "
                             "'_', '.', '-', '/')")
        return value

    @field_validator("output_mapping")
    @classmethod
    def _valid_mapping(cls, value: dict[str, str]) -> dict[str, str]:
        for key, path in value.items():
            if not re.match(NAME_PATTERN, key):
                raise ValueError(f"key {key[:60]!r} is not a context name (letters, digits, "
                                 "'_', '-'; not starting with a digit)")
            if key == "input":
                raise ValueError("key 'input' is reserved for the run's input")
            if path and not RESPONSE_PATH.match(path):
                raise ValueError(f"{key}: {path[:60]!r} is not a path into the response "
                                 "(e.g. 'tokens', 'top[0]', 'summary.total'; '' for all of it)")
        return value

    @property
    def capability(self) -> str | None:
        """The capability name when the target is ``capability:<name>``."""
        return self.target[len("capability:"):] if self.target.startswith("capability:") else None

    @property
    def call(self) -> str:
        """How the task is dispatched: ``send``, ``capability`` or ``execute``."""
        if self.capability is not None:
            return "capability"
        return "send" if self.type else "execute"


class Phase(_Strict):
    """A group of tasks run in one mode; a failed required phase fails the run."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    mode: Mode = SEQUENTIAL
    required: bool = True
    timeout: float | None = Field(default=None, gt=0)
    tasks: list[Task] = Field(min_length=1)


class Orchestration(_Strict):
    """A validated ``*.orchestration.yaml`` document."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    initiator: str
    participants: list[Participant] = Field(min_length=1)
    timeout: float | None = Field(default=None, gt=0)
    resources: Resources = Field(default_factory=Resources)
    phases: list[Phase] = Field(min_length=1)
    layout: dict[str, Any] = Field(default_factory=dict)

    @field_validator("initiator")
    @classmethod
    def _valid_initiator(cls, value: str) -> str:
        return _plugin_id(value)

    def tasks(self) -> Iterator[tuple[int, int, Phase, Task]]:
        """Every task with its phase, in run order: ``(phase_index, task_index, phase, task)``."""
        for p, phase in enumerate(self.phases):
            for t, task in enumerate(phase.tasks):
                yield p, t, phase, task

    def to_json(self) -> dict[str, Any]:
        """The document as plain JSON-compatible data (defaults left out)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Orchestration:
        """Validate plain data (raises pydantic.ValidationError)."""
        return cls.model_validate(dict(data))


MODELS: dict[str, type[BaseModel]] = {
    "(document)": Orchestration, "participants": Participant, "resources": Resources,
    "phases": Phase, "tasks": Task,
}


def line_of(lines: Mapping[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    """The line of field ``loc`` in ``lines``, else of its nearest ancestor there."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get((), 1)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an orchestration: file, line, field and reason."""

    path: str
    line: int
    field: str
    reason: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {label}{self.field}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The problem as plain data."""
        return {"path": self.path, "line": self.line, "field": self.field,
                "reason": self.reason, "severity": self.severity}


class OrchestrationInvalid(Exception):
    """The orchestration cannot run; ``problems`` lists every error (and warning) at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the run (warnings left out)."""
        return [p for p in self.problems if p.severity == "error"]


@dataclass(frozen=True, slots=True)
class OrchestrationFile:
    """A parsed document with its origin: ``lines`` maps field paths to 1-based lines."""

    path: str
    text: str
    document: Orchestration
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    def line(self, loc: tuple[Any, ...]) -> int:
        """The line of ``loc``, or of its nearest ancestor that the file spells out."""
        return line_of(self.lines, loc)

    def problem(self, loc: tuple[Any, ...], reason: str, severity: str = "error") -> Problem:
        """A problem at field ``loc`` of this file."""
        return Problem(self.path, self.line(loc), field_path(loc), reason, severity)  # type: ignore[arg-type]
