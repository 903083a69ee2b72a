"""Talking to a plugin from Studio: the developer sender, and Send Message... on a plugin."""

from __future__ import annotations

from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.studio.panes.message_model import DEVELOPER_NAME, MessageTableModel

TIMEOUT_MS = 10_000

COUNTER = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("count")
    def count(self, message):
        return {"counted": message.payload}

    @handler("reset")
    def reset(self, message):
        return None
"""


def type_items(dialog) -> list[str]:
    return [dialog.type_combo.itemText(i) for i in range(dialog.type_combo.count())]


def test_studio_developer_is_the_default_sender_and_may_call_any_plugin(studio, two_plugins):
    # beta's manifest grants nothing, and no plugin may message alpha: only Studio can.
    studio.open(two_plugins.root)
    dialog = studio.window.messages.open_composer()
    assert dialog.source_combo.currentText() == DEVELOPER_NAME
    assert dialog.source() == DEVELOPER
    dialog.set_target("alpha")
    dialog.type_combo.setCurrentText("ping")
    dialog.payload_edit.setPlainText('{"from": "me"}')
    with studio.qtbot.waitSignal(dialog.sig_message_sent, timeout=TIMEOUT_MS) as sent:
        dialog.send_button.click()
    assert sent.args == [{"pong": {"from": "me"}}]
    dialog.close()

    pane = studio.window.messages
    studio.qtbot.waitUntil(lambda: pane.model.total == 1, timeout=TIMEOUT_MS)
    record = pane.model.records[-1]
    assert (record.source, record.target, record.outcome) == (
        DEVELOPER, "alpha", "ok")
    assert pane.model.index(0, MessageTableModel.SOURCE).data() == DEVELOPER_NAME
    pane.table.selectRow(0)
    assert DEVELOPER_NAME in pane.detail_title.text()


def test_a_plugin_chosen_as_sender_keeps_its_permissions(studio, two_plugins):
    studio.open(two_plugins.root)
    dialog = studio.window.messages.open_composer()
    dialog.set_source("beta")
    assert dialog.source() == "beta"
    dialog.set_target("alpha")
    dialog.type_combo.setCurrentText("ping")
    dialog.send_button.click()
    studio.qtbot.waitUntil(lambda: "PermissionDenied" in dialog.result_label.text(),
                           timeout=TIMEOUT_MS)
    dialog.close()


def test_developer_messages_replay_as_the_developer(studio, two_plugins):
    studio.open(two_plugins.root)
    assert studio.send(DEVELOPER, "beta", "ping", 7) == {"pong": 7}
    pane = studio.window.messages
    studio.qtbot.waitUntil(lambda: pane.model.total == 1, timeout=TIMEOUT_MS)
    pane.table.selectRow(0)
    pane.action_replay.trigger()
    studio.qtbot.waitUntil(lambda: pane.model.total == 2, timeout=TIMEOUT_MS)
    assert [r.outcome for r in pane.model.records] == ["ok", "ok"]
    assert {r.source for r in pane.model.records} == {DEVELOPER}


def _right_click_plugin(studio, plugin_id: str) -> QMenu:
    pane = studio.window.plugins
    index = pane.proxy.mapFromSource(pane.model.plugin_index(plugin_id))
    pos = pane.tree.visualRect(index).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                              pane.tree.viewport().mapToGlobal(pos))
    QApplication.sendEvent(pane.tree.viewport(), event)
    studio.qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu),
                           timeout=TIMEOUT_MS)
    return QApplication.activePopupWidget()


def test_right_click_on_a_plugin_sends_it_a_message_with_its_types_listed(studio, two_plugins):
    two_plugins.plugin("counter", COUNTER)
    studio.open(two_plugins.root)
    pane = studio.window.plugins
    studio.qtbot.waitUntil(lambda: pane.model.rowCount() == 3, timeout=TIMEOUT_MS)
    pane.select_plugin("alpha")  # the menu acts on the row clicked, not the selection
    menu = _right_click_plugin(studio, "counter")
    send = next(a for a in menu.actions() if a.text() == "Send Message…")
    assert send.isEnabled()
    menu.close()
    send.trigger()

    dialog = studio.window.messages._dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.target_combo.currentText() == "counter"
    assert dialog.source_combo.currentText() == DEVELOPER_NAME
    assert type_items(dialog) == ["count", "reset"]
    assert dialog.type_combo.currentText() == "count"
    with studio.qtbot.waitSignal(dialog.sig_message_sent, timeout=TIMEOUT_MS) as sent:
        dialog.send_button.click()
    assert sent.args == [{"counted": {}}]

    dialog.set_target("beta")  # the type list follows the target
    assert type_items(dialog) == ["crash", "ping", "relay", "shout"]
    assert dialog.type_combo.currentText() == "crash"
    dialog.target_combo.setCurrentText("counter")
    assert type_items(dialog) == ["count", "reset"]
    assert dialog.type_combo.currentText() == "count"
    dialog.close()


def test_the_inspector_names_only_the_developer_sender_specially():
    assert MessageTableModel.sender_name(DEVELOPER) == DEVELOPER_NAME
    assert MessageTableModel.sender_name("alpha") == "alpha"
    assert MessageTableModel.sender_name("") == ""


def test_send_message_is_offered_only_for_a_running_plugin(studio, workspace):
    workspace.plugin("ok")
    workspace.plugin("broken", "raise ImportError('nope')\n")
    studio.open(workspace.root)
    pane = studio.window.plugins
    studio.qtbot.waitUntil(lambda: pane.model.rowCount() == 2, timeout=TIMEOUT_MS)
    pane.select_plugin("broken")
    assert not pane.action_send_message.isEnabled()
    pane.select_plugin("ok")
    assert pane.action_send_message.isEnabled()
