"""The run bar: run the open orchestration with an input, follow it live, pause, resume,
cancel, resume a failed run from its failed task, and open past runs from the history.

It reaches the runtime only through RuntimeClient; node states leave as
``sig_states_changed({task: (state, duration)})``.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from logomesh_studio.orchestration.events import RunStatusChanged, TaskFinished, TaskStarted
from logomesh_studio.orchestration.model import OrchestrationInvalid
from logomesh_studio.orchestration.records import Status
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.client import ClientState

if TYPE_CHECKING:
    from logomesh_studio.orchestration.records import RunRecord, RunSummary
    from logomesh_studio.studio.client import RuntimeClient

FINISHED = ("completed", "failed", "cancelled", "interrupted")
RESUMABLE = ("failed", "cancelled", "interrupted")
_INPUT_HINT = re.compile(r"--input\s+'(.+?)'", re.DOTALL)


def input_hint(text: str) -> str:
    """The ``--input '...'`` example in a file's leading comments, as one line ("{}" if none)."""
    header = "".join(line.lstrip("# ").rstrip("\\\n") + " " for line in text.splitlines(True)
                     if line.startswith("#"))
    found = _INPUT_HINT.search(header)
    if found is None:
        return "{}"
    try:
        return json.dumps(json.loads(found.group(1)), ensure_ascii=False)
    except json.JSONDecodeError:
        return "{}"


