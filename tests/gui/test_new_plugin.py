"""File > New Plugin...: scaffold from a template, load it, open its main file."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

TIMEOUT_MS = 10_000


def test_new_plugin_is_created_loaded_and_opened_in_the_editor(studio, workspace):
    workspace.plugin("alpha")
    studio.open(workspace.root)
    dialog = studio.window.authoring.new_plugin()
    assert dialog.isVisible()
    assert dialog.folder_field.text() == str(workspace.root.resolve())
    dialog.template_combo.setCurrentIndex(dialog.template_combo.findData("service"))
    QTest.keyClicks(dialog.name_field, "greeter")

    QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)

    folder = workspace.root / "greeter"
    assert (folder / "plugin.toml").is_file() and not dialog.isVisible()
    view = studio.window.authoring.editor.current_view()
    assert os.path.realpath(view.path) == os.path.realpath(folder / "greeter" / "__init__.py")
    assert "class GreeterPlugin" in view.toPlainText()
    studio.qtbot.waitUntil(
        lambda: any(i.id == "greeter" and i.status == "running"
                    for i in studio.client.plugin_infos), timeout=TIMEOUT_MS)


def test_a_taken_folder_is_an_error_in_the_dialog_and_nothing_is_written(studio, workspace):
    workspace.plugin("alpha")
    studio.open(workspace.root)
    before = sorted(p.name for p in workspace.root.iterdir())
    dialog = studio.window.authoring.new_plugin()
    QTest.keyClicks(dialog.name_field, "alpha")

    assert not dialog.create_plugin()

    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert "alpha" in dialog.error_label.text()
    assert sorted(p.name for p in workspace.root.iterdir()) == before
    assert studio.window.authoring.editor.current_view() is None


def test_an_invalid_id_is_an_error_in_the_dialog(studio, workspace, tmp_path):
    dialog = studio.window.authoring.new_plugin()
    dialog.folder_field.setText(str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    QTest.keyClicks(dialog.name_field, "Bad Name!")

    assert not dialog.create_plugin()

    assert dialog.error_label.isVisible() and dialog.error_label.text()
    assert list((tmp_path / "elsewhere").iterdir()) == []
    QTest.keyClicks(dialog.name_field, "x")  # typing again clears the old error
    assert not dialog.error_label.isVisible()
