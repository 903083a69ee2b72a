"""The Insights pane and the Metrics view, on a real window over a real runtime."""

from __future__ import annotations

import os

from logomesh_studio.studio.panes.insights import InsightsPane
from tests.advisor_plugins import SLEEPER, driver, line_of
from tests.gui.conftest import TIMEOUT_MS


def show(studio, pane: InsightsPane, tab: int) -> None:
    dock = studio.window.docks["insights"]
    dock.show()
    dock.raise_()
    pane.tabs.setCurrentIndex(tab)


def findings_of(pane: InsightsPane, kind: str) -> list:
    return [f for f in pane.model.findings if f.kind == kind]


def test_a_blocking_handler_appears_live_and_links_to_its_plugin_and_line(studio, workspace):
    folder = workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        await asyncio.sleep(0.5)
        await ctx.send("sleeper", "work")
    """), permissions=["send:sleeper:*"])
    pane = studio.window.insights
    show(studio, pane, 0)
    studio.open(workspace.root)
    studio.qtbot.waitUntil(lambda: bool(findings_of(pane, "blocking-handler")),
                           timeout=TIMEOUT_MS)
    [finding] = findings_of(pane, "blocking-handler")
    file, line = line_of(folder, "time.sleep(0.2)")
    assert finding.location == f"{file}:{line}"
    row = pane.model.findings.index(finding)
    assert pane.model.index(row, 5).data() == f"{os.path.basename(file)}:{line}"

    pane.table.selectRow(row)
    assert studio.window.plugins.selected_plugin() == "sleeper"
    assert "held the runtime loop" in pane.details.text()
    assert "asyncio.to_thread" in pane.details.text()

    with studio.qtbot.waitSignal(pane.sig_open_file_requested) as opened:
        pane.details.linkActivated.emit(f"open:{finding.location}")
    assert opened.args == [file, line]
    view = studio.window.authoring.editor.current_view()
    assert view is not None and os.path.samefile(view.path, file)
    assert view.cursor_line() == line

    pane.details.linkActivated.emit("messages:sleeper:work")
    assert studio.window.messages.current_filter().plugin == "sleeper"
    assert studio.window.messages.current_filter().type == "work"


def test_the_metrics_view_shows_a_plugins_figures_types_and_sparklines(studio, workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for round in range(30):
            for i in range(10):
                await ctx.send("sleeper", "quick", i)
            await asyncio.sleep(0.1)
    """), permissions=["send:sleeper:*"])
    pane = studio.window.insights
    view = pane.metrics
    studio.open(workspace.root)
    show(studio, pane, 1)
    view.select_plugin("sleeper")
    studio.qtbot.waitUntil(lambda: int(view.figures["calls"].text().replace("-", "0")) > 0,
                           timeout=TIMEOUT_MS)
    assert view.types_model.item(0, 0).text() == "quick"
    assert view.figures["p50"].text().endswith(("µs", "ms"))
    # Two readings make a rate: the sparklines get their first points.
    studio.qtbot.waitUntil(lambda: len(view.history.get("sleeper", ())) >= 2,
                           timeout=TIMEOUT_MS)
    xs, ys = view._curves["rate"].getData()
    assert len(xs) >= 2 and max(ys) > 0
    assert not view.empty.isVisible()


def test_a_finding_seen_again_updates_its_row(qtbot):
    from logomesh_studio.devtools.findings import Finding
    from logomesh_studio.studio.panes.insights import FindingsModel

    model = FindingsModel()
    first = Finding("slow-handler", "a", "warning", "p95 120 ms", type="t")
    model.merge([first, Finding("error-rate", "b", "error", "10%", type="t")])
    model.merge([Finding("slow-handler", "a", "warning", "p95 180 ms", type="t")])
    assert model.rowCount() == 2
    assert model.index(0, 4).data() == "p95 180 ms"
