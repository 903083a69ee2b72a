"""Hardening (issue 18): whatever a plugin raises, floods or returns, the runtime, the
other plugins and the history survive it."""

from __future__ import annotations

import asyncio
import errno
import gc
import importlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from logomesh_studio import sdk
from logomesh_studio.cli import main
from logomesh_studio.devtools.debug_session import DebugSession
from logomesh_studio.devtools.debug_target import RuntimeTarget
from logomesh_studio.runtime.bus import FAIR_QUOTA, TURN_SHARE, Outcome
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.events import PluginFailed, PluginStopped
from logomesh_studio.runtime.imports import module_problems
from logomesh_studio.runtime.manifest import ManifestError, validate_manifest
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.testing import DRIVER, PluginHarness

RAISERS = {
    "KeyboardInterrupt": "KeyboardInterrupt('from the plugin')",
    "GeneratorExit": "GeneratorExit('from the plugin')",
    "CancelledError": "asyncio.CancelledError('from the plugin')",
    "Custom": "Custom('from the plugin')",
}

RAISING = """
import asyncio
from logomesh_studio.sdk import Plugin, handler


class Custom(BaseException):
    pass


class TestPlugin(Plugin):
    @handler("sync")
    def sync(self, message):
        raise {exc}

    @handler("async")
    async def async_(self, message):
        await asyncio.sleep(0)
        raise {exc}
"""

FINE = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return "fine"
"""


def harness(workspace, **config):
    return PluginHarness(workspace.root, RuntimeConfig(entry_points=False, **config))


# -- BaseException from plugin code ------------------------------------------------------------


@pytest.mark.parametrize("name", RAISERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_base_exception_in_a_handler_reaches_the_sender_as_remote_error(workspace, name, kind):
    workspace.plugin("raiser", RAISING.format(exc=RAISERS[name]))
    workspace.plugin("fine", FINE)
    with harness(workspace) as h:
        for _ in range(2):  # the runtime thread survives the first one
            with pytest.raises(sdk.RemoteError) as caught:
                h.send("raiser", kind)
            assert caught.value.error_type == name and caught.value.target == "raiser"
            assert h.host.bus.history[-1].outcome == "error"
        assert h.send("fine", "ping") == "fine"
        assert h.runtime.thread.is_alive()


LIFECYCLE = FINE + """
import asyncio


class Custom(BaseException):
    pass


def _raise(self, *args):
    raise {exc}


TestPlugin.{method} = _raise
"""


@pytest.mark.parametrize("name", RAISERS)
def test_base_exception_in_initialize_fails_only_that_plugin(workspace, name):
    workspace.plugin("early", FINE)
    workspace.plugin("raiser", LIFECYCLE.format(exc=RAISERS[name], method="initialize"))
    workspace.plugin("zlate", FINE)  # loads after the raiser: the load goes on
    with harness(workspace) as h:
        info = h.plugin("raiser")
        assert info.status == "failed" and f"{name}: from the plugin" in info.error
        assert h.send("early", "ping") == h.send("zlate", "ping") == "fine"


@pytest.mark.parametrize("name", RAISERS)
def test_base_exception_in_cleanup_still_cleans_up_the_others(workspace, name):
    workspace.plugin("alpha", FINE)
    workspace.plugin("raiser", LIFECYCLE.format(exc=RAISERS[name], method="cleanup"))
    workspace.plugin("zulu", FINE)
    h = harness(workspace)
    with h:
        h.runtime.run(h.host.stop("raiser"))
        assert h.plugin("raiser").status == "failed"
        assert h.send("alpha", "ping") == "fine"
    failed = [e for e in h.events if isinstance(e, PluginFailed)]
    assert [(e.plugin_id, e.stage) for e in failed] == [("raiser", "cleanup")]
    assert f"{name}: from the plugin" in failed[0].error
    stopped = {e.plugin_id for e in h.events
               if isinstance(e, PluginStopped) and e.reason == "shutdown"}
    assert stopped == {"alpha", "zulu"}


def test_keyboard_interrupt_in_a_task_a_plugin_spawned_leaves_the_runtime_running(workspace):
    workspace.plugin("spawner", """
        import asyncio
        from logomesh_studio.sdk import Plugin, handler


        async def interrupt():
            raise KeyboardInterrupt("from a spawned task")


        class TestPlugin(Plugin):
            @handler("spawn")
            async def spawn(self, message):
                task = asyncio.ensure_future(interrupt())
                await asyncio.wait([task])
                return "spawned"
    """)
    workspace.plugin("fine", FINE)
    with harness(workspace) as h:
        # the task's KeyboardInterrupt escapes asyncio's loop; the runtime thread restarts
        # the loop and the waiting handler then finishes normally
        assert h.send("spawner", "spawn") == "spawned"
        assert h.send("fine", "ping") == "fine"
        assert h.runtime.thread.is_alive()


def test_sender_cancelling_its_call_is_still_recorded_as_cancelled(workspace):
    workspace.plugin("slow", """
        import asyncio
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("wait")
            async def wait(self, message):
                await asyncio.Event().wait()
    """)
    with harness(workspace) as h:

        async def call_then_cancel():
            call = asyncio.ensure_future(h.host.bus.send(DRIVER, "slow", "wait"))
            while not h.host.bus._routes["slow"].inflight:
                await asyncio.sleep(0)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

        h.runtime.run(call_then_cancel())
        assert h.host.bus.history[-1].outcome == "cancelled"


# -- flooding --------------------------------------------------------------------------------


FLOODER = """
import asyncio
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("flood")
    async def flood(self, message):
        await asyncio.sleep(0)
        await asyncio.gather(self.ctx.send("flooder", "flood"), self.ctx.send("flooder", "flood"))
