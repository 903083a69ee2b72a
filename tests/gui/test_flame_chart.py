"""Flame chart: the numpy layouts (views, culling) and the widget (zoom, hover, search, diff)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from logomesh_studio.devtools.profiler import Frame, Profile, Sample
from logomesh_studio.studio.widgets import flame_layout as fl
from logomesh_studio.studio.widgets._flame_item import DIFF_LEVELS, diff_groups
from logomesh_studio.studio.widgets.flame_chart import FlameChart

MAIN, A, B, C, D = range(5)
FRAMES = [Frame("main", "/src/app.py", 1), Frame("a", "/src/app.py", 10),
          Frame("b", "/src/lib.py", 20), Frame("c", "/src/app.py", 30),
          Frame("d", "/src/lib.py", 40)]


def profile_of(*samples: tuple[tuple[int, ...], float], frames=FRAMES) -> Profile:
    return Profile(list(frames), [Sample(stack, weight) for stack, weight in samples])


@pytest.fixture
def profile() -> Profile:
    """main calls a (which calls b, then d) and c; b's samples are not consecutive."""
    return profile_of(((MAIN, A, B), 0.02), ((MAIN, C), 0.01), ((MAIN, A, B), 0.02),
                      ((MAIN, A, D), 0.03))


def rows(layout: fl.FlameLayout, depth: int) -> list[tuple[str, float, float]]:
    """(name, start, width) of the frames at ``depth``, left to right."""
    r = layout.row(depth)
    return [(layout.frames[f].name, round(s, 6), round(w, 6)) for f, s, w in
            zip(layout.frame[r], layout.start[r], layout.width[r], strict=True)]


# -- layouts ----------------------------------------------------------------------------------


def test_time_order_shares_frames_only_between_consecutive_samples(profile):
    layout = fl.time_order(fl.stack_matrix(profile))
    assert rows(layout, 0) == [("main", 0.0, 0.08)]
    assert rows(layout, 1) == [("a", 0.0, 0.02), ("c", 0.02, 0.01), ("a", 0.03, 0.05)]
    assert rows(layout, 2) == [("b", 0.0, 0.02), ("b", 0.03, 0.02), ("d", 0.05, 0.03)]


def test_left_heavy_merges_identical_stacks_and_puts_the_heaviest_callee_first(profile):
    layout = fl.left_heavy(fl.stack_matrix(profile))
    assert rows(layout, 0) == [("main", 0.0, 0.08)]
    assert rows(layout, 1) == [("a", 0.0, 0.07), ("c", 0.07, 0.01)]
    assert rows(layout, 2) == [("b", 0.0, 0.04), ("d", 0.04, 0.03)]
    assert layout.self_time[layout.row(2)].tolist() == pytest.approx([0.04, 0.03])
    assert layout.self_time[layout.row(1)].tolist() == pytest.approx([0.0, 0.01])


def test_sandwich_shows_callers_above_and_callees_below_with_recursion_counted_once():
    profile = profile_of(((MAIN, A, B), 1), ((MAIN, C, B), 2), ((MAIN, B, D), 4),
                         ((MAIN, A, B, B), 8))
    layout = fl.sandwich(fl.stack_matrix(profile), B)
    assert rows(layout, 0) == [("b", 0.0, 15.0)]
    assert layout.self_time[layout.row(0)].tolist() == [3.0]
    assert rows(layout, 1) == [("b", 0.0, 8.0), ("d", 8.0, 4.0)]
    # Nearest callers first: the recursive call, then main, c and a.
    assert rows(layout, -1) == [("b", 0.0, 8.0), ("main", 8.0, 4.0), ("c", 12.0, 2.0),
                                ("a", 14.0, 1.0)]
    assert rows(layout, -3) == [("main", 0.0, 8.0)]
    callers_of_c = layout.row(-2).start + 1
    assert layout.frames[layout.frame[callers_of_c]].name == "main"
    assert layout.frame[layout.parent[callers_of_c]] == C


def test_function_totals_count_a_recursive_function_once_per_sample():
    profile = profile_of(((MAIN, B, B), 1.0), ((MAIN, A), 2.0))
    totals = fl.function_totals(fl.stack_matrix(profile))
    assert totals.total_time[[MAIN, A, B]].tolist() == [3.0, 2.0, 1.0]
    assert totals.self_time[[MAIN, A, B]].tolist() == [0.0, 2.0, 1.0]
    assert totals.samples[[MAIN, A, B]].tolist() == [2, 1, 1]


