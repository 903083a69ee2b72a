"""The inspector: every field of the selected task or phase, checked as you type, and the
selected task's resolved input, output and error in the run shown."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.orchestration.conditions import ConditionError, compile_condition
from logomesh_studio.orchestration.document import MODES
from logomesh_studio.runtime.templates import references
from logomesh_studio.studio import theme

COMMIT_MS = 500
"""Typing in the input editor commits once it is valid JSON and you pause this long."""


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


class Inspector(QWidget):
    """Forms for a task and a phase; edits leave as ``sig_*_edited(..., fields)``."""

    sig_task_edited = Signal(str, str, object)  # phase, task, {field: value}
    sig_phase_edited = Signal(str, object)  # phase, {field: value}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_inspector")
        self.phase = self.task = ""
        self._loading = False
        self._values: dict[str, Any] = {}
        self.stack = QStackedWidget(self)
        self.empty = QLabel("Select a task or a phase to edit it.\n\nDrag a plugin from the "
                            "palette onto a lane to add a task.", self)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._build_task_form())
        self.stack.addWidget(self._build_phase_form())
        self.status = QLabel(self)
        self.status.setObjectName("inspector_status")
        self.status.setWordWrap(True)
        self.result = QPlainTextEdit(self)
        self.result.setObjectName("inspector_run_result")
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("Run the orchestration, then click a task to see its "
                                       "resolved input, output and error here.")
        self.result.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack, 3)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Run result", self))
        layout.addWidget(self.result, 2)
        self._input_timer = QTimer(self)
        self._input_timer.setSingleShot(True)
        self._input_timer.setInterval(COMMIT_MS)
        self._wire_signals()

    def _build_task_form(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.task_name = QLineEdit(page)
        self.task_name.setObjectName("task_name")
        self.task_target = QComboBox(page)
        self.task_target.setObjectName("task_target")
        self.task_target.setEditable(True)
        self.task_type = QLineEdit(page)
        self.task_type.setObjectName("task_type")
        self.task_type.setPlaceholderText("none: calls execute(input)")
        self.task_input = QPlainTextEdit(page)
        self.task_input.setObjectName("task_input")
        self.task_input.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.task_input.setPlaceholderText('JSON, e.g. {"text": "${input.text}"}')
        self.task_input.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.input_check = QLabel(page)
        self.input_check.setWordWrap(True)
        self.task_mapping = QLineEdit(page)
        self.task_mapping.setObjectName("task_output_mapping")
        self.task_mapping.setPlaceholderText('{"context_key": "path.in.response"}')
        self.task_condition = QLineEdit(page)
        self.task_condition.setObjectName("task_condition")
        self.task_condition.setPlaceholderText("e.g. len(tokens) > 0")
        self.condition_check = QLabel(page)
        self.condition_check.setWordWrap(True)
        self.task_required = QCheckBox("a failure fails the phase", page)
        self.task_required.setObjectName("task_required")
        self.task_timeout = QDoubleSpinBox(page)
        self.task_timeout.setObjectName("task_timeout")
        self.task_timeout.setRange(0, 86400)
        self.task_timeout.setSpecialValueText("none")
        self.task_timeout.setSuffix(" s")
        form.addRow("Name", self.task_name)
        form.addRow("Target", self.task_target)
        form.addRow("Type", self.task_type)
        form.addRow("Input", self.task_input)
        form.addRow("", self.input_check)
        form.addRow("Output mapping", self.task_mapping)
        form.addRow("Condition", self.task_condition)
        form.addRow("", self.condition_check)
        form.addRow("Required", self.task_required)
        form.addRow("Timeout", self.task_timeout)
        return page

    def _build_phase_form(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.phase_name = QLineEdit(page)
        self.phase_name.setObjectName("phase_name")
        self.phase_mode = QComboBox(page)
        self.phase_mode.setObjectName("phase_mode")
        self.phase_mode.addItems(list(MODES))
        self.phase_required = QCheckBox("a failure fails the run", page)
        self.phase_required.setObjectName("phase_required")
        self.phase_timeout = QDoubleSpinBox(page)
        self.phase_timeout.setObjectName("phase_timeout")
        self.phase_timeout.setRange(0, 86400)
        self.phase_timeout.setSpecialValueText("none")
        self.phase_timeout.setSuffix(" s")
        form.addRow("Name", self.phase_name)
        form.addRow("Mode", self.phase_mode)
        form.addRow("Required", self.phase_required)
        form.addRow("Timeout", self.phase_timeout)
        return page

    def _wire_signals(self) -> None:
        self.task_name.editingFinished.connect(lambda: self._task_field("name"))
        target_edit = self.task_target.lineEdit()
        assert target_edit is not None  # an editable combo box has one
        target_edit.editingFinished.connect(lambda: self._task_field("target"))
        self.task_target.activated.connect(lambda _: self._task_field("target"))
        self.task_type.editingFinished.connect(lambda: self._task_field("type"))
        self.task_mapping.editingFinished.connect(lambda: self._task_field("output_mapping"))
        self.task_condition.textChanged.connect(self._on_condition_text_changed)
        self.task_condition.editingFinished.connect(lambda: self._task_field("condition"))
        self.task_required.toggled.connect(lambda _: self._task_field("required"))
        self.task_timeout.editingFinished.connect(lambda: self._task_field("timeout"))
        self.task_input.textChanged.connect(self._on_input_text_changed)
        self._input_timer.timeout.connect(lambda: self._task_field("input"))
        self.phase_name.editingFinished.connect(lambda: self._phase_field("name"))
        self.phase_mode.activated.connect(lambda _: self._phase_field("mode"))
        self.phase_required.toggled.connect(lambda _: self._phase_field("required"))
        self.phase_timeout.editingFinished.connect(lambda: self._phase_field("timeout"))

    # -- showing --------------------------------------------------------------------------------

    def set_targets(self, targets: list[str]) -> None:
        """The choices of the target box (plugins and capabilities)."""
        current = self.task_target.currentText()
        self._loading = True
        self.task_target.clear()
        self.task_target.addItems(targets)
        self.task_target.setCurrentText(current)
        self._loading = False

    def show_nothing(self) -> None:
        self.phase = self.task = ""
        self.stack.setCurrentIndex(0)

    def show_task(self, phase: str, task: dict[str, Any]) -> None:
        """Fill the task form from plain data (no edit is sent while filling)."""
        self._input_timer.stop()
        self._loading = True
        self.phase, self.task = phase, str(task.get("name", ""))
        self._values = dict(task)
        self.task_name.setText(self.task)
        self.task_target.setCurrentText(str(task.get("target", "")))
        self.task_type.setText(str(task.get("type") or ""))
        if self.task_input.toPlainText().strip() != _json(task.get("input")).strip() or \
                not self.task_input.hasFocus():
            self.task_input.setPlainText(_json(task.get("input")))
        mapping = task.get("output_mapping")
        self.task_mapping.setText(json.dumps(mapping) if mapping else "")
        self.task_condition.setText(str(task.get("condition") or ""))
        self.task_required.setChecked(task.get("required", True) is not False)
        timeout = task.get("timeout")
        self.task_timeout.setValue(float(timeout) if isinstance(timeout, int | float) else 0)
        self._loading = False
        self._on_condition_text_changed(self.task_condition.text())
        self._check_input(self.task_input.toPlainText())
        self.stack.setCurrentIndex(1)

    def show_phase(self, phase: dict[str, Any]) -> None:
        self._loading = True
        self.phase, self.task = str(phase.get("name", "")), ""
        self._values = dict(phase)
        self.phase_name.setText(self.phase)
        self.phase_mode.setCurrentText(str(phase.get("mode", "sequential")))
        self.phase_required.setChecked(phase.get("required", True) is not False)
        timeout = phase.get("timeout")
        self.phase_timeout.setValue(float(timeout) if isinstance(timeout, int | float) else 0)
        self._loading = False
        self.stack.setCurrentIndex(2)

    def show_result(self, text: str) -> None:
        self.result.setPlainText(text)

    def show_status(self, text: str, error: bool = False) -> None:
        color = theme.color("error").name() if error else theme.color("muted").name()
        self.status.setStyleSheet(f"color: {color}")
        self.status.setText(text)

    # -- editing --------------------------------------------------------------------------------

    def _task_value(self, field: str) -> tuple[bool, Any]:
        if field == "name":
            return True, self.task_name.text().strip()
        if field == "target":
            return True, self.task_target.currentText().strip()
        if field == "type":
            return True, self.task_type.text().strip() or None
        if field == "condition":
            return True, self.task_condition.text().strip() or None
        if field == "required":
            return True, None if self.task_required.isChecked() else False
        if field == "timeout":
            return True, self.task_timeout.value() or None
        text = (self.task_input if field == "input" else self.task_mapping)
        raw = text.toPlainText() if isinstance(text, QPlainTextEdit) else text.text()
        if not raw.strip():
            return True, None
        try:
            return True, json.loads(raw)
        except json.JSONDecodeError as exc:
            self.show_status(f"{field}: not JSON yet ({exc.msg} at line {exc.lineno})", True)
            return False, None

    def _task_field(self, field: str) -> None:
        if self._loading or not self.task:
            return
        ok, value = self._task_value(field)
        current = self._values.get(field)
        if field == "required":
            current = None if current is not False else False
        if not ok or value == current:
            return
        self.sig_task_edited.emit(self.phase, self.task, {field: value})

    def _phase_field(self, field: str) -> None:
        if self._loading or not self.phase or self.task:
            return
        value: Any
        if field == "name":
            value = self.phase_name.text().strip()
        elif field == "mode":
            value = self.phase_mode.currentText()
        elif field == "required":
            value = None if self.phase_required.isChecked() else False
        else:
            value = self.phase_timeout.value() or None
        current = self._values.get(field)
        if field == "required":
            current = None if current is not False else False
        if value != current:
            self.sig_phase_edited.emit(self.phase, {field: value})

    def _on_condition_text_changed(self, text: str) -> None:
        if not text.strip():
            self.condition_check.setText("")
            return
        try:
            names = sorted(compile_condition(text).names)
        except ConditionError as exc:
            self.condition_check.setStyleSheet(f"color: {theme.color('error').name()}")
            self.condition_check.setText(f"⚠ {exc}")
            return
        self.condition_check.setStyleSheet(f"color: {theme.color('ok').name()}")
        self.condition_check.setText("✓ reads " + (", ".join(names) or "no context names"))

    def _on_input_text_changed(self) -> None:
        if self._loading:
            return
        if self._check_input(self.task_input.toPlainText()):
            self._input_timer.start()
        else:
            self._input_timer.stop()

    def _check_input(self, text: str) -> bool:
        if not text.strip():
            self.input_check.setText("")
            return True
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            self.input_check.setStyleSheet(f"color: {theme.color('error').name()}")
            self.input_check.setText(f"⚠ not JSON: {exc.msg} (line {exc.lineno}, "
                                     f"column {exc.colno})")
            return False
        refs = sorted({ref for s in _strings(value) for ref in references(s)})
        self.input_check.setStyleSheet(f"color: {theme.color('ok').name()}")
        self.input_check.setText("✓ JSON" + (f"; reads ${{{'}, ${'.join(refs)}}}" if refs
                                             else ""))
        return True


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