"""


def test_a_flooding_plugin_is_refused_beyond_its_limit_while_others_flow(workspace):
    workspace.plugin("flooder", FLOODER, permissions=["send:flooder"])
    workspace.plugin("steady", FINE)
    with harness(workspace, max_inflight_calls=50) as h:
        bus = h.host.bus
        peak = []
        bus.add_delivery_hook(lambda source, target, type: peak.append(bus._busy[source]))

        async def flood_while_others_call():
            flood = asyncio.ensure_future(bus.send(DRIVER, "flooder", "flood"))
            answers = []
            while not flood.done() or len(answers) < 20:
                answers.append(await bus.send(DRIVER, "steady", "ping"))
                await asyncio.sleep(0)
            # Read on the runtime thread: calls the flood started may still be recorded.
            refused = [r for r in bus.history if r.outcome == Outcome.REFUSED]
            return answers, flood.exception(), refused

        answers, error, refused = h.runtime.run(flood_while_others_call(), timeout=30)
        assert answers.count("fine") == len(answers) >= 20
        assert isinstance(error, sdk.RemoteError)
        assert max(peak) <= 50
        assert refused and refused[0].source == "flooder"
        assert refused[0].error == ("flooder already has 50 calls in flight (the runtime's "
                                    "max_inflight_calls); wait for answers before sending more")


SPAWNER = """
import asyncio
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("flood")
    def flood(self, message):
        loop = asyncio.get_running_loop()
        for _ in range(2):  # never awaited: each message fires two more at itself
            loop.create_task(self.ctx.send("spawner", "flood"))
