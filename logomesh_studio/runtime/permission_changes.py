"""What a reload does to a plugin's permissions.

Narrowing applies at once. Widening (a permission the old set did not already grant)
is decided by ``RuntimeConfig.permission_changes``: ``refuse`` keeps the old
permissions (headless default), ``ask`` keeps them until the user approves (Studio),
``allow`` applies the new ones (``run --allow-permission-changes``). Either way the
change is a :class:`~logomesh_studio.runtime.events.PermissionsChanged` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logomesh_studio.runtime.security import PermissionSet, parse_permission

REFUSE, ASK, ALLOW = "refuse", "ask", "allow"
POLICIES = (REFUSE, ASK, ALLOW)


@dataclass(frozen=True, slots=True)
class PermissionChange:
    """The difference between the permissions in force and a new manifest's."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    widened: tuple[str, ...]
    """The added permissions that grant something the old ones did not."""

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def permission_change(old: Sequence[str], new: Sequence[str]) -> PermissionChange:
    """Compare permission strings; ``send:x:y`` added beside ``send:*`` is no widening."""
    rules = PermissionSet(tuple(old))
    added = tuple(p for p in new if p not in old)
    widened = []
    for text in added:
        rule = parse_permission(text)
        if not rules.allows(rule.kind, rule.target, rule.type if rule.kind == "send" else ""):
            widened.append(text)
    return PermissionChange(added, tuple(p for p in old if p not in new), tuple(widened))
