"""Show the author's loop: a plugin file in the editor, its tests run with coverage.

    python docs/screenshots/make_authoring_screenshot.py [--theme light|dark] [--grab OUT.png]

A copy of ``plugins/`` (with one extra failing test, so failure details show) opens in
Studio; ``counter``'s tests open in the editor with an unsaved edit, its code beside
them; every plugin's tests run (coverage shades the code's gutter), the find bar looks
for ``top`` and the failure is selected in the tests pane. Without
``--grab`` the window stays open for an external screenshot
(``../shared/tools/xshot.sh docs/screenshots/authoring.png 40 -- python ...``).
"""

from __future__ import annotations

from pathlib import Path

from _studio_shot import arguments, copy_examples, show_studio, until

from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow

FAILING = '''

def test_top_words_come_most_frequent_first(harness):
    reply = harness.send("counter", "count", {"text": "b a b", "top": 1})
    assert reply["top"] == [["a", 1]]
'''


async def populate(window: MainWindow, client: RuntimeClient, workspace: Path) -> None:
    await until(lambda: client.state == "running" and client.watching)
    authoring = window.authoring
    tests_file = workspace / "counter" / "tests" / "test_counter.py"
    edited = authoring.open_file(str(tests_file), 7)
    edited.textCursor().insertText("    # TODO: a text with ties\n")  # unsaved: the tab's dot
    source = workspace / "counter" / "counter" / "__init__.py"
    authoring.open_file(str(source))
    tests = authoring.tests
    tests.run_all()
    await until(lambda: not tests.running, timeout=120.0)
    authoring.editor.action_find.trigger()
    authoring.editor.find_bar.find_field.setText("top")
    authoring.editor.find_bar.find_next()
    failed = tests.model.failed_tests()
    if failed:
        tests.select_test(failed[0].key)
    window.docks["tests"].raise_()
    window.docks["editor"].raise_()


def main() -> int:
    args = arguments(__doc__).parse_args()
    tmp, workspace = copy_examples("logomesh-authoring-shot-")
    counter_tests = workspace / "counter" / "tests" / "test_counter.py"
    counter_tests.write_text(counter_tests.read_text() + FAILING)
    return show_studio(tmp, workspace, args, populate)


if __name__ == "__main__":
    raise SystemExit(main())
