"""The code view: gutter clicks and menu ask for breakpoints; markers, colouring."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest

from logomesh_studio.studio.widgets.code_view import CodeView, GutterMarker

SOURCE = '''import os


def greet(name):
    """Say hello."""
    # a comment
    return f"hello {name}" * 2
'''


def make_view(qtbot, text: str = SOURCE) -> CodeView:
    view = CodeView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.set_text(text, "/tmp/example.py")
    view.show()
    qtbot.waitExposed(view)
    return view


def click(view: CodeView, line: int, button=Qt.MouseButton.LeftButton) -> None:
    y = int(view.line_top(line)) + view.fontMetrics().height() // 2
    QTest.mouseClick(view.gutter, button, Qt.KeyboardModifier.NoModifier, QPoint(6, y))


def test_clicking_the_gutter_asks_to_toggle_that_line(qtbot):
    view = make_view(qtbot)

    with qtbot.waitSignal(view.sig_breakpoint_toggle_requested) as blocker:
        click(view, 4)

    assert blocker.args == [4]


def test_clicking_below_the_last_line_asks_nothing(qtbot):
    view = make_view(qtbot)

    with qtbot.assertNotEmitted(view.sig_breakpoint_toggle_requested):
        QTest.mouseClick(view.gutter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(6, view.gutter.height() - 2))


def test_menu_offers_edits_for_a_breakpoint_and_additions_for_a_bare_line(qtbot):
    view = make_view(qtbot)
    view.set_markers({7: GutterMarker(enabled=True)})

    edits = [a.text() for a in view.breakpoint_menu(7).actions() if a.text()]
    additions = [a.text() for a in view.breakpoint_menu(4).actions() if a.text()]

    assert edits == ["Edit Condition…", "Edit Hit Condition…", "Edit Log Message…",
                     "Disable Breakpoint", "Remove Breakpoint"]
    assert additions == ["Add Breakpoint", "Add Conditional Breakpoint…", "Add Logpoint…"]
    with qtbot.waitSignal(view.sig_breakpoint_edit_requested) as blocker:
        view.breakpoint_menu(7).actions()[0].trigger()
    assert blocker.args == [7, "condition"]


def test_execution_line_is_highlighted_and_shown(qtbot):
    view = make_view(qtbot, "".join(f"x{n} = {n}\n" for n in range(300)))

    view.set_execution_line(250)

    assert view.execution_line == 250
    assert view.cursor_line() == 250
    assert len(view.extraSelections()) == 1
    assert view.line_at(view.line_top(250) + 1) == 250


def _color_at(view: CodeView, line: int, column: int) -> QColor:
    block = view.document().findBlockByNumber(line - 1)
    for fmt in block.layout().formats():
        if fmt.start <= column < fmt.start + fmt.length:
            return fmt.format.foreground().color()
    return QColor()


def test_python_is_coloured_and_recoloured_for_a_dark_palette(qtbot):
    view = make_view(qtbot)
    keyword_light = _color_at(view, 4, 0)  # "def"
    string_light = _color_at(view, 7, 11)  # inside the f-string
    comment_light = _color_at(view, 6, 5)

    assert keyword_light.isValid() and string_light.isValid() and comment_light.isValid()
    assert len({keyword_light.name(), string_light.name(), comment_light.name()}) == 3

    dark = QPalette(view.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#17191d"))
    view.setPalette(dark)

    assert _color_at(view, 4, 0).lightness() > keyword_light.lightness()


def test_triple_quoted_strings_continue_across_lines(qtbot):
    view = make_view(qtbot, 'x = """first\nsecond\nthird"""\ny = 1\n')

    string = _color_at(view, 1, 6)
    assert _color_at(view, 2, 2) == string
    assert _color_at(view, 4, 0) != string
