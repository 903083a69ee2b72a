"""The channel between the runtime and an isolated plugin's process.

A frame is a 4-byte big-endian length followed by that many bytes. Most frames are
UTF-8 JSON, one object. The two frames every message makes, a handler call and its
answer, have a binary head instead, so neither end encodes or parses JSON for them
beyond the payload's own text:

- call: ``b"c"``, the call's id (4 bytes), the lengths of the sender's id and of the
  message type (2 bytes each), those two names, then the payload's JSON text;
- reply: ``b"r"``, the call's id (4 bytes), then the answer's JSON text.

(A JSON frame starts with ``{``.) Both ends read frames with :class:`FrameProtocol` on
their asyncio loop; the child reads its first frame (the boot frame) with
:func:`read_frame` before any loop or thread exists. Errors cross as ``{"type",
"message", "attrs"}`` and come back as the SDK's PluginError subclass of that name (see
:func:`error_to_json`).
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
CALL = ord("c")
"""First byte of a call frame (see the module's doc)."""
REPLY = ord("r")
"""First byte of a reply frame."""
_JSON = ord("{")
_TAGGED = struct.Struct("!IBI")  # the frame's length, its first byte, the call's id
_NAMES = struct.Struct("!HH")  # a call's sender and type lengths
_CALL_HEAD = struct.Struct("!IHH")  # after the first byte: id, sender and type lengths
_NAME_MAX = 0xFFFF
MAX_FRAME = 256 * 1024 * 1024
"""Largest frame either end accepts: far above the payload limit, a guard against junk."""
_CHUNK = 64 * 1024
"""The read buffer's usual size; it grows for a larger frame while that is received."""
_MIN_READ = 16 * 1024
"""Free space a read is given at least."""

Frame = dict[str, Any]
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_loads = json.loads


class ChannelError(Exception):
    """The other end sent something that is not a frame."""


def pack(frame: Frame) -> bytes:
    """``frame`` as bytes on the wire."""
    body = _dumps(frame).encode()
    return HEADER.pack(len(body)) + body


def call_head(source: str, type: str) -> bytes:
    """The part of a call frame naming its sender and message type (see
    :func:`pack_call`); ValueError if a name is over 65,535 bytes."""
    sender, kind = source.encode(), type.encode()
    if len(sender) > _NAME_MAX or len(kind) > _NAME_MAX:
        raise ValueError("a plugin id or message type over 65,535 bytes")
    return _NAMES.pack(len(sender), len(kind)) + sender + kind


def pack_call(number: int, head: bytes, text: str) -> bytes:
    """A call frame: call ``number`` of the handler ``head`` names (:func:`call_head`)
    with the payload whose JSON is ``text``; the other end gets ``on_call``."""
    body = text.encode()
    return _TAGGED.pack(5 + len(head) + len(body), CALL, number) + head + body


def pack_reply(number: int, text: str) -> bytes:
    """A reply frame: the answer to call ``number``, as JSON ``text``; the other end
    gets ``on_reply``."""
    body = text.encode()
    return _TAGGED.pack(5 + len(body), REPLY, number) + body


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


class FrameProtocol(asyncio.BufferedProtocol):
    """Splits the byte stream into frames for ``on_frame`` (JSON frames), ``on_call``
    and ``on_reply`` (see the module's doc; a frame without its handler closes the
    channel, as any junk does); ``on_lost`` once it ends.

    The socket is read straight into one reused buffer (no allocation per read) and
    every frame a read brought is handled before the next. Frames sent while those are
    handled (the child's answers to the calls in one read) leave in one write; a frame
    written with ``soon=True`` waits for the end of the loop's current step, so the calls
    many senders make in one step leave together too.
    """

    def __init__(self, on_frame: Callable[[Frame], None], on_lost: Callable[[], None],
                 on_call: Callable[[int, str, str, str], None] | None = None,
                 on_reply: Callable[[int, str], None] | None = None) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._on_call = on_call
        self._on_reply = on_reply
        self._buffer = bytearray(_CHUNK)
        self._view = memoryview(self._buffer)
        self._start = self._end = 0  # the unread bytes are _buffer[_start:_end]
        self._wanted = 0  # size of the frame being received, once its header is in
        self._batch: list[bytes] | None = None  # answers held while a read is handled
        self._later: list[bytes] = []  # frames held until the loop's step ends
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self._buffer) - self._end < max(self._wanted - (self._end - self._start),
                                               _MIN_READ):
            self._make_room()
        return self._view[self._end:]

    def _make_room(self) -> None:
        """Move the unread bytes to the front, in a larger buffer if the frame being
        received needs one (and back to the usual size once large frames are done)."""
        unread = self._end - self._start
        size = max(_CHUNK, unread + _MIN_READ, self._wanted + _MIN_READ)
        if size != len(self._buffer):
            old = self._buffer
            self._buffer = bytearray(size)
            self._buffer[:unread] = old[self._start:self._end]
            self._view = memoryview(self._buffer)
        elif self._start:
            self._buffer[:unread] = self._buffer[self._start:self._end]
        self._start, self._end = 0, unread

    def buffer_updated(self, nbytes: int) -> None:
        self._end += nbytes
        buffer, view, unpack = self._buffer, self._view, HEADER.unpack_from
        on_call, on_reply = self._on_call, self._on_reply
        start, end = self._start, self._end
        batch: list[bytes] = []
        self._batch = batch
        try:
            while end - start >= 4:
                (size,) = unpack(buffer, start)
                if size > MAX_FRAME:
                    self.close()
                    return
                stop = start + 4 + size
                if stop > end:
                    self._wanted = 4 + size
                    break
                first = buffer[start + 4] if size else -1
                if first == REPLY and on_reply is not None and size >= 5:  # the usual frame
                    try:
                        text = str(view[start + 9:stop], "utf-8")
                    except ValueError:
                        self.close()
                        return
                    number = unpack(buffer, start + 5)[0]
                    start = stop
                    on_reply(number, text)
                    continue
                call: tuple[int, str, str, str] | None = None
                try:
                    if first == CALL and on_call is not None and size >= 9:
                        number, senders, kinds = _CALL_HEAD.unpack_from(buffer, start + 5)
                        names = start + 13
                        middle, after = names + senders, names + senders + kinds
                        if after > stop:
                            raise ValueError("a call frame shorter than its names")
                        call = (number, str(view[names:middle], "utf-8"),
                                str(view[middle:after], "utf-8"), str(view[after:stop], "utf-8"))
                    elif first != _JSON:
                        raise ValueError("not a frame")
                    else:
                        frame = _loads(str(view[start + 4:stop], "utf-8"))
                        if type(frame) is not dict:
                            raise TypeError("a frame is a JSON object")
                except (ValueError, TypeError):
                    self.close()
                    return
                start = stop
                if call is not None and on_call is not None:
                    on_call(*call)
                else:
                    self._on_frame(frame)
            else:
                self._wanted = 0
        finally:
            self._batch = None
            if start == end:
                start = end = 0
            self._start, self._end = start, end
            if batch and self.transport is not None:
                self.transport.write(b"".join(batch) if len(batch) > 1 else batch[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._on_lost()

    def send(self, frame: Frame) -> None:
        """Queue ``frame`` for the other end (dropped once the channel is closed)."""
        self.write(pack(frame))

    def write(self, data: bytes, soon: bool = False) -> None:
        """Queue frames already packed (see :meth:`send`)."""
        if self._batch is not None:
            self._batch.append(data)
        elif soon:
            if not self._later and self.transport is not None:
                asyncio.get_running_loop().call_soon(self._flush)
            self._later.append(data)
        elif self.transport is not None:
            if self._later:
                self._flush()
            self.transport.write(data)

    def _flush(self) -> None:
        later, self._later = self._later, []
        if later and self.transport is not None:
            self.transport.write(b"".join(later) if len(later) > 1 else later[0])

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
