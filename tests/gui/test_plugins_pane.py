"""The plugin tree against a real runtime."""

from __future__ import annotations

from PySide6.QtCore import Qt

from logomesh_studio.studio.panes.plugin_tree_model import (
    CPU_COLUMN,
    NodeRole,
    PluginTreeModel,
)

TIMEOUT_MS = 10_000

BROKEN = """
from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def initialize(self, ctx):
        raise RuntimeError("cannot start")
"""


HOG = """
import time

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
        return {"pong": message.payload}
"""


def child_texts(model, plugin_id):
    index = model.plugin_index(plugin_id)
    texts = []
    for row in range(model.rowCount(index)):
        group = model.index(row, 0, index)
        texts.append(group.data())
        texts.extend(model.index(r, 0, group).data() for r in range(model.rowCount(group)))
    return texts


def test_tree_shows_every_plugin_with_status_and_version(studio, two_plugins):
    two_plugins.plugin("gamma", BROKEN)
    studio.open(two_plugins.root)
    model = studio.window.plugins.model
    studio.qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=TIMEOUT_MS)
    assert studio.tree_row("alpha")[:3] == ("alpha", "running", "1.0.0")
    assert studio.tree_row("gamma")[1] == "failed"
    assert "running" in studio.window.state_label.text()


def test_failed_plugin_is_red_and_shows_its_error(studio, two_plugins):
    two_plugins.plugin("gamma", BROKEN)
    studio.open(two_plugins.root)
    model = studio.window.plugins.model
    studio.qtbot.waitUntil(lambda: model.plugin_index("gamma").isValid(), timeout=TIMEOUT_MS)
    index = model.plugin_index("gamma")
    assert model.data(index, Qt.ItemDataRole.ForegroundRole) is not None
    assert any("cannot start" in text for text in child_texts(model, "gamma"))


def test_tree_lists_manifest_facts_as_children(studio, two_plugins):
    studio.open(two_plugins.root)
    texts = child_texts(studio.window.plugins.model, "alpha")
    assert "Permissions (1)" in texts and "send:beta" in texts
    assert "Capabilities (1)" in texts and "relay" in texts
    assert "ping" in texts


def test_connection_counts_follow_traffic(studio, two_plugins):
    studio.open(two_plugins.root)
    for _ in range(3):
        studio.send("alpha", "beta", "ping", {"n": 1})
    studio.qtbot.waitUntil(lambda: studio.tree_row("alpha")[3] == "3", timeout=TIMEOUT_MS)
    assert studio.tree_row("beta")[4] == "3"
    assert "alpha: 0 sent · 3 received" in child_texts(studio.window.plugins.model, "beta")


