"""The message inspector against a real bridge."""

from __future__ import annotations

import json

TIMEOUT_MS = 10_000


def rows(pane):
    return list(pane.model.records)


def wait_rows(studio, count):
    pane = studio.window.messages
    studio.qtbot.waitUntil(lambda: pane.model.total >= count, timeout=TIMEOUT_MS)


def test_sent_message_appears_with_its_payload(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.messages
    with studio.qtbot.waitSignal(studio.client.sig_messages_recorded, timeout=TIMEOUT_MS):
        assert studio.send("alpha", "beta", "ping", {"word": "hello"}) == {
            "pong": {"word": "hello"}}
    wait_rows(studio, 1)
    record = rows(pane)[-1]
    assert (record.source, record.target, record.type, record.outcome) == (
        "alpha", "beta", "ping", "ok")
    pane.table.selectRow(pane.model.rowCount() - 1)
    assert json.loads(pane.payload_view.json_model.text) == {"word": "hello"}
    assert json.loads(pane.response_view.json_model.text) == {"pong": {"word": "hello"}}
    payload_root = pane.payload_view.json_model.index(0, 0)
    assert pane.payload_view.json_model.index(0, 0, payload_root).data() == "word"


def test_filters_narrow_the_table(studio, two_plugins):
    studio.open(two_plugins.root)
    studio.send("alpha", "beta", "ping", {"fruit": "kiwi"})
    studio.send("alpha", "beta", "shout", {"n": 2})
    studio.run(_swallow(studio.client.send("alpha", "beta", "crash", {"n": 3})))
    studio.run(_swallow(studio.client.send("beta", "alpha", "ping", {"n": 4})))
    wait_rows(studio, 4)
    pane = studio.window.messages
    assert pane.model.rowCount() == 4

    pane.set_filter(outcome="refused")
    assert [(r.source, r.target) for r in rows(pane)] == [("beta", "alpha")]
    pane.set_filter(type="shout")
    assert [r.type for r in rows(pane)] == ["shout"]
    pane.set_filter(outcome="error")
    assert [r.type for r in rows(pane)] == ["crash"]
    pane.set_filter(text="KIWI")
    assert [r.type for r in rows(pane)] == ["ping"]
    pane.outcome_combo.setCurrentIndex(pane.outcome_combo.findData("ok"))
    assert {r.outcome for r in rows(pane)} == {"ok"}
    pane.set_filter()
    assert pane.model.rowCount() == 4


def test_new_messages_respect_the_active_filter(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.messages
    pane.set_filter(type="shout")
    studio.send("alpha", "beta", "ping", 1)
    studio.send("alpha", "beta", "shout", 2)
    wait_rows(studio, 2)
    assert [r.type for r in rows(pane)] == ["shout"]


def test_pause_capture_skips_new_messages(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.messages
    pane.action_pause.trigger()
    with studio.qtbot.waitSignal(studio.client.sig_messages_recorded, timeout=TIMEOUT_MS):
        studio.send("alpha", "beta", "ping", 1)
    assert pane.model.total == 0 and pane.skipped == 1
    pane.action_pause.trigger()
    studio.send("alpha", "beta", "ping", 2)
    wait_rows(studio, 1)
    assert pane.model.total == 1


def test_clear_empties_the_table(studio, two_plugins):
    studio.open(two_plugins.root)
    studio.send("alpha", "beta", "ping", 1)
    wait_rows(studio, 1)
    pane = studio.window.messages
    pane.action_clear.trigger()
    assert pane.model.total == 0


def test_replay_sends_the_recorded_message_again(studio, two_plugins):
    studio.open(two_plugins.root)
    studio.send("alpha", "beta", "ping", {"again": True})
    wait_rows(studio, 1)
    pane = studio.window.messages
    pane.table.selectRow(0)
    assert pane.action_replay.isEnabled()
    pane.action_replay.trigger()
    wait_rows(studio, 2)
    first, second = rows(pane)
    assert (second.source, second.target, second.payload) == (
        first.source, first.target, first.payload)
    assert second.id > first.id


def test_send_as_applies_the_senders_permissions(studio, two_plugins):
    studio.open(two_plugins.root)
    dialog = studio.window.messages.open_composer()
    dialog.prefill("beta", "alpha", "ping", '{"x": 1}')
    dialog.send_button.click()
    studio.qtbot.waitUntil(lambda: "PermissionDenied" in dialog.result_label.text(),
                           timeout=TIMEOUT_MS)
    wait_rows(studio, 1)
    assert rows(studio.window.messages)[-1].outcome == "refused"

    dialog.prefill("alpha", "beta", "ping", '{"x": 2}')
    with studio.qtbot.waitSignal(dialog.sig_message_sent, timeout=TIMEOUT_MS) as blocker:
        dialog.send_button.click()
    assert blocker.args == [{"pong": {"x": 2}}]
    dialog.close()


async def _swallow(coro):
    try:
        await coro
    except Exception as exc:  # the bridge's refusal or the handler's error is expected
        return exc


def test_detail_header_shows_names_and_errors_as_text_not_markup(studio):
    from logomesh_studio.runtime.events import MessageRecorded

    record = MessageRecorded(id=9, call="send", source="a<b", target="t", type="x",
                             size=2, duration=0.001, outcome="error",
                             error="TypeError: '<' not supported between 'int' and 'str'")
    studio.window.messages.show_record(record)
    title = studio.window.messages.detail_title.text()
    assert "a&lt;b" in title and "&lt;&#x27; not supported between" in title


def test_opening_a_missing_folder_reports_it_and_runs_nothing(studio, tmp_path):
    with studio.qtbot.waitSignal(studio.client.sig_command_failed, timeout=TIMEOUT_MS) as failed:
        studio.window.open_workspace(tmp_path / "gone")
    assert "not a folder of plugins" in failed.args[1]
    assert studio.client.state == "stopped" and studio.client.runtime is None


def test_a_quiet_workspace_says_how_to_make_traffic_until_the_first_message(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.messages
    hint = pane.placeholder
    assert hint.isVisible() and pane.model.total == 0
    assert all(words in hint.text() for words in ("Send As…", "Send Message…", "orchestration"))
    assert pane.table.viewport().rect().contains(hint.geometry())
    hint.linkActivated.emit("send")
    assert pane._dialog is not None and pane._dialog.isVisible()
    pane._dialog.close()

    studio.send("alpha", "beta", "ping", 1)
    wait_rows(studio, 1)
    assert not hint.isVisible()
    pane.set_filter(type="nothing-like-this")
    assert hint.isVisible() and "No message matches" in hint.text()
    pane.set_filter()
    assert not hint.isVisible()
    pane.action_clear.trigger()
    assert hint.isVisible() and "Send As…" in hint.text()
