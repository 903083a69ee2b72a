"""What the advisor reports, as plain data: light to import (the Studio window imports it
before any runtime runs); the rules are in advisor.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from logomesh_studio.runtime.events import Event

from ._model import Frame

__all__ = ["KINDS", "AdviceFound", "Finding", "Severity", "where"]

KINDS = ("blocking-handler", "chatty-pair", "large-payload", "slow-handler", "error-rate",
         "reload-leak", "unused-permission", "denied-permission")


class Severity(StrEnum):
    """How much a finding matters: errors break things, warnings slow them down."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the advisor found: what, where, the figures and the fix."""

    kind: str
    plugin: str
    severity: str
    evidence: str
    location: str = ""
    """``file:line`` when known."""
    suggestion: str = ""
    type: str = ""
    """The message type it concerns, if one."""
    peer: str = ""
    """The other plugin it concerns (chatty-pair), if one."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What identifies the finding across evaluations (its figures change)."""
        return (self.kind, self.plugin, self.type, self.peer)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**{name: data.get(name, "") for name in cls.__slots__})


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceFound(Event):
    """New findings (or ones whose severity changed) since the last evaluation."""

    kind: ClassVar[str] = "advice"
    findings: tuple[dict[str, Any], ...]
    """Each as :meth:`Finding.to_json`."""


def where(frame: Frame | None) -> str:
    """``file:line`` of ``frame``, or '' when unknown."""
    if frame is None or not frame.file:
        return ""
    return f"{frame.file}:{frame.line}" if frame.line else frame.file
