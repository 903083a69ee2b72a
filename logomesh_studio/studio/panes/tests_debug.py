""""Debug This Test": one test in-process on a worker thread, its plugin under the debugger.

The test runs with pytest on a daemon thread (``devtools.test_debugging``). When its
PluginHarness has started a runtime, the worker asks the GUI thread to start a debug
session of the plugin on *that* runtime (the debugger pane's usual DebugSession, with
the plugin's folder as the only root) and waits until the session is attached, so the
test's first message can already stop at a breakpoint. Before the harness stops its
runtime, the session ends. The GUI never waits for the test: a stop parks the harness's
runtime thread, not Studio's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from logomesh_studio.devtools.debug_session import DebugSession
from logomesh_studio.runtime.runner import RuntimeThread

_log = logging.getLogger(__name__)
_ATTACH_TIMEOUT = 30.0

StartSession = Callable[[str, RuntimeThread], DebugSession | None]
"""Starts debugging a plugin on a runtime (the debugger pane); None if it could not."""


class TestDebugRun(QObject):
    """Runs one test at a time with its plugin debugged."""

    __test__ = False

    sig_finished = Signal(str, int)  # nodeid, pytest exit code (0: passed, -1: crashed)
    sig_error = Signal(str)
    _sig_runtime_started = Signal(object)  # (plugin id, runtime, handshake), from the worker
    _sig_done = Signal(str, int)

    def __init__(self, start_session: StartSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start_session = start_session
        self._thread: threading.Thread | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._sig_runtime_started.connect(self._on_worker_runtime_started, queued)
        self._sig_done.connect(self._on_worker_done, queued)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, nodeid: str, plugin_id: str, workspace: Path) -> bool:
        """Run ``nodeid`` (relative to ``workspace``) with ``plugin_id`` debugged; False if
        a debugged test is still running."""
        if self._thread is not None:
            self.sig_error.emit("A test is already running under the debugger")
            return False
        self._thread = threading.Thread(target=self._run, args=(nodeid, plugin_id, workspace),
                                        name="logomesh-debug-test", daemon=True)
        self._thread.start()
        return True

    # worker thread

    def _run(self, nodeid: str, plugin_id: str, workspace: Path) -> None:
        from logomesh_studio.devtools.test_debugging import run_test

        code = -1
        try:
            code = run_test(nodeid, workspace, lambda runtime: self._attach(plugin_id, runtime))
        except BaseException:  # pytest or the test broke out: reported, the worker ends
            _log.exception("debugging %s failed", nodeid)
        finally:
            self._sig_done.emit(nodeid, code)

    def _attach(self, plugin_id: str, runtime: RuntimeThread) -> Callable[[], None] | None:
        handshake: dict[str, Any] = {"ready": threading.Event()}
        self._sig_runtime_started.emit((plugin_id, runtime, handshake))
        if not handshake["ready"].wait(_ATTACH_TIMEOUT):
            return None
        session: DebugSession | None = handshake.get("session")
        if session is None:
            return None
        # The attach was queued on the runtime loop before this: once this has run, the
        # plugin's code is traced.
        runtime.run(_nothing(), _ATTACH_TIMEOUT)
        return lambda: session.stop(_ATTACH_TIMEOUT)

    # GUI thread

    def _on_worker_runtime_started(self, item: tuple[str, RuntimeThread, dict[str, Any]]) -> None:
        plugin_id, runtime, handshake = item
        try:
            handshake["session"] = self._start_session(plugin_id, runtime)
        finally:
            handshake["ready"].set()

    def _on_worker_done(self, nodeid: str, code: int) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(1.0)
        self.sig_finished.emit(nodeid, code)


async def _nothing() -> None:
    return None