"""


def test_unawaited_sends_flooding_the_bridge_neither_starve_others_nor_grow_unbounded(
        workspace):
    workspace.plugin("spawner", SPAWNER, permissions=["send:spawner"])
    workspace.plugin("steady", FINE)
    limit = 50
    with harness(workspace, max_inflight_calls=limit) as h:
        bus = h.host.bus
        flooded = [0]

        def count(source: str, target: str, type: str) -> None:
            flooded[0] += target == "spawner"
        bus.add_delivery_hook(count)
        # Between two of steady's messages (one turn of the loop each) the flood may
        # advance by its fair share of turns, never by everything it queued meanwhile.
        most_between = 2 * (FAIR_QUOTA + TURN_SHARE)

        async def ping_during_the_flood():
            await bus.send(DRIVER, "spawner", "flood")
            answers, gaps, tasks = [], [], []
            for _ in range(100):
                before = flooded[0]
                await asyncio.sleep(0)  # one turn of the loop: the flood runs meanwhile
                answers.append(await bus.send(DRIVER, "steady", "ping"))
                gaps.append(flooded[0] - before)
                tasks.append(len(asyncio.all_tasks()))
                if gaps[-1] > most_between or tasks[-1] > 4 * limit + most_between:
                    break  # without fair scheduling both double at every turn
            # Read on the runtime thread: the flood goes on appending to the history.
            refused = [r for r in bus.history if r.outcome == Outcome.REFUSED]
            return answers, gaps, tasks, refused

        answers, gaps, tasks, refused = h.runtime.run(ping_during_the_flood(), timeout=60)
        assert answers == ["fine"] * 100  # every message of steady's went through ...
        assert max(gaps) <= most_between  # ... each after a bounded share of the flood
        assert max(tasks) <= 4 * limit + most_between  # the flood's live calls are bounded
        assert flooded[0] > 100  # while the flood went on all along
        assert refused and {r.source for r in refused} == {"spawner"}
    # The flood's abandoned tasks log "Task exception was never retrieved" when they are
    # collected. Collect them now: collected during a later ast.parse (pytest rewriting
    # an import), that logging parses too, and CPython 3.11 then raises SystemError
    # "AST constructor recursion depth mismatch" (gh-106905).
    gc.collect()


def test_a_sender_awaiting_each_call_never_waits_a_turn_and_lets_others_run_every_quota(
        workspace):
    workspace.plugin("steady", FINE)
    with harness(workspace) as h:
        bus = h.host.bus

        async def many_calls_one_after_another():
            loop = asyncio.get_running_loop()
            answers, others = [], []

            def other_plugin_work():  # runs whenever the loop gets a turn
                others.append(len(answers))
                if len(answers) < 10 * FAIR_QUOTA:
                    loop.call_soon(other_plugin_work)

            loop.call_soon(other_plugin_work)
            for _ in range(10 * FAIR_QUOTA):
                answers.append(await bus.send(DRIVER, "steady", "ping"))
            return answers, others[:]  # a copy: the loop turns once we return

        answers, others = h.runtime.run(many_calls_one_after_another(), timeout=30)
        assert answers == ["fine"] * 10 * FAIR_QUOTA
        # The loop ran other work after every FAIR_QUOTA calls, and only then: the
        # sequential sender never waited for the fair scheduler's turn (two more turns).
        assert others == [FAIR_QUOTA * i for i in range(1, 10)]


def test_overloaded_is_a_plugin_error_naming_the_sender_and_the_limit():
    error = sdk.Overloaded("flooder", 7)
    assert isinstance(error, sdk.PluginError)
    assert (error.sender, error.limit) == ("flooder", 7) and "flooder" in str(error)


# -- history ---------------------------------------------------------------------------------


def test_history_is_bounded_by_bytes_as_well_as_by_count(workspace):
    workspace.plugin("echo", """
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("echo")
            def echo(self, message):
                return message.payload
    """)
    with harness(workspace, history_size=1000, history_bytes=50_000) as h:
        for n in range(40):
            h.send("echo", "echo", {"n": n, "blob": "x" * 2000})
        history = h.host.bus.history
        kept = [json.loads(r.payload)["n"] for r in history]
        assert history.bytes <= 50_000 and kept == list(range(40 - len(kept), 40))
        assert 10 <= len(kept) < 13  # each record: ~4 KB of payload and response
        h.send("echo", "echo", "x" * 60_000)  # alone over the bound: the newest is kept
        assert len(history) == 1 and json.loads(history[-1].payload) == "x" * 60_000


# -- responses the bridge cannot carry -------------------------------------------------------


def test_dict_subclass_whose_items_raise_is_refused_and_recorded(workspace):
    workspace.plugin("tricky", """
        from logomesh_studio.sdk import Plugin, handler

        class Tricky(dict):
            def items(self):
                raise RuntimeError("no items today")

        class TestPlugin(Plugin):
            @handler("get")
            def get(self, message):
                return {"ok": 1, "inner": Tricky(a=1)}

            @handler("send-it")
            async def send_it(self, message):
                return await self.ctx.send("tricky", "echo", Tricky(a=1))
    """, permissions=["send:tricky"])
    with harness(workspace) as h:
        with pytest.raises(sdk.ResponseRefused) as caught:
            h.send("tricky", "get")
        assert str(caught.value) == ("bridge refused the response of 'tricky': response.inner: "
                                     "Tricky.items() raised RuntimeError: no items today")
        record = h.host.bus.history[-1]
        assert (record.target, record.type, record.error) == ("tricky", "get",
                                                              str(caught.value))
        with pytest.raises(sdk.RemoteError, match="InvalidPayload: payload: Tricky.items"):
            h.send("tricky", "send-it")
        assert h.host.bus.history[-2].outcome == "invalid"


# -- the developer sender --------------------------------------------------------------------


def test_the_developer_sender_is_not_a_valid_plugin_id(tmp_path):
    with pytest.raises(ManifestError, match="id"):
        validate_manifest(tmp_path / "plugin.toml", {
            "id": DEVELOPER, "name": "x", "version": "1.0", "entry": "x:Plugin"})
    assert DRIVER == DEVELOPER


def test_a_plugin_with_id_test_does_not_break_the_harness(workspace):
    workspace.plugin("test", """
        from logomesh_studio.sdk import Plugin, handler

        class TestPlugin(Plugin):
            @handler("who")
            def who(self, message):
                return message.source
    """)
    with harness(workspace) as h:
        assert h.send("test", "who") == DEVELOPER
        assert h.host.bus.history[-1].source == DEVELOPER


def _plugin_marking_its_cleanup(workspace, plugin_id: str, marker: Path) -> None:
    """A plugin whose cleanup() appends a line to ``marker``."""
    workspace.plugin(plugin_id, FINE + f"""

