"""Does the Studio stay responsive under message load? Prints JSON lines.

Opens the real main window (message inspector visible) on a throwaway workspace and
drives RATE messages/s through the bridge from the runtime thread for SECONDS. A
10 ms QTimer on the GUI thread measures event-loop lag: how late each tick fires
(actual interval minus 10 ms). Reported for an idle second first, then under load.

Goal: lag p99 <= 50 ms at 10,000 messages/s.

    python bench/gui_load.py [--rate 10000] [--seconds 10] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from _workspace import emit, write_plugin

SINK = '''
from logomesh_studio.sdk import Plugin, handler


class Sink(Plugin):
    @handler("ping")
    def ping(self, message):
        return {"ok": True, "n": message.payload["n"]}
'''
TICK_MS = 10
GOAL_P99_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class LagProbe:
    """A 10 ms precise QTimer; records how late each timeout arrives."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.lags: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.lags = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.lags

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.lags.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


async def drive(host, rate: int, seconds: float) -> int:
    """Send ``rate`` messages/s for ``seconds`` (runs on the runtime loop)."""
    host.bus.grant("bench", ["send:*"])
    per_tick = max(1, rate // 100)
    sent = 0
    start = time.perf_counter()
    tick = 0
    while time.perf_counter() - start < seconds:
        for _ in range(per_tick):
            await host.bus.send("bench", "sink", "ping", {"n": sent, "text": "load"})
            sent += 1
        tick += 1
        delay = start + tick * 0.01 - time.perf_counter()
        await asyncio.sleep(max(0.0, delay))
    return sent


async def measure(window, client, workspace: Path, rate: int, seconds: float) -> None:
    client.spawn(client.open(workspace), "open")
    while client.state != "running" or not client.plugin_infos:
        await asyncio.sleep(0.05)
    probe = LagProbe()
    probe.start()
    await asyncio.sleep(1.0)
    idle = probe.stop()
    emit("gui_load", "idle", seconds=1.0, lag_p50_ms=round(percentile(idle, 0.5), 2),
         lag_p99_ms=round(percentile(idle, 0.99), 2), lag_max_ms=round(max(idle), 2))

    probe.start()
    started = time.perf_counter()
    future = client.runtime.submit(drive(client.runtime.host, rate, seconds))
    sent = await asyncio.wrap_future(future)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.2)  # let the last batch reach the view
    lags = probe.stop()
    p99 = percentile(lags, 0.99)
    emit("gui_load", "load", target_rate=rate, messages=sent,
         messages_per_s=round(sent / elapsed), seconds=round(elapsed, 2),
         lag_p50_ms=round(percentile(lags, 0.5), 2), lag_p99_ms=round(p99, 2),
         lag_max_ms=round(max(lags), 2), ticks=len(lags),
         table_rows=window.messages.model.rowCount(), goal_p99_ms=GOAL_P99_MS,
         ok=p99 <= GOAL_P99_MS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=10_000, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--show", action="store_true", help="use the real display")
    args = parser.parse_args()
    if not args.show:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import qasync
    from PySide6.QtCore import QSettings

    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.studio.app import create_application
    from logomesh_studio.studio.client import RuntimeClient
    from logomesh_studio.studio.main_window import MainWindow
    from logomesh_studio.studio.theme import ThemeController

    with tempfile.TemporaryDirectory(prefix="logomesh-gui-load-") as tmp:
        root = Path(tmp)
        workspace = root / "workspace"
        write_plugin(workspace, "sink", SINK, "Sink", [], prefix="gui_load_")
        app = create_application(sys.argv[:1])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        theme = ThemeController(app, "light")
        theme.apply()
        client = RuntimeClient(RuntimeConfig(entry_points=False), watch=False)
        window = MainWindow(client, QSettings(str(root / "studio.ini"),
                                              QSettings.Format.IniFormat), theme)
        window.resize(1400, 900)
        window.show()
        with loop:
            loop.run_until_complete(measure(window, client, workspace, args.rate, args.seconds))
            client.close_now()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
