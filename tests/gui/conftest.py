"""GUI fixtures: a qasync loop for pytest-qt, throwaway QSettings, the real window."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QSettings

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.client import RuntimeClient
from logomesh_studio.studio.main_window import MainWindow
from logomesh_studio.studio.theme import ThemeController

TIMEOUT_MS = 10_000

CHATTY = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return {"pong": message.payload}

    @handler("shout")
    def shout(self, message):
        self.ctx.log.info("quiet note %s", message.payload)
        self.ctx.log.warning("loud %s", message.payload)
        return {"shouted": True}

    @handler("crash")
    def crash(self, message):
        raise ValueError("boom")

    @handler("relay")
    async def relay(self, message):
        return await self.ctx.send("beta", "ping", message.payload)
"""


@pytest.fixture
def two_plugins(workspace):
    """A workspace where alpha may message beta and beta may message nobody."""
    workspace.plugin("alpha", CHATTY, permissions=["send:beta"], capabilities=["relay"])
    workspace.plugin("beta", CHATTY)
    return workspace


@pytest.fixture(autouse=True)
def no_cpu_meter_left_running() -> Iterator[None]:
    """Every test stops the CPU meters its runtime clients started (close or close_now)."""
    yield
    leftover = [t.name for t in threading.enumerate() if t.name == "logomesh-cpu-meter"]
    assert not leftover, "a RuntimeClient was not closed: its CPU meter is still sampling"


async def _nothing() -> None:
    return None


@pytest.fixture
def async_loop(qapp) -> Iterator[qasync.QEventLoop]:
    """A fresh qasync loop, running for asyncio while pytest-qt spins Qt's event loop.

    qtbot's waits run Qt's event loop, so the loop is made in qasync's documented mode for a
    Qt loop that someone else runs (``already_running=True``): the window awaits runtime
    commands on it and its tasks advance whenever qtbot waits. Afterwards it is stopped and
    run once to completion, the public way to end asyncio's "running" mark (qasync's ``stop``
    alone leaves it set), so that headless tests can still call ``asyncio.run``.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    loop.stop()
    loop.run_until_complete(_nothing())
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """Settings in a temporary ini file: the user's own settings are never touched."""
    return QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def theme(qapp) -> ThemeController:
    controller = ThemeController(qapp, "light")
    controller.apply()
    return controller


class Studio:
    """The real main window on a real runtime, plus helpers to drive it."""

    def __init__(self, qtbot, window: MainWindow, client: RuntimeClient) -> None:
        self.qtbot = qtbot
        self.window = window
        self.client = client

    def open(self, workspace, has_plugins: bool = True) -> None:
        with self.qtbot.waitSignal(self.client.sig_workspace_loaded, timeout=TIMEOUT_MS):
            self.window.open_workspace(workspace)
        self.qtbot.waitUntil(lambda: self.client.state == "running", timeout=TIMEOUT_MS)
        if has_plugins:
            self.qtbot.waitUntil(lambda: self.window.plugins.model.rowCount() > 0,
                                 timeout=TIMEOUT_MS)
        # Also until saved edits reload; closing while the watcher is still starting
        # races in the runtime (its observer thread is joined before it started).
        self.qtbot.waitUntil(lambda: self.client.watching, timeout=TIMEOUT_MS)

    def run(self, coro):
        """Await ``coro`` on the qasync loop while Qt keeps processing events."""
        task = asyncio.ensure_future(coro)
        self.qtbot.waitUntil(task.done, timeout=TIMEOUT_MS)
        return task.result()

    def send(self, source: str, target: str, type: str, payload=None):
        return self.run(self.client.send(source, target, type, payload))

    def tree_row(self, plugin_id: str) -> tuple[str, ...]:
        model = self.window.plugins.model
        node = model.node(model.plugin_index(plugin_id))
        return node.texts if node is not None else ()


@pytest.fixture
def studio(qtbot, async_loop, settings, theme) -> Iterator[Studio]:
    client = RuntimeClient(RuntimeConfig(entry_points=False, debounce=0.05))
    window = MainWindow(client, settings, theme)
    window.show()
    yield Studio(qtbot, window, client)
    window.close()
    client.close_now()
    # Delete on this (the GUI) thread: left to Python's cyclic GC, a QObject with
    # timers may be freed on the runtime thread while Qt still has its timers.
    shiboken6.delete(window)
    shiboken6.delete(client)
