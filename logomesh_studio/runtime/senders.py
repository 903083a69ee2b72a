"""Senders that are not plugins.

The developer sender is the person at the keyboard: the test harness
(:class:`~logomesh_studio.testing.PluginHarness`), ``logomesh-studio profile --send``
and Studio's "Studio (developer)" entry in Send As... all speak as :data:`DEVELOPER`,
so the message history records such calls under one recognisable source.
"""

from __future__ import annotations

__all__ = ["DEVELOPER", "DEVELOPER_PERMISSIONS"]

DEVELOPER = "(developer)"
"""The sender id of messages the developer sends directly. Manifest ids cannot contain
parentheses, so no plugin can take this id (a plugin named ``test`` once could)."""

DEVELOPER_PERMISSIONS = ("send:*", "broadcast", "capability:*")
"""What the developer sender may do: message, broadcast to and request from anyone."""