def test_diff_matches_frames_by_identity_and_scales_the_baseline_to_the_same_total():
    shuffled = [FRAMES[i] for i in (D, C, B, A, MAIN)]  # same functions, other indices
    index = {f: i for i, f in enumerate(shuffled)}
    m, a, b, c, d = (index[FRAMES[i]] for i in (MAIN, A, B, C, D))
    before = profile_of(((m, a, b), 2.0), ((m, c), 1.0), ((m, d), 1.0), frames=shuffled)
    after = profile_of(((MAIN, A, B), 6.0), ((MAIN, C), 1.0))
    layout = fl.diff(fl.stack_matrix(before), fl.stack_matrix(after))
    assert rows(layout, 1) == [("a", 0.0, 6.0), ("c", 6.0, 1.0)]  # d ran only before
    scale = 7.0 / 4.0
    assert layout.baseline[layout.row(1)].tolist() == pytest.approx([2 * scale, 1 * scale])
    assert layout.delta[layout.row(0)].tolist() == pytest.approx([0.0])
    groups = diff_groups(layout.delta, layout.total, threshold=0.01)
    slower, faster = groups[layout.row(1)]
    assert groups[layout.row(0)].tolist() == [0]
    assert 1 <= slower <= DIFF_LEVELS < faster


def test_diff_threshold_greys_out_small_changes():
    assert diff_groups(np.array([0.004, -0.004, 0.2]), 1.0, threshold=0.005).tolist() == [
        0, 0, DIFF_LEVELS]


def test_cull_merges_sub_pixel_frames_into_runs_of_filled_pixels():
    # main (1 s) over 100 consecutive 10 ms callees, then 40 ms of main alone.
    children = [((0, 1 + i), 0.0096) for i in range(100)]
    frames = [Frame("main")] + [Frame(f"f{i}") for i in range(100)]
    layout = fl.time_order(fl.stack_matrix(profile_of(*children, ((0,), 0.04), frames=frames)))
    culled = layout.cull(0.0, 1.0, unit=0.1, depth0=-1, depth1=3)
    assert layout.frame[culled.nodes].tolist() == [0]  # only main is a pixel wide
    assert culled.merged_depth.tolist() == [1]  # 100 callees drawn as one run
    assert culled.merged_start[0] == pytest.approx(0.0)
    assert culled.merged_end[0] == pytest.approx(1.0)
    zoomed = layout.cull(0.0, 0.1, unit=0.001, depth0=-1, depth1=3)
    assert len(zoomed.nodes) == 1 + 11 and not len(zoomed.merged_start)


def test_cull_leaves_out_pixels_that_sub_pixel_frames_barely_touch():
    frames = [Frame("main"), Frame("tiny")]
    layout = fl.time_order(fl.stack_matrix(profile_of(((0,), 0.5), ((0, 1), 0.01),
                                                      ((0,), 0.49), frames=frames)))
    culled = layout.cull(0.0, 1.0, unit=0.1, depth0=-1, depth1=3)
    assert not len(culled.merged_start)


def test_cull_keeps_runs_holding_an_emphasised_frame_emphasised():
    frames = [Frame("main")] + [Frame(f"f{i}") for i in range(20)]
    layout = fl.time_order(fl.stack_matrix(profile_of(
        *[((0, 1 + i), 0.05) for i in range(20)], frames=frames)))
    emphasis = layout.frame == 5
    culled = layout.cull(0.0, 1.0, unit=0.2, depth0=-1, depth1=3, emphasis=emphasis)
    assert culled.merged_emphasis.tolist() == [True]
    assert layout.cull(0.0, 1.0, 0.2, -1, 3, emphasis=layout.frame == 0).merged_emphasis \
        .tolist() == [False]


def test_node_at_finds_the_frame_under_a_point(profile):
    layout = fl.left_heavy(fl.stack_matrix(profile))
    assert layout.frames[layout.frame[layout.node_at(0.05, 2)]].name == "d"
    assert layout.node_at(0.075, 2) == -1  # right of d: nothing
    assert layout.node_at(0.05, 7) == -1


# -- widget -----------------------------------------------------------------------------------


@pytest.fixture
def chart(qtbot, profile) -> FlameChart:
    widget = FlameChart()
    qtbot.addWidget(widget)
    widget.resize(800, 300)
    widget.set_profile(profile)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.item.last_paint.get("rects", 0) > 0)
    return widget


def node_named(chart: FlameChart, name: str, nth: int = 0) -> int:
    layout = chart.layout_data
    return [i for i in range(len(layout)) if layout.frames[layout.frame[i]].name == name][nth]


def wheel(chart: FlameChart, at: QPoint, steps: int) -> None:
    viewport = chart.plot.viewport()
    event = QWheelEvent(QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def test_loading_a_profile_paints_every_frame_with_labels(chart):
    assert chart.item.last_paint["rects"] == len(chart.layout_data) == 5
    assert chart.item.last_paint["labels"] >= 3
    assert chart.visible_range() == pytest.approx((0.0, 0.08))


def test_wheel_zooms_the_time_axis_around_the_cursor(chart, qtbot):
    at = chart.node_point(node_named(chart, "d"))
    before = chart.visible_range()
    wheel(chart, at, 2)
    qtbot.waitUntil(lambda: chart.visible_range() != before)
    x0, x1 = chart.visible_range()
    assert x1 - x0 < 0.08 * 0.75
    assert x0 > 0.0 and x1 < 0.08  # zoomed around d, not the left edge
    wheel(chart, at, -8)
    qtbot.waitUntil(lambda: chart.visible_range() == pytest.approx((0.0, 0.08)))


def test_drag_pans_a_zoomed_view(chart):
    chart.zoom_to(0.02, 0.04)
    viewport = chart.plot.viewport()
    start = chart.node_point(node_named(chart, "main"))
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, left, none, start)
    QTest.mouseMove(viewport, start + QPoint(-40, 0))
    QTest.mouseRelease(viewport, left, none, start + QPoint(-200, 0))
    x0, x1 = chart.visible_range()
    assert x0 > 0.024 and x1 - x0 == pytest.approx(0.02)


