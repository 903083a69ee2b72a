"""Hot reload as the window shows it: tree, reload history, status bar, logs."""

from __future__ import annotations

from PySide6.QtCore import Qt

from logomesh_studio.runtime.events import ReloadCompleted, ReloadStarted

TIMEOUT_MS = 10_000

V2 = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return {"pong": message.payload, "version": 2}

    @handler("hello")
    def hello(self, message):
        return "hi"
"""


def test_editing_a_plugin_file_updates_the_tree_and_the_reload_list(studio, two_plugins):
    studio.open(two_plugins.root)
    folder = two_plugins.root / "beta"
    # Two saves: the code, then the manifest. Each completed save reloads within a
    # millisecond, so the manifest may come in a second (trailing) reload.
    with studio.qtbot.waitSignal(studio.client.sig_reload_completed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda e: e.plugin_id == "beta"
                                 and e.version == "1.1.0"):
        (folder / two_plugins.package_name("beta") / "__init__.py").write_text(V2)
        manifest = folder / "plugin.toml"
        manifest.write_text(manifest.read_text().replace('"1.0.0"', '"1.1.0"'))
    studio.qtbot.waitUntil(lambda: studio.tree_row("beta")[2] == "1.1.0", timeout=TIMEOUT_MS)
    assert studio.tree_row("beta")[1] == "running"
    reloads = studio.window.reloads.model
    entries = [e for e in reloads.records if e.plugin_id == "beta"]
    assert 1 <= len(entries) <= 2 and all(e.outcome == "ok" for e in entries)
    entry = entries[-1]
    assert entry.version == "1.1.0"
    assert entry.timings["total"] > 0
    assert "Reloaded" in studio.window.reload_label.text()


def test_a_reload_retried_after_a_half_written_file_is_one_row_that_ends_ok(studio):
    client = studio.client  # the reloader defers a reload whose files are still being written
    client.sig_reload_started.emit(ReloadStarted(plugin_id="beta", cause="beta/plugin.toml"))
    client.sig_reload_started.emit(ReloadStarted(plugin_id="beta", cause="beta/plugin.toml"))
    client.sig_reload_completed.emit(ReloadCompleted(plugin_id="beta", version="1.1.0",
                                                     cause="beta/plugin.toml"))
    [entry] = studio.window.reloads.model.records
    assert entry.outcome == "ok" and entry.version == "1.1.0"


def test_failed_reload_is_red_on_the_plugin_and_links_to_the_error(studio, two_plugins):
    studio.open(two_plugins.root)
    source = two_plugins.root / "beta" / two_plugins.package_name("beta") / "__init__.py"
    with studio.qtbot.waitSignal(studio.client.sig_reload_failed, timeout=TIMEOUT_MS):
        source.write_text("def broken(:\n")
    model = studio.window.plugins.model
    studio.qtbot.waitUntil(lambda: studio.tree_row("beta")[1] == "reload failed",
                           timeout=TIMEOUT_MS)
    index = model.plugin_index("beta")
    assert model.data(index, Qt.ItemDataRole.ForegroundRole) is not None
    error = model.node(model.index(0, 0, index))
    assert error.kind == "error" and "SyntaxError" in error.texts[0]
    assert error.path.endswith("__init__.py") and error.line == 1

    entry = studio.window.reloads.model.records[-1]
    assert entry.outcome == "failed" and entry.path == error.path
    with studio.qtbot.waitSignal(studio.window.reloads.sig_open_file_requested) as blocker:
        studio.window.reloads.table.doubleClicked.emit(
            studio.window.reloads.model.index(studio.window.reloads.model.rowCount() - 1, 0))
    assert blocker.args == [error.path, 1]
    assert "failed" in studio.window.reload_label.text()
    logs = studio.window.logs.model.records
    assert any(r.level == "ERROR" and "reload failed" in r.message for r in logs)
    # The old version keeps answering.
    assert studio.send("alpha", "beta", "ping", 1) == {"pong": 1}


def test_reload_action_reloads_the_selected_plugin(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.plugins
    pane.select_plugin("alpha")
    with studio.qtbot.waitSignal(studio.client.sig_reload_completed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda e: e.plugin_id == "alpha"):
        pane.action_reload.trigger()
    studio.qtbot.waitUntil(lambda: any(e.plugin_id == "alpha" and e.outcome == "ok"
                                       for e in studio.window.reloads.model.records),
                           timeout=TIMEOUT_MS)
