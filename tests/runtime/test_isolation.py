"""Process-isolated plugins: the boundary, the sandbox, crash survival, permissions.

One workspace is started per module (child processes are not free on 2 cores); each
plugin below serves one purpose, so tests do not disturb each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logomesh_studio import cli, sdk
from logomesh_studio.devtools.dap_client import DapClient
from logomesh_studio.devtools.profiler import Profile
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import Event, ReloadFailed
from logomesh_studio.runtime.isolation import CHILD_COMMAND, proxy, sandbox
from logomesh_studio.runtime.isolation.supervisor import MAX_CRASHES
from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.conftest import Workspace
from tests.debug_plugins import ALPHA, BETA

GUARDED = """
import gc, os, socket, subprocess, sys
from logomesh_studio.sdk import Plugin, PluginError, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        self.ctx = ctx
        ctx.log.info("started in %d", os.getpid())

    @handler("ping")
    def ping(self, message):
        return {"pid": os.getpid(), "payload": message.payload}

    @handler("ask")
    async def ask(self, message):
        return await self.ctx.send("plain", "ping", message.payload)

    @handler("sneak")
    async def sneak(self, message):
        try:
            await self.ctx.send("secret", "ping")
        except PluginError as exc:
            return {"error": type(exc).__name__, "message": str(exc)}
        return {"error": None}

    @handler("fail")
    def fail(self, message):
        raise ValueError("no good")

    @handler("look")
    def look(self, message):
        kinds = {type(o).__name__ for o in gc.get_objects()}
        plugins = {o.__name__ for o in gc.get_objects()
                   if isinstance(o, type) and issubclass(o, Plugin) and o is not Plugin}
        stacks = set()
        for frame in sys._current_frames().values():
            while frame is not None:
                stacks.add(frame.f_code.co_filename)
                frame = frame.f_back
        return {"kinds": sorted(kinds), "plugins": sorted(plugins),
                "modules": sorted(sys.modules), "files": sorted(stacks)}

    @handler("escape")
    def escape(self, message):
        attempts = {
            "other plugin": lambda: os.listdir(message.payload),
            "passwd": lambda: open("/etc/passwd").read(),
            "socket": lambda: socket.socket(),
            "subprocess": lambda: subprocess.run(["true"]),
        }
        outcome = {}
        for name, attempt in attempts.items():
            try:
                attempt()
                outcome[name] = "allowed"
            except OSError as exc:
                outcome[name] = type(exc).__name__
        return outcome
"""

CRASHING = """
import ctypes, os
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("ping")
    def ping(self, message):
        return os.getpid()

    @handler("exit")
    def exit(self, message):
        os._exit(7)

    @handler("segfault")
    def segfault(self, message):
        ctypes.string_at(0)

    @handler("hog")
    def hog(self, message):
        return len(bytearray(1024 * 1024 * 1024))
"""


COUNTER = """
import os
from logomesh_studio.sdk import Plugin, handler

VERSION = {version}


class TestPlugin(Plugin):
    def initialize(self, ctx):
        self.ctx = ctx
        self.data.setdefault("n", 0)

    @handler("add")
    def add(self, message):
        self.data["n"] += message.payload
        return self.data["n"]

    @handler("get")
    def get(self, message):
        return {{"n": self.data["n"], "version": VERSION, "pid": os.getpid()}}

    @handler("stall")
    def stall(self, message):
        import threading
        threading.Event().wait()

    @handler("spin")
    def spin(self, message):
        import time
        end = time.perf_counter() + message.payload
        while time.perf_counter() < end:
            pass

    @handler("providers")
    def providers(self, message):
        return self.ctx.providers(message.payload)

    @handler("keep_a_set")
    def keep_a_set(self, message):
        self.data["seen"] = {{1, 2}}

    @handler("echo")
    def echo(self, message):
        return message.payload

    @handler("a_set")
    def a_set(self, message):
        return {{"items": [1, {{2, 3}}]}}

    @handler("nan")
    def nan(self, message):
        return float("nan")

    @handler("nap")
    async def nap(self, message):
        import asyncio
        try:
            await asyncio.sleep(message.payload)
        except asyncio.CancelledError:
            self.data["cancelled"] = self.data.get("cancelled", 0) + 1
            raise
        return "rested"

    @handler("cancelled")
    def cancelled(self, message):
        return self.data.get("cancelled", 0)
