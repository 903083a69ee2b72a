"""RuntimeClient: commands in, batched events out."""

from __future__ import annotations

import os
import threading

import pytest
import shiboken6

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.studio.client import RuntimeClient

TIMEOUT_MS = 10_000


async def _burst(host, count):
    for i in range(count):
        await host.bus.send("alpha", "beta", "ping", i)


@pytest.fixture
def client(qtbot, async_loop, two_plugins):
    client = RuntimeClient(RuntimeConfig(entry_points=False), watch=False)
    with qtbot.waitSignal(client.sig_plugins_listed, timeout=TIMEOUT_MS):
        client.spawn(client.open(two_plugins.root), "open")
    yield client
    client.close_now()
    shiboken6.delete(client)  # on the GUI thread, not wherever the cyclic GC runs


def test_runtime_events_arrive_coalesced_per_tick(qtbot, client):
    batches = []
    client.sig_messages_recorded.connect(batches.append)
    client._runtime.run(_burst(client._runtime.host, 2000))
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 2000, timeout=TIMEOUT_MS)
    assert len(batches) < 20
    assert [m.payload for m in batches[0][:2]] == ["0", "1"]


def test_commands_return_plain_data(qtbot, client):
    infos = client.plugin_infos
    assert [i.id for i in infos] == ["alpha", "beta"] and infos[0].status == "running"
    task = client.spawn(client.call("connections", plugin_id="alpha"), "connections")
    qtbot.waitUntil(task.done, timeout=TIMEOUT_MS)
    assert task.result() == []


def test_a_failing_command_is_reported_not_raised(qtbot, client):
    with qtbot.waitSignal(client.sig_command_failed, timeout=TIMEOUT_MS) as blocker:
        client.spawn(client.call("reload", plugin_id="nope"), "reload nope")
    assert blocker.args[0] == "reload nope" and "nope" in blocker.args[1]


def test_unknown_command_names_the_known_ones(qtbot, client):
    with qtbot.waitSignal(client.sig_command_failed, timeout=TIMEOUT_MS) as blocker:
        client.spawn(client.call("explode"), "explode")
    assert "known: plugins" in blocker.args[1]


def _cpu_meters_running() -> int:
    return sum(thread.name == "logomesh-cpu-meter" for thread in threading.enumerate())


def test_cpu_shares_are_reported_until_the_workspace_closes(qtbot, client):
    with qtbot.waitSignal(client.sig_cpu_updated, timeout=TIMEOUT_MS) as blocker:
        pass
    assert set(blocker.args[0]) <= {"alpha", "beta"}
    assert _cpu_meters_running() == 1
    with qtbot.waitSignal(client.sig_cpu_updated, timeout=TIMEOUT_MS,
                          check_params_cb=lambda shares: shares == {}):
        client.spawn(client.close(), "close")
    assert _cpu_meters_running() == 0
    qtbot.waitUntil(lambda: client.state == "stopped", timeout=TIMEOUT_MS)


SPINNER = """
import threading
from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def initialize(self, ctx):
        self.done = threading.Event()
        threading.Thread(target=self.spin, daemon=True).start()

    def spin(self):
        while not self.done.is_set():
            sum(range(1000))

    def cleanup(self):
        self.done.set()
"""


def test_the_cpu_column_charges_an_isolated_plugin_its_process_time(qtbot, async_loop,
                                                                    workspace):
    workspace.plugin("spinner", SPINNER, isolation="process")
    workspace.plugin("idle")
    client = RuntimeClient(RuntimeConfig(entry_points=False), watch=False)
    try:
        client.spawn(client.open(workspace.root), "open")

        def spinner_pid() -> int:
            return next((i.pid for i in client.plugin_infos if i.id == "spinner"), 0)

        qtbot.waitUntil(lambda: spinner_pid() > 0, timeout=TIMEOUT_MS)
        assert spinner_pid() != os.getpid()
        # Its process burns CPU on a thread of its own: nothing of it runs on the
        # runtime thread the sampler watches, so the share comes from its process.
        with qtbot.waitSignal(client.sig_cpu_updated, timeout=TIMEOUT_MS,
                              check_params_cb=lambda shares: shares.get("spinner", 0) > 0.1):
            pass
    finally:
        client.close_now()
        shiboken6.delete(client)


def test_a_stalled_gui_keeps_the_newest_messages_and_every_lifecycle_event(qtbot, client):
    from logomesh_studio.runtime.events import MessageRecorded, PluginStopped
    from logomesh_studio.studio.client import MAX_BATCH_MESSAGES

    batches, stopped = [], []
    client.sig_messages_recorded.connect(batches.append)
    client.sig_plugin_stopped.connect(stopped.append)
    total = MAX_BATCH_MESSAGES + 5_000
    for i in range(total):  # as the runtime thread would, while the GUI does not drain
        client._enqueue(MessageRecorded(id=i, call="send", source="a", target="b", type="t",
                                        size=0, duration=0.0, outcome="ok"))
        if i == 10:
            client._enqueue(PluginStopped(plugin_id="beta", reason="test"))
    qtbot.waitUntil(lambda: bool(stopped) and sum(map(len, batches)) >= MAX_BATCH_MESSAGES,
                    timeout=TIMEOUT_MS)
    received = [m.id for batch in batches for m in batch if m.source == "a"]
    assert received == list(range(total - MAX_BATCH_MESSAGES, total))
    assert stopped[0].plugin_id == "beta"
