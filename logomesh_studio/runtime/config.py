"""Runtime settings with their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Tunables of one runtime; every field has a sensible default."""

    message_timeout: float = 30.0
    """Seconds an async handler may take before the sender gets MessageTimeout."""
    lifecycle_timeout: float = 30.0
    """Seconds ``initialize``/``cleanup`` may take before the plugin is marked failed."""
    payload_limit: int = 1024 * 1024
    """Largest payload (JSON-encoded bytes) a message may carry."""
    history_size: int = 10_000
    """Messages kept in the bridge's history ring."""
    history_bytes: int = 64 * 1024 * 1024
    """Bytes of payload/response/error text the history keeps in all (oldest dropped first)."""
    history_text_limit: int = 64 * 1024
    """Characters of payload/response JSON a history record keeps (the rest is cut)."""
    max_inflight_calls: int = 1000
    """Calls one sender may have in flight at once, running or waiting for its fair
    turn (see bus.py); beyond it a call raises Overloaded (a plugin flooding the bridge
    is refused while other plugins' calls go on)."""
    debounce: float = 0.020
    """Seconds of quiet that end a change on platforms without close-after-write
    events (see runtime/debounce.py)."""
    burst_quiet: float = 0.1
    """Seconds without file events that end a burst (a checkout, a formatter run,
    rapid saves): its trailing reload waits for them."""
    settle: float | None = None
    """Seconds from when a completed save (close after write, rename onto the file) was
    seen to the reload, so events on their way join the same batch. None: none on
    Linux, where the runtime reads inotify itself and reads every event already queued
    before it takes a batch; 0.2 ms with watchdog's observer (an atomic save's rename
    reaches it some 20 us after its close; events it has seen by then are waited for
    anyway)."""
    permission_changes: str = "refuse"
    """What a reload that widens a plugin's permissions does: ``refuse`` (keep the old
    ones), ``ask`` (keep them until approved) or ``allow``. Narrowing always applies."""
    entry_points: bool = True
    """Also load plugins installed as ``logomesh.plugins`` entry points."""
