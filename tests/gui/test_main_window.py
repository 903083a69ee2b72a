"""The main window: title, docks, layout persistence, workspaces, themes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import shiboken6
from PySide6.QtCore import Qt

from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow

TIMEOUT_MS = 10_000


def test_title_names_the_workspace(studio, two_plugins):
    studio.open(two_plugins.root)
    assert studio.window.windowTitle() == "LogoMesh Studio - workspace"


def test_every_pane_is_a_closable_movable_dock_with_a_view_toggle(studio):
    window = studio.window
    assert set(window.docks) == {"plugins", "messages", "logs", "reloads", "debugger",
                                 "profiler", "editor", "tests", "orchestration", "insights"}
    for name, dock in window.docks.items():
        assert dock.features() & dock.DockWidgetFeature.DockWidgetClosable
        assert dock.features() & dock.DockWidgetFeature.DockWidgetMovable
        action = window.dock_actions[name]
        assert action.toolTip() and not action.icon().isNull()
        assert not action.shortcut().isEmpty()
    window.dock_actions["logs"].trigger()
    assert not window.docks["logs"].isVisible()
    window.dock_actions["logs"].trigger()
    assert window.docks["logs"].isVisible()


def test_every_action_has_a_name_tooltip_and_icon(studio):
    window = studio.window
    actions = [window.action_open, window.action_reopen, window.action_quit,
               window.action_reset_layout, *window.plugins.plugin_actions,
               window.messages.action_send, window.messages.action_replay,
               window.messages.action_pause, window.messages.action_clear,
               window.logs.action_clear, window.reloads.action_clear]
    for action in actions:
        assert action.objectName().startswith("action_"), action.text()
        assert action.toolTip(), action.objectName()
        assert not action.icon().isNull(), action.objectName()
    assert window.plugins.action_reload.shortcut().toString() == "Ctrl+Shift+R"


def test_layout_round_trips_through_qsettings(qtbot, async_loop, settings, theme):
    client = RuntimeClient()
    first = MainWindow(client, settings, theme)
    first.show()
    first.resize(720, 560)
    first.removeDockWidget(first.docks["plugins"])
    first.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, first.docks["plugins"])
    first.docks["plugins"].show()
    first.docks["reloads"].close()
    first.close()

    second = MainWindow(client, settings, theme)
    second.show()
    qtbot.waitUntil(lambda: second.isVisible(), timeout=TIMEOUT_MS)
    assert (second.size().width(), second.size().height()) == (720, 560)
    assert second.dockWidgetArea(second.docks["plugins"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert not second.docks["reloads"].isVisible()
    assert second.docks["messages"].isVisible()

    second.reset_layout()
    assert second.dockWidgetArea(second.docks["plugins"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert all(dock.isVisible() for dock in second.docks.values())
    second.close()
    for obj in (first, second, client):
        shiboken6.delete(obj)


def test_opened_workspaces_are_remembered_most_recent_first(studio, two_plugins, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    studio.open(two_plugins.root)
    studio.open(other, has_plugins=False)
    assert studio.window.recent_workspaces()[:2] == [str(other), str(two_plugins.root)]
    labels = [a.data() for a in studio.window.recent_menu.actions()]
    assert labels[:2] == [str(other), str(two_plugins.root)]
    assert studio.window.windowTitle() == "LogoMesh Studio - other"
    assert studio.window.plugins.model.rowCount() == 0


def test_theme_choice_is_saved_and_applied(studio, settings):
    from logomesh_studio.studio import theme as themes

    studio.window.theme_actions["dark"].trigger()
    assert settings.value("theme") == "dark" and themes.is_dark()
    studio.window.theme_actions["light"].trigger()
    assert settings.value("theme") == "light" and not themes.is_dark()


def test_a_first_window_fits_the_screen_it_opens_on(qtbot, async_loop, settings, theme):
    client = RuntimeClient()
    window = MainWindow(client, settings, theme)
    window.show()
    qtbot.waitExposed(window)
    room = window.screen().availableGeometry()  # offscreen: 800x600, smaller than the default
    assert room.contains(window.frameGeometry()), (room, window.frameGeometry())
    window.close()
    for obj in (window, client):
        shiboken6.delete(obj)


@pytest.mark.parametrize("screen", [(1280, 800), (1600, 1000)])
def test_logomesh_studio_opens_within_a_laptop_screen(tmp_path, screen):
    width, height = screen
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"windowFrameMargins": True, "screens": [
        {"name": "laptop", "x": 0, "y": 0, "width": width, "height": height,
         "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "LOGOMESH_STUDIO_EXIT_AFTER": "shown"}
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    x, y, w, h = shown["frame"]
    assert shown["screen"] == [0, 0, width, height]
    assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, shown
    assert w >= 0.8 * min(width, 1400) and h >= 0.8 * min(height, 880)  # and uses the room