def _cleanup(self):
    with open({str(marker)!r}, "a") as out:
        out.write("cleaned\\n")


TestPlugin.cleanup = _cleanup
""")


def _interrupt_run(workspace, ready: str, timeout: float) -> tuple[int, str]:
    """Start ``logomesh-studio run`` in a child, press Ctrl+C once a line starts with
    ``ready``; the exit code and everything it printed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-m", "logomesh_studio.cli", "run",
                              str(workspace.root)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith(ready):
                break
        child.send_signal(signal.SIGINT)
        rest, _ = child.communicate(timeout=timeout)
    finally:
        child.kill()
    return child.returncode, "".join(lines) + rest


def test_a_real_ctrl_c_still_stops_run_cleanly(workspace, tmp_path):
    marker = tmp_path / "cleaned.txt"
    _plugin_marking_its_cleanup(workspace, "tidy", marker)
    code, output = _interrupt_run(workspace, "workspace", timeout=60)  # once it is up
    assert code == 0, output
    assert "stopped   tidy (shutdown)" in output and "Traceback" not in output
    assert marker.read_text() == "cleaned\n"


# -- the in-process boundary -----------------------------------------------------------------


def _plain_attributes(value):
    """What ``value``'s instance attributes, slots and method/partial links hold (the
    ways a plugin stumbles from one object to the next; not closures or gc)."""
    found = list(vars(value).values()) if hasattr(value, "__dict__") else []
    found += [getattr(value, n) for n in getattr(type(value), "__slots__", ()) if hasattr(value, n)]
    found += [getattr(value, n) for n in ("__self__", "__func__", "func", "__wrapped__")
              if hasattr(value, n)]
    found += list(getattr(value, "args", ()) or ()) if not isinstance(value, BaseException) else []
    return found


def test_no_plain_attribute_of_a_context_leads_to_the_bridge_or_the_hub(workspace):
    workspace.plugin("curious", FINE)
    with harness(workspace) as h:
        ctx = h.host.instance("curious").ctx
        forbidden = {id(h.host.bus), id(h.host.events), id(h.host)}
        seen, frontier = set(), [sdk._ports[ctx], ctx.log]
        for _ in range(6):  # e.g. ports[ctx].send.func.__self__, log.handlers[0]._emit.__self__
            following = []
            for value in frontier:
                if id(value) in seen or isinstance(value, str | int | float | type(None)):
                    continue
                seen.add(id(value))
                assert id(value) not in forbidden, value
                following += _plain_attributes(value)
                if isinstance(value, list | tuple):
                    following += list(value)
            frontier = following
        assert h.send("curious", "ping") == "fine"


# -- unreadable plugin folders ---------------------------------------------------------------


