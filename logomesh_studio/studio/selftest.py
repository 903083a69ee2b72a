"""The Studio window's part of ``--self-test`` (see :mod:`logomesh_studio.bundle.selftest`).

Once the workspace has loaded and the plugin list (with any plugin panels) is in, every
dock the window has is opened once, whatever helpers or plugins added it: the lazily
built panes are built, each dock is shown and painted, and a traceback written meanwhile
is charged to that pane. Then every plugin gets its messages, sent through the
RuntimeClient as the panes send theirs, and the window closes.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QPlainTextEdit

from logomesh_studio.bundle.selftest import (
    MESSAGE_TIMEOUT,
    SelfTest,
    check_reply,
    messages_to_send,
)
from logomesh_studio.runtime.events import WorkspaceLoaded
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow

__all__ = ["attach", "open_every_pane", "send_every_type"]

LIST_PATIENCE = 15.0
"""Seconds to wait, after the workspace loaded, for the window to list its plugins."""


def open_every_pane(window: MainWindow, test: SelfTest) -> None:
    """Build the lazily built panes, then show and paint every dock of ``window`` once."""
    app = QApplication.instance()
    assert app is not None
    try:
        window.build_all_panes()
    except Exception as exc:  # noqa: BLE001  # a pane that cannot build is what we look for
        test.fail(f"a pane failed to build: {type(exc).__name__}: {exc}")
    app.processEvents()
    for last in test.take_tracebacks():  # written while starting, before any pane opened
        test.fail(f"traceback on stderr while starting: {last}")
    docks = window.findChildren(QDockWidget)
    for dock in sorted(docks, key=lambda d: d.objectName()):
        title = dock.windowTitle() or dock.objectName()
        dock.show()
        dock.raise_()
        app.processEvents()
        widget = dock.widget()
        failed = [*test.take_tracebacks()]
        if widget is None or not widget.isVisible():
            failed.append("did not show")
        elif isinstance(widget, QPlainTextEdit) and widget.objectName() == "panel_error":
            failed.append(widget.toPlainText().strip().splitlines()[-1])
        if failed:
            test.fail(f"pane {title!r}: {'; '.join(failed)}")
        else:
            test.ok(f"pane {title!r} opened ({type(widget).__name__})")
    if not docks:
        test.fail("the window has no panes")


async def send_every_type(client: RuntimeClient, test: SelfTest) -> None:
    """Send ``{}`` as the developer for every type every running plugin handles."""
    for target, message_type in messages_to_send(client.plugin_infos):
        try:
            await client.send(client.developer, target, message_type, {}, MESSAGE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001  # each failure is reported, none stops it
            check_reply(test, target, message_type, exc)
        else:
            check_reply(test, target, message_type, None)


def attach(window: MainWindow, client: RuntimeClient, test: SelfTest) -> None:
    """Run the self-test in ``window`` once its workspace has loaded, then close it."""
    timer = QTimer(window)
    timer.setInterval(50)
    state: dict[str, object] = {}

    def listed() -> bool:
        event = state["event"]
        assert isinstance(event, WorkspaceLoaded)
        return {info.id for info in client.plugin_infos} >= set(event.running)

    async def send_then_close() -> None:
        try:
            await send_every_type(client, test)
        finally:
            window.close()

    def run() -> None:
        event = state["event"]
        assert isinstance(event, WorkspaceLoaded)
        if not listed() and time.monotonic() < float(state["deadline"]):  # type: ignore[arg-type]
            return
        timer.stop()
        try:
            errors = {info.id: info.error for info in client.plugin_infos}
            test.check_loaded(list(event.running), list(event.failed), errors)
            if not listed():
                test.fail(f"the plugin tree did not list every plugin within {LIST_PATIENCE} s")
            open_every_pane(window, test)
        except BaseException:
            window.close()
            raise
        client.spawn(send_then_close(), "self-test: message every plugin")

    def loaded(event: WorkspaceLoaded) -> None:
        state.update(event=event, deadline=time.monotonic() + LIST_PATIENCE)
        timer.start()

    timer.timeout.connect(run)
    client.sig_workspace_loaded.connect(loaded)
