"""State across reloads: the default restore, held messages, big states, slow cleanups."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import LogRecorded
from logomesh_studio.runtime.reload_state import copy_state
from logomesh_studio.sdk import MessageTimeout
from logomesh_studio.testing import PluginHarness
from tests.runtime.reloading import code, failed, module_file, save

COUNTER = """
from logomesh_studio.sdk import Plugin, handler

class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.data.setdefault("ingests", 0)
        self.data["counter"] = 0

    @handler("ingest")
    def ingest(self, message):
        self.data["ingests"] += 1
        return self.data
"""


def logged(plugin_id: str, text: str):
    return lambda e: isinstance(e, LogRecorded) and e.plugin_id == plugin_id and text in e.message


def test_default_restore_keeps_keys_the_new_initialize_adds(workspace):
    workspace.plugin("alpha", code("v1"))
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"counter": 42})
        save(module_file(workspace, "alpha"), COUNTER)
        assert h.reload("alpha") is True
        # the old value wins for "counter"; "ingests" is what the new initialize added
        assert h.send("alpha", "ingest") == {"counter": 42, "ingests": 1}


SPAWNER = """
import asyncio
from logomesh_studio.sdk import Plugin, PluginError, handler

class TestPlugin(Plugin):
    @handler("spawn")
    def spawn(self, message):
        self.acks = 0
        self.task = asyncio.get_running_loop().create_task(self._pump())
        return True

    async def _pump(self):
        while True:
            try:
                await self.ctx.send("alpha", "inc")
            except PluginError:  # this (old) version was cleaned up
                return
            self.acks += 1
            await asyncio.sleep(0)

    @handler("inc")
    def inc(self, message):
        self.data["count"] = self.data.get("count", 0) + 1

    @handler("count")
    def count(self, message):
        return self.data.get("count", 0)

    def on_before_reload(self):  # hooks of its own: the state is copied at this point
        return {"count": self.data.get("count", 0)}

    def on_after_reload(self, state):
        self.data["count"] = state["count"]
"""


def test_messages_from_tasks_a_handler_spawned_wait_for_the_new_version(workspace):
    slow_init = SPAWNER + textwrap.dedent("""
        async def _init(self, ctx):
            Plugin.initialize(self, ctx)
            for _ in range(50):  # the old version's task gets to run meanwhile
                await asyncio.sleep(0)

        TestPlugin.initialize = _init
    """)
    workspace.plugin("alpha", SPAWNER, permissions=["send:alpha"])
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "spawn")
        old = h.host.instance("alpha")
        save(module_file(workspace, "alpha"), slow_init)
        assert h.reload("alpha") is True
        h.runtime.run(asyncio.wait_for(old.task, 10))
        assert old.acks > 0
        assert h.send("alpha", "count") == old.acks  # no acknowledged message was lost


def test_a_sender_waiting_out_a_reload_gets_its_own_timeout(workspace):
    gated = code("v2") + textwrap.dedent("""
        import asyncio
        GATE = asyncio.Event()

        async def _init(self, ctx):
            Plugin.initialize(self, ctx)
            ctx.log.info("initializing")
            await GATE.wait()

        TestPlugin.initialize = _init
    """)
    workspace.plugin("alpha", code("v1"))
    with PluginHarness(workspace.root, RuntimeConfig(entry_points=False,
                                                     lifecycle_timeout=60)) as h:
        package = workspace.package_name("alpha")
        save(module_file(workspace, "alpha"), gated)
        reloading = h.runtime.submit(h.host.reload("alpha"))
        h.wait_for(logged("alpha", "initializing"))
        with pytest.raises(MessageTimeout, match="reloading"):
            h.send("alpha", "version", timeout=0.2)
        assert not reloading.done()
        h.runtime.call_soon(sys.modules[package].GATE.set)
        assert reloading.result(10) is True
        assert h.send("alpha", "version") == "v2"


def test_a_hanging_cleanup_of_the_old_version_holds_no_message(workspace):
    hanging = code("v1") + textwrap.dedent("""
        import asyncio
        GATE = asyncio.Event()

        async def _cleanup(self):
            self.ctx.log.info("cleaning up")
            await GATE.wait()

        TestPlugin.cleanup = _cleanup
    """)
    workspace.plugin("alpha", hanging)
    with PluginHarness(workspace.root, RuntimeConfig(entry_points=False,
                                                     lifecycle_timeout=60)) as h:
        gate = sys.modules[workspace.package_name("alpha")].GATE
        save(module_file(workspace, "alpha"), code("v2"))
        reloading = h.runtime.submit(h.host.reload("alpha"))
        h.wait_for(logged("alpha", "cleaning up"))
        assert h.send("alpha", "version", timeout=5) == "v2"
        h.runtime.call_soon(gate.set)
        assert reloading.result(10) is True


def test_state_copy_keeps_types_and_sharing_and_is_independent():
    shared = [1, 2]
    state = {"data": {1: (1, 2), "s": {3}, "a": shared, "b": shared, "obj": RuntimeConfig()}}
    copied = copy_state(state)
    assert copied == state
    assert copied["data"]["a"] is copied["data"]["b"] and copied["data"]["a"] is not shared
    assert isinstance(copied["data"][1], tuple)


def test_default_hooks_hand_the_data_over_without_copying(workspace):
    workspace.plugin("alpha", code("v1"))
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"rows": list(range(1000))})
        rows = h.host.instance("alpha").data["rows"]
        assert h.reload("alpha") is True
        assert h.host.instance("alpha").data["rows"] is rows  # a big state costs no copy


OWN_HOOKS = code("v1") + textwrap.dedent("""
    def _before(self):
        return {"kept": self.data}

    def _after(self, state):
        self.data = state["kept"]

    TestPlugin.on_before_reload = _before
    TestPlugin.on_after_reload = _after
