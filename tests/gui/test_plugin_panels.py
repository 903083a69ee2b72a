"""Plugin panels: a manifest's ``[ui] panel`` factory docked in Studio, talking to its
plugin through messages; a failing factory is reported, never fatal."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QPushButton

from logomesh_studio.devtools.scaffold import scaffold

TIMEOUT_MS = 10_000


def test_a_ui_plugin_panel_is_docked_and_talks_to_its_plugin(studio, workspace):
    scaffold("ui", "clicker", workspace.root)
    studio.open(workspace.root)
    panels = studio.window.authoring.panels
    studio.qtbot.waitUntil(lambda: "clicker" in panels.docks, timeout=TIMEOUT_MS)
    dock = panels.docks["clicker"]
    label = dock.widget().findChild(QLabel)
    studio.qtbot.waitUntil(lambda: label.text() == "Clicks: 0", timeout=TIMEOUT_MS)

    dock.widget().findChild(QPushButton).click()

    studio.qtbot.waitUntil(lambda: label.text() == "Clicks: 1", timeout=TIMEOUT_MS)
    toggles = [a for a in panels.menu.actions() if a is dock.toggleViewAction()]
    assert toggles and toggles[0].text() == dock.windowTitle()


def test_a_failing_panel_factory_is_reported_and_studio_carries_on(studio, workspace):
    folder = workspace.plugin("broken", ui={"panel": "broken_panel:make_panel"})
    (folder / "broken_panel.py").write_text(
        "def make_panel(link):\n    raise RuntimeError('no panel today')\n")
    workspace.plugin("beta", permissions=["send:broken"])
    with studio.qtbot.waitSignal(studio.window.authoring.panels.sig_panel_failed,
                                 timeout=TIMEOUT_MS) as failed:
        studio.open(workspace.root)

    assert failed.args[0] == "broken" and "no panel today" in failed.args[1]
    view = studio.window.authoring.panels.docks["broken"].widget()
    assert isinstance(view, QPlainTextEdit) and "no panel today" in view.toPlainText()
    assert studio.send("beta", "broken", "ping", 1)["pong"] == 1  # the plugin itself runs


def test_a_panel_reply_callback_that_raises_is_reported(studio, workspace):
    folder = workspace.plugin("sloppy", ui={"panel": "sloppy_panel:make_panel"})
    (folder / "sloppy_panel.py").write_text(
        "from PySide6.QtWidgets import QLabel\n\n\n"
        "def make_panel(link):\n"
        "    link.send('ping', 1, on_reply=lambda reply: reply['missing'])\n"
        "    return QLabel('sloppy')\n")
    with studio.qtbot.waitSignal(studio.window.authoring.panels.sig_panel_failed,
                                 timeout=TIMEOUT_MS) as failed:
        studio.open(workspace.root)
    assert failed.args[0] == "sloppy" and "KeyError" in failed.args[1]


def test_a_panel_shows_its_edit_after_the_plugin_hot_reloads(studio, workspace):
    folder = workspace.plugin("shown", ui={"panel": "shown_panel:make_panel"})
    panel = folder / "shown_panel.py"
    source = ("from PySide6.QtWidgets import QLabel\n\n\n"
              "def make_panel(link):\n    return QLabel({text!r})\n")
    panel.write_text(source.format(text="before the edit"))
    studio.open(workspace.root)
    panels = studio.window.authoring.panels
    studio.qtbot.waitUntil(lambda: "shown" in panels.docks, timeout=TIMEOUT_MS)
    dock = panels.docks["shown"]
    assert dock.widget().text() == "before the edit"

    with studio.qtbot.waitSignal(studio.client.sig_reload_completed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda event: event.plugin_id == "shown"):
        panel.write_text(source.format(text="after the edit"))

    assert panels.docks["shown"] is dock  # the same dock, where the user left it
    assert dock.widget().text() == "after the edit"
