"""The Studio main window: its dock panes (plugins, messages, logs, reloads, debugger,
profiler, editor), menus, status bar and persisted layout.

The debugger and profiler panes are built just after the window is first shown; until
then their docks hold a placeholder.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QByteArray, QPoint, QProcess, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from logomesh_studio import __version__
from logomesh_studio.runtime.events import (
    ReloadCompleted,
    ReloadFailed,
    ReloadStarted,
    Watching,
)
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio import theme as themes
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.authoring import AuthoringTools
from logomesh_studio.studio.client import ClientState, RuntimeClient
from logomesh_studio.studio.formatting import clock
from logomesh_studio.studio.panes.insights import InsightsPane
from logomesh_studio.studio.panes.logs import LogsPane
from logomesh_studio.studio.panes.messages import MessagesPane
from logomesh_studio.studio.panes.orchestration import OrchestrationPane
from logomesh_studio.studio.panes.plugins import PluginsPane
from logomesh_studio.studio.panes.reloads import ReloadsPane
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.theme import MODES, ThemeController

if TYPE_CHECKING:
    from logomesh_studio.studio.panes.debugger import DebuggerPane
    from logomesh_studio.studio.panes.profiler import ProfilerPane

APP_TITLE = "LogoMesh Studio"
STATE_VERSION = 1
MAX_RECENT = 8
DAP_PORT_SETTING = "debug/dap_port"
"""The port Studio serves the Debug Adapter Protocol on for every workspace (0: off)."""


def _dap_port_setting(settings: QSettings) -> int:
    value = settings.value(DAP_PORT_SETTING, 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
DEFAULT_SIZE = QSize(1400, 880)
"""The first window's size where the screen has room for it."""
SCREEN_SHARE = 0.92
"""On a smaller screen, the first window takes this share of its free area (so the title bar
and the window's frame fit too)."""


@dataclass(frozen=True)
class _Dock:
    title: str
    icon: str
    shortcut: str


_DOCKS = {
    "plugins": _Dock("Plugins", "plugin", "Ctrl+1"),
    "messages": _Dock("Messages", "messages", "Ctrl+2"),
    "logs": _Dock("Logs", "logs", "Ctrl+3"),
    "reloads": _Dock("Reloads", "history", "Ctrl+4"),
    "debugger": _Dock("Debugger", "debug", "Ctrl+5"),
    "profiler": _Dock("Profiler", "profiler", "Ctrl+6"),
    "editor": _Dock("Editor", "edit", "Ctrl+7"),
    "tests": _Dock("Tests", "tests", "Ctrl+8"),
    "orchestration": _Dock("Orchestration", "layout", "Ctrl+9"),
    "insights": _Dock("Insights", "insights", "Ctrl+Shift+I"),
}
"""Every pane's dock: title, icon and the shortcut of its View menu toggle."""
_SPLIT_PANES = ("messages", "plugins", "logs", "reloads", "debugger", "profiler")
"""The panes whose splitter position is remembered."""
_LAZY_PANES = ("debugger", "profiler")
"""Built just after the window is first shown: they pull in the runtime, numpy and
pyqtgraph, which would otherwise double the time to the first window."""


