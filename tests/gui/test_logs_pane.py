"""The logs pane: plugin log records, level filter, search, traceback locations."""

from __future__ import annotations

TIMEOUT_MS = 10_000


def test_plugin_logs_appear_and_the_level_filter_narrows_them(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.logs
    with studio.qtbot.waitSignal(studio.client.sig_logs_recorded, timeout=TIMEOUT_MS):
        studio.send("alpha", "beta", "shout", "hey")
    studio.qtbot.waitUntil(lambda: pane.model.total >= 2, timeout=TIMEOUT_MS)
    assert [(r.plugin_id, r.level) for r in pane.model.records] == [
        ("beta", "INFO"), ("beta", "WARNING")]
    pane.level_combo.setCurrentIndex(pane.level_combo.findData(30))
    assert [r.message for r in pane.model.records] == ["loud hey"]


def test_search_finds_text_in_messages(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.logs
    studio.send("alpha", "beta", "shout", "needle")
    studio.qtbot.waitUntil(lambda: pane.model.total >= 2, timeout=TIMEOUT_MS)
    pane.search.set_search("quiet")
    assert [r.level for r in pane.model.records] == ["INFO"]


def test_handler_error_traceback_opens_its_location(studio, two_plugins):
    studio.open(two_plugins.root)
    pane = studio.window.logs
    studio.run(_swallow(studio.client.send("alpha", "beta", "crash", None)))
    studio.qtbot.waitUntil(lambda: any(r.traceback for r in pane.model.records),
                           timeout=TIMEOUT_MS)
    row = next(i for i, r in enumerate(pane.model.records) if r.traceback)
    pane.table.selectRow(row)
    assert "ValueError: boom" in pane.details.toPlainText()
    anchors = [a for a in pane.details.toHtml().split('href="')[1:]]
    assert anchors, "the traceback has clickable file locations"
    with studio.qtbot.waitSignal(pane.sig_open_file_requested) as blocker:
        pane.table.doubleClicked.emit(pane.model.index(row, 0))
    path, line = blocker.args
    assert path.endswith("__init__.py") and "beta" in path and line > 0


async def _swallow(coro):
    try:
        await coro
    except Exception as exc:  # the handler's error is what this test looks at
        return exc