"""


def write_counter(workspace: Workspace, plugin_id: str, version: int, **fields: Any) -> Path:
    return workspace.plugin(plugin_id, COUNTER.format(version=version), isolation="process",
                            **fields)


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("isolation") / "workspace")


@pytest.fixture(scope="module")
def harness(module_workspace: Workspace) -> Iterator[PluginHarness]:
    workspace = module_workspace
    write_counter(workspace, "counter", 1)
    write_counter(workspace, "keeper", 1)
    workspace.plugin("guarded", GUARDED, isolation="process", permissions=["send:plain"])
    for plugin_id in ("crasher", "hog", "fragile"):
        workspace.plugin(plugin_id, CRASHING, isolation="process",
                         limits={"memory_mb": 256})
    workspace.plugin("plain")
    workspace.plugin("secret", capabilities=["secret.service"])
    with PluginHarness(workspace.root) as h:
        yield h


def loaded_again(h: PluginHarness, plugin_id: str, after: int) -> Event:
    return h.wait_for(lambda e: e.kind == "plugin_loaded" and e.plugin_id == plugin_id,
                      after=after)


def test_isolated_plugin_answers_from_a_process_of_its_own(harness: PluginHarness) -> None:
    answer = harness.send("guarded", "ping", {"n": 1})
    assert answer["payload"] == {"n": 1}
    assert answer["pid"] != os.getpid()
    info = harness.plugin("guarded")
    assert info.status == PluginStatus.RUNNING
    assert "ping" in info.handles and "look" in info.handles


def test_isolated_process_holds_no_other_plugin_and_no_runtime(harness: PluginHarness) -> None:
    seen = harness.send("guarded", "look")
    assert not {"CommunicationBridge", "PluginHost", "EventHub", "Reloader"} & set(seen["kinds"])
    assert seen["plugins"] == ["TestPlugin"]  # its own class only
    assert not [m for m in seen["modules"] if m.startswith(("logomesh_studio.runtime.bus",
                                                            "logomesh_studio.runtime.host"))]
    assert not [f for f in seen["files"] if "plain" in f or "secret" in f]


def test_isolated_plugin_logs_reach_the_runtime_under_its_id(harness: PluginHarness) -> None:
    harness.wait_for(lambda e: e.kind == "log" and e.plugin_id == "guarded"
                     and e.message.startswith("started in "))


def test_payloads_of_any_size_and_many_calls_in_flight_get_their_own_answers(
        harness: PluginHarness) -> None:
    """Frames larger than the read buffer, and hundreds of calls in one write and one
    read, each answered to its own caller."""
    big = {"text": "é" * 100_000, "list": list(range(20_000))}  # 710 KB as JSON
    assert harness.send("counter", "echo", big) == big

    async def many() -> list[Any]:
        return await asyncio.gather(*(harness.host.bus.send(DRIVER, "counter", "echo",
                                                            {"n": n, "pad": "x" * (n % 7)})
                                      for n in range(300)))

    answers = harness.runtime.run(many())
    assert answers == [{"n": n, "pad": "x" * (n % 7)} for n in range(300)]
    records = [r for r in harness.host.bus.history if r.target == "counter"
               and r.type == "echo"][-300:]
    assert {r.outcome for r in records} == {"ok"}
    assert sorted(json.loads(r.response)["n"] for r in records) == list(range(300))


@pytest.mark.parametrize(("type", "reason"), [
    ("a_set", "response.items[1]: set is not JSON-compatible"),
    ("nan", "response: nan is not JSON-compatible")])
def test_a_response_that_is_not_json_is_refused_as_in_process(
        harness: PluginHarness, type: str, reason: str) -> None:
    with pytest.raises(sdk.ResponseRefused) as caught:
        harness.send("counter", type)
    assert caught.value.target == "counter"
    assert reason in caught.value.reason
    record = next(r for r in reversed(list(harness.host.bus.history)) if r.type == type)
    assert record.outcome == "error" and reason in record.error
    assert harness.send("counter", "echo", [1]) == [1]


def test_each_call_to_an_isolated_plugin_keeps_its_own_time_limit(harness: PluginHarness
                                                                    ) -> None:
    async def calls() -> list[Any]:
        bus = harness.host.bus
        slow = asyncio.ensure_future(bus.send(DRIVER, "counter", "nap", 0.3, timeout=10))
        await asyncio.sleep(0)  # sent first, with the later deadline
        quick = bus.send(DRIVER, "counter", "nap", 10, timeout=0.1)
        return await asyncio.gather(slow, quick, return_exceptions=True)

    mark = harness.mark()
    slow, quick = harness.runtime.run(calls())
    assert slow == "rested"
    assert isinstance(quick, sdk.MessageTimeout)
    assert str(quick) == "counter did not answer 'nap' within 0.1 s"
    recorded = harness.wait_for(lambda e: e.kind == "message" and e.outcome == "timeout",
                                after=mark)
    assert (recorded.target, recorded.type) == ("counter", "nap")
    assert harness.send("counter", "cancelled") == 1  # the process stopped the handler


def test_isolated_sender_is_held_to_its_permissions(harness: PluginHarness) -> None:
    assert harness.send("guarded", "ask", 5) == {"pong": 5, "from": "plain"}
    refused = harness.send("guarded", "sneak")
    assert refused["error"] == "PermissionDenied"
    assert "send:secret" in refused["message"]
    record = next(r for r in reversed(list(harness.host.bus.history))
                  if r.target == "secret")
    assert (record.source, record.outcome) == ("guarded", "refused")


def test_handler_error_reaches_the_sender_as_remote_error(harness: PluginHarness) -> None:
    mark = harness.mark()
    with pytest.raises(sdk.RemoteError) as caught:
        harness.send("guarded", "fail")
    assert (caught.value.error_type, caught.value.remote_message) == ("ValueError", "no good")
    logged = harness.wait_for(lambda e: e.kind == "log" and e.plugin_id == "guarded"
                              and e.level == "ERROR", after=mark)
    assert 'in fail\n    raise ValueError("no good")' in logged.traceback


@pytest.mark.skipif(any(state != sandbox.ON for state in sandbox.probe().values()),
                    reason=f"this kernel lacks part of the sandbox: {sandbox.probe()}")
def test_sandbox_refuses_other_files_sockets_and_subprocesses(harness: PluginHarness) -> None:
    other = harness.plugin("secret").folder
    assert harness.send("guarded", "escape", other) == {
        "other plugin": "PermissionError", "passwd": "PermissionError",
        "socket": "PermissionError", "subprocess": "PermissionError"}
    assert harness.host.instance("guarded").sandbox == {"landlock": "on", "seccomp": "on"}


@pytest.mark.parametrize(("action", "reason"), [
    ("exit", "exited with code 7"), ("segfault", "killed by signal SIGSEGV")])
def test_crash_fails_the_call_and_the_plugin_restarts(harness: PluginHarness, action: str,
                                                      reason: str) -> None:
    before = harness.send("crasher", "ping")
    mark = harness.mark()
    with pytest.raises(sdk.PluginCrashed) as caught:
        harness.send("crasher", action)
    assert reason in str(caught.value)
    assert harness.send("plain", "ping", 1) == {"pong": 1, "from": "plain"}
    assert harness.send("guarded", "ping")["payload"] is None
    harness.wait_for(lambda e: e.kind == "plugin_failed" and e.plugin_id == "crasher"
                     and e.stage == "crashed", after=mark)
    loaded_again(harness, "crasher", mark)
    assert harness.send("crasher", "ping") != before  # a fresh process serves
    assert harness.plugin("crasher").status == PluginStatus.RUNNING


def test_exceeding_memory_limit_is_a_crash_naming_the_limit(harness: PluginHarness) -> None:
    mark = harness.mark()
    with pytest.raises(sdk.PluginCrashed, match="memory limit 256 MB"):
        harness.send("hog", "hog")
    loaded_again(harness, "hog", mark)
    assert isinstance(harness.send("hog", "ping"), int)


def test_repeated_crashes_leave_the_plugin_failed_until_started(harness: PluginHarness
                                                                 ) -> None:
    for crash in range(MAX_CRASHES):
        mark = harness.mark()
        with pytest.raises(sdk.PluginCrashed):
            harness.send("fragile", "exit")
        if crash < MAX_CRASHES - 1:
            loaded_again(harness, "fragile", mark)
    harness.wait_for(lambda e: e.kind == "plugin_stopped" and e.plugin_id == "fragile",
                     after=mark)
    info = harness.plugin("fragile")
    assert info.status == PluginStatus.FAILED
    assert "not restarted" in info.error
    with pytest.raises(sdk.PluginNotFound):
        harness.send("fragile", "ping")
    assert harness.runtime.run(harness.host.start("fragile"))
    assert isinstance(harness.send("fragile", "ping"), int)


def test_hidden_cli_subcommand_runs_an_isolated_plugin(workspace: Workspace,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged app starts isolated plugins as ``logomesh-studio _isolated-child FD``."""
    started: list[list[str]] = []

    def through_the_cli(fd: int) -> list[str]:
        command = [sys.executable, "-m", "logomesh_studio.cli", CHILD_COMMAND, str(fd)]
        started.append(command)
        return command

    monkeypatch.setattr(proxy, "child_command", through_the_cli)
    workspace.plugin("alone", isolation="process")
    with PluginHarness(workspace.root) as h:
        assert h.send("alone", "ping", 3) == {"pong": 3, "from": "alone"}
    assert started


