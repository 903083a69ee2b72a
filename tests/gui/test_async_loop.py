"""The GUI tests' asyncio loop: running while a test spins Qt, gone afterwards.

The two tests run in this order (pytest keeps file order): the second fails if the
first left its loop marked as running, which would break every later headless test
that calls ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import threading


def test_window_coroutines_run_on_the_loop_while_qtbot_waits(qtbot, async_loop):
    assert asyncio.get_running_loop() is async_loop

    async def off_the_gui_thread() -> str:  # what RuntimeClient does to start a runtime
        return await asyncio.to_thread(lambda: threading.current_thread().name)

    task = asyncio.ensure_future(off_the_gui_thread())
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result() != threading.current_thread().name


def test_no_loop_is_left_running_after_a_gui_test():
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
