"""Profiler pane: table and chart linked, open/save/record, compare, per-plugin summary."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from logomesh_studio.devtools.profiler import Frame, Profile, Sample
from logomesh_studio.studio.panes.profiler import ProfilerPane
from logomesh_studio.studio.widgets.function_table import FRAME_ROLE, FunctionTableModel

TIMEOUT_MS = 10_000
FRAMES = [Frame("main", "/ws/app.py", 1), Frame("handle", "/ws/echo/echo.py", 5),
          Frame("parse", "/ws/store/store.py", 9), Frame("[idle]")]
MAIN, HANDLE, PARSE, IDLE = range(4)


def make_profile(parse_weight: float = 0.03, name: str = "p") -> Profile:
    """echo's handle (40 ms, calls parse) and store's parse (self 30 ms), 10 ms idle."""
    samples = [Sample((MAIN, HANDLE), 0.01, "echo"),
               Sample((MAIN, HANDLE, PARSE), parse_weight, "store"),
               Sample((MAIN, IDLE), 0.01),
               Sample((MAIN, PARSE), 0.005, "store")]
    return Profile(list(FRAMES), samples, name=name, duration=0.055, sample_rate=72.7)


@pytest.fixture
def pane(qtbot) -> ProfilerPane:
    """A pane showing every frame (idle included), as these tests read the whole profile."""
    widget = ProfilerPane()
    widget.set_plugin_code_only(False)
    qtbot.addWidget(widget)
    widget.resize(1200, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def table_column(pane: ProfilerPane, column: int) -> list[str]:
    proxy = pane.table.proxy
    return [proxy.index(row, column).data() for row in range(proxy.rowCount())]


def names(pane: ProfilerPane) -> list[str]:
    return table_column(pane, FunctionTableModel.NAME)


def test_loading_a_profile_fills_the_table_the_chart_and_the_summary(pane, qtbot):
    with qtbot.waitSignal(pane.sig_profile_loaded) as loaded:
        pane.load_profile(make_profile(), "p.speedscope.json")
    assert loaded.args == ["p.speedscope.json"]
    assert names(pane) == ["parse", "handle", "[idle]", "main"]  # hottest self time first
    assert len(pane.chart.layout_data) == 5
    summary = pane.summary.text()
    assert "p.speedscope.json" in summary and "4 samples" in summary
    assert "<b>store</b> 35.0 ms (64%)" in summary and "<b>echo</b> 10.0 ms (18%)" in summary
    assert "idle 10.0 ms (18%)" in summary
    assert pane.action_save.isEnabled() and not pane.action_record.isEnabled()


def test_function_table_sorts_by_any_column(pane):
    pane.load_profile(make_profile(), "p")
    table = pane.table
    table.sortByColumn(FunctionTableModel.TOTAL, Qt.SortOrder.DescendingOrder)
    assert names(pane) == ["main", "handle", "parse", "[idle]"]
    assert table_column(pane, FunctionTableModel.TOTAL)[:2] == ["55.0 ms", "40.0 ms"]
    table.sortByColumn(FunctionTableModel.NAME, Qt.SortOrder.AscendingOrder)
    assert names(pane) == ["[idle]", "handle", "main", "parse"]
    table.sortByColumn(FunctionTableModel.SAMPLES, Qt.SortOrder.AscendingOrder)
    assert table_column(pane, FunctionTableModel.SAMPLES) == ["1", "2", "2", "4"]
    # Numbers sort by value, not text: 5 ms self (parse's second caller) is not after 40.
    table.sortByColumn(FunctionTableModel.SELF, Qt.SortOrder.AscendingOrder)
    assert table_column(pane, FunctionTableModel.SELF) == ["0 ms", "10.0 ms", "10.0 ms",
                                                          "35.0 ms"]


def test_selecting_a_row_highlights_the_function_and_roots_the_sandwich(pane):
    pane.load_profile(make_profile(), "p")
    row = names(pane).index("handle")
    pane.table.selectRow(row)
    assert pane.chart.selected_function == HANDLE
    assert pane.chart.item.outlined_frame == HANDLE
    pane.view_combo.setCurrentIndex(pane.view_combo.findData("sandwich"))
    layout = pane.chart.layout_data
    assert layout.kind == "sandwich" and layout.frame[layout.row(0)].tolist() == [HANDLE]


def test_clicking_a_frame_selects_its_row(pane, qtbot):
    pane.load_profile(make_profile(), "p")
    chart = pane.chart
    qtbot.waitUntil(lambda: chart.item.last_paint.get("rects", 0) > 0)
    layout = chart.layout_data
    node = int(layout.nodes_of(PARSE)[0])
    QTest.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, chart.node_point(node))
    qtbot.waitUntil(lambda: pane.table.currentIndex().isValid())
    assert pane.table.currentIndex().data(FRAME_ROLE) == PARSE


def test_search_filters_the_table_and_counts_highlighted_frames(pane):
    pane.load_profile(make_profile(), "p")
    pane.search.set_search("store")
    assert names(pane) == ["parse"]
    assert pane.match_label.text() == "2 frames"  # parse under handle and under main
    pane.search.set_search("")
    assert len(names(pane)) == 4 and pane.match_label.text() == ""


def test_view_selector_and_orientation_drive_the_chart(pane):
    pane.load_profile(make_profile(), "p")
    pane.view_combo.setCurrentIndex(pane.view_combo.findData("time"))
    assert pane.chart.view == "time"
    pane.action_orientation.trigger()
    assert pane.chart.orientation == "flame"
    pane.chart.set_view("left-heavy")
    assert pane.view_combo.currentData() == "left-heavy"


def test_diff_is_offered_only_with_a_baseline_and_noise_applies(pane, qtbot):
    pane.load_profile(make_profile(parse_weight=0.06), "after")
    diff_item = pane.view_combo.model().item(pane.view_combo.findData("diff"))
    assert not diff_item.isEnabled()
    with qtbot.waitSignal(pane.sig_baseline_changed):
        pane.compare_with(make_profile(), "before")
    assert diff_item.isEnabled() and pane.chart.view == "diff"
    assert "baseline: before" in pane.summary.text()
    assert pane.chart.item.groups.any()
    pane.noise.setValue(50.0)
    assert not pane.chart.item.groups.any()
    pane.action_clear_baseline.trigger()
    assert pane.chart.view == "left-heavy" and not diff_item.isEnabled()


def test_open_save_and_compare_with_a_file(pane, qtbot, async_loop, tmp_path, monkeypatch):
    first, second = tmp_path / "a.speedscope.json", tmp_path / "b.speedscope.json"
    make_profile().save_speedscope(first)
    monkeypatch.setattr(pane, "_ask_open_path", lambda caption: str(first))
    with qtbot.waitSignal(pane.sig_profile_loaded, timeout=TIMEOUT_MS):
        pane.action_open.trigger()
    assert pane.title == "a.speedscope.json" and len(names(pane)) == 4
    monkeypatch.setattr(pane, "_ask_save_path", lambda: str(second))
    pane.action_save.trigger()
    qtbot.waitUntil(lambda: "Saved" in pane.summary.text(), timeout=TIMEOUT_MS)
    assert json.loads(second.read_text())["shared"]["frames"][PARSE]["name"] == "parse"
    monkeypatch.setattr(pane, "_ask_open_path", lambda caption: str(second))
    with qtbot.waitSignal(pane.sig_baseline_changed, timeout=TIMEOUT_MS) as changed:
        pane.action_compare_file.trigger()
    assert changed.args == ["b.speedscope.json"] and pane.chart.view == "diff"


def test_a_broken_file_is_reported_and_the_profile_kept(pane, qtbot, async_loop, tmp_path,
                                                         monkeypatch):
    pane.load_profile(make_profile(), "kept")
    broken = tmp_path / "broken.speedscope.json"
    broken.write_text('{"profiles": []}')
    monkeypatch.setattr(pane, "_ask_open_path", lambda caption: str(broken))
    with qtbot.waitSignal(pane.sig_error, timeout=TIMEOUT_MS) as error:
        pane.action_open.trigger()
    assert "broken.speedscope.json" in error.args[0] and "not a speedscope file" in error.args[0]
    assert pane.title == "kept"


def test_record_twice_then_compare_with_the_previous_recording(qtbot, async_loop):
    recorded = iter([make_profile(name="first"), make_profile(0.09, name="second")])
    asked: list[float] = []

    async def recorder(seconds: float) -> Profile:
        asked.append(seconds)
        return next(recorded)

    pane = ProfilerPane(record=recorder)
    qtbot.addWidget(pane)
    pane.duration.setValue(2.0)
    for _ in range(2):
        with qtbot.waitSignal(pane.sig_profile_loaded, timeout=TIMEOUT_MS):
            pane.action_record.trigger()
    assert asked == [2.0, 2.0] and pane.profile.name == "second"
    assert pane.action_compare_previous.isEnabled()
    pane.action_compare_previous.trigger()
    assert pane.chart.view == "diff"
    layout = pane.chart.layout_data
    under_handle = [n for n in layout.nodes_of(PARSE) if layout.frame[layout.parent[n]] == HANDLE]
    assert "change: +" in pane.chart.node_tooltip(under_handle[0])


def test_a_failed_recording_is_reported_and_record_is_enabled_again(qtbot, async_loop):
    async def recorder(seconds: float) -> Profile:
        raise RuntimeError("no workspace is open")

    pane = ProfilerPane(record=recorder)
    qtbot.addWidget(pane)
    with qtbot.waitSignal(pane.sig_error, timeout=TIMEOUT_MS) as error:
        pane.action_record.trigger()
    assert error.args == ["Recording failed: RuntimeError: no workspace is open"]
    assert pane.action_record.isEnabled() and not pane.recording


def test_double_click_in_the_table_requests_the_source(pane, qtbot):
    pane.load_profile(make_profile(), "p")
    row = names(pane).index("parse")
    with qtbot.waitSignal(pane.sig_open_source_requested) as opened:
        pane.table.doubleClicked.emit(pane.table.proxy.index(row, 0))
    assert opened.args == ["/ws/store/store.py", 9]


def test_every_toolbar_action_has_a_name_icon_and_tooltip(pane):
    actions = [pane.action_open, pane.action_save, pane.action_record, pane.action_compare_file,
               pane.action_compare_previous, pane.action_clear_baseline,
               pane.action_plugin_code, pane.action_orientation, pane.action_reset_zoom]
    for action in actions:
        assert action.objectName() and action.toolTip() and not action.icon().isNull()


def quiet_recording() -> Profile:
    """5 s of a lightly loaded runtime: idle in the loop, and 1.3 ms in echo's handler
    (0.3 ms of it inside json, a library)."""
    frames = [Frame("_bootstrap", threading.__file__, 1), Frame("select", json.__file__, 2),
              Frame("[idle]"), Frame("handle", "/ws/echo/echo.py", 5),
              Frame("dumps", json.__file__, 3)]
    boot, select, idle, handle, dumps = range(5)
    return Profile(frames, [Sample((boot, select, idle), 5.0),
                            Sample((boot, handle), 0.001, "echo"),
                            Sample((boot, handle, dumps), 0.0003, "echo")], duration=5.0013)


def test_plugin_code_only_is_the_default_and_fills_the_chart(qtbot, tmp_path, async_loop):
    pane = ProfilerPane()
    qtbot.addWidget(pane)
    assert pane.plugin_code_only and pane.action_plugin_code.isChecked()
    pane.load_profile(quiet_recording(), "quiet")
    assert names(pane) == ["handle"]
    assert pane.chart.matrix.total == pytest.approx(0.0013)  # the whole chart is the plugin
    assert "showing plugin code only: 1.3 ms (0% of the recording)" in pane.summary.text()
    assert "idle 5.00 s" in pane.summary.text()  # the summary still tells the whole story

    pane.action_plugin_code.trigger()  # one toggle brings every frame back
    assert set(names(pane)) == {"_bootstrap", "select", "[idle]", "handle", "dumps"}
    assert pane.chart.matrix.total == pytest.approx(5.0013)
    pane.action_plugin_code.trigger()
    assert names(pane) == ["handle"]

    saved = tmp_path / "quiet.speedscope.json"
    assert pane_run(qtbot, pane.save_file(saved))
    assert len(Profile.from_speedscope(saved).samples) == 3  # saving keeps the recording


def test_plugin_code_only_applies_to_the_diff_baseline_too(qtbot):
    pane = ProfilerPane()
    qtbot.addWidget(pane)
    pane.load_profile(quiet_recording(), "after")
    pane.compare_with(quiet_recording(), "before")
    assert pane.chart.view == "diff"
    frames = {int(f) for f in pane.chart.layout_data.frame}
    assert frames == {3}  # handle only: no idle, runtime or library frame in the diff


def test_a_recording_without_plugin_code_says_how_to_see_it(qtbot):
    pane = ProfilerPane()
    qtbot.addWidget(pane)
    idle_only = Profile([Frame("_bootstrap", threading.__file__, 1), Frame("[idle]")],
                        [Sample((0, 1), 5.0)], duration=5.0)
    pane.load_profile(idle_only, "idle")
    assert names(pane) == []
    assert "turn off Plugin Code Only" in pane.summary.text()


def test_function_table_columns_fit_their_content(pane, qtbot):
    long_name = "TokenizerPlugin.handle_tokenize_request_with_a_long_name"
    frames = [Frame(long_name, "/ws/tokenizer/tokenizer/__init__.py", 12)]
    pane.load_profile(Profile(frames, [Sample((0,), 0.25, "tokenizer")]), "long")
    pane.resize(420, 300)  # a narrow pane: columns keep their width, the table scrolls
    header, metrics = pane.table.horizontalHeader(), pane.table.fontMetrics()
    assert header.sectionSize(FunctionTableModel.NAME) >= metrics.horizontalAdvance(long_name)
    assert header.sectionSize(FunctionTableModel.NAME) >= \
        header.fontMetrics().horizontalAdvance("Function")
    for column in (FunctionTableModel.SELF, FunctionTableModel.TOTAL):
        assert header.sectionSize(column) >= metrics.horizontalAdvance("999.9 ms")
    assert header.sectionSize(FunctionTableModel.LOCATION) >= \
        metrics.horizontalAdvance("__init__.py:12")
    qtbot.waitUntil(lambda: pane.table.horizontalScrollBar().maximum() > 0)


def pane_run(qtbot, coro):
    import asyncio

    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=TIMEOUT_MS)
    return task.result()
