"""Hot reload: watching, debounce, cascade, state, rollback, workspace membership."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import textwrap

import pytest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import (
    PluginLoaded,
    PluginStopped,
    ReloadCompleted,
)
from logomesh_studio.sdk import PermissionDenied
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.runtime.reloading import (
    code,
    completed,
    failed,
    module_file,
    reloads,
    save,
    settle,
)

ONE_BATCH = RuntimeConfig(entry_points=False, settle=0.5)
"""Saves made within half a second after the first one form one batch."""


def test_saving_a_file_triggers_exactly_one_reload_with_the_new_code(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    workspace.plugin("sentinel")
    h = watched()
    assert h.send("alpha", "version") == "v1"
    save(module_file(workspace, "alpha"), code("v2"))
    event = h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
    assert event.cause.endswith("__init__.py")
    assert set(event.timings) >= {"detect", "save", "debounce", "unload", "import", "init",
                                  "restore", "total"}
    parts = ("detect", "save", "debounce", "reload")
    assert sum(event.timings[p] for p in parts) <= event.timings["total"]
    settle(h, workspace)
    assert len(reloads(h, "alpha")) == 1


def test_state_is_preserved_exactly(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    h.send("alpha", "remember", {"counter": 42, "data": "important"})
    save(module_file(workspace, "alpha"), code("v2"))
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "recall") == {"counter": 42, "data": "important"}


def test_nested_and_large_state_is_preserved(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    state = {"nested": {"a": [1, {"b": [2, 3, {"c": None}]}], "t": True},
             "big": [{"i": i, "s": "x" * 50} for i in range(10_000)]}
    h.send("alpha", "remember", state)
    save(module_file(workspace, "alpha"), code("v2"))
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "recall") == state


def test_cascade_reloads_dependents_once_in_order(workspace, watched):
    workspace.plugin("a", code("a1"))
    workspace.plugin("b", code("b1"), dependencies={"a": ">=1"})
    workspace.plugin("c", code("c1"), dependencies={"b": ">=1"})
    workspace.plugin("sentinel")
    h = watched()
    save(module_file(workspace, "a"), code("a2"))
    h.wait_for(completed("c"))
    order = [e.plugin_id for e in h.events if isinstance(e, ReloadCompleted)]
    assert order == ["a", "b", "c"]
    assert h.send("a", "version") == "a2" and h.send("c", "version") == "c1"
    settle(h, workspace)
    assert [len(reloads(h, p)) for p in "abc"] == [1, 1, 1]


def test_one_save_touching_two_plugins_reloads_the_shared_dependent_once(workspace, watched):
    workspace.plugin("a", code("a1"))
    workspace.plugin("b", code("b1"))
    workspace.plugin("both", code("x"), dependencies={"a": "", "b": ""})
    workspace.plugin("sentinel")
    h = watched(ONE_BATCH)
    save(module_file(workspace, "a"), code("a2"))
    save(module_file(workspace, "b"), code("b2"))
    h.wait_for(completed("both"))
    settle(h, workspace)
    assert len(reloads(h, "both")) == 1


def test_burst_of_saves_within_the_settle_time_reloads_once(workspace, watched):
    workspace.plugin("alpha", code("v0"))
    workspace.plugin("sentinel")
    h = watched(ONE_BATCH)
    path = module_file(workspace, "alpha")
    for i in range(1, 21):
        save(path, code(f"v{i}"))
    h.wait_for(completed("alpha"))
    settle(h, workspace)
    assert len(reloads(h, "alpha")) == 1
    assert h.send("alpha", "version") == "v20"


def test_safe_write_rename_reloads_once(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    workspace.plugin("sentinel")
    h = watched()
    path = module_file(workspace, "alpha")
    temp = path.with_name("__init__.py.tmp1234")
    save(temp, code("v2"))
    os.replace(temp, path)
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
    settle(h, workspace)
    assert len(reloads(h, "alpha")) == 1


def test_rename_from_an_arbitrary_temp_name_is_seen(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    path = module_file(workspace, "alpha")
    temp = path.with_name("a8f3k2")  # like editors that save through random names
    save(temp, code("v2"))
    os.replace(temp, path)
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"


def test_identical_rewrite_and_editor_droppings_do_not_reload(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    workspace.plugin("sentinel")
    h = watched()
    path = module_file(workspace, "alpha")
    save(path, code("v1"))
    for junk in (".__init__.py.swp", "__init__.py~", ".#__init__.py", "4913",
                 "__init__.py___jb_tmp___"):
        (path.parent / junk).write_text("junk")
    (path.parent / "__pycache__").mkdir(exist_ok=True)
    (path.parent / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    path.read_text()  # an opened/closed_no_write event
    settle(h, workspace)
    assert reloads(h, "alpha") == []


def test_same_size_rewrite_in_the_same_second_never_runs_stale_bytecode(workspace):
    workspace.plugin("alpha", code("v1"))
    path = module_file(workspace, "alpha")
    with PluginHarness(workspace.root) as h:
        assert h.send("alpha", "version") == "v1"
        stat = path.stat()
        save(path, code("v2"))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
        assert h.reload("alpha") is True
        assert h.send("alpha", "version") == "v2"


def test_syntax_error_keeps_old_version_and_fixing_it_reloads(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    h.send("alpha", "remember", {"counter": 7})
    path = module_file(workspace, "alpha")
    save(path, code("v2").replace("def version(self, message):", "def version(self, message)"))
    event = h.wait_for(failed("alpha"))
    assert event.stage == "import" and "SyntaxError" in event.error
    assert event.path == str(path) and event.line == 6
    assert f"{path}:6" in event.error
    assert h.send("alpha", "version") == "v1"
    assert h.send("alpha", "recall") == {"counter": 7}
    assert h.plugin("alpha").status == "running"
    mark = h.mark()
    save(path, code("v3"))
    h.wait_for(completed("alpha"), after=mark)
    assert h.send("alpha", "version") == "v3"
    assert h.send("alpha", "recall") == {"counter": 7}


def test_failure_in_initialize_rolls_back_with_trimmed_traceback(workspace):
    workspace.plugin("alpha", code("v1"))
    path = module_file(workspace, "alpha")
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"k": 1})
        save(path, code("v2") + textwrap.dedent("""
            def _helper():
                raise RuntimeError("cannot connect")

            def _init(self, ctx):
                _helper()

            TestPlugin.initialize = _init
        """))
        assert h.reload("alpha") is False
        event = h.wait_for(failed("alpha"))
        assert event.stage == "initialize" and "RuntimeError: cannot connect" in event.error
        assert "logomesh_studio" not in event.traceback
        assert "_helper()" in event.traceback and event.path == str(path)
        assert h.send("alpha", "version") == "v1" and h.send("alpha", "recall") == {"k": 1}


def test_failure_in_on_after_reload_rolls_back(workspace):
    workspace.plugin("alpha", code("v1"))
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"k": 1})
        save(module_file(workspace, "alpha"), code("v2") + textwrap.dedent("""
            def _after(self, state):
                state["data"]["k"] = "corrupted"
                raise ValueError("bad state")

            TestPlugin.on_after_reload = _after
        """))
        assert h.reload("alpha") is False
        assert h.wait_for(failed("alpha")).stage == "on_after_reload"
        assert h.send("alpha", "recall") == {"k": 1}
        assert h.send("alpha", "version") == "v1"


def test_state_version_change_runs_migrate_state(workspace):
    workspace.plugin("alpha", code("v1"))
    with PluginHarness(workspace.root) as h:
        h.send("alpha", "remember", {"count": 3})
        save(module_file(workspace, "alpha"), code("v2") + textwrap.dedent("""
            def _migrate(self, old, old_version):
                assert old_version == 1
                return {"data": {"total": old["data"]["count"], "migrated_from": old_version}}

            TestPlugin.migrate_state = _migrate
            TestPlugin.state_version = 2
        """))
        assert h.reload("alpha") is True
        assert h.send("alpha", "recall") == {"total": 3, "migrated_from": 1}


def test_narrowed_permission_applies_to_the_very_next_message(workspace, watched):
    workspace.plugin("target")
    workspace.plugin("caller", code("v1"), permissions=["send:target"])
    h = watched()
    assert h.send("target", "ping", 1, as_="caller")["pong"] == 1
    manifest = workspace.root / "caller" / "plugin.toml"
    save(manifest, manifest.read_text().replace('["send:target"]', '["send:target:other"]'))
    h.wait_for(completed("caller"))
    with pytest.raises(PermissionDenied, match="send:target:ping"):
        h.send("target", "ping", 2, as_="caller")


def test_invalid_new_manifest_keeps_the_old_version(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    manifest = workspace.root / "alpha" / "plugin.toml"
    save(manifest, manifest.read_text().replace('version = "1.0.0"', 'version = "one"'))
    event = h.wait_for(failed("alpha"))
    assert event.stage == "manifest" and "version" in event.error and "plugin.toml" in event.error
    assert h.send("alpha", "version") == "v1"


def test_messages_sent_during_a_reload_all_arrive(workspace):
    slow = code("{version}") + textwrap.dedent("""
        import asyncio

        async def _init(self, ctx):
            Plugin.initialize(self, ctx)
            await asyncio.sleep(0.2)

        TestPlugin.initialize = _init
    """)
    workspace.plugin("alpha", slow.replace("{version}", "v1"))
    save(module_file(workspace, "alpha"), slow.replace("{version}", "v2"))
    with PluginHarness(workspace.root) as h:
        run = h.runtime
        reload_future = run.submit(h.host.reload("alpha"))
        sends = [run.submit(h.host.bus.send(DRIVER, "alpha", "version", None, 5))
                 for _ in range(50)]
        assert reload_future.result(10) is True
        answers = [f.result(10) for f in sends]
        assert len(answers) == 50 and set(answers) <= {"v1", "v2"}
        assert answers[-1] == "v2"


def test_new_folder_loads_and_deleted_folder_unloads_with_dependents_told(workspace, watched):
    workspace.plugin("base", code("b1"))
    workspace.plugin("user", code("u1"), dependencies={"base": ""})
    h = watched()
    staging = workspace.root.parent / "staging"
    extra = type(workspace)(staging)
    extra.plugin("newcomer", code("n1"))
    shutil.move(str(staging / "newcomer"), str(workspace.root / "newcomer"))
    h.wait_for(lambda e: isinstance(e, PluginLoaded) and e.plugin_id == "newcomer")
    assert h.send("newcomer", "version") == "n1"
    shutil.rmtree(workspace.root / "base")
    h.wait_for(lambda e: isinstance(e, PluginStopped) and e.plugin_id == "base")
    assert "base" not in h.host.records
    user = h.plugin("user")
    assert user.status == "failed" and "base was removed" in user.error


def test_watching_event_is_emitted_once_live(workspace):
    workspace.plugin("alpha")
    with PluginHarness(workspace.root) as h:
        h.watch()
        assert h.wait_for(lambda e: e.kind == "watching").workspace == str(workspace.root)


def test_handler_running_during_reload_finishes_on_old_code(workspace):
    gated = code("v1") + textwrap.dedent("""
        import asyncio
        GATE = {}

        async def _slow(self, message):
            GATE["event"] = asyncio.Event()
            await GATE["event"].wait()
            return "old code finished"

        TestPlugin.slow = handler("slow")(_slow)
        TestPlugin._handler_table = {**TestPlugin._handler_table, "slow": "slow"}
    """)
    workspace.plugin("alpha", gated)
    with PluginHarness(workspace.root) as h:
        run = h.runtime
        slow = run.submit(h.host.bus.send(DRIVER, "alpha", "slow", None, 10))
        gate_holder = sys.modules[type(h.host.instance("alpha")).__module__].GATE
        save(module_file(workspace, "alpha"), code("v2"))
        reload_future = run.submit(h.host.reload("alpha"))
        run.run(_until(lambda: "event" in gate_holder))
        run.call_soon(gate_holder["event"].set)
        assert slow.result(10) == "old code finished"
        assert reload_future.result(10) is True
        assert h.send("alpha", "version") == "v2"


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0)


GC_PROBE = """
import gc
from logomesh_studio.sdk import Plugin, handler

