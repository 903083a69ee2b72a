"""The Debug Adapter Protocol's base protocol: JSON bodies behind a Content-Length header.

Each message is ``Content-Length: N\\r\\n\\r\\n`` followed by N bytes of UTF-8 JSON
(https://microsoft.github.io/debug-adapter-protocol/overview#base-protocol). Shared
by the server (``dap.py``) and the client (``dap_client.py``).
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

__all__ = ["MAX_BODY", "DapProtocolError", "encode_message", "read_message"]

MAX_BODY = 64 * 1024 * 1024
"""The largest body accepted (a guard against a garbled length, not a real limit)."""
_MAX_HEADER_LINE = 8192


class DapProtocolError(ValueError):
    """The peer sent something that is not a DAP message."""


def encode_message(message: dict[str, Any]) -> bytes:
    """``message`` framed for the wire."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message from ``stream``; None at the end of the stream.

    Raises DapProtocolError for a missing or bad Content-Length or a body that is not
    a JSON object.
    """
    headers: dict[str, str] = {}
    while True:
        line = stream.readline(_MAX_HEADER_LINE)
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise DapProtocolError(f"header line longer than {_MAX_HEADER_LINE} bytes")
        if not line.strip():
            if headers:
                break
            continue  # stray blank lines between messages
        name, colon, value = line.decode("ascii", "replace").partition(":")
        if not colon:
            raise DapProtocolError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers["content-length"])
    except (KeyError, ValueError):
        raise DapProtocolError(f"no valid Content-Length header in {headers}") from None
    if not 0 <= length <= MAX_BODY:
        raise DapProtocolError(f"Content-Length {length} is out of range (0..{MAX_BODY})")
    body = stream.read(length)
    if len(body) < length:
        return None
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DapProtocolError(f"the body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise DapProtocolError("the body is not a JSON object")
    return message