def test_search_box_filters_the_tree(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.plugins
    pane.search.set_search("alpha")
    assert pane.proxy.rowCount() == 1
    pane.search.set_search("")
    assert pane.proxy.rowCount() == 2


def test_stop_and_start_from_the_tree(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.plugins
    pane.select_plugin("beta")
    assert pane.action_stop.isEnabled()
    with studio.qtbot.waitSignal(studio.client.sig_plugin_stopped, timeout=TIMEOUT_MS):
        pane.action_stop.trigger()
    studio.qtbot.waitUntil(lambda: studio.tree_row("beta")[1] == "stopped", timeout=TIMEOUT_MS)
    assert pane.action_start.isEnabled()
    with studio.qtbot.waitSignal(studio.client.sig_plugin_loaded, timeout=TIMEOUT_MS):
        pane.action_start.trigger()
    studio.qtbot.waitUntil(lambda: studio.tree_row("beta")[1] == "running", timeout=TIMEOUT_MS)


def test_show_messages_filters_the_inspector(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.plugins
    pane.select_plugin("beta")
    node = pane.proxy.data(pane.tree.currentIndex(), NodeRole)
    assert node.plugin_id == "beta"
    pane.action_show_messages.trigger()
    assert studio.window.messages.current_filter().plugin == "beta"


def test_cpu_column_shows_the_busy_plugins_share(studio, workspace):
    workspace.plugin("hog", HOG)
    workspace.plugin("caller", permissions=["send:hog"])
    studio.open(workspace.root)
    # Keep the hog busy while the column refreshes: six 0.3 s pings, not awaited here.
    pings = [studio.client.spawn(studio.client.send("caller", "hog", "ping", n), "ping")
             for n in range(6)]

    def percent(plugin_id):
        text = studio.tree_row(plugin_id)[CPU_COLUMN]
        return int(text.removesuffix(" %")) if text else 0

    studio.qtbot.waitUntil(lambda: percent("hog") > 0, timeout=TIMEOUT_MS)
    assert percent("caller") == 0
    studio.qtbot.waitUntil(lambda: all(p.done() for p in pings), timeout=TIMEOUT_MS)


def test_cpu_column_explains_what_it_measures(qapp):
    model = PluginTreeModel()
    assert model.headerData(CPU_COLUMN, Qt.Orientation.Horizontal) == "CPU"
    tooltip = model.headerData(CPU_COLUMN, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "runtime thread's time" in tooltip


def test_plugin_column_never_collapses_below_its_names(studio, workspace):
    long_id = "a-plugin-with-a-rather-long-identifier"
    workspace.plugin(long_id)
    workspace.plugin("short")
    studio.window.resize(995, 666)
    studio.open(workspace.root)
    pane = studio.window.plugins
    header = pane.tree.header()
    studio.qtbot.waitUntil(lambda: pane.model.rowCount() == 2, timeout=TIMEOUT_MS)
    needed = pane.tree.fontMetrics().horizontalAdvance(long_id)
    assert pane.name_column_width() > needed

    dock = studio.window.docks["plugins"]
    others = sum(header.sectionSize(c) for c in range(1, header.count()))
    narrow = pane.name_column_width() + others - 100  # too narrow for every column
    studio.window.resizeDocks([dock], [120], Qt.Orientation.Horizontal)
    studio.qtbot.waitUntil(lambda: pane.tree.viewport().width() < narrow, timeout=TIMEOUT_MS)
    assert header.sectionSize(0) >= pane.name_column_width()
    assert pane.tree.horizontalScrollBar().maximum() > 0  # it scrolls instead

    roomy = pane.name_column_width() + others + 100
    studio.window.resize(2 * roomy + 600, 666)
    studio.qtbot.waitUntil(lambda: dock.width() + studio.window.docks["messages"].width()
                           > 2 * roomy, timeout=TIMEOUT_MS)
    studio.window.resizeDocks([dock], [2 * roomy], Qt.Orientation.Horizontal)  # a wide one
    studio.qtbot.waitUntil(lambda: pane.tree.viewport().width() > roomy, timeout=TIMEOUT_MS)
    studio.qtbot.waitUntil(lambda: header.length() == pane.tree.viewport().width(),
                           timeout=TIMEOUT_MS)  # the Plugin column takes the room left
    assert header.sectionSize(0) > pane.name_column_width()


def test_isolated_plugin_shows_its_process_sandbox_and_cpu(studio, workspace):
    from logomesh_studio.runtime.isolation import sandbox

    workspace.plugin("hog", HOG, isolation="process")
    workspace.plugin("caller", permissions=["send:hog"])
    studio.open(workspace.root)
    model = studio.window.plugins.model
    studio.qtbot.waitUntil(lambda: "Isolation (3)" in child_texts(model, "hog"),
                           timeout=TIMEOUT_MS)
    texts = child_texts(model, "hog")
    assert any(t.startswith("own process (pid ") for t in texts)
    for protection, state in sandbox.probe().items():
        assert f"{protection}: {state}" in texts
    assert not any(t.startswith("Isolation") for t in child_texts(model, "caller"))
    pings = [studio.client.spawn(studio.client.send("caller", "hog", "ping", n), "ping")
             for n in range(6)]
    studio.qtbot.waitUntil(lambda: studio.tree_row("hog")[CPU_COLUMN] != "",
                           timeout=TIMEOUT_MS)
    studio.qtbot.waitUntil(lambda: all(p.done() for p in pings), timeout=TIMEOUT_MS)
