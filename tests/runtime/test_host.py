"""The host: starting plugins in order, isolating failures, stopping cleanly, logging."""

from __future__ import annotations

from logomesh_studio.runtime.events import LogRecorded, PluginFailed, PluginLoaded, PluginStopped
from logomesh_studio.testing import PluginHarness

RECORDER = """
from logomesh_studio.sdk import Plugin, handler

STARTED = []

class TestPlugin(Plugin):
    async def initialize(self, ctx):
        super().initialize(ctx)
        ctx.log.info("started %s", ctx.plugin_id)

    @handler("ping")
    async def ping(self, message):
        return "pong"
"""

FAILS_INIT = """
from logomesh_studio.sdk import Plugin

class TestPlugin(Plugin):
    def initialize(self, ctx):
        raise RuntimeError("database unreachable")
"""


def test_plugins_start_in_dependency_order_and_answer(workspace):
    workspace.plugin("base", RECORDER)
    workspace.plugin("mid", RECORDER, dependencies={"base": ">=1"})
    workspace.plugin("top", RECORDER, dependencies={"mid": ""})
    with PluginHarness(workspace.root) as h:
        loaded = [e.plugin_id for e in h.events if isinstance(e, PluginLoaded)]
        assert loaded == ["base", "mid", "top"]
        assert h.send("top", "ping") == "pong"


def test_failing_initialize_marks_only_that_plugin_failed(workspace):
    workspace.plugin("good", RECORDER)
    workspace.plugin("bad", FAILS_INIT)
    workspace.plugin("needs-bad", RECORDER, dependencies={"bad": ""})
    with PluginHarness(workspace.root) as h:
        bad = h.plugin("bad")
        assert bad.status == "failed"
        assert "RuntimeError: database unreachable" in bad.error
        assert "bad/" in bad.error and "__init__.py:6" in bad.error
        assert "raise RuntimeError" in bad.traceback
        assert h.plugin("good").status == "running"
        assert h.send("good", "ping") == "pong"
        dependent = h.plugin("needs-bad")
        assert dependent.status == "failed" and "bad" in dependent.error
        [event] = [e for e in h.events if isinstance(e, PluginFailed) and e.plugin_id == "bad"]
        assert event.stage == "initialize" and event.line == 6


def test_import_error_is_reported_with_file_and_line(workspace):
    workspace.plugin("broken", "import nonexistent_module_xyz\n")
    workspace.plugin("fine")
    with PluginHarness(workspace.root) as h:
        info = h.plugin("broken")
        assert info.status == "failed" and "nonexistent_module_xyz" in info.error
        assert "__init__.py:1" in info.error
        assert h.plugin("fine").status == "running"


def test_syntax_error_points_at_the_line(workspace):
    workspace.plugin("typo", "x = 1\ndef broken(:\n    pass\n")
    with PluginHarness(workspace.root) as h:
        info = h.plugin("typo")
        assert "SyntaxError" in info.error and "__init__.py:2" in info.error


def test_entry_that_is_not_a_plugin_class_is_rejected(workspace):
    workspace.plugin("odd", "class TestPlugin:\n    pass\n")
    with PluginHarness(workspace.root) as h:
        assert "not a subclass of logomesh_studio.sdk.Plugin" in h.plugin("odd").error


def test_failing_cleanup_is_reported_and_others_still_stop(workspace):
    workspace.plugin("messy", """
from logomesh_studio.sdk import Plugin

class TestPlugin(Plugin):
    def cleanup(self):
        raise OSError("socket already closed")
""")
    workspace.plugin("tidy")
    h = PluginHarness(workspace.root)
    with h:
        pass
    failed = [e for e in h.events if isinstance(e, PluginFailed)]
    assert [(e.plugin_id, e.stage) for e in failed] == [("messy", "cleanup")]
    stopped = {e.plugin_id for e in h.events if isinstance(e, PluginStopped)}
    assert stopped == {"messy", "tidy"}


def test_stop_and_start_a_plugin_again(workspace):
    workspace.plugin("svc", RECORDER)
    with PluginHarness(workspace.root) as h:
        h.runtime.run(h.host.stop("svc"))
        assert h.plugin("svc").status == "stopped"
        assert h.runtime.run(h.host.start("svc")) is True
        assert h.send("svc", "ping") == "pong"


def test_plugin_logs_become_events(workspace):
    workspace.plugin("chatty", RECORDER)
    with PluginHarness(workspace.root) as h:
        [log] = [e for e in h.events if isinstance(e, LogRecorded)]
        assert (log.plugin_id, log.level, log.message) == ("chatty", "INFO", "started chatty")
        assert log.path.endswith("__init__.py")


def test_two_plugins_with_the_same_package_name_do_not_mix(workspace):
    workspace.plugin("one")
    other = workspace.root / "two"
    (other / workspace.package_name("one")).mkdir(parents=True)
    (other / workspace.package_name("one") / "__init__.py").write_text("raise SystemError\n")
    workspace.write_manifest(other, {"id": "two", "name": "Two", "version": "1",
                                     "entry": f"{workspace.package_name('one')}:TestPlugin"})
    with PluginHarness(workspace.root) as h:
        assert h.plugin("one").status == "running"
        two = h.plugin("two")
        assert two.status == "failed" and "already imported" in two.error


def test_plugin_info_serialises_to_json(workspace):
    workspace.plugin("svc", RECORDER, capabilities=["svc"], permissions=["send:*"])
    with PluginHarness(workspace.root) as h:
        data = h.plugin("svc").to_json()
        assert data["capabilities"] == ["svc"] and data["handles"] == ["ping"]
        assert data["status"] == "running"


def test_stop_before_start_means_nothing_loads(workspace):
    from logomesh_studio.runtime.runner import RuntimeThread

    workspace.plugin("svc", RECORDER)
    runtime = RuntimeThread(workspace.root)
    runtime.stop()
    runtime.start()
    assert not runtime.thread.is_alive() and runtime.host.records == {}