def _deny(monkeypatch, locked, method):
    """Make ``method`` of paths inside ``locked`` fail as chmod 000 would for a non-root
    user (tests run as root, which chmod does not stop)."""
    real = getattr(Path, method)

    def denied(self, *args, **kwargs):
        if self.is_relative_to(locked) and (method != "stat" or self != locked):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, denied)


@pytest.mark.parametrize("what", ["folder", "manifest"])
def test_an_unreadable_plugin_folder_or_manifest_fails_only_that_plugin(
        workspace, monkeypatch, capsys, what):
    workspace.plugin("fine", FINE)
    locked = workspace.plugin("locked", FINE)
    if what == "folder":
        _deny(monkeypatch, locked, "stat")
        path = locked / "plugin.toml"
        reason = "cannot read this plugin folder: Permission denied"
    else:
        path = locked / "plugin.toml"
        _deny(monkeypatch, path, "read_bytes")
        reason = "cannot read: Permission denied"
    with harness(workspace) as h:
        assert h.send("fine", "ping") == "fine"
        assert [(p.path, p.reason) for p in h.host.problems] == [(str(path), reason)]
    assert main(["check", str(workspace.root)]) == 1
    assert f"{path}: " in capsys.readouterr().out


# -- module collisions -----------------------------------------------------------------------


TOP_LEVEL = """
from logomesh_studio.sdk import Plugin, handler
import {module} as helper


class TestPlugin(Plugin):
    @handler("who")
    def who(self, message):
        return helper.WHO
"""


def top_level_plugin(workspace, plugin_id, module, who="", package=False):
    """A plugin whose entry module sits at the top of its folder beside ``module``."""
    folder = workspace.root / plugin_id
    folder.mkdir(parents=True)
    entry = f"entry_{plugin_id.replace('-', '_')}_{workspace.package_name('x')}"
    (folder / f"{entry}.py").write_text(TOP_LEVEL.format(module=module))
    target = folder / module / "__init__.py" if package else folder / f"{module}.py"
    target.parent.mkdir(exist_ok=True)
    target.write_text(f"WHO = {who or plugin_id!r}\n")
    workspace.write_manifest(folder, {"id": plugin_id, "name": plugin_id, "version": "1.0",
                                      "entry": f"{entry}:TestPlugin"})
    return target


def test_two_plugins_shipping_the_same_top_level_module_do_not_share_it(workspace):
    helpers = "helpers_" + workspace.package_name("h")
    first = top_level_plugin(workspace, "alpha", helpers)
    second = top_level_plugin(workspace, "beta", helpers)
    with harness(workspace) as h:
        assert h.send("alpha", "who") == "alpha"
        beta = h.plugin("beta")
        assert beta.status == "failed"
        assert f"already imported by plugin 'alpha' from {first}" in beta.error
        assert str(second.name) in beta.error
    assert main(["check", str(workspace.root)]) == 1


@pytest.mark.parametrize("module, package", [("wave", False), ("queue", True)])
def test_a_plugin_module_named_like_the_standard_library_fails_clearly(
        workspace, module, package, capsys):
    shadow = top_level_plugin(workspace, "shadow", module, package=package)
    workspace.plugin("fine", FINE)
    stdlib = sys.modules.get(module)
    with harness(workspace) as h:
        info = h.plugin("shadow")
        assert info.status == "failed" and info.error == (
            f"ImportError: {shadow.name if not package else module} is named like the "
            f"standard-library module {module!r}, which it would replace for every plugin; "
            "rename it (or move it inside the plugin's package)")
        assert h.send("fine", "ping") == "fine"
    assert sys.modules.get(module) is stdlib
    assert importlib.import_module(module).__file__.startswith(os.path.dirname(os.__file__))
    assert main(["check", str(workspace.root)]) == 1
    assert "standard-library module" in capsys.readouterr().out


def test_check_reports_modules_two_plugins_ship_without_importing_them(workspace):
    helpers = "helpers_" + workspace.package_name("h")
    top_level_plugin(workspace, "alpha", helpers)
    second = top_level_plugin(workspace, "beta", helpers)
    problems = module_problems(discover(workspace.root, entry_points=False).plugins)
    assert [(p.path, p.field) for p in problems] == [(str(second), "(module)")]
    assert f"top-level module {helpers!r} is also shipped by plugin 'alpha'" in problems[0].reason
    assert helpers not in sys.modules


