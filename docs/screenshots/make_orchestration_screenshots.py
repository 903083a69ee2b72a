"""Open the Studio's orchestration editor on a copy of the example workspace and grab it.

    python docs/screenshots/make_orchestration_screenshots.py --state edit --grab OUT.png
    python docs/screenshots/make_orchestration_screenshots.py --state run --grab OUT.png

``edit`` opens text-pipeline, breaks one condition (its node and the problems list show
it) and selects a task so the inspector is filled. ``run`` makes the copied echo plugin
answer slowly, then runs the pipeline with the input from the file's header comment and
grabs the window while the run is live: done tasks green with durations, the running
ones highlighted, the rest pending.
"""

from __future__ import annotations

import asyncio

from _studio_shot import arguments, copy_examples, show_studio, until
from PySide6.QtCore import Qt

from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow

SLOW_ECHO = '''
    @handler("echo")
    async def echo(self, message: Message):
        import asyncio

        await asyncio.sleep(30)
        return message.payload
'''


async def stage(window: MainWindow, client: RuntimeClient, state: str) -> None:
    pane = window.orchestration
    await until(lambda: client.state == "running" and pane.document is not None
                and pane.palette_model.rowCount() > 0)
    window.docks["orchestration"].raise_()
    window.resizeDocks([window.docks["plugins"], window.docks["orchestration"]], [230, 1330],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([window.docks["orchestration"], window.docks["logs"]], [790, 120],
                       Qt.Orientation.Vertical)
    await asyncio.sleep(0.2)
    pane.view.fit()
    if state == "edit":
        pane.select_node("long-text")
        pane.inspector.task_condition.setText("total >")
        pane.inspector.task_condition.editingFinished.emit()
        pane.select_node("store-summary")
    else:
        pane.run_monitor.action_run.trigger()
        await until(lambda: pane.scene.tasks["echo-tokens"].state == "running")
        pane.select_node("count")  # its resolved input and output in the inspector
        await until(lambda: pane.run_monitor.record is not None)
    pane.view.fit()


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--state", choices=("edit", "run"), default="edit")
    args = parser.parse_args()
    tmp, workspace = copy_examples("logomesh-shots-", "tests")
    if args.state == "run":
        echo = workspace / "echo" / "echo" / "__init__.py"
        source = echo.read_text()
        start = source.index('    @handler("echo")')
        end = source.index("    def execute")
        echo.write_text(source[:start] + SLOW_ECHO.lstrip("\n") + "\n" + source[end:])

    def forget_edits(window: MainWindow) -> None:
        window.orchestration.document = None  # the staged edits are not to be saved

    return show_studio(tmp, workspace, args,
                       lambda window, client, _ws: stage(window, client, args.state),
                       grab_delay_ms=700, after_grab=forget_edits)


if __name__ == "__main__":
    raise SystemExit(main())
