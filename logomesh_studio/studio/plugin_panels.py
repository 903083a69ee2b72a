"""Plugin panels: the Studio side of the manifest's ``[ui] panel`` extension point.

For each plugin whose manifest names a panel factory (``module:function`` in a module
beside its package), Studio imports that module on the GUI thread, calls the factory
with a :class:`StudioPanelLink` and docks the widget it returns, with a View menu
entry. When the plugin hot-reloads, its panel module is imported again and the dock
gets a new widget from it, so an edit of the panel shows at once. The link is the panel's only way to its plugin: messages sent through the
RuntimeClient as the developer. A factory that fails (import error, exception, not a
widget) gets a dock showing its traceback; Studio carries on.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QPlainTextEdit, QWidget

from logomesh_studio.runtime.manifest import ManifestError, load_manifest
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.resources import icon

_log = logging.getLogger(__name__)


class StudioPanelLink(QObject):
    """What a panel factory gets (``logomesh_studio.panels.PanelLink``): the plugin's id
    and :meth:`send`, which never blocks the GUI."""

    sig_callback_failed = Signal(str)  # a panel's on_reply/on_error raised: the traceback

    def __init__(self, client: RuntimeClient, plugin_id: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._plugin_id = plugin_id

    @property
    def plugin_id(self) -> str:
        """The id of the plugin whose manifest names the panel."""
        return self._plugin_id

    def send(self, type: str, payload: Any = None, *,
             on_reply: Callable[[Any], None] | None = None,
             on_error: Callable[[str], None] | None = None) -> None:
        """Send ``type`` with ``payload`` to the plugin as the developer; later, on the GUI
        thread, ``on_reply(response)`` or ``on_error(message)``."""
        self._client.spawn(self._send(type, payload, on_reply, on_error),
                           f"panel of {self._plugin_id}: send {type!r}")

    async def _send(self, type: str, payload: Any, on_reply: Callable[[Any], None] | None,
                    on_error: Callable[[str], None] | None) -> None:
        try:
            response = await self._client.send(self._client.developer, self._plugin_id, type,
                                               payload)
        except Exception as exc:  # the plugin's error, a refusal, no workspace: the panel's
            self._call(on_error, str(exc))
            return
        self._call(on_reply, response)

    def _call(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:  # a panel's bug stays in its dock, never reaches Studio
            text = traceback.format_exc()
            _log.warning("panel of %s: callback failed\n%s", self._plugin_id, text)
            self.sig_callback_failed.emit(text)


def load_factory(folder: Path, spec: str) -> Callable[[Any], Any]:
    """Import ``module`` of ``spec`` (``module:function``) from ``folder`` as a module of
    its own, and return the function. Raises ImportError or AttributeError."""
    module_name, _, function = spec.partition(":")
    relative = Path(*module_name.split("."))
    candidates = [folder / f"{relative}.py", folder / relative / "__init__.py"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise ImportError(f"{folder}: no {candidates[0].name} for the panel {spec!r}")
    unique = "logomesh_panel_" + re.sub(r"\W", "_", f"{folder.name}_{module_name}")
    loader_spec = importlib.util.spec_from_file_location(unique, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"{path}: cannot be imported")
    module: ModuleType = importlib.util.module_from_spec(loader_spec)
    sys.modules[unique] = module  # dataclasses and pickling look modules up by name
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(unique, None)
        raise
    factory = getattr(module, function, None)
    if not callable(factory):
        raise AttributeError(f"{path}: no function {function!r} for the panel {spec!r}")
    return factory


class PluginPanels(QObject):
    """Docks the panels that the workspace's plugins name, one per plugin."""

    sig_panel_failed = Signal(str, str)  # plugin id, error

    def __init__(self, client: RuntimeClient, window: QMainWindow,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.window = window
        self.docks: dict[str, QDockWidget] = {}
        self._sources: dict[str, tuple[Path, Path]] = {}  # plugin id -> folder, manifest
        self.menu = QMenu("Plugin &Panels", window)
        self.menu.setIcon(icon("panel"))
        self.menu.setObjectName("plugin_panels_menu")
        self._update_menu()
        self.client.sig_plugins_listed.connect(self._on_client_plugins_listed)
        self.client.sig_workspace_opened.connect(self._on_client_workspace_opened)
        self.client.sig_reload_completed.connect(self._on_client_reload_completed)

    def _on_client_plugins_listed(self, infos: list) -> None:
        present = {info.id for info in infos}
        for plugin_id in [p for p in self.docks if p not in present]:
            self._remove(plugin_id)
        for info in infos:
            if info.id not in self.docks and info.status == PluginStatus.RUNNING:
                self._add(info.id, Path(info.folder), Path(info.manifest_path))
        self._update_menu()

    def _on_client_workspace_opened(self, workspace: str) -> None:
        for plugin_id in list(self.docks):
            self._remove(plugin_id)
        self._update_menu()

    def _on_client_reload_completed(self, event: Any) -> None:
        dock = self.docks.get(event.plugin_id)
        if dock is None:
            return
        made = self._make_panel(event.plugin_id, *self._sources[event.plugin_id])
        if made is None:  # the new manifest names no panel any more
            self._remove(event.plugin_id)
            self._update_menu()
            return
        title, widget = made
        old = dock.widget()
        dock.setWidget(widget)  # the same dock: it stays where the user put it
        dock.setWindowTitle(title)
        if old is not None:
            old.deleteLater()

    def _add(self, plugin_id: str, folder: Path, manifest_path: Path) -> None:
        made = self._make_panel(plugin_id, folder, manifest_path)
        if made is None:
            return
        title, widget = made
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"panel_{plugin_id}_dock")
        dock.setWindowIcon(icon("panel"))
        dock.setWidget(widget)
        dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        # Where the user left it last time (saved layout), else beside the messages.
        messages = self.window.findChild(QDockWidget, "messages_dock")
        if not self.window.restoreDockWidget(dock) and messages is not None:
            self.window.tabifyDockWidget(messages, dock)
        self.docks[plugin_id] = dock
        self._sources[plugin_id] = (folder, manifest_path)

    def _make_panel(self, plugin_id: str, folder: Path, manifest_path: Path
                    ) -> tuple[str, QWidget] | None:
        """The dock title and a new widget from the panel module (imported afresh), or
        None if the manifest names no panel; a failing factory gives an error view."""
        try:
            ui = load_manifest(manifest_path).ui
        except ManifestError:
            return None  # the plugin tree reports manifest problems
        if ui is None:
            return None
        title = ui.title or plugin_id
        link = StudioPanelLink(self.client, plugin_id, self)
        try:
            widget = load_factory(folder, ui.panel)(link)
            if not isinstance(widget, QWidget):
                raise TypeError(f"{ui.panel} returned {type(widget).__name__}, not a QWidget")
        except Exception:  # any failure of plugin code: shown, never fatal
            error = traceback.format_exc()
            _log.warning("panel of %s failed:\n%s", plugin_id, error)
            widget = _error_view(f"The panel of {plugin_id} ({ui.panel}) failed:\n\n{error}")
            self.sig_panel_failed.emit(plugin_id, error.strip().splitlines()[-1])
        link.sig_callback_failed.connect(
            lambda text, p=plugin_id: self.sig_panel_failed.emit(p, text.strip().splitlines()[-1]))
        widget.setMinimumSize(120, 80)
        return title, widget

    def _remove(self, plugin_id: str) -> None:
        self._sources.pop(plugin_id, None)
        dock = self.docks.pop(plugin_id)
        self.window.removeDockWidget(dock)
        dock.deleteLater()

    def _update_menu(self) -> None:
        self.menu.clear()
        for plugin_id, dock in sorted(self.docks.items()):
            action = dock.toggleViewAction()
            action.setToolTip(f"Show or hide the panel of {plugin_id}")
            action.setIcon(icon("panel"))
            self.menu.addAction(action)
        if not self.docks:
            self.menu.addAction("No plugin has a panel").setEnabled(False)


def _error_view(text: str) -> QWidget:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setPlainText(text)
    view.setObjectName("panel_error")
    return view
