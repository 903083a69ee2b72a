"""Failure paths found in review: plugin code that exits, failed first loads, lifecycle
calls racing a reload, re-entrant calls during a reload, teardown messages."""

from __future__ import annotations

import textwrap

import pytest

from logomesh_studio import sdk
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import ReloadCompleted
from logomesh_studio.testing import DRIVER, PluginHarness

ANSWERS = """
from logomesh_studio.sdk import Plugin, handler

class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return "{answer}"
"""


def module_file(workspace, plugin_id):
    return workspace.root / plugin_id / workspace.package_name(plugin_id) / "__init__.py"


@pytest.mark.parametrize("where", ["import", "initialize", "cleanup"])
def test_sys_exit_in_plugin_code_fails_only_that_plugin(workspace, where):
    exits = {"import": "import sys\nsys.exit(3)\n" + ANSWERS.format(answer="x"),
             "initialize": ANSWERS.format(answer="x") + textwrap.dedent("""
                 import sys
                 TestPlugin.initialize = lambda self, ctx: sys.exit(3)
             """),
             "cleanup": ANSWERS.format(answer="x") + textwrap.dedent("""
                 import sys
                 TestPlugin.cleanup = lambda self: sys.exit(3)
             """)}
    workspace.plugin("quitter", exits[where])
    workspace.plugin("fine", ANSWERS.format(answer="fine"))
    h = PluginHarness(workspace.root, RuntimeConfig(entry_points=False, lifecycle_timeout=5))
    with h:
        assert h.send("fine", "ping") == "fine"
        if where != "cleanup":
            assert h.plugin("quitter").status == "failed"
            assert "SystemExit" in h.plugin("quitter").error
    assert any(getattr(e, "stage", "") == where and e.plugin_id == "quitter" for e in h.events
               if e.kind == "plugin_failed")


@pytest.mark.parametrize("broken", [
    ANSWERS.format(answer="v1") + "\nTestPlugin.initialize = lambda self, ctx: 1 / 0\n",
    "from . import helper\n" + ANSWERS.format(answer="v1") + "\nraise ValueError('later')\n",
])
def test_plugin_failing_its_first_load_is_fixed_by_a_reload(workspace, broken):
    folder = workspace.plugin("alpha", broken)
    package = folder / workspace.package_name("alpha")
    (package / "helper.py").write_text("WHO = 'old helper'\n")
    with PluginHarness(workspace.root) as h:
        assert h.plugin("alpha").status == "failed"
        (package / "helper.py").write_text("WHO = 'new helper'\n")
        (package / "__init__.py").write_text(
            "from .helper import WHO\n" + ANSWERS.format(answer="{WHO}").replace(
                'return "{WHO}"', "return WHO"))
        assert h.reload("alpha") is True
        assert h.send("alpha", "ping") == "new helper"


SLOW_INIT = ANSWERS + textwrap.dedent("""
    import asyncio

    async def _init(self, ctx):
        Plugin.initialize(self, ctx)
        await asyncio.sleep({delay})

    async def _cleanup(self):
        CLEANED.append(id(self))

    CLEANED = []
    TestPlugin.initialize = _init
    TestPlugin.cleanup = _cleanup
""")


def test_stop_and_start_wait_for_a_running_reload(workspace):
    workspace.plugin("slow", SLOW_INIT.format(answer="v1", delay=0))
    with PluginHarness(workspace.root) as h:
        module_file(workspace, "slow").write_text(SLOW_INIT.format(answer="v2", delay=0.2))
        reloading = h.runtime.submit(h.host.reload("slow"))
        starting = h.runtime.submit(h.host.start("slow"))
        stopping = h.runtime.submit(h.host.stop("slow"))
        assert reloading.result(10) is True and starting.result(10) is True
        stopping.result(10)
        assert h.plugin("slow").status == "stopped" and h.host.instance("slow") is None
        assert h.runtime.run(h.host.start("slow")) is True
        assert h.send("slow", "ping") == "v2"


def test_reentrant_call_into_a_plugin_being_reloaded_does_not_deadlock(workspace):
    workspace.plugin("aa", """
        import asyncio
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("outer")
            async def outer(self, message):
                await asyncio.sleep(0.05)
                return await self.ctx.send("bb", "ask")

            @handler("inner")
            def inner(self, message):
                return "inner on the old code"
    """, permissions=["send:bb"])
    workspace.plugin("bb", """
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("ask")
            async def ask(self, message):
                return await self.ctx.send("aa", "inner")
    """, permissions=["send:aa"])
    config = RuntimeConfig(entry_points=False, message_timeout=5)
    with PluginHarness(workspace.root, config) as h:

        async def outer_then_reload():
            import asyncio

            outer = asyncio.ensure_future(h.host.bus.send(DRIVER, "aa", "outer"))
            while not h.host.bus._routes["aa"].inflight:
                await asyncio.sleep(0)
            reloaded = await h.host.reload("aa")
            return reloaded, await outer

        reloaded, answer = h.runtime.run(outer_then_reload(), timeout=4)
        assert reloaded is True and answer == "inner on the old code"


def test_cleanup_may_still_message_its_peers_when_stopped(workspace):
    workspace.plugin("registry", """
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("bye")
            def bye(self, message):
                self.data.setdefault("gone", []).append(message.source)
                return True
    """)
    workspace.plugin("client", """
        from logomesh_studio.sdk import Plugin

        class TestPlugin(Plugin):
            async def cleanup(self):
                await self.ctx.send("registry", "bye")
    """, permissions=["send:registry"], dependencies={"registry": ""})
    with PluginHarness(workspace.root) as h:
        h.runtime.run(h.host.stop("client"))
        assert h.host.instance("registry").data["gone"] == ["client"]
        assert h.host.bus.history[-1].outcome == "ok"
        with pytest.raises(sdk.PermissionDenied):  # and nothing after its cleanup
            h.send("registry", "bye", as_="client")


def test_refused_call_is_recorded_with_its_payload_for_replay(workspace):
    workspace.plugin("target", ANSWERS.format(answer="ok"))
    workspace.plugin("caller")
    with PluginHarness(workspace.root) as h:
        with pytest.raises(sdk.PermissionDenied):
            h.send("target", "ping", {"n": 1}, as_="caller")
        record = h.host.bus.history[-1]
        assert record.outcome == "refused" and record.payload == '{"n":1}'


def test_installed_plugin_reloads_from_its_package(tmp_path, workspace):
    from tests.runtime.test_discovery import make_distribution

    site = tmp_path / "site"
    make_distribution(site, "lm-again", "again", "lm_again_pkg:Installed", None)
    workspace.plugin("local")
    harness = PluginHarness(workspace.root, RuntimeConfig(entry_points=True))
    harness.runtime.host.entry_point_paths = [str(site)]
    with harness as h:
        assert h.reload("again") is True
        event = h.wait_for(lambda e: isinstance(e, ReloadCompleted) and e.plugin_id == "again")
        assert event.version == "2.1.0"
        assert h.plugin("again").folder == str(site / "lm_again_pkg")
        assert h.send("again", "hello") == "hello from an installed plugin"
