"""Run a PluginHost on its own asyncio loop in a dedicated thread.

Front ends (the CLI, the Studio window) stay on their own thread and talk to the
runtime by submitting coroutines; events reach them through the host's EventHub,
called on the runtime thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import EventHub
from logomesh_studio.runtime.host import PluginHost

T = TypeVar("T")
_log = logging.getLogger("logomesh.runtime")


class RuntimeThread:
    """A runtime thread hosting one workspace; ``start()`` returns once it is loaded."""

    def __init__(self, workspace: Path | None, config: RuntimeConfig | None = None,
                 events: EventHub | None = None) -> None:
        self.events = events or EventHub()
        self.host = PluginHost(workspace, config, self.events)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="logomesh-runtime", daemon=True)
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._halted = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        while True:
            try:
                self.loop.run_forever()
            except (KeyboardInterrupt, SystemExit):
                # Raised on this thread, so by plugin code (a task it spawned): asyncio lets
                # these two through its loop; the runtime goes on (a real Ctrl+C reaches the
                # main thread, never this one).
                _log.exception("plugin code raised this in a task; the runtime goes on")
                if not self._halted:
                    continue
            break
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def _halt(self) -> None:
        self._halted = True
        self.loop.stop()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def thread_id(self) -> int:
        """The runtime thread's id, for samplers and tracers (once started)."""
        ident = self._thread.ident
        if ident is None:
            raise RuntimeError("the runtime thread has not started")
        return ident

    def start(self, timeout: float | None = 60.0) -> None:
        """Start the thread and load the workspace (blocks until loaded). A ``stop()``
        that comes first, even from another thread mid-start, means nothing loads."""
        with self._lock:
            if self._stopping:
                return
            self._thread.start()
        self._ready.wait(timeout)
        with self._lock:
            if self._stopping:
                return
            loading = self.submit(self.host.load_workspace())
        try:
            loading.result(timeout)
        except BaseException:
            loading.cancel()
            self.stop(timeout)
            raise

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the runtime loop from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the runtime loop and wait for its result; on timeout the
        coroutine is cancelled (and TimeoutError raised)."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call_soon(self, func: Callable[..., Any], *args: Any) -> None:
        """Run a plain callable on the runtime loop (thread-safe)."""
        self.loop.call_soon_threadsafe(func, *args)

    def stop(self, timeout: float | None = 30.0) -> None:
        """Shut every plugin down, then stop the loop and join the thread."""
        with self._lock:
            self._stopping = True
            if not self._thread.is_alive():
                return
        try:
            self.run(self.host.shutdown(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self._halt)
            self._thread.join(timeout)