""")


def test_a_slow_state_copy_is_reported_with_the_plugin_and_time(workspace, monkeypatch):
    import logomesh_studio.runtime.reload as reload_module

    monkeypatch.setattr(reload_module, "SLOW_COPY_S", 0.0)
    workspace.plugin("alpha", OWN_HOOKS)
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"big": list(range(1000))})
        rows = h.host.instance("alpha").data["big"]
        assert h.reload("alpha") is True
        event = h.wait_for(logged("alpha", "copying the reload state took"))
        assert event.level == "WARNING"
        assert h.send("alpha", "recall") == {"big": list(range(1000))}
        assert h.host.instance("alpha").data["big"] is not rows  # hooks of its own: a copy


CUSTOM_ERROR = """
class Custom(BaseException):  # not an Exception: the reload calls these hooks directly
    pass
"""

RAISING_HOOKS = {
    # the running version's on_before_reload raises: any reload of it fails
    "on_before_reload": (code("v1") + CUSTOM_ERROR + textwrap.dedent("""
        def _before(self):
            raise Custom("from on_before_reload")

        TestPlugin.on_before_reload = _before
    """), code("v2")),
    # the new version's migrate_state raises
    "migrate_state": (code("v1"), code("v2") + CUSTOM_ERROR + textwrap.dedent("""
        def _migrate(self, old, old_version):
            raise Custom("from migrate_state")

        TestPlugin.migrate_state = _migrate
        TestPlugin.state_version = 2
    """)),
}


@pytest.mark.parametrize("hook", RAISING_HOOKS)
def test_a_base_exception_of_its_own_from_a_reload_hook_fails_only_that_reload(workspace,
                                                                               hook):
    running, edited = RAISING_HOOKS[hook]
    workspace.plugin("alpha", running)
    workspace.plugin("beta", code("b1"))
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"count": 3})
        save(module_file(workspace, "alpha"), edited)
        assert h.reload("alpha") is False
        failure = h.wait_for(failed("alpha"))
        assert failure.stage == hook
        assert f"Custom: from {hook} (" in failure.error  # with the plugin's file:line
        assert h.send("alpha", "version") == "v1"  # rolled back: the old version runs on
        assert h.send("alpha", "recall") == {"count": 3}  # with its state
        save(module_file(workspace, "beta"), code("b2"))
        assert h.reload("beta") is True  # the runtime and the other plugins go on
        assert h.send("beta", "version") == "b2"
