"""A non-modal banner above the plugin tree: what reloads did to plugins' permissions.

A reload that widens a plugin's permissions keeps the old ones in force until the user
decides here (Approve / Reject); the decision goes to the runtime through the client.
Other changes (narrowing) applied at once and are shown as notices to dismiss.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from logomesh_studio.runtime.events import PermissionsChanged, PermissionsStatus
from logomesh_studio.studio.client import RuntimeClient


class PermissionRequest(QFrame):
    """One plugin's change: a request (Approve / Reject) or, once applied, a notice."""

    def __init__(self, event: PermissionsChanged, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plugin_id = event.plugin_id
        self.pending = event.status == PermissionsStatus.PENDING
        self.setObjectName(f"permission_request_{event.plugin_id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(_describe(event), self)
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label, 1)
        self.approve_button = QPushButton("Approve", self)
        self.approve_button.setToolTip(f"Grant {event.plugin_id} the permissions its "
                                       "manifest now asks for")
        self.reject_button = QPushButton("Reject" if self.pending else "Dismiss", self)
        self.reject_button.setToolTip(f"Keep {event.plugin_id}'s old permissions"
                                      if self.pending else "Hide this notice")
        self.approve_button.setVisible(self.pending)
        layout.addWidget(self.approve_button)
        layout.addWidget(self.reject_button)


def _codes(permissions: tuple[str, ...]) -> str:
    return ", ".join(f"<code>{html.escape(p)}</code>" for p in permissions)


def _describe(event: PermissionsChanged) -> str:
    who = f"<b>{html.escape(event.plugin_id)}</b>"
    if event.status == PermissionsStatus.PENDING:
        return (f"{who} was reloaded with a manifest that asks for more permissions: "
                f"{_codes(event.widened)}. Its old permissions stay in force until you "
                "approve.")
    parts = [f"added {_codes(event.added)}" if event.added else "",
             f"removed {_codes(event.removed)}" if event.removed else ""]
    return f"{who}'s permissions changed on reload: {'; '.join(p for p in parts if p)}."


class PermissionRequests(QWidget):
    """The pending permission requests of the open workspace (hidden when none)."""

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("permission_requests")
        self.client = client
        self.requests: dict[str, PermissionRequest] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.setVisible(False)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.client.sig_permissions_changed.connect(self._on_client_permissions_changed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)

    def _on_client_permissions_changed(self, event: PermissionsChanged) -> None:
        self._drop(event.plugin_id)
        if event.status == PermissionsStatus.PENDING:
            request = PermissionRequest(event, self)
            request.approve_button.clicked.connect(
                lambda: self._decide(request.plugin_id, True))
            request.reject_button.clicked.connect(
                lambda: self._decide(request.plugin_id, False))
        elif event.status == "applied" and (event.added or event.removed):
            request = PermissionRequest(event, self)  # a notice: narrowing applies at once
            request.reject_button.clicked.connect(lambda: self._dismiss(request.plugin_id))
        else:  # decided by the user here, or withdrawn by a later edit
            self.setVisible(bool(self.requests))
            return
        self.requests[event.plugin_id] = request
        self._layout.addWidget(request)
        self.setVisible(True)

    def _dismiss(self, plugin_id: str) -> None:
        self._drop(plugin_id)
        self.setVisible(bool(self.requests))

    def _on_client_workspace_opened(self, workspace: str) -> None:
        for plugin_id in list(self.requests):
            self._drop(plugin_id)
        self.setVisible(False)

    def _decide(self, plugin_id: str, approve: bool) -> None:
        request = self.requests.get(plugin_id)
        if request is not None:
            request.setEnabled(False)  # the runtime's answer (an event) removes it
        self.client.spawn(self.client.decide_permissions(plugin_id, approve),
                          "approve permissions" if approve else "reject permissions")

    def _drop(self, plugin_id: str) -> None:
        request = self.requests.pop(plugin_id, None)
        if request is not None:
            self._layout.removeWidget(request)
            request.deleteLater()