def test_a_plugin_module_shadowing_an_installed_one_fails_clearly(workspace, tmp_path,
                                                                   monkeypatch):
    name = "installed_" + workspace.package_name("i")
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{name}.py").write_text("WHO = 'installed'\n")
    monkeypatch.syspath_prepend(str(site))
    top_level_plugin(workspace, "shadow", name)
    with harness(workspace) as h:
        assert h.plugin("shadow").status == "failed"
        assert "is also installed (on sys.path)" in h.plugin("shadow").error
    assert importlib.import_module(name).WHO == "installed"


# -- sync code stuck in a lifecycle call -----------------------------------------------------


STUCK = FINE + """
import asyncio


def spin(self, *args):
    print("spinning", flush=True)
    while True:  # stuck here
        pass


async def spin_async(self, *args):
    await asyncio.sleep(0)
    spin(self)


TestPlugin.{method} = {how}
"""


@pytest.mark.parametrize("how", ["spin", "spin_async"])
def test_sync_code_stuck_in_initialize_is_stopped_and_named(workspace, how):
    workspace.plugin("early", FINE)
    stuck = workspace.plugin("stuck", STUCK.format(method="initialize", how=how))
    workspace.plugin("zlate", FINE)
    source = stuck / workspace.package_name("stuck") / "__init__.py"
    line = source.read_text().splitlines().index("    while True:  # stuck here") + 1
    with harness(workspace, lifecycle_timeout=0.5) as h:
        info = h.plugin("stuck")
        assert info.status == "failed"
        assert re.match(rf"TimeoutError: initialize\(\) did not return within 0.5 s; it was "
                        rf"stuck at {re.escape(str(source))}:({line}|{line + 1}) in spin and "
                        "was stopped", info.error), info.error
        assert h.send("early", "ping") == h.send("zlate", "ping") == "fine"
        assert h.host.watchdog.stuck() == []


def test_sync_code_stuck_in_cleanup_is_stopped_and_the_others_clean_up(workspace):
    workspace.plugin("alpha", FINE)
    workspace.plugin("stuck", STUCK.format(method="cleanup", how="spin"))
    h = harness(workspace, lifecycle_timeout=0.5)
    with h:
        h.runtime.run(h.host.stop("stuck"))
        assert h.plugin("stuck").status == "failed"
        assert "cleanup() did not return within 0.5 s; it was stuck at" in \
            h.plugin("stuck").error
        assert h.send("alpha", "ping") == "fine"
    assert any(isinstance(e, PluginStopped) and e.plugin_id == "alpha" for e in h.events)


def test_the_debugger_attaches_after_stuck_code_was_stopped(workspace):
    # Taking back an abort that came too late must not leave the interpreter's "async
    # exception pending" flag set (CPython 3.11 does, for PyThreadState_SetAsyncExc(id,
    # NULL)): with it set, the runtime thread under the debugger's sys.settrace looped
    # for ever on the first line of the next function it called.
    workspace.plugin("alpha", FINE)
    workspace.plugin("stuck", STUCK.format(method="cleanup", how="spin"))
    with harness(workspace, lifecycle_timeout=0.5) as h:
        h.runtime.run(h.host.stop("stuck"))
        assert h.plugin("stuck").status == "failed"
        session = DebugSession(RuntimeTarget(h.runtime), "alpha")
        session.start(timeout=10)
        try:
            assert h.send("alpha", "ping") == "fine"
        finally:
            session.stop()


def test_ctrl_c_stops_run_while_a_plugin_is_stuck_in_initialize(workspace, tmp_path):
    marker = tmp_path / "cleaned.txt"
    _plugin_marking_its_cleanup(workspace, "alpha", marker)
    workspace.plugin("stuck", STUCK.format(method="initialize", how="spin"))
    # The default lifecycle timeout is 30 s: Ctrl+C must not wait for it.
    _code, output = _interrupt_run(workspace, "spinning", timeout=20)
    assert "FAILED    stuck: initialize: TimeoutError: initialize() did not return" in output
    assert "stopped   alpha (shutdown)" in output
    assert marker.read_text() == "cleaned\n"
