"""The channel between the runtime and an isolated plugin's process.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one
object). Both ends read frames with :class:`FrameProtocol` on their asyncio loop; the
child reads its first frame (the boot frame) with :func:`read_frame` before any loop
or thread exists. Errors cross as ``{"type", "message", "attrs"}`` and come back as the
SDK's PluginError subclass of that name (see :func:`error_to_json`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable
from typing import Any, cast

from logomesh_studio import sdk

HEADER = struct.Struct("!I")
MAX_FRAME = 256 * 1024 * 1024
"""Largest frame either end accepts: far above the payload limit, a guard against junk."""

Frame = dict[str, Any]
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_loads = json.loads


class ChannelError(Exception):
    """The other end sent something that is not a frame."""


def pack(frame: Frame) -> bytes:
    """``frame`` as bytes on the wire."""
    body = _dumps(frame).encode()
    return HEADER.pack(len(body)) + body


def read_frame(sock: socket.socket) -> Frame:
    """Read one frame, blocking (the child's boot frame); ChannelError at EOF."""
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if size > MAX_FRAME:
        raise ChannelError(f"frame of {size} bytes (at most {MAX_FRAME})")
    return cast(Frame, _loads(_read_exactly(sock, size)))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ChannelError("the channel closed")
        chunks += chunk
    return bytes(chunks)


class FrameProtocol(asyncio.Protocol):
    """Splits the byte stream into frames for ``on_frame``; ``on_lost`` once it ends."""

    def __init__(self, on_frame: Callable[[Frame], None], on_lost: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start, end = 0, len(buffer)
        while end - start >= 4:
            (size,) = HEADER.unpack_from(buffer, start)
            if size > MAX_FRAME:
                self.close()
                return
            if end - start - 4 < size:
                break
            body = bytes(buffer[start + 4:start + 4 + size])
            start += 4 + size
            try:
                frame = _loads(body)
            except ValueError:
                self.close()
                return
            self._on_frame(frame)
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._on_lost()

    def send(self, frame: Frame) -> None:
        """Queue ``frame`` for the other end (dropped once the channel is closed)."""
        if self.transport is not None:
            self.transport.write(pack(frame))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def error_to_json(exc: BaseException) -> Frame:
    """An error as it crosses the channel: its type name, message and plain attributes."""
    attrs = {k: v for k, v in getattr(exc, "__dict__", {}).items()
             if isinstance(v, str | int | float | bool | dict | list) or v is None}
    return {"type": type(exc).__name__, "message": str(exc), "attrs": attrs}


def error_from_json(data: Frame) -> sdk.PluginError:
    """The SDK error ``data`` describes (a plain PluginError for a type the SDK lacks)."""
    cls = getattr(sdk, str(data.get("type", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, sdk.PluginError)):
        return sdk.PluginError(str(data.get("message", "")))
    error = cls.__new__(cls)
    Exception.__init__(error, str(data.get("message", "")))
    attrs = data.get("attrs")
    if isinstance(attrs, dict):
        error.__dict__.update(attrs)
    return error