def test_reload_runs_the_new_code_in_the_same_process_with_its_state(
        harness: PluginHarness, module_workspace: Workspace) -> None:
    harness.send("counter", "add", 5)
    before = harness.send("counter", "get")
    write_counter(module_workspace, "counter", 2)
    assert harness.reload("counter")
    after = harness.send("counter", "get")
    assert after == {"n": 5, "version": 2, "pid": before["pid"]}


def test_a_broken_edit_rolls_back_to_the_running_version(
        harness: PluginHarness, module_workspace: Workspace) -> None:
    harness.send("counter", "add", 1)
    before = harness.send("counter", "get")
    module = module_workspace.root / "counter" / module_workspace.package_name("counter")
    (module / "__init__.py").write_text("def broken(:\n")
    mark = harness.mark()
    assert not harness.reload("counter")
    failed = harness.wait_for(lambda e: isinstance(e, ReloadFailed)
                              and e.plugin_id == "counter", after=mark)
    assert failed.stage == "import" and "SyntaxError" in failed.error
    assert failed.path == str(module / "__init__.py")
    assert harness.send("counter", "get") == before
    assert harness.send("counter", "add", 1) == before["n"] + 1


def test_state_must_be_json_to_move_to_a_new_process(harness: PluginHarness,
                                                     module_workspace: Workspace) -> None:
    harness.send("keeper", "keep_a_set")
    write_counter(module_workspace, "keeper", 2, config={"new": "setting"})  # a new process
    mark = harness.mark()
    assert not harness.reload("keeper")
    failed = harness.wait_for(lambda e: isinstance(e, ReloadFailed)
                              and e.plugin_id == "keeper", after=mark)
    assert "must be JSON" in failed.error
    assert harness.send("keeper", "get")["version"] == 1


