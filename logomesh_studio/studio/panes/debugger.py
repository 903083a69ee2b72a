"""Debugger pane: step through one plugin's code on the live runtime.

Debugging a plugin traces the runtime thread with only that plugin's folder visible.
When it stops, the pane shows the line, the call stack, the selected frame's variables
(expanded lazily) and the watches; an evaluate console runs expressions in the frame.
While stopped the runtime loop waits, the GUI does not: commands go straight to the
debugger and inspection runs on a worker thread (see ``studio.debug_client``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.devtools.debug_session import DebugEnded, DebugStopped
from logomesh_studio.devtools.debugger import Frame
from logomesh_studio.devtools.workspace_breakpoints import (
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
)
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.debug_client import DebugBackend, DebugClient, RuntimeProvider
from logomesh_studio.studio.panes.debugger_breakpoints import BreakpointsPanel, describe
from logomesh_studio.studio.panes.debugger_inspector import FrameInspector, titled
from logomesh_studio.studio.widgets.code_view import CodeView, GutterMarker
from logomesh_studio.studio.widgets.eval_console import EvaluateConsole

_CONSOLE_LIMIT = 20_000  # characters of an evaluated repr shown in the console
_FIELD_TITLES = {
    "condition": ("Breakpoint Condition",
                  "Stop only when this Python expression is true (empty: always):"),
    "hit_condition": ("Breakpoint Hit Condition",
                      "Stop on hits matching N, == N, >= N, > N or % N (empty: every hit):"),
    "log_message": ("Logpoint Message",
                    "Log this instead of stopping; {expression} parts are evaluated "
                    "(empty: stop as usual):"),
}
_REASONS = {"breakpoint": "at a breakpoint", "step": "after a step",
            "exception": "on an exception", "pause": "paused"}


class DebuggerPane(QWidget):
    """Debug a plugin: code with breakpoints, stepping, stack, variables, watches, console.

    ``backend`` starts sessions and lists the plugins (Studio's RuntimeClient; a bare
    ``() -> RuntimeThread | None`` provider debugs in-process).
    """

    sig_stopped = Signal(str, int)  # path, line: the runtime stopped here (raise the pane)
    sig_resumed = Signal()  # the runtime runs again
    sig_session_started = Signal(str)  # plugin id
    sig_session_ended = Signal(str)  # plugin id
    sig_serve_dap_requested = Signal()  # the user wants to choose the debug adapter's port

    def __init__(self, backend: DebugBackend | RuntimeProvider,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = DebugClient(backend, self)
        self._plugin_id = ""
        self._other_views: list[CodeView] = []
        self._build_actions()
        self._build_widgets()
        self._wire_signals()
        self._update_actions()
        self._show_status("Not debugging. Choose Debug on a plugin in the plugin tree.")

    # construction

    def _action(self, icon_name: str, text: str, tip: str, shortcut: str,
                slot: Callable[[], None]) -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut,
                             context=Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_continue = self._action(
            "continue", "Continue", "Run until the next breakpoint", "F5", self.client.resume)
        self.action_step_over = self._action(
            "step-over", "Step Over", "Run to the next line of this function", "F10",
            self.client.step_over)
        self.action_step_into = self._action(
            "step-into", "Step Into", "Run to the next line, entering called functions", "F11",
            self.client.step_into)
        self.action_step_out = self._action(
            "step-out", "Step Out", "Run until this function returns", "Shift+F11",
            self.client.step_out)
        self.action_pause = self._action(
            "pause", "Pause", "Stop at the next line the plugin runs", "", self.pause)
        self.action_stop = self._action(
            "stop", "Stop Debugging", "Stop debugging; the runtime runs on untraced", "",
            self.stop_debugging)
        self.action_toggle_breakpoint = self._action(
            "breakpoint", "Toggle Breakpoint", "Add or remove a breakpoint on the cursor's line",
            "F9", self.toggle_breakpoint)
        self.action_stop_on_raised = make_action(
            self, "Stop on Raised Exceptions", "exception",
            "Stop where the debugged plugin raises an exception, even one it catches",
            name="action_stop_on_raised")
        self.action_stop_on_raised.setCheckable(True)
        self.action_serve_dap = make_action(
            self, "Serve Debug Adapter…", "external",
            "Let VS Code (or any Debug Adapter Protocol client) attach to this workspace's "
            "plugins on a local port", name="action_serve_dap")
        self.action_serve_dap.triggered.connect(self.sig_serve_dap_requested)

    def _build_widgets(self) -> None:
        self.toolbar = QToolBar("Debug", self)
        self.toolbar.setIconSize(self.toolbar.iconSize() * 0.85)
        for action in (self.action_continue, self.action_step_over, self.action_step_into,
                       self.action_step_out):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        for action in (self.action_pause, self.action_stop):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.action_toggle_breakpoint)
        self.toolbar.addAction(self.action_stop_on_raised)
        self.toolbar.addAction(self.action_serve_dap)
        self.status_label = QLabel(self)
        self.status_label.setContentsMargins(8, 0, 4, 0)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Preferred)
        self.status_label.setMinimumWidth(40)
        self.toolbar.addWidget(self.status_label)

        self.file_label = QLabel(self)
        self.file_label.setContentsMargins(4, 2, 4, 2)
        self.code_view = CodeView(self)
        self.console = EvaluateConsole(self)

        self.inspector = FrameInspector(self.client, self)
        self.breakpoints_panel = BreakpointsPanel(self)

        code = QWidget(self)
        code_layout = QVBoxLayout(code)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.setSpacing(0)
        code_layout.addWidget(self.file_label)
        code_layout.addWidget(self.code_view, 1)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(code)
        left.addWidget(titled("Evaluate", self.console))
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 1)
        self.inspector.addWidget(titled("Breakpoints", self.breakpoints_panel))
        self.inspector.setSizes([90, 330, 160, 160])
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.splitter, 1)
        self._update_file_label()

    def _wire_signals(self) -> None:
        self.client.sig_session_started.connect(self._on_client_session_started)
        self.client.sig_stopped.connect(self._on_client_stopped)
        self.client.sig_resumed.connect(self._on_client_resumed)
        self.client.sig_session_ended.connect(self._on_client_session_ended)
        self.client.sig_breakpoints_changed.connect(self._on_client_breakpoints_changed)
        self._connect_code_view(self.code_view)
        self.action_stop_on_raised.toggled.connect(self.client.set_stop_on_raised)
        self.inspector.sig_frame_selected.connect(self._on_inspector_frame_selected)
        self.console.sig_evaluate_requested.connect(self._on_console_evaluate_requested)
        self.breakpoints_panel.sig_open_requested.connect(self.open_source)
        self.breakpoints_panel.sig_enable_requested.connect(self._on_panel_enable_requested)
        self.breakpoints_panel.sig_remove_requested.connect(self._on_panel_remove_requested)
        self.breakpoints_panel.sig_message_breakpoint_requested.connect(
            self._on_panel_message_breakpoint_requested)
        self.breakpoints_panel.sig_plugin_chosen.connect(self._on_panel_plugin_chosen)

    # public API

    @property
    def plugin_id(self) -> str:
        """The plugin being debugged ("" for none)."""
        return self._plugin_id if self.client.active else ""

    @property
    def selected_frame(self) -> Frame | None:
        """The frame of the current stop whose variables are shown."""
        return self.inspector.selected_frame

    def debug_plugin(self, plugin_id: str, runtime: Any = None) -> bool:
        """Start debugging ``plugin_id`` (the plugin tree's "Debug" action calls this) on
        the workspace's runtime, or on ``runtime`` (a debugged test's harness)."""
        try:
            self.client.start(plugin_id, runtime)
        except (RuntimeError, KeyError, TimeoutError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            self._show_status(f"Cannot debug {plugin_id}: {message}", error=True)
            return False
        return True

    def pause(self) -> None:
        """Stop at the next line of the debugged plugin's code that runs."""
        if self.client.active and self.client.stopped is None:
            self.client.pause()
            self._show_status(f"Debugging {self._plugin_id}: pausing at the next line it runs")

    def stop_debugging(self) -> None:
        """End the session without waiting; a stopped runtime resumes at once."""
        self.client.stop()

    def shutdown(self, timeout: float = 5.0) -> None:
        """End the session, waiting up to ``timeout`` s for the runtime loop to stop
        tracing, and the inspection worker. Call before the runtime is stopped."""
        self.client.close(timeout)

    def open_source(self, path: str, line: int = 0) -> None:
        """Show ``path`` with its breakpoints, at ``line`` if given (the profiler calls this)."""
        self.client.sync_workspace()
        if not path:
            return
        if os.path.realpath(path) != os.path.realpath(self.code_view.path or os.sep) and \
                not self.code_view.load_file(path):
            self._show_status(f"Cannot show {path}", error=True)
            return
        self._update_file_label()
        self._refresh_markers()
        frame = self.inspector.selected_frame
        if frame is not None and os.path.realpath(frame.path) == os.path.realpath(path):
            self.code_view.set_execution_line(frame.line, self.inspector.selected_is_innermost)
        if line:
            self.code_view.go_to_line(line)

    def attach_code_view(self, view: CodeView) -> None:
        """Show and edit breakpoints in ``view`` too (an editor tab): its gutter clicks
        and menu act on the file it shows, and its markers follow every change."""
        if view is self.code_view or view in self._other_views:
            return
        self._other_views.append(view)
        view.destroyed.connect(lambda _obj=None, v=view: self._forget_code_view(v))
        self._connect_code_view(view)
        self.client.sync_workspace()
        view.set_markers(self.markers_for(view.path))

    def _forget_code_view(self, view: CodeView) -> None:
        if view in self._other_views:
            self._other_views.remove(view)

    def toggle_breakpoint(self) -> None:
        """Toggle a breakpoint on the code view's cursor line (F9)."""
        if self.code_view.path:
            self.client.toggle_breakpoint(self.code_view.path, self.code_view.cursor_line())

    def add_watch(self, expression: str) -> None:
        """Watch ``expression``: it is evaluated in the selected frame at each stop."""
        self.inspector.add_watch(expression)

    # session events

    def _on_client_session_started(self, plugin_id: str) -> None:
        self._plugin_id = plugin_id
        self._clear_stop()
        self.breakpoints_panel.set_plugins(self.client.plugin_ids(), preferred=plugin_id)
        session = self.client.session
        entry = session.entry_file() if session is not None else None
        shown = self.code_view.path
        if entry is not None and not (shown and session and session.debugger.is_visible(shown)):
            self.open_source(str(entry))
        self._refresh_markers()
        self._show_status(f"Debugging {plugin_id}: running")
        self.sig_session_started.emit(plugin_id)

    def _on_client_stopped(self, event: DebugStopped) -> None:
        stop = event.stop
        self._update_actions()
        if not stop.frames:
            return
        top = stop.frames[0]
        where = f"{top.function} ({os.path.basename(top.path)}:{top.line})"
        if event.message is not None:
            hit = event.message
            text = f"before {hit.target} handles “{hit.type}” from {hit.source}, in {where}"
        else:
            text = f"{_REASONS.get(stop.reason, stop.reason)} in {where}"
        if stop.exception:
            text += f": {stop.exception[0]}: {stop.exception[1]}"
        if stop.condition_error:
            text += f" ({stop.condition_error})"
        self._show_status(f"{self._plugin_id} stopped {text}",
                          error=bool(stop.exception or stop.condition_error))
        self.inspector.show_frames(stop.frames)
        self.sig_stopped.emit(top.path, top.line)

    def _on_client_resumed(self) -> None:
        self._clear_stop()
        self._show_status(f"Debugging {self._plugin_id}: running")
        self.sig_resumed.emit()

    def _on_client_session_ended(self, event: DebugEnded) -> None:
        self._clear_stop()
        self._refresh_markers()
        if event.error:
            self._show_status(f"Stopped debugging {event.plugin_id}: {event.error}", error=True)
        else:
            self._show_status(f"Stopped debugging {event.plugin_id}.")
        self.sig_session_ended.emit(event.plugin_id)

    def _on_client_breakpoints_changed(self, breakpoints: WorkspaceBreakpoints) -> None:
        # Breakpoints are re-placed after a hot reload: the shown file may have changed too.
        self.code_view.reload_if_changed()
        root = str(self.client.workspace or "")
        self.breakpoints_panel.set_breakpoints(breakpoints, root)
        self._refresh_markers()

    def _clear_stop(self) -> None:
        self.inspector.clear()
        self.code_view.set_execution_line(None)
        self._update_actions()

    # frames and the console

    def _on_inspector_frame_selected(self, frame: Frame, innermost: bool) -> None:
        self.open_source(frame.path)
        self.code_view.set_execution_line(frame.line, top=innermost)

    def _on_console_evaluate_requested(self, expression: str) -> None:
        frame = self.inspector.selected_frame
        if frame is None:
            self.console.show_result(expression, "not stopped: evaluate needs a stopped frame",
                                     error=True)
            return
        frame_id = frame.id

        def shown(result: str | Exception) -> None:
            if isinstance(result, Exception):
                self.console.show_result(expression, str(result), error=True)
            else:
                cut = result if len(result) <= _CONSOLE_LIMIT else result[:_CONSOLE_LIMIT] + "…"
                self.console.show_result(expression, cut)

        self.client.inspect(lambda dbg: dbg.evaluate(expression, frame_id), shown)

    # breakpoints

    def _connect_code_view(self, view: CodeView) -> None:
        view.sig_breakpoint_toggle_requested.connect(
            lambda line: self.client.toggle_breakpoint(view.path, line))
        view.sig_breakpoint_edit_requested.connect(
            lambda line, field: self._ask_breakpoint_field(view.path, line, field))
        view.sig_breakpoint_enable_requested.connect(
            lambda line, enabled: self._edit_breakpoint(view.path, line, enabled=enabled))
        view.sig_breakpoint_remove_requested.connect(
            lambda line: self.client.remove_breakpoint(view.path, line))

    def _refresh_markers(self) -> None:
        self.code_view.set_markers(self.markers_for(self.code_view.path))
        for view in self._other_views:
            view.set_markers(self.markers_for(view.path))
        self._update_actions()

    def markers_for(self, path: str) -> dict[int, GutterMarker]:
        """The breakpoint markers of ``path``'s gutter, by line."""
        active = self.client.active
        markers = {}
        for line, bp in self.client.breakpoints_in(path).items():
            verified = bp.verified or not active
            tip = describe(bp) if verified else "Cannot hit here: outside the debugged plugin"
            markers[line] = GutterMarker(
                enabled=bp.enabled, verified=verified,
                conditional=bool(bp.condition or bp.hit_condition),
                logpoint=bool(bp.log_message),
                tooltip=f"Breakpoint{' (disabled)' if not bp.enabled else ''}"
                        f"{': ' + tip if tip else ''}")
        return markers

    def _ask_breakpoint_field(self, path: str, line: int, field: str) -> None:
        current = self.client.breakpoints_in(path).get(line)
        title, label = _FIELD_TITLES[field]
        text = self._ask_text(title, label, getattr(current, field, None) or "")
        if text is None:
            return
        self._edit_breakpoint(path, line, **{field: text.strip() or None})

    def _edit_breakpoint(self, path: str, line: int, **changes: Any) -> None:
        try:
            self.client.edit_breakpoint(path, line, **changes)
        except ValueError as exc:
            self._show_status(str(exc), error=True)

    def _ask_text(self, title: str, label: str, text: str) -> str | None:
        """Ask for one line of text; None when cancelled."""
        answer, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, text)
        return answer if ok else None

    def _on_panel_enable_requested(self, row: SourceBreakpoint | MessageBreakpoint,
                                   enabled: bool) -> None:
        if isinstance(row, MessageBreakpoint):
            self.client.set_message_breakpoint(row.plugin_id, row.type, enabled)
        else:
            self.client.edit_breakpoint(row.path, row.line, enabled=enabled)

    def _on_panel_remove_requested(self, row: SourceBreakpoint | MessageBreakpoint) -> None:
        if isinstance(row, MessageBreakpoint):
            self.client.remove_message_breakpoint(row.plugin_id, row.type)
        else:
            self.client.remove_breakpoint(row.path, row.line)

    def _on_panel_message_breakpoint_requested(self, plugin_id: str, type: str) -> None:
        self.client.set_message_breakpoint(plugin_id, type)

    def _on_panel_plugin_chosen(self, plugin_id: str) -> None:
        self.breakpoints_panel.set_types(self.client.handled_types(plugin_id) if plugin_id
                                         else [])

    # presentation

    def _update_actions(self) -> None:
        active = self.client.active
        stopped = active and self.client.stopped is not None
        for action in (self.action_continue, self.action_step_over, self.action_step_into,
                       self.action_step_out):
            action.setEnabled(stopped)
        self.action_pause.setEnabled(active and not stopped)
        self.action_stop.setEnabled(active)
        self.action_toggle_breakpoint.setEnabled(bool(self.code_view.path))

    def _update_file_label(self) -> None:
        path = self.code_view.path
        if not path:
            self.file_label.setText("")
            self.file_label.hide()
            return
        workspace = str(self.client.workspace or "")
        shown = os.path.relpath(path, workspace) if workspace and \
            os.path.realpath(path).startswith(os.path.realpath(workspace) + os.sep) else path
        self.file_label.setText(shown)
        self.file_label.setToolTip(path)
        self.file_label.show()

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)
        color = theme.color("error").name() if error else ""
        self.status_label.setStyleSheet(f"color: {color};" if color else "")