class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.collecting = gc.isenabled()
        if {fail}:
            raise RuntimeError("broken edit")

    @handler("collecting")
    def collecting_during_load(self, message):
        return self.collecting
"""


def test_no_garbage_collection_runs_during_a_reload_and_it_is_back_on_after(workspace,
                                                                            watched):
    import gc

    workspace.plugin("alpha", GC_PROBE.format(fail=False))
    h = watched()
    assert gc.isenabled()
    for fail in (False, True):  # a reload that completes, and one that rolls back
        mark = h.mark()
        save(module_file(workspace, "alpha"), GC_PROBE.format(fail=fail) + f"# {fail}\n")
        h.wait_for(failed("alpha") if fail else completed("alpha"), after=mark)
        assert gc.isenabled()
        assert h.send("alpha", "collecting") is False  # the reloaded version's initialize


HELPED = """
from logomesh_studio.sdk import Plugin, handler
from . import helper

class TestPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return helper.VALUE
"""


def test_a_submodule_rewritten_in_the_same_second_at_the_same_size_never_runs_stale_bytecode(
        workspace, watched, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # cached bytecode is written
    workspace.plugin("alpha", HELPED)
    helper = module_file(workspace, "alpha").with_name("helper.py")
    helper.write_text('VALUE = "v1"\n')
    h = watched()
    assert h.send("alpha", "version") == "v1"
    assert list(helper.parent.glob("__pycache__/helper.*.pyc"))  # what could go stale
    for version in ("v2", "v3"):
        mark = h.mark()
        stat = helper.stat()
        helper.write_text(f'VALUE = "{version}"\n')
        os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
        h.wait_for(completed("alpha"), after=mark)
        assert h.send("alpha", "version") == version
