"""A Debug Adapter Protocol client: requests with deadlines, events to a callback.

Studio's debugger pane uses it to debug a plugin whose debugger runs elsewhere (an
isolated plugin's child, or any ``--dap`` server); tests use it to drive the server.
Events are handed to ``on_event`` on the reader thread, in order.

A request's deadline does not run while the target is stopped: the developer may
look at a breakpoint for minutes, and what the target answers meanwhile (it is parked)
must not time out because of it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from logomesh_studio.devtools.dap_wire import DapProtocolError, encode_message, read_message

__all__ = ["DapClient", "DapRequestFailed", "PausingDeadline", "StopClock"]

EventHandler = Callable[[dict[str, Any]], None]


class DapRequestFailed(Exception):
    """The adapter answered a request with ``success: false`` (or the link broke)."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


class PausingDeadline:
    """Seconds left of a timeout that does not count time while the target is stopped."""

    def __init__(self, clock: StopClock, timeout: float) -> None:
        self._clock = clock
        self._timeout = timeout
        self._started = clock.now()
        self._stopped_at_start = clock.stopped_seconds()

    def remaining(self) -> float:
        running = (self._clock.now() - self._started
                   - (self._clock.stopped_seconds() - self._stopped_at_start))
        return self._timeout - running

    @property
    def paused(self) -> bool:
        return self._clock.stopped


class StopClock:
    """Adds up the time the target spent stopped (stopped/continued events)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._since: float | None = None
        self._total = 0.0

    @property
    def stopped(self) -> bool:
        return self._since is not None

    def set_stopped(self, stopped: bool) -> None:
        with self._lock:
            now = self.now()
            if stopped and self._since is None:
                self._since = now
            elif not stopped and self._since is not None:
                self._total += now - self._since
                self._since = None

    def stopped_seconds(self) -> float:
        with self._lock:
            current = self.now() - self._since if self._since is not None else 0.0
            return self._total + current


class DapClient:
    """One connection to a DAP server at ``host:port``."""

    def __init__(self, host: str, port: int, on_event: EventHandler | None = None,
                 timeout: float = 10.0, connect_timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._on_event = on_event or (lambda event: None)
        self._sock = socket.create_connection((host, port), connect_timeout)
        self._sock.settimeout(None)
        self._send_lock = threading.Lock()
        self._seq = itertools.count(1)
        self._pending: dict[int, tuple[str, concurrent.futures.Future[dict[str, Any]]]] = {}
        self._pending_lock = threading.Lock()
        self._clock = StopClock()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="logomesh-dap-client",
                                        daemon=True)
        self._reader.start()

    @property
    def target_stopped(self) -> bool:
        """True between a ``stopped`` event and the target running again."""
        return self._clock.stopped

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send_request(self, command: str, arguments: dict[str, Any] | None = None
                     ) -> concurrent.futures.Future[dict[str, Any]]:
        """Send a request; the future gets the response body (DapRequestFailed if not
        successful or if the connection ends first)."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        seq = next(self._seq)
        message: dict[str, Any] = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        with self._pending_lock:
            if self._closed.is_set():
                future.set_exception(DapRequestFailed(command, "the connection is closed"))
                return future
            self._pending[seq] = (command, future)
        if command in ("continue", "next", "stepIn", "stepOut"):
            self._clock.set_stopped(False)
        try:
            with self._send_lock:
                self._sock.sendall(encode_message(message))
        except OSError as exc:
            self._fail(seq, f"could not send: {exc}")
        return future

    def request(self, command: str, arguments: dict[str, Any] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        """Send a request and wait for its body; the wait's deadline pauses while the
        target is stopped. Raises DapRequestFailed, or TimeoutError past the deadline."""
        future = self.send_request(command, arguments)
        deadline = PausingDeadline(self._clock, self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline.remaining()
            if remaining <= 0 and not deadline.paused:
                raise TimeoutError(f"{command}: no answer from the debug adapter within "
                                   f"{self.timeout if timeout is None else timeout} s")
            # While the target is stopped, wait a whole timeout before looking again.
            wait = self.timeout if deadline.paused else max(remaining, 0.01)
            try:
                return future.result(wait)
            except concurrent.futures.TimeoutError:
                continue

    def close(self) -> None:
        """Drop the connection (a polite client sends ``disconnect`` first)."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        if self._reader is not threading.current_thread():
            self._reader.join(5.0)

    def _read(self) -> None:
        stream = self._sock.makefile("rb")
        try:
            while (message := read_message(stream)) is not None:
                kind = message.get("type")
                if kind == "response":
                    self._answer(message)
                elif kind == "event":
                    event = str(message.get("event", ""))
                    if event == "stopped":
                        self._clock.set_stopped(True)
                    elif event in ("continued", "terminated"):
                        self._clock.set_stopped(False)
                    self._on_event(message)
        except (OSError, DapProtocolError):
            pass
        finally:
            self._closed.set()
            self._clock.set_stopped(False)
            stream.close()
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            for command, future in pending.values():
                if not future.done():
                    future.set_exception(DapRequestFailed(command, "the connection closed"))
            self._on_event({"type": "event", "event": "closed"})

    def _answer(self, response: dict[str, Any]) -> None:
        with self._pending_lock:
            entry = self._pending.pop(int(response.get("request_seq", -1)), None)
        if entry is None:
            return
        command, future = entry
        if response.get("success"):
            future.set_result(response.get("body") or {})
        else:
            future.set_exception(DapRequestFailed(command, str(response.get("message", ""))))

    def _fail(self, seq: int, message: str) -> None:
        with self._pending_lock:
            entry = self._pending.pop(seq, None)
        if entry is not None and not entry[1].done():
            entry[1].set_exception(DapRequestFailed(entry[0], message))