def test_a_wedged_process_is_replaced_with_the_last_good_state(workspace: Workspace) -> None:
    write_counter(workspace, "stuck", 1)
    with PluginHarness(workspace.root, RuntimeConfig(entry_points=False,
                                                     lifecycle_timeout=3.0)) as h:
        assert h.plugin("stuck").error == ""
        h.send("stuck", "add", 3)
        assert h.reload("stuck")  # the snapshot: n = 3
        pid = h.send("stuck", "get")["pid"]
        with pytest.raises(sdk.MessageTimeout):
            h.send("stuck", "stall", timeout=0.2)
        write_counter(workspace, "stuck", 2)
        assert h.reload("stuck")
        after = h.send("stuck", "get")
        assert (after["n"], after["version"]) == (3, 2)
        assert after["pid"] != pid


def test_check_says_how_each_isolated_plugin_is_protected(workspace: Workspace,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    workspace.plugin("boxed", isolation="process")
    workspace.plugin("open")
    assert cli.main(["check", str(workspace.root), "--json"]) == 0
    report = {p["id"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert report["boxed"]["isolation"] == "process"
    assert report["boxed"]["sandbox"] == sandbox.probe()
    assert report["open"]["isolation"] == "none" and "sandbox" not in report["open"]
    assert cli.main(["check", str(workspace.root)]) == 0
    line = f"{workspace.root / 'boxed' / 'plugin.toml'}: isolation: runs in its own process"
    assert capsys.readouterr().out.startswith(line)


def test_a_missing_protection_is_named_with_its_reason() -> None:
    assert sandbox.describe({"landlock": "on", "seccomp": "missing: libseccomp not found"}) \
        == "runs in its own process; this machine lacks seccomp (libseccomp not found)"


def test_profiling_samples_an_isolated_plugin_in_its_process(harness: PluginHarness) -> None:
    plugin = harness.host.instance("counter")

    async def spin_while_recording() -> Any:
        recording = asyncio.ensure_future(plugin.record_profile(0.5))
        await asyncio.sleep(0)  # its first step sends the request: recording starts first
        await harness.host.bus.send(DRIVER, "counter", "spin", 0.3)
        return await recording

    profiles = {"counter": harness.runtime.run(spin_while_recording())}
    profile = Profile.from_speedscope(profiles["counter"])
    assert profile.plugin_seconds().get("counter", 0) > 0.1
    assert "TestPlugin.spin" in {f.name for f in profile.functions()}
    merged = Profile(frames=[], samples=[]).with_processes(profiles)
    assert merged.plugin_seconds()["counter"] == pytest.approx(profile.plugin_seconds()["counter"])
    assert merged.frames[0].name == "counter (isolated process)"


def test_isolated_plugin_sees_providers_come_and_go(harness: PluginHarness) -> None:
    assert harness.send("counter", "providers", "secret.service") == ["secret"]
    harness.runtime.run(harness.host.stop("secret"))
    assert harness.send("counter", "providers", "secret.service") == []
    assert harness.runtime.run(harness.host.start("secret"))
    assert harness.send("counter", "providers", "secret.service") == ["secret"]


def test_a_dap_session_debugs_an_isolated_plugin(workspace: Workspace) -> None:
    """Attach to the debugger in the plugin's process, stop at a breakpoint, read a
    variable, step, continue: the sender gets its answer, the plugin serves on."""
    workspace.plugin("alpha", ALPHA, isolation="process", permissions=["send:beta"])
    workspace.plugin("beta", BETA)
    source = workspace.root / "alpha" / workspace.package_name("alpha") / "__init__.py"
    lines = source.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.endswith("# double-compute"))
    events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def event(name: str) -> dict[str, Any]:
        while True:
            found = events.get(timeout=30)
            if found["event"] == name:
                return dict(found.get("body", {}))

    with PluginHarness(workspace.root) as h:
        address = h.runtime.run(h.host.isolation.debug_address("alpha"))
        client = DapClient(*address, on_event=events.put)
        try:
            client.request("initialize", {"adapterID": "logomesh", "linesStartAt1": True})
            event("initialized")
            client.request("attach", {})
            placed = client.request("setBreakpoints", {"source": {"path": str(source)},
                                                       "breakpoints": [{"line": line}]})
            assert placed["breakpoints"][0]["verified"]
            client.request("configurationDone")
            answer = h.runtime.submit(h.host.bus.send(DRIVER, "alpha", "double", {"n": 4}))
            assert event("stopped")["reason"] == "breakpoint"
            frames = client.request("stackTrace", {"threadId": 1})["stackFrames"]
            assert (frames[0]["name"], frames[0]["line"]) == ("double", line)
            scopes = client.request("scopes", {"frameId": frames[0]["id"]})["scopes"]
            local = {v["name"]: v for v in client.request(
                "variables", {"variablesReference": scopes[0]["variablesReference"]}
            )["variables"]}
            assert local["payload"]["value"] == "{'n': 4}"
            assert client.request("evaluate", {"expression": "payload['n'] + 1",
                                               "frameId": frames[0]["id"]})["result"] == "5"
            client.request("next", {"threadId": 1})
            assert event("stopped")["reason"] == "step"
            client.request("continue", {"threadId": 1})
            assert answer.result(30) == {"doubled": 8}
            client.request("disconnect")
        finally:
            client.close()
        assert h.send("alpha", "double", {"n": 5}) == {"doubled": 10}


class _Dap:
    """A DAP client with its events in a queue; ``attach`` with one message breakpoint."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.client = DapClient(*address, on_event=self.events.put)

    def event(self, name: str) -> dict[str, Any]:
        while True:
            found = self.events.get(timeout=30)
            if found["event"] == name:
                return dict(found.get("body", {}))

    def attach(self, plugin: str, message_type: str) -> None:
        self.client.request("initialize", {"adapterID": "logomesh", "linesStartAt1": True})
        self.event("initialized")
        self.client.request("attach", {"plugin": plugin})
        self.client.request("setFunctionBreakpoints",
                            {"breakpoints": [{"name": message_type}]})
        self.client.request("configurationDone")


def test_a_message_breakpoint_stops_before_an_isolated_plugins_handler(
        workspace: Workspace) -> None:
    """The debugger in the plugin's process stops before the handler of the message."""
    workspace.plugin("alpha", ALPHA, isolation="process")
    with PluginHarness(workspace.root) as h:
        dap = _Dap(h.runtime.run(h.host.isolation.debug_address("alpha")))
        try:
            dap.attach("alpha", "double")
            answer = h.runtime.submit(h.host.bus.send(DRIVER, "alpha", "double", {"n": 2}))
            stopped = dap.event("stopped")
            assert stopped["reason"] == "function breakpoint"
            assert stopped["description"] == f"message 'double' from {DRIVER}"
            frames = dap.client.request("stackTrace", {"threadId": 1})["stackFrames"]
            assert frames[0]["name"] == "double"
            dap.client.request("continue", {"threadId": 1})
            assert answer.result(30) == {"doubled": 4}
            dap.client.request("disconnect")
        finally:
            dap.client.close()


def test_run_with_dap_prints_where_each_isolated_plugin_is_debugged(workspace: Workspace
                                                                    ) -> None:
    workspace.plugin("boxed", isolation="process")
    done = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "run",
                           str(workspace.root), "--dap", "0", "--for", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"debug adapter \(DAP\) of isolated plugin boxed listening on "
                     r"127\.0\.0\.1:\d+", done.stderr)
