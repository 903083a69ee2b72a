"""Calls in flight to an isolated plugin: many senders at once, answers read together,
cancelled senders and a crash with calls still waiting.

The runtime wakes a sender as soon as its answer is read (see ``proxy._Pending``); these
tests hold it to what asyncio's own futures give: each sender its own answers, in its
order; a cancelled sender's call stopped in the process; nobody left waiting.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from logomesh_studio import sdk
from logomesh_studio.runtime.events import Event, LogRecorded
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.conftest import Workspace

NAPPER = """
import asyncio, os
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        self.ctx = ctx
        self.seen = {}
        self.cancelled = 0

    @handler("echo")
    def echo(self, message):
        self.seen.setdefault(message.source, []).append(message.payload)
        return message.payload

    @handler("seen")
    def seen_by(self, message):
        return self.seen

    @handler("nap")
    async def nap(self, message):
        try:
            self.ctx.log.info("napping")  # in the try already: a cancel is counted
            await asyncio.sleep(message.payload)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "rested"

    @handler("cancelled")
    def cancelled_count(self, message):
        return self.cancelled

    @handler("exit")
    def exit(self, message):
        os._exit(3)

    def execute(self, input):
        return {"executed": input, "pid": os.getpid()}
"""
SENDERS = 10


class Naps:
    """Counts the naps ``plugin_id`` has started (its "napping" log records); made and
    awaited on the runtime's loop."""

    def __init__(self, harness: PluginHarness, plugin_id: str) -> None:
        self.started = 0
        self._plugin_id = plugin_id
        self._changed = asyncio.Event()
        self.stop = harness.host.events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, LogRecorded) and event.plugin_id == self._plugin_id \
                and event.message == "napping":
            self.started += 1
            self._changed.set()

    async def reached(self, count: int) -> None:
        while self.started < count:
            self._changed.clear()
            await self._changed.wait()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginHarness]:
    workspace = Workspace(tmp_path_factory.mktemp("isolation-calls") / "workspace")
    workspace.plugin("napper", NAPPER, isolation="process")
    workspace.plugin("crashy", NAPPER, isolation="process")
    with PluginHarness(workspace.root) as h:
        for i in range(SENDERS):
            h.host.bus.grant(f"sender-{i}", ["send:napper"])
        yield h


def test_senders_with_many_calls_in_flight_get_their_own_answers_in_their_order(
        harness: PluginHarness) -> None:
    """Ten senders, ten calls in flight each: calls leave and answers come back in
    batches over the one channel; each call reaches the handler in its sender's order
    and each sender gets its own answer."""
    bus = harness.host.bus

    async def sender(i: int) -> list[Any]:
        async def flow(k: int) -> list[Any]:
            return [await bus.send(f"sender-{i}", "napper", "echo", [i, k, n])
                    for n in range(20)]

        return await asyncio.gather(*(flow(k) for k in range(10)))

    async def all_senders() -> list[Any]:
        return await asyncio.gather(*(sender(i) for i in range(SENDERS)))

    answers = harness.runtime.run(all_senders())
    assert answers == [[[[i, k, n] for n in range(20)] for k in range(10)]
                       for i in range(SENDERS)]
    seen = harness.send("napper", "seen")
    for i in range(SENDERS):
        handled = seen[f"sender-{i}"]
        assert len(handled) == 200
        for k in range(10):  # each flow's calls ran in the order it sent them
            assert [n for _, flow, n in handled if flow == k] == list(range(20))
    records = [r for r in bus.history if r.target == "napper" and r.type == "echo"]
    assert len(records) == 2000 and {r.outcome for r in records} == {"ok"}


def test_a_cancelled_sender_is_cancelled_and_the_process_stops_its_handler(
        harness: PluginHarness) -> None:
    bus = harness.host.bus
    before = harness.send("napper", "cancelled")

    async def cancel_a_call() -> bool:
        naps = Naps(harness, "napper")
        try:
            napping = asyncio.ensure_future(bus.send(DRIVER, "napper", "nap", 60))
            await naps.reached(1)  # the handler runs in the process
            napping.cancel()
            try:
                await napping
            except asyncio.CancelledError:
                cancelled = True
            else:
                cancelled = False
            # An async handler that yields once: the cancelled nap has ended by its answer.
            await bus.send(DRIVER, "napper", "nap", 0)
        finally:
            naps.stop()
        return cancelled

    assert harness.runtime.run(cancel_a_call())
    assert harness.send("napper", "cancelled") == before + 1
    record = next(r for r in reversed(list(bus.history)) if r.type == "nap"
                  and r.outcome == "cancelled")
    assert record.target == "napper"
    assert harness.send("napper", "echo", 1) == 1  # the channel serves on


def test_a_crash_fails_every_call_in_flight_and_leaves_none_waiting(
        harness: PluginHarness) -> None:
    bus = harness.host.bus
    mark = harness.mark()

    async def calls_then_crash() -> list[Any]:
        started = Naps(harness, "crashy")
        try:
            naps = [asyncio.ensure_future(bus.send(DRIVER, "crashy", "nap", 60))
                    for _ in range(20)]
            await started.reached(20)  # every nap runs in the process
        finally:
            started.stop()
        crash = bus.send(DRIVER, "crashy", "exit")
        return await asyncio.gather(*naps, crash, return_exceptions=True)

    results = harness.runtime.run(calls_then_crash(), timeout=10)
    assert len(results) == 21
    for result in results:
        assert isinstance(result, sdk.PluginCrashed)
        assert "exited with code 3" in str(result)
    harness.wait_for(lambda e: e.kind == "plugin_loaded" and e.plugin_id == "crashy",
                     after=mark)
    assert harness.send("crashy", "echo", "again") == "again"  # a fresh process serves
    assert harness.send("crashy", "cancelled") == 0


def test_execute_runs_in_the_process_and_is_recorded(harness: PluginHarness) -> None:
    answer = harness.execute("napper", [1, {"two": 2}])
    assert answer["executed"] == [1, {"two": 2}]
    assert answer["pid"] != os.getpid()
    record = next(r for r in reversed(list(harness.host.bus.history)) if r.target == "napper")
    assert (record.type, record.outcome) == ("execute", "ok")
