"""Times, sizes and durations as people read them: one home for every pane's formatting."""

from __future__ import annotations

import time


def clock(t: float, milliseconds: bool = True) -> str:
    """``HH:MM:SS.mmm`` (or ``HH:MM:SS``) local time of the epoch time ``t``."""
    text = time.strftime("%H:%M:%S", time.localtime(t))
    return f"{text}.{int(t * 1000) % 1000:03d}" if milliseconds else text


def human_size(n: float) -> str:
    """``512 B``, ``1.5 KB``, ``2.0 MB``, ``1.1 GB`` (binary multiples)."""
    for scale, suffix in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {suffix}"
    return f"{n:.0f} B"


def human_duration(seconds: float) -> str:
    """``0 ms``, ``250 µs``, ``12.3 ms``, ``1.25 s``."""
    size = abs(seconds)
    if size >= 1.0:
        return f"{seconds:.2f} s"
    if size >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if size == 0:
        return "0 ms"
    return f"{seconds * 1e6:.0f} µs"


def format_amount(value: float, unit: str = "seconds") -> str:
    """A profile weight in its unit: a duration, a size, or a plain count."""
    if unit == "seconds":
        return human_duration(value)
    if unit == "bytes":
        return human_size(value)
    return f"{value:,.0f}"
