"""The debugger and profiler docks inside the main window, driven from other panes."""

from __future__ import annotations

import os

TIMEOUT_MS = 10_000


def test_debug_action_in_the_plugin_tree_starts_a_session_in_the_debugger_dock(
        studio, two_plugins):
    studio.open(two_plugins.root)
    window = studio.window
    window.plugins.select_plugin("beta")
    assert window.plugins.action_debug.isEnabled()
    with studio.qtbot.waitSignal(window.debugger.sig_session_started, timeout=TIMEOUT_MS) as seen:
        window.plugins.action_debug.trigger()
    assert seen.args == ["beta"]
    assert window.debugger.plugin_id == "beta"
    assert window.docks["debugger"].isVisible()
    window.debugger.stop_debugging()
    studio.qtbot.waitUntil(lambda: window.debugger.plugin_id == "", timeout=TIMEOUT_MS)
    assert studio.send("alpha", "beta", "ping", 3)["pong"] == 3  # the runtime runs on


def test_recording_a_profile_from_the_window_charges_plugins(studio, two_plugins):
    studio.open(two_plugins.root)
    profile = studio.run(studio.client.record_profile(0.2))
    assert profile.samples and profile.duration > 0.1
    pane = studio.window.profiler
    pane.load_profile(profile, "runtime")
    assert pane.profile is profile
    # Nothing was sent: by default (plugin code only) the quiet runtime shows no frame...
    assert pane.plugin_code_only and pane.table.model().rowCount() == 0
    assert "turn off Plugin Code Only" in pane.summary.text()
    pane.set_plugin_code_only(False)  # ...and every frame of the recording on request
    assert pane.table.model().rowCount() > 0


def test_double_click_source_from_the_profiler_opens_it_in_the_editor(studio, two_plugins):
    studio.open(two_plugins.root)
    path = str(two_plugins.root / "beta" / two_plugins.package_name("beta") / "__init__.py")
    studio.window.profiler.sig_open_source_requested.emit(path, 5)
    code = studio.window.authoring.editor.current_view()
    assert os.path.realpath(code.path) == os.path.realpath(path)
    assert code.cursor_line() == 5
    assert studio.window.docks["editor"].isVisible()


def test_traceback_locations_open_in_the_editor_at_their_line(studio, two_plugins):
    studio.open(two_plugins.root)
    path = str(two_plugins.root / "alpha" / two_plugins.package_name("alpha") / "__init__.py")
    studio.window.logs.sig_open_file_requested.emit(path, 4)
    code = studio.window.authoring.editor.current_view()
    assert os.path.realpath(code.path) == os.path.realpath(path) and code.cursor_line() == 4


def test_go_to_yaml_from_the_orchestration_editor_opens_the_file_in_the_editor(studio, tmp_path):
    path = tmp_path / "go.orchestration.yaml"
    path.write_text("name: go\ninitiator: boss\nparticipants: [alpha]\nphases:\n  - name: one\n"
                    "    tasks:\n      - name: first\n        target: alpha\n")
    pane = studio.window.orchestration
    assert pane.open_file(path)
    pane.select_node("first")
    pane.action_go_to_yaml.trigger()
    code = studio.window.authoring.editor.current_view()
    assert os.path.realpath(code.path) == os.path.realpath(path) and code.cursor_line() == 7
