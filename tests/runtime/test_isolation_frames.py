"""The channel's framing: what one end packs, the other end's FrameProtocol hands on whole,
however the bytes arrive; anything else closes the channel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from logomesh_studio.runtime.isolation.frames import (
    FrameProtocol,
    call_head,
    pack,
    pack_call,
    pack_reply,
)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True


def _receiver() -> tuple[FrameProtocol, list[Any], _Transport]:
    got: list[Any] = []
    protocol = FrameProtocol(lambda frame: got.append(("frame", frame)), lambda: None,
                             lambda *call: got.append(("call", *call)),
                             lambda *reply: got.append(("reply", *reply)))
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, got, transport


def _feed(protocol: FrameProtocol, data: bytes, piece: int) -> None:
    """Hand ``data`` on as a transport would, in reads of at most ``piece`` bytes."""
    at = 0
    while at < len(data):
        buffer = protocol.get_buffer(piece)
        size = min(piece, len(buffer), len(data) - at)
        buffer[:size] = data[at:at + size]
        protocol.buffer_updated(size)
        at += size


@pytest.mark.parametrize("piece", [1, 3, 7, 1 << 20])
def test_call_reply_and_json_frames_arrive_whole_however_the_bytes_are_split(
        piece: int) -> None:
    protocol, got, transport = _receiver()
    big = '"' + "x" * 200_000 + '"'
    data = (pack_call(7, call_head("sender-é", "echo\n"), '{"a": "ü"}')
            + pack_reply(2**32 - 1, big)
            + pack({"op": "log", "message": "hi"})
            + pack_call(8, call_head("", ""), ""))
    _feed(protocol, data, piece)
    assert got == [("call", 7, "sender-é", "echo\n", '{"a": "ü"}'),
                   ("reply", 2**32 - 1, big),
                   ("frame", {"op": "log", "message": "hi"}),
                   ("call", 8, "", "", "")]
    assert not transport.closed


@pytest.mark.parametrize("junk", [
    b"\x00\x00\x00\x03abc",  # neither JSON nor a call or a reply
    b"\x00\x00\x00\x0bc\x00\x00\x00\x01\x00\x09\x00\x00ab",  # names overrun the frame
    b"\x00\x00\x00\x06r\x00\x00\x00\x01\xff",  # a reply that is not UTF-8
    b"\x00\x00\x00\x03[1]",  # JSON, but not an object
])
def test_junk_closes_the_channel(junk: bytes) -> None:
    protocol, got, transport = _receiver()
    _feed(protocol, junk, 1 << 20)
    assert transport.closed
    assert got == []


def test_a_name_too_long_for_a_call_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="65,535 bytes"):
        call_head("a", "t" * 70_000)


def test_frames_written_in_one_step_leave_together_in_order() -> None:
    """Calls made in one step of the loop (``soon``) leave in one write at its end, in
    order, and a frame written at once flushes them first; frames written while a read
    is handled (the answers a read's calls get) leave in one write after it."""
    async def run() -> list[bytes]:
        protocol, got, transport = _receiver()
        first, second, third = (pack_call(n, call_head("a", "t"), str(n)) for n in (1, 2, 3))
        protocol.write(first, soon=True)
        protocol.write(second, soon=True)
        assert transport.written == []  # held until the step ends
        await asyncio.sleep(0)
        assert transport.written == [first + second]
        protocol.write(first, soon=True)
        protocol.write(second)  # not held: what is held leaves first
        assert transport.written[1:] == [first, second]
        replies = [pack_reply(n + 3, str(n + 3)) for n in (1, 2, 3)]
        answering = FrameProtocol(lambda frame: None, lambda: None,
                                  lambda number, *_: answering.write(replies[number - 1]))
        answering.connection_made(transport)
        _feed(answering, first + second + third, 1 << 20)
        return transport.written[3:]

    assert asyncio.run(run()) == [b"".join(pack_reply(n, str(n)) for n in (4, 5, 6))]
