"""Permissions: default deny, granted by manifest strings.

Grammar (``*`` matches any run of characters inside one part):

- ``send:<plugin>[:<type>]``   send any (or one) message type to a plugin
- ``broadcast[:<capability>]`` broadcast to everyone, or to one capability's providers
  (``broadcast:*`` reaches the providers of any capability, not everyone)
- ``capability:<name>``        request a capability from its providers

In one process these checks stop mistakes and make intent visible; they are not a
sandbox against hostile code (see docs/plugin-guide.md, "Security").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

_PART = r"[a-z0-9*][a-z0-9._\-*]*"
_TYPE_PART = r"[A-Za-z0-9_*][A-Za-z0-9_.\-/*]*"
_SEND = re.compile(rf"^send:({_PART})(?::({_TYPE_PART}))?$")
_BROADCAST = re.compile(rf"^broadcast(?::({_PART}))?$")
_CAPABILITY = re.compile(rf"^capability:({_PART})$")


class PermissionSyntaxError(ValueError):
    """A permission string does not follow the grammar."""


EVERYONE = ""
"""The target of a plain ``broadcast``: every plugin rather than one capability's providers."""


@dataclass(frozen=True, slots=True)
class Permission:
    """One parsed permission: ``kind`` is send, broadcast or capability.

    ``target`` is a plugin, capability or ``EVERYONE`` pattern; ``type`` (send only)
    a message type pattern.
    """

    kind: str
    target: str = "*"
    type: str = "*"

    def allows(self, kind: str, target: str, type: str = "") -> bool:
        """True if this rule grants ``kind`` on ``target`` (and ``type`` for send).

        For broadcast, ``target`` is the capability, or ``EVERYONE`` for a plain one.
        """
        if self.kind != kind:
            return False
        if kind == "send":
            return fnmatchcase(target, self.target) and fnmatchcase(type, self.type)
        if kind == "broadcast" and self.target == EVERYONE:
            return True  # everyone includes the providers of any capability
        return target != EVERYONE and fnmatchcase(target, self.target)


def parse_permission(text: object) -> Permission:
    """Parse one permission string, or raise PermissionSyntaxError saying what is expected."""
    if not isinstance(text, str):
        raise PermissionSyntaxError(f"permission must be a string, not {type(text).__name__}")
    if m := _SEND.match(text):
        return Permission("send", m.group(1), m.group(2) or "*")
    if m := _BROADCAST.match(text):
        return Permission("broadcast", m.group(1) or EVERYONE)
    if m := _CAPABILITY.match(text):
        return Permission("capability", m.group(1))
    raise PermissionSyntaxError(
        f"{text[:80]!r} is not a permission (expected 'send:<plugin>[:<type>]', "
        "'broadcast[:<capability>]' or 'capability:<name>'; '*' is a wildcard)"
    )


class PermissionSet:
    """The compiled permissions of one plugin, with a per-call decision cache."""

    __slots__ = ("_rules", "_cache", "strings")

    def __init__(self, strings: list[str] | tuple[str, ...]) -> None:
        self.strings = tuple(strings)
        self._rules = tuple(parse_permission(s) for s in self.strings)
        self._cache: dict[tuple[str, str, str], bool] = {}

    def allows(self, kind: str, target: str, type: str = "") -> bool:
        """True if some rule grants ``kind`` (send/broadcast/capability) on target/type."""
        key = (kind, target, type)
        decision = self._cache.get(key)
        if decision is None:
            decision = any(rule.allows(kind, target, type) for rule in self._rules)
            if len(self._cache) < 4096:
                self._cache[key] = decision
        return decision


def required_permission(kind: str, target: str | None, type: str = "") -> str:
    """The narrowest permission string that would allow the call.

    For broadcast, ``target`` is the capability (``EVERYONE`` or None for a plain one).
    A send of a type the grammar cannot name (say, with a space) needs ``send:<plugin>``.
    """
    if kind == "send":
        typed = f"send:{target}:{type}"
        return typed if type and _SEND.match(typed) else f"send:{target}"
    if kind == "broadcast":
        return f"broadcast:{target}" if target else "broadcast"
    return f"capability:{target}"
