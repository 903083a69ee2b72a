"""The "send as" composer: a message from Studio itself (the developer sender, which may
call any plugin) or from a chosen plugin, subject to that plugin's permissions."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio import theme
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.panes.message_model import DEVELOPER_NAME
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.json_tree import JsonTreeView

if TYPE_CHECKING:
    from logomesh_studio.runtime.plugin_record import PluginInfo


class SendDialog(QDialog):
    """Compose and send one message; the response (or refusal) is shown below."""

    sig_message_sent = Signal(object)  # the response

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("send_dialog")
        self.setWindowTitle("Send Message As…")
        self.setWindowIcon(icon("send"))
        self.client = client
        self._infos: dict[str, PluginInfo] = {}
        self.source_combo = QComboBox(self)
        self.source_combo.setObjectName("send_source")
        self.source_combo.setEditable(True)
        self.source_combo.setToolTip(f"The sender: {DEVELOPER_NAME} may message any plugin; "
                                     "a plugin's manifest permissions decide whether its "
                                     "message is delivered")
        self.target_combo = QComboBox(self)
        self.target_combo.setObjectName("send_target")
        self.target_combo.setEditable(True)
        self.target_combo.setToolTip("The plugin that receives the message")
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("send_type")
        self.type_combo.setEditable(True)
        self.type_combo.setToolTip("Message type; the target's handlers are listed")
        self.payload_edit = QPlainTextEdit(self)
        self.payload_edit.setObjectName("send_payload")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.payload_edit.setFont(font)
        self.payload_edit.setPlaceholderText('{"text": "hello"}')
        self.payload_edit.setPlainText("{}")
        self.timeout_spin = QDoubleSpinBox(self)
        self.timeout_spin.setRange(0.1, 600.0)
        self.timeout_spin.setValue(10.0)
        self.timeout_spin.setSuffix(" s")
        self.result_label = QLabel(self)
        self.result_label.setObjectName("send_result")
        self.result_label.setWordWrap(True)
        self.response_view = JsonTreeView(self)
        self.response_view.setObjectName("send_response")
        form = QFormLayout()
        form.addRow("From", self.source_combo)
        form.addRow("To", self.target_combo)
        form.addRow("Type", self.type_combo)
        form.addRow("Payload (JSON)", self.payload_edit)
        form.addRow("Timeout", self.timeout_spin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.send_button = self.buttons.addButton("Send", QDialogButtonBox.ButtonRole.ApplyRole)
        self.send_button.setObjectName("send_button")
        self.send_button.setIcon(icon("send"))
        self.send_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addWidget(self.response_view)
        layout.addWidget(self.buttons)
        self.resize(520, 560)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.send_button.clicked.connect(self._on_send_clicked)
        self.buttons.rejected.connect(self.close)
        self.target_combo.currentTextChanged.connect(self._on_target_changed)

    def set_plugins(self, infos: list[PluginInfo]) -> None:
        """List ``infos`` as senders and targets; the developer sender comes first."""
        self._infos = {info.id: info for info in infos}
        source = self.source() if self.source_combo.count() else DEVELOPER
        target = self.target_combo.currentText()
        self.source_combo.clear()
        self.source_combo.addItem(icon("app"), DEVELOPER_NAME, DEVELOPER)
        for plugin_id in self._infos:
            self.source_combo.addItem(icon("plugin"), plugin_id, plugin_id)
        self.set_source(source)
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(list(self._infos))
        if target:
            self.target_combo.setCurrentText(target)
        self.target_combo.blockSignals(False)
        self._on_target_changed(self.target_combo.currentText())

    def source(self) -> str:
        """The sender id: the developer sender's, a listed plugin's or what was typed."""
        text = self.source_combo.currentText().strip()
        index = self.source_combo.findText(text)
        return str(self.source_combo.itemData(index)) if index >= 0 else text

    def set_source(self, source: str) -> None:
        index = self.source_combo.findData(source)
        if index >= 0:
            self.source_combo.setCurrentIndex(index)
        else:
            self.source_combo.setCurrentText(source)

    def set_target(self, target: str) -> None:
        """Address ``target``; the type list becomes its handled types."""
        self.target_combo.setCurrentText(target)

    def prefill(self, source: str, target: str, type: str, payload: str) -> None:
        self.set_source(source)
        self.set_target(target)
        self.type_combo.setCurrentText(type)
        try:
            text = json.dumps(json.loads(payload), indent=2) if payload else "null"
        except ValueError:
            text = payload
        self.payload_edit.setPlainText(text)

    def _on_target_changed(self, target: str) -> None:
        # The list follows the target; a typed type survives only if the new target handles it.
        current = self.type_combo.currentText()
        info = self._infos.get(target.strip())
        handles = list(info.handles) if info is not None else []
        self.type_combo.clear()
        self.type_combo.addItems(handles)
        if current and (current in handles or info is None):
            self.type_combo.setCurrentText(current)

    def _show_result(self, text: str, ok: bool) -> None:
        color = theme.color("ok" if ok else "error").name()
        self.result_label.setText(f'<span style="color:{color}">{html.escape(text)}</span>')

    def _on_send_clicked(self) -> None:
        try:
            payload: Any = json.loads(self.payload_edit.toPlainText() or "null")
        except ValueError as exc:
            self._show_result(f"Payload is not valid JSON: {exc}", False)
            return
        source = self.source()
        target = self.target_combo.currentText().strip()
        type_ = self.type_combo.currentText().strip()
        if not (source and target and type_):
            self._show_result("Choose a sender, a target and a message type.", False)
            return
        self.result_label.setText("Sending…")
        self.response_view.set_json("")
        self.client.spawn(self._send(source, target, type_, payload), "send")

    async def _send(self, source: str, target: str, type_: str, payload: Any) -> None:
        try:
            response = await self.client.send(source, target, type_, payload,
                                              self.timeout_spin.value())
        except Exception as exc:  # the bridge's errors are the result to show
            self._show_result(f"{type(exc).__name__}: {exc}", False)
            return
        self._show_result(f"{target} answered", True)
        self.response_view.set_json(json.dumps(response), "response")
        self.sig_message_sent.emit(response)