class MainWindow(QMainWindow):
    """Plugins, messages, logs, reloads, debugger, profiler and editor as movable,
    closable, restorable docks; the debugger and profiler are built once the window is
    shown."""

    sig_first_shown = Signal()
    sig_workspace_requested = Signal(str)

    def __init__(self, client: RuntimeClient, settings: QSettings,
                 theme: ThemeController | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.client = client
        self.settings = settings
        self.theme = theme
        dap_port = _dap_port_setting(settings)
        if dap_port:
            client.serve_dap(dap_port)
        self._shown_once = False
        self._message_count = 0
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(1000)
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icon("app"))
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks |
                            QMainWindow.DockOption.AllowNestedDocks |
                            QMainWindow.DockOption.AllowTabbedDocks)
        self.plugins = PluginsPane(client, self)
        self.messages = MessagesPane(client, self)
        self.logs = LogsPane(client, self)
        self.reloads = ReloadsPane(client, self)
        self.orchestration = OrchestrationPane(client, self)
        self.insights = InsightsPane(client, self)
        self.authoring = AuthoringTools(self)
        self._lazy: dict[str, DebuggerPane | ProfilerPane] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._default_state = self.saveState(STATE_VERSION)
        self._wire_signals()
        self.restore_layout()

    # -- construction -----------------------------------------------------------------------

    def _dock(self, name: str, widget: QWidget) -> QDockWidget:
        spec = _DOCKS[name]
        dock = QDockWidget(spec.title, self)
        dock.setObjectName(f"{name}_dock")
        # An explicit small minimum lets tall panes (the debugger's stacked inspector)
        # shrink with the window instead of forcing it taller.
        widget.setMinimumSize(120, 120)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable |
                         QDockWidget.DockWidgetFeature.DockWidgetClosable |
                         QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setWindowIcon(icon(spec.icon))
        self.docks[name] = dock
        return dock

    def _build_docks(self) -> None:
        plugins = self._dock("plugins", self.plugins)
        messages = self._dock("messages", self.messages)
        logs = self._dock("logs", self.logs)
        reloads = self._dock("reloads", self.reloads)
        debugger = self._dock("debugger", QLabel("Loading the debugger…"))
        profiler = self._dock("profiler", QLabel("Loading the profiler…"))
        editor = self._dock("editor", self.authoring.editor)
        tests = self._dock("tests", self.authoring.tests)
        orchestration = self._dock("orchestration", self.orchestration)
        insights = self._dock("insights", self.insights)
        # No central widget: every pane is a dock, so any of them can be closed or moved.
        self.setCentralWidget(None)  # type: ignore[arg-type]  # Qt accepts None here
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, plugins)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, messages)
        self.splitDockWidget(plugins, messages, Qt.Orientation.Horizontal)
        self.splitDockWidget(messages, logs, Qt.Orientation.Vertical)
        self.tabifyDockWidget(logs, reloads)
        self.tabifyDockWidget(messages, debugger)
        self.tabifyDockWidget(logs, profiler)
        self.tabifyDockWidget(messages, editor)
        self.tabifyDockWidget(logs, tests)
        self.tabifyDockWidget(messages, orchestration)
        self.tabifyDockWidget(logs, insights)
        messages.raise_()
        logs.raise_()
        # Shares of the window (it is not sized yet): the plugin tree's six columns fit
        # without scrolling in the first window on a 1280x800 screen.
        self.resizeDocks([plugins, messages], [500, 800], Qt.Orientation.Horizontal)
        self.resizeDocks([messages, logs], [560, 300], Qt.Orientation.Vertical)

    def _action(self, name: str, text: str, icon_name: str, tip: str,
                shortcut: str | QKeySequence.StandardKey = "") -> QAction:
        return make_action(self, text, icon_name, tip, shortcut, name=name)

    def _build_actions(self) -> None:
        self.action_open = self._action("action_open_workspace", "&Open Workspace…", "open",
                                        "Open a folder of plugins", QKeySequence.StandardKey.Open)
        self.action_reopen = self._action("action_restart_workspace", "&Restart Workspace",
                                          "reload", "Stop every plugin and load the workspace "
                                          "again", "Ctrl+Shift+F5")
        self.action_quit = self._action("action_quit", "&Quit", "quit", "Quit LogoMesh Studio",
                                        QKeySequence.StandardKey.Quit)
        self.action_reset_layout = self._action("action_reset_layout", "Reset &Layout", "layout",
                                                "Put every pane back where it started")
        self.action_about = self._action("action_about", "&About LogoMesh Studio", "app",
                                         "Version and credits")
        self.dock_actions: dict[str, QAction] = {}
        for name, dock in self.docks.items():
            spec = _DOCKS[name]
            action = dock.toggleViewAction()
            action.setObjectName(f"action_toggle_{name}")
            action.setIcon(icon(spec.icon))
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setToolTip(f"Show or hide the {spec.title} pane ({spec.shortcut})")
            self.dock_actions[name] = action
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for mode in MODES:
            action = self._action(f"action_theme_{mode}", mode.title(), "theme",
                                  f"Use the {mode} colour scheme")
            action.setCheckable(True)
            action.setData(mode)
            self.theme_group.addAction(action)
            self.theme_actions[mode] = action
        mode = self.theme.mode if self.theme is not None else "system"
        self.theme_actions[mode].setChecked(True)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.action_open)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.setObjectName("recent_menu")
        self.recent_menu.setIcon(icon("history"))
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.action_reopen)
        file_menu.addSeparator()
        file_menu.addAction(self.orchestration.action_new)
        file_menu.addAction(self.orchestration.action_open)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        plugin_menu = bar.addMenu("&Plugin")
        for action in self.plugins.plugin_actions:
            plugin_menu.addAction(action)
        messages_menu = bar.addMenu("&Messages")
        for action in (self.messages.action_send, self.messages.action_replay,
                       self.messages.action_edit_resend, self.messages.action_copy_payload):
            messages_menu.addAction(action)
        messages_menu.addSeparator()
        messages_menu.addAction(self.messages.action_pause)
        messages_menu.addAction(self.messages.action_clear)
        self.authoring.add_menu_entries(file_menu, messages_menu)
        bar.addMenu(self.authoring.tests_menu())
        view_menu = bar.addMenu("&View")
        for action in self.dock_actions.values():
            view_menu.addAction(action)
        view_menu.addMenu(self.authoring.panels.menu)
        view_menu.addSeparator()
        view_menu.addAction(self.action_reset_layout)
        theme_menu = view_menu.addMenu(icon("theme"), "&Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_about)
        self._update_recent_menu()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.state_label = QLabel(self)
        self.state_label.setObjectName("runtime_state")
        self.rate_label = QLabel(self)
        self.rate_label.setObjectName("message_rate")
        self.reload_label = QLabel(self)
        self.reload_label.setObjectName("last_reload")
        self.reload_label.setTextFormat(Qt.TextFormat.RichText)
        status.addWidget(self.state_label)
        status.addPermanentWidget(self.rate_label)
        status.addPermanentWidget(self.reload_label)
        self._update_state_label()

    def _wire_signals(self) -> None:
        self.client.sig_state_changed.connect(self._on_client_state_changed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_watching.connect(self._on_client_watching)
        self.client.sig_messages_recorded.connect(self._on_client_messages_recorded)
        self.client.sig_reload_started.connect(self._on_client_reload_started)
        self.client.sig_reload_completed.connect(self._on_client_reload_completed)
        self.client.sig_reload_failed.connect(self._on_client_reload_failed)
        self.client.sig_command_failed.connect(self._on_client_command_failed)
        self._rate_timer.timeout.connect(self._on_rate_timer_timeout)
        self.action_open.triggered.connect(self._on_open_triggered)
        self.action_reopen.triggered.connect(self._on_reopen_triggered)
        self.action_quit.triggered.connect(self.close)
        self.action_reset_layout.triggered.connect(self.reset_layout)
        self.action_about.triggered.connect(self._on_about_triggered)
        self.theme_group.triggered.connect(self._on_theme_action_triggered)
        self.recent_menu.triggered.connect(self._on_recent_menu_triggered)
        self.plugins.sig_show_messages_requested.connect(self._on_plugins_show_messages)
        self.plugins.sig_send_message_requested.connect(self._on_plugins_send_message)
        for pane in (self.plugins, self.logs, self.reloads):
            pane.sig_open_file_requested.connect(self.open_location)
        self.reloads.sig_plugin_selected.connect(self.plugins.select_plugin)
        self.insights.sig_plugin_selected.connect(self.plugins.select_plugin)
        self.insights.sig_open_file_requested.connect(self.open_location)
        self.insights.sig_show_messages_requested.connect(self._on_insights_show_messages)
        self.insights.sig_profile_requested.connect(self._on_insights_profile_requested)
        self.orchestration.sig_open_file_requested.connect(self.open_location)
        self.orchestration.action_new.triggered.connect(lambda: self._raise_dock("orchestration"))
        self.orchestration.action_open.triggered.connect(
            lambda: self._raise_dock("orchestration"))
        self.client.sig_workspace_loaded.connect(self._on_client_workspace_loaded)
        self.plugins.sig_debug_requested.connect(self._on_plugins_debug_requested)
        self.client.sig_state_changed.connect(self._on_client_state_for_debugger)
        self.client.sig_dap_serving.connect(self._on_client_dap_serving)
        if self.theme is not None:
            self.theme.sig_theme_changed.connect(self._on_theme_changed)

    # -- workspace --------------------------------------------------------------------------

    def open_workspace(self, path: Path | str) -> None:
        """Open ``path`` in the runtime (replacing the current workspace)."""
        path = Path(path).resolve()
        self.setWindowTitle(f"{APP_TITLE} - {path.name}")
        self._add_recent(path)
        self.sig_workspace_requested.emit(str(path))
        self.client.spawn(self.client.open(path), f"open {path}")

    def _on_open_triggered(self) -> None:
        start = str(self.client.workspace or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open Workspace", start)
        if folder:
            self.open_workspace(folder)

    def _on_reopen_triggered(self) -> None:
        if self.client.workspace is not None:
            self.open_workspace(self.client.workspace)

    def recent_workspaces(self) -> list[str]:
        value = self.settings.value("recent_workspaces", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def _add_recent(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_workspaces() if p != str(path)]
        self.settings.setValue("recent_workspaces", recent[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_workspaces()
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(icon("folder"), f"&{i + 1} {path}")
            action.setData(path)
            action.setToolTip(f"Open {path}")
        if not recent:
            self.recent_menu.addAction("No recent workspaces").setEnabled(False)
        self.recent_menu.setEnabled(bool(recent))

    def _on_recent_menu_triggered(self, action: QAction) -> None:
        path = action.data()
        if not path:
            return
        if not Path(path).is_dir():
            QMessageBox.warning(self, "Open Recent", f"{path}: the folder no longer exists.")
            return
        self.open_workspace(path)

    # -- client events ----------------------------------------------------------------------

    def _on_client_workspace_opened(self, workspace: str) -> None:
        name = Path(workspace).name if workspace else "(no workspace)"
        self.setWindowTitle(f"{APP_TITLE} - {name}")
        self.reload_label.clear()
        self._update_state_label()

    def _on_client_workspace_loaded(self, event: object) -> None:
        # A first look at orchestrations: open the workspace's first one, ready to run (F5).
        workspace = self.client.workspace
        if self.orchestration.document is None and workspace is not None:
            found = sorted(workspace.glob("*.orchestration.yaml"),
                           key=lambda p: (p.name != "text-pipeline.orchestration.yaml", p.name))
            if found:
                self.orchestration.open_file(found[0])

    def _on_client_state_changed(self, state: str) -> None:
        self._update_state_label()

    def _on_client_plugins_listed(self, infos: list) -> None:
        self._update_state_label()

    def _on_client_watching(self, event: Watching) -> None:
        self._update_state_label()

    def _update_state_label(self) -> None:
        state = self.client.state
        infos = self.client.plugin_infos
        text = f"Runtime: {state}"
        if state == ClientState.RUNNING:
            running = sum(1 for i in infos if i.status == PluginStatus.RUNNING)
            failed = sum(1 for i in infos if i.status == PluginStatus.FAILED)
            text += f" · {running} running"
            if failed:
                text += f", {failed} failed"
            if self.client.watching:
                text += " · watching for changes"
        self.state_label.setText(text)

    def _on_client_messages_recorded(self, batch: list) -> None:
        self._message_count += len(batch)
        if not self._rate_timer.isActive():
            self._rate_timer.start()

    def _on_rate_timer_timeout(self) -> None:
        count, self._message_count = self._message_count, 0
        self.rate_label.setText(f"{count:,} msg/s" if count else "")
        if not count:
            self._rate_timer.stop()

    def _on_client_reload_started(self, event: ReloadStarted) -> None:
        self.reload_label.setText(f"Reloading {event.plugin_id}…")

    def _on_client_reload_completed(self, event: ReloadCompleted) -> None:
        total = event.timings.get("total", 0.0) * 1000
        when = clock(event.time, milliseconds=False)
        ok = themes.color("ok").name()
        self.reload_label.setText(f'<span style="color:{ok}">●</span> Reloaded '
                                  f"<b>{event.plugin_id}</b> {event.version} in {total:.0f} ms "
                                  f"at {when}")
        self.statusBar().showMessage(f"Reloaded {event.plugin_id} in {total:.0f} ms", 5000)

    def _on_client_reload_failed(self, event: ReloadFailed) -> None:
        when = clock(event.time, milliseconds=False)
        red = themes.color("error").name()
        self.reload_label.setText(f'<span style="color:{red}">● Reload of <b>{event.plugin_id}'
                                  f"</b> failed at {event.stage} ({when})</span>")
        self.reload_label.setToolTip(event.error)

    def _on_client_command_failed(self, command: str, error: str) -> None:
        self.statusBar().showMessage(f"{command}: {error}", 10000)

    def _on_plugins_show_messages(self, plugin_id: str) -> None:
        self.messages.set_filter(plugin=plugin_id)
        self.docks["messages"].show()
        self.docks["messages"].raise_()

    def _on_insights_show_messages(self, plugin_id: str, message_type: str) -> None:
        self.messages.set_filter(plugin=plugin_id, type=message_type)
        self._raise_dock("messages")

    def _on_insights_profile_requested(self, plugin_id: str) -> None:
        self._raise_dock("profiler")
        self.statusBar().showMessage(
            f"Record a profile while {plugin_id} works; the flame chart shows where its "
            "handlers spend the time", 10000)

    def _on_plugins_send_message(self, plugin_id: str) -> None:
        self.messages.open_composer(target=plugin_id)

    # -- debugger and profiler (built lazily) -------------------------------------------------

    @property
    def debugger(self) -> DebuggerPane:
        """The DebuggerPane (built on first use)."""
        return cast("DebuggerPane", self._lazy_pane("debugger"))

    @property
    def profiler(self) -> ProfilerPane:
        """The ProfilerPane (built on first use)."""
        return cast("ProfilerPane", self._lazy_pane("profiler"))

    def _lazy_pane(self, name: str) -> DebuggerPane | ProfilerPane:
        pane = self._lazy.get(name)
        if pane is not None:
            return pane
        if name == "debugger":
            from logomesh_studio.studio.panes.debugger import DebuggerPane

            debugger = DebuggerPane(self.client, self)
            debugger.sig_stopped.connect(self._on_debugger_stopped)
            debugger.sig_session_started.connect(self._on_debugger_session_started)
            debugger.sig_serve_dap_requested.connect(self._on_debugger_serve_dap_requested)
            pane = debugger
        else:
            from logomesh_studio.studio.panes.profiler import ProfilerPane

            profiler = ProfilerPane(record=self.client.record_profile, parent=self)
            profiler.sig_open_source_requested.connect(self._on_profiler_open_source)
            profiler.sig_error.connect(self._on_profiler_error)
            pane = profiler
        self._lazy[name] = pane
        pane.setMinimumSize(120, 120)
        placeholder = self.docks[name].widget()
        self.docks[name].setWidget(pane)
        placeholder.deleteLater()
        splitter_state = self.settings.value(f"splitters/{name}")
        if isinstance(splitter_state, QByteArray):
            pane.splitter.restoreState(splitter_state)
        return pane

    def built_pane(self, name: str):
        """The lazily built pane ``name`` if it is built already, else None."""
        return self._lazy.get(name)

    def _build_lazy_panes(self) -> None:
        for name in _LAZY_PANES:
            self._lazy_pane(name)

    def build_all_panes(self) -> None:
        """Build every pane now, the lazily built ones too (the self-test opens them all)."""
        self._build_lazy_panes()

    def _raise_dock(self, name: str) -> None:
        self.docks[name].show()
        self.docks[name].raise_()

    def _on_plugins_debug_requested(self, plugin_id: str) -> None:
        if self.debugger.debug_plugin(plugin_id):
            self._raise_dock("debugger")

    def _on_debugger_stopped(self, path: str, line: int) -> None:
        self._raise_dock("debugger")

    def _on_debugger_session_started(self, plugin_id: str) -> None:
        self._raise_dock("debugger")
        self.statusBar().showMessage(f"Debugging {plugin_id}: set breakpoints in the gutter", 8000)

    def serve_dap(self, port: int) -> None:
        """Serve the debugger over DAP on 127.0.0.1:``port`` for every workspace from now
        on, and remember it in the settings (0: stop serving)."""
        self.settings.setValue(DAP_PORT_SETTING, port)
        self.client.serve_dap(port or None)

    def _on_debugger_serve_dap_requested(self) -> None:
        current = _dap_port_setting(self.settings)
        port, ok = QInputDialog.getInt(
            self, "Serve Debug Adapter",
            "Port for VS Code (or any DAP client) to attach to on 127.0.0.1 (0: off):",
            current or 5678, 0, 65535)
        if ok:
            self.serve_dap(port)

    def _on_client_dap_serving(self, address: str) -> None:
        text = (f"Debug adapter listening on {address}: attach VS Code to it" if address
                else "Debug adapter stopped")
        self.statusBar().showMessage(text, 8000)

    def _on_client_state_for_debugger(self, state: str) -> None:
        if state != ClientState.RUNNING and "debugger" in self._lazy:  # closing or reopening: detach
            self.debugger.stop_debugging()

    def _on_profiler_open_source(self, path: str, line: int) -> None:
        self.open_location(path, line)

    def _on_profiler_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    def open_location(self, path: str, line: int) -> None:
        """Show ``path`` at ``line``: in the editor configured as ``editor/command`` in the
        settings (e.g. ``code -g {path}:{line}``), else in the Studio's editor."""
        if self.settings.value("editor/command", "") or not self.authoring.can_open(path):
            self.open_external(path, line)
        elif self.authoring.open_file(path, line) is not None:
            self.statusBar().showMessage(f"Opened {path}:{line}", 5000)

    def open_external(self, path: str, line: int) -> None:
        """Open ``path`` at ``line`` in the ``editor/command`` editor, else in the
        desktop's default application for it."""
        template = str(self.settings.value("editor/command", "") or "")
        if template:
            args = [a.format(path=path, line=line) for a in shlex.split(template)]
            QProcess.startDetached(args[0], args[1:])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))
        self.statusBar().showMessage(f"Opened {path}:{line}", 5000)

    # -- appearance and layout --------------------------------------------------------------

    def _on_theme_action_triggered(self, action: QAction) -> None:
        mode = action.data()
        self.settings.setValue("theme", mode)
        if self.theme is not None:
            self.theme.set_mode(mode)

    def _on_theme_changed(self, dark: bool) -> None:
        views = [self.plugins.tree, self.messages.table, self.logs.table, self.reloads.table]
        if "profiler" in self._lazy:
            views.append(self.profiler.table)
        for view in views:
            view.viewport().update()

    def _on_about_triggered(self) -> None:
        QMessageBox.about(self, "About LogoMesh Studio",
                          f"<b>LogoMesh Studio</b> {__version__}<br>"
                          "A desktop IDE for LogoMesh plugins: hot reload, message inspector, "
                          "logs, debugger and profiler.")

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, STATE_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        for name in _SPLIT_PANES:
            pane = self._lazy.get(name) if name in _LAZY_PANES else getattr(self, name)
            if pane is not None:
                self.settings.setValue(f"splitters/{name}", pane.splitter.saveState())
        self.settings.sync()

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)  # Qt moves and shrinks it onto today's screens
        else:
            self.fit_to_screen()
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, STATE_VERSION)
        for name in _SPLIT_PANES:
            splitter_state = self.settings.value(f"splitters/{name}")
            if isinstance(splitter_state, QByteArray) and name not in _LAZY_PANES:
                getattr(self, name).splitter.restoreState(splitter_state)

    def fit_to_screen(self) -> None:
        """Take :data:`DEFAULT_SIZE`, or as much of the screen as leaves its frame visible,
        centred on the screen the window opens on."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(DEFAULT_SIZE)
            return
        room = screen.availableGeometry()
        size = DEFAULT_SIZE.boundedTo(QSize(int(room.width() * SCREEN_SHARE),
                                            int(room.height() * SCREEN_SHARE)))
        self.resize(size)
        self.move(room.center() - QPoint(size.width() // 2, size.height() // 2))

    # -- Qt events --------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self, self._on_first_show_timeout)

    def _on_first_show_timeout(self) -> None:
        self.sig_first_shown.emit()
        QTimer.singleShot(0, self, self._build_lazy_panes)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.authoring.confirm_close():  # unsaved edits, and the user said Cancel
            event.ignore()
            return
        if not self.orchestration.maybe_save():  # unsaved orchestration edits: asked first
            event.ignore()
            return
        self.save_layout()
        if "debugger" in self._lazy:  # a runtime stopped at a breakpoint must resume to close
            self.debugger.shutdown(timeout=1.0)
        super().closeEvent(event)