class RunMonitor(QWidget):
    """Run controls and the state of the run shown on the graph."""

    sig_run_requested = Signal()  # the pane answers with start(text, path, input)
    sig_states_changed = Signal(object)  # {task: (state, duration | None)}
    sig_run_finished = Signal(str, str)  # run id, status
    sig_problems = Signal(object)  # list[Problem] that refused a run

    def __init__(self, client: RuntimeClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_run_monitor")
        self.client = client
        self.run_id = ""
        self.status = ""
        self.orchestration = ""
        self.states: dict[str, tuple[str, float | None]] = {}
        self.record: RunRecord | None = None
        self._starting = False
        self._early: list[Any] = []  # events that may belong to the run being started
        self.input = QLineEdit("{}", self)
        self.input.setObjectName("run_input")
        self.input.setToolTip("The run's input as JSON")
        self.action_run = make_action(self, "&Run", "start", "Run the orchestration with this "
                                      "input", "F5", name="action_run_orchestration")
        self.action_pause = make_action(self, "&Pause", "pause", "Pause the run (running tasks "
                                        "finish)", name="action_pause_run")
        self.action_resume = make_action(self, "Res&ume", "continue", "Resume the paused run",
                                         name="action_resume_run")
        self.action_cancel = make_action(self, "&Cancel", "stop", "Cancel the run",
                                         name="action_cancel_run")
        self.action_resume_failed = make_action(
            self, "Resume from &here", "replay", "Re-run this failed run from its failed task "
            "(fix the plugin first: hot reload keeps Studio open)", name="action_resume_failed")
        self.history = QComboBox(self)
        self.history.setObjectName("run_history")
        self.history.setToolTip("Past runs of this orchestration: pick one to show it on the "
                                "graph")
        self.history.setMinimumContentsLength(24)
        self.label = QLabel("No run yet", self)
        self.label.setObjectName("run_status")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Input", self))
        layout.addWidget(self.input, 3)
        for action in (self.action_run, self.action_pause, self.action_resume,
                       self.action_cancel, self.action_resume_failed):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(button.toolButtonStyle().ToolButtonTextBesideIcon)
            layout.addWidget(button)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.history, 2)
        self._update_actions()
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.client.sig_orchestration_events.connect(self._on_client_orchestration_events)
        self.action_run.triggered.connect(self.sig_run_requested)
        self.action_pause.triggered.connect(lambda: self._control("pause"))
        self.action_resume.triggered.connect(lambda: self._control("resume"))
        self.action_cancel.triggered.connect(lambda: self._control("cancel"))
        self.action_resume_failed.triggered.connect(self.resume_failed)
        self.history.activated.connect(self._on_history_activated)

    # -- commands -------------------------------------------------------------------------------

    def start(self, text: str, path: str, task_names: list[str]) -> None:
        """Start a run of ``text`` with the input box's JSON; nodes turn pending."""
        try:
            value: Any = json.loads(self.input.text() or "{}")
        except json.JSONDecodeError as exc:
            self._show(f"Input is not JSON: {exc.msg}", error=True)
            return
        self._pending(task_names)
        self._starting = True
        self.client.spawn(self.client.start_run(text, path, value), "run orchestration",
                          self._on_started).add_done_callback(self._on_start_done)

    def resume_failed(self) -> None:
        """Re-run the shown failed run from its failed task."""
        if self.status in RESUMABLE and self.run_id:
            names = list(self.states)
            old = self.run_id
            self._pending(names, keep_completed=True)
            self._starting = True
            self.client.spawn(self.client.resume_run(old), "resume run", self._on_started)

    def show_run(self, run_id: str) -> None:
        """Show a past (or live) run's states on the graph."""
        self.client.spawn(self.client.run_record(run_id), "open run", self._on_record)

    def refresh_history(self) -> None:
        if self.client.state != ClientState.RUNNING or not self.orchestration:
            return
        self.client.spawn(self.client.runs(self.orchestration), "list runs", self._on_runs)

    def fetch_record(self) -> None:
        """Re-read the shown run (for task details)."""
        if self.run_id:
            self.client.spawn(self.client.run_record(self.run_id), "read run", self._on_record)

    def _control(self, action: str) -> None:
        if self.run_id:
            self.client.spawn(self.client.control_run(self.run_id, action), f"{action} run")

    # -- results --------------------------------------------------------------------------------

    def _pending(self, names: list[str], keep_completed: bool = False) -> None:
        kept = {n: s for n, s in self.states.items() if keep_completed and s[0] == "completed"}
        self.states = {name: kept.get(name, ("pending", None)) for name in names}
        self.record = None
        self.sig_states_changed.emit(dict(self.states))

    def _on_start_done(self, task: Any) -> None:
        self._starting = False
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, OrchestrationInvalid):
            self.states = {}
            self.sig_states_changed.emit({})
            errors = exc.errors
            self._show(f"Not run: {len(errors)} problem{'s' * (len(errors) != 1)} "
                       f"(first: {errors[0].field}: {errors[0].reason})" if errors else
                       "Not run", error=True)
            self.sig_problems.emit(exc.problems)
        elif exc is not None:
            self._show(f"Not run: {exc}", error=True)

    def _on_started(self, run_id: str) -> None:
        self._starting = False
        self.run_id = run_id
        self.status = "running"
        self._show(f"Run {run_id} running")
        early, self._early = self._early, []
        self._on_client_orchestration_events(early)
        self._update_actions()

    def _on_client_orchestration_events(self, events: list[Any]) -> None:
        changed = False
        for event in events:
            if getattr(event, "run_id", None) != self.run_id:
                if self._starting:  # events can overtake the answer to start_run
                    self._early.append(event)
                continue
            if isinstance(event, TaskStarted):
                self.states[event.task] = ("running", None)
                changed = True
            elif isinstance(event, TaskFinished):
                self.states[event.task] = (event.status, None if event.status == Status.SKIPPED
                                           else event.duration)
                changed = True
                if self.status in (Status.RUNNING, Status.PAUSED):
                    self._show(f"Run {event.run_id} {self.status} · {event.progress:.0%}")
            elif isinstance(event, RunStatusChanged):
                self.status = event.status
                text = f"Run {event.run_id} {event.status} · {event.progress:.0%}"
                self._show(text + (f" · {event.error}" if event.error else ""),
                           error=event.status == Status.FAILED)
                if event.status in FINISHED:
                    self.fetch_record()
                    self.refresh_history()
                    self.sig_run_finished.emit(event.run_id, event.status)
        if changed:
            self.sig_states_changed.emit(dict(self.states))
        self._update_actions()

    def _on_record(self, record: RunRecord) -> None:
        self.record = record
        self.run_id, self.status = record.id, record.status
        self.states = {task.name: (task.status, None if task.status == Status.SKIPPED
                                   else task.duration)
                       for phase in record.phases for task in phase.tasks}
        self.sig_states_changed.emit(dict(self.states))
        when = time.strftime("%H:%M:%S", time.localtime(record.created))
        self._show(f"Run {record.id} {record.status} · {record.progress:.0%} · {when}"
                   + (f" · {record.error}" if record.error else ""),
                   error=record.status == Status.FAILED)
        self._update_actions()

    def _on_runs(self, runs: list[RunSummary]) -> None:
        self.history.clear()
        self.history.addItem("Past runs…", "")
        for run in runs:
            when = time.strftime("%m-%d %H:%M:%S", time.localtime(run.created))
            self.history.addItem(f"{when} {run.status} {run.progress:.0%} ({run.id})", run.id)

    def _on_history_activated(self, index: int) -> None:
        run_id = self.history.itemData(index)
        if run_id:
            self.show_run(str(run_id))

    def task_details(self, name: str) -> str:
        """The shown run's resolved input, output and error of task ``name`` as text."""
        if self.record is None:
            return ""
        try:
            task = self.record.task(name)
        except KeyError:
            return f"{name}: not in run {self.record.id}"
        parts = [f"{name}: {task.status}" + (f" ({task.skipped_by})" if task.skipped_by else "")
                 + (f" in {task.duration * 1000:.1f} ms" if task.duration else "")
                 + (" (reused)" if task.reused else ""),
                 "input:\n" + json.dumps(task.input, indent=2, ensure_ascii=False)]
        if task.outputs is not None:
            parts.append("output:\n" + json.dumps(task.outputs, indent=2, ensure_ascii=False))
        if task.error:
            parts.append(f"error:\n{task.error}")
        return "\n".join(parts)

    def _show(self, text: str, error: bool = False) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
        self.label.setProperty("error", error)

    def _update_actions(self) -> None:
        live = self.status in (Status.INITIALIZING, Status.RUNNING, Status.PAUSED)
        self.action_pause.setEnabled(self.status == Status.RUNNING)
        self.action_resume.setEnabled(self.status == Status.PAUSED)
        self.action_cancel.setEnabled(live)
        self.action_resume_failed.setEnabled(self.status in RESUMABLE)
        self.action_run.setEnabled(not live)
