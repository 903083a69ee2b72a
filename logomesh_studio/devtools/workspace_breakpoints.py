"""Breakpoints of a workspace as plain data, and their file ``.logomesh/breakpoints.json``.

Source breakpoints (a file and line, with an optional condition, hit condition or log
message) and message breakpoints (stop when a plugin receives a message type) outlive
debug sessions: the Studio keeps them per workspace and hands them to each session.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from logomesh_studio.devtools import _breakpoints
from logomesh_studio.devtools._tracing import canonical
from logomesh_studio.runtime.workspace_state import state_dir

__all__ = [
    "ANY_TYPE",
    "MessageBreakpoint",
    "SourceBreakpoint",
    "WorkspaceBreakpoints",
    "breakpoints_file",
    "canonical_path",
    "load_breakpoints",
    "next_executable_line",
    "save_breakpoints",
    "validate_breakpoint",
]

_log = logging.getLogger(__name__)

ANY_TYPE = "*"
"""A message breakpoint type that matches every message type."""


@dataclass(frozen=True)
class SourceBreakpoint:
    """A breakpoint on a line of a file, as the user placed it.

    ``line`` is where it hits (the next executable line at or after the clicked one);
    ``verified`` is False when it cannot hit there (outside the debugged plugin, or
    past the last line of code). A disabled breakpoint is kept but never stops.
    """

    path: str
    line: int
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    enabled: bool = True
    verified: bool = True

    def to_json(self) -> dict[str, Any]:
        """This breakpoint as a JSON-compatible dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceBreakpoint:
        """The breakpoint that :meth:`to_json` described."""
        return cls(**data)


@dataclass(frozen=True)
class MessageBreakpoint:
    """Stop when ``plugin_id`` receives a message of ``type`` (``"*"``: any type),
    before its handler runs."""

    plugin_id: str
    type: str
    enabled: bool = True

    def matches(self, target: str, type: str) -> bool:
        """True when a delivery of ``type`` to ``target`` should stop here."""
        return self.enabled and target == self.plugin_id and self.type in (ANY_TYPE, type)

    def to_json(self) -> dict[str, Any]:
        """This breakpoint as a JSON-compatible dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageBreakpoint:
        """The breakpoint that :meth:`to_json` described."""
        return cls(**data)


@dataclass(frozen=True)
class WorkspaceBreakpoints:
    """Every breakpoint of a workspace, as persisted in ``.logomesh/breakpoints.json``."""

    source: tuple[SourceBreakpoint, ...] = ()
    messages: tuple[MessageBreakpoint, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """These breakpoints as a JSON-compatible dict."""
        return {
            "source": [bp.to_json() for bp in self.source],
            "messages": [bp.to_json() for bp in self.messages],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkspaceBreakpoints:
        """The breakpoints that :meth:`to_json` described."""
        return cls(
            source=tuple(SourceBreakpoint.from_json(bp) for bp in data.get("source", ())),
            messages=tuple(MessageBreakpoint.from_json(bp) for bp in data.get("messages", ())),
        )


def breakpoints_file(workspace: str | os.PathLike[str]) -> Path:
    """Where a workspace keeps its breakpoints (see ``runtime.workspace_state``)."""
    return state_dir(Path(workspace)) / "breakpoints.json"


def load_breakpoints(workspace: str | os.PathLike[str]) -> WorkspaceBreakpoints:
    """The breakpoints saved for ``workspace``; none if there is no (valid) file.

    A file that cannot be read is logged, naming it, and ignored: breakpoints are a
    convenience that must never keep a workspace from opening.
    """
    path = breakpoints_file(workspace)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved = WorkspaceBreakpoints.from_json(data)
    except FileNotFoundError:
        return WorkspaceBreakpoints()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        _log.warning("%s: not a breakpoints file (%s); delete it to start afresh", path, exc)
        return WorkspaceBreakpoints()
    root = Path(workspace)
    return replace(
        saved,
        source=tuple(replace(bp, path=canonical(root / bp.path)) for bp in saved.source),
    )


def save_breakpoints(
    workspace: str | os.PathLike[str], breakpoints: WorkspaceBreakpoints
) -> Path:
    """Write ``breakpoints`` for ``workspace``; paths inside it are stored relative."""
    root = canonical(workspace)
    source = []
    for bp in breakpoints.source:
        data = bp.to_json()
        del data["verified"]  # decided anew when the breakpoint is placed
        if bp.path.startswith(root + os.sep):
            data["path"] = Path(os.path.relpath(bp.path, root)).as_posix()
        source.append(data)
    path = breakpoints_file(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"source": source, "messages": [bp.to_json() for bp in breakpoints.messages]}, indent=2
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def canonical_path(path: str | os.PathLike[str]) -> str:
    """The form of ``path`` that breakpoints and frames are keyed by (real, normalised)."""
    return canonical(path)


def validate_breakpoint(breakpoint: SourceBreakpoint) -> None:
    """Raise ValueError, as setting it would, when a condition, hit condition or log
    message of ``breakpoint`` does not parse."""
    _breakpoints.BreakpointState(
        0, breakpoint.path, breakpoint.line, breakpoint.line, True,
        breakpoint.condition, breakpoint.hit_condition, breakpoint.log_message,
    )


def next_executable_line(path: str | os.PathLike[str], line: int) -> int | None:
    """The first line at or after ``line`` that holds code, or None (no such line,
    or a file that cannot be read or compiled)."""
    try:
        later = [n for n in _breakpoints.executable_lines(os.fspath(path)) if n >= line]
    except (OSError, SyntaxError, ValueError):
        return None
    return min(later) if later else None