def test_clicking_a_frame_zooms_into_it_and_reports_its_function(chart, qtbot):
    node = node_named(chart, "b")
    with qtbot.waitSignal(chart.sig_function_clicked) as clicked:
        QTest.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, chart.node_point(node))
    assert clicked.args == [B]
    assert chart.visible_range() == pytest.approx((0.0, 0.04))


def test_hovering_a_frame_shows_function_place_and_times(chart, qtbot):
    QTest.mouseMove(chart.plot.viewport(), chart.node_point(node_named(chart, "b")))
    qtbot.waitUntil(lambda: chart.item.toolTip() != "")
    tip = chart.item.toolTip()
    assert "<b>b</b>" in tip and "/src/lib.py:20" in tip
    assert "self 40.0 ms (50.0%)" in tip and "total 40.0 ms (50.0%)" in tip
    assert chart.info.text().startswith("b — lib.py:20")


def test_double_click_requests_the_frames_source(chart, qtbot):
    viewport, at = chart.plot.viewport(), chart.node_point(node_named(chart, "d"))
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with qtbot.waitSignal(chart.sig_open_source_requested) as opened:
        QTest.mouseClick(viewport, left, none, at)
        QTest.mouseDClick(viewport, left, none, at)  # Qt 6 sends press + double-click
        QTest.mouseRelease(viewport, left, none, at)
    assert opened.args == ["/src/lib.py", 40]


def test_search_dims_the_frames_that_do_not_match(chart, qtbot):
    assert chart.set_search("LIB.py") == 2
    layout = chart.layout_data
    emphasised = {layout.frames[f].name for f in layout.frame[chart.item.emphasis]}
    assert emphasised == {"b", "d"}
    chart.item.last_paint.clear()
    qtbot.waitUntil(lambda: chart.item.last_paint.get("rects") == 5)
    assert chart.set_search("") == 0 and chart.item.emphasis is None


def test_selecting_a_function_outlines_it_and_roots_the_sandwich_on_it(chart):
    chart.set_selected_function(B)
    assert chart.item.outlined_frame == B
    chart.set_view("sandwich")
    layout = chart.layout_data
    assert layout.kind == "sandwich" and layout.frame[layout.row(0)].tolist() == [B]
    assert [name for name, *_ in rows(layout, -1)] == ["a"]
    assert chart.visible_range() == pytest.approx((0.0, 0.04))


def test_switching_views_changes_the_layout_and_resets_the_zoom(chart, qtbot):
    chart.zoom_to(0.0, 0.01)
    with qtbot.waitSignal(chart.sig_view_changed):
        chart.set_view("time")
    assert chart.layout_data.kind == "time" and len(chart.layout_data) == 7
    assert chart.visible_range() == pytest.approx((0.0, 0.08))
    chart.set_view("left-heavy")
    assert len(chart.layout_data) == 5
    with pytest.raises(ValueError, match="unknown flame chart view"):
        chart.set_view("upside-down")


def test_flame_orientation_puts_the_root_below_its_callees(chart):
    root, callee = node_named(chart, "main"), node_named(chart, "a")
    assert chart.node_point(root).y() < chart.node_point(callee).y()
    chart.set_orientation("flame")
    assert chart.node_point(root).y() > chart.node_point(callee).y()


def test_diff_view_colours_frames_by_their_change(chart, profile, qtbot):
    faster_b = profile_of(((MAIN, A, B), 0.005), ((MAIN, C), 0.01), ((MAIN, A, D), 0.03))
    chart.set_baseline(faster_b)
    chart.set_view("diff")
    layout = chart.layout_data
    assert layout.kind == "diff" and layout.total == pytest.approx(0.08)
    b = node_named(chart, "b")
    group = chart.item.groups[b]
    assert 1 <= group <= DIFF_LEVELS  # b got slower: red
    assert "change: +" in chart.node_tooltip(b)
    qtbot.waitUntil(lambda: chart.item.last_paint.get("rects") == len(layout))
    chart.set_noise_threshold(0.9)
    assert not chart.item.groups.any()


def test_dark_palette_gives_dark_frames_with_light_text(chart, qtbot):
    light_fill = chart.item.colors.fills[0].color().lightness()
    palette = chart.palette()
    for role, colour in ((palette.ColorRole.Base, "#17191d"), (palette.ColorRole.Text, "#d8dbe0")):
        palette.setColor(role, colour)
    chart.setPalette(palette)
    qtbot.waitUntil(lambda: chart.item.colors.fills[0].color().lightness() < 128)
    assert light_fill > 128
    assert chart.item.colors.texts[0].color().lightness() > 200
