"""The DAP server over a real socket: VS Code's attach sequence, breakpoints, stepping."""

from __future__ import annotations

import io
import queue
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logomesh_studio.devtools.dap import DapServer
from logomesh_studio.devtools.dap_client import (
    DapClient,
    DapRequestFailed,
    PausingDeadline,
    StopClock,
)
from logomesh_studio.devtools.dap_wire import DapProtocolError, encode_message, read_message
from logomesh_studio.devtools.debug_session import DebugSession
from logomesh_studio.devtools.debug_target import RuntimeTarget
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.debug_plugins import ALPHA, BETA

WAIT = 10.0


class Adapter:
    """A running workspace, a DAP server on it and a connected client."""

    def __init__(self, harness: PluginHarness, server: DapServer, source: Path) -> None:
        self.h = harness
        self.server = server
        self.source = source
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.pending: list[dict[str, Any]] = []
        self.client = DapClient(*server.address, on_event=self.events.put)

    def line(self, marker: str) -> int:
        lines = self.source.read_text().splitlines()
        return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))

    def event(self, name: str) -> dict[str, Any]:
        """The body of the next event called ``name`` not returned before (events of
        other names wait for their own calls)."""
        while True:
            for index, event in enumerate(self.pending):
                if event["event"] == name:
                    del self.pending[index]
                    return event.get("body", {})
            self.pending.append(self.events.get(timeout=WAIT))

    def send(self, type: str, payload: Any = None):
        """Send to alpha from another thread; the future completes once it answered."""
        return self.h.runtime.submit(self.h.host.bus.send(DRIVER, "alpha", type, payload))

    def attach(self, **arguments: Any) -> dict[str, Any]:
        capabilities = self.client.request("initialize", {"adapterID": "logomesh",
                                                          "linesStartAt1": True})
        self.event("initialized")
        self.client.request("attach", {"plugin": "alpha", **arguments})
        return capabilities

    def set_breakpoints(self, *breakpoints: dict[str, Any]) -> list[dict[str, Any]]:
        """Set these breakpoints in alpha's module (its others go); what was placed."""
        return self.client.request("setBreakpoints", {
            "source": {"path": str(self.source)}, "breakpoints": list(breakpoints)})["breakpoints"]

    def variables(self, reference: int) -> dict[str, dict[str, Any]]:
        found = self.client.request("variables", {"variablesReference": reference})
        return {v["name"]: v for v in found["variables"]}


@pytest.fixture
def adapter(workspace, monkeypatch) -> Iterator[Adapter]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    workspace.plugin("alpha", ALPHA, permissions=["send:beta"])
    workspace.plugin("beta", BETA)
    source = workspace.root / "alpha" / workspace.package_name("alpha") / "__init__.py"
    with PluginHarness(workspace.root) as harness:
        server = DapServer(RuntimeTarget(harness.runtime))
        server.start()
        found = Adapter(harness, server, source)
        try:
            yield found
        finally:
            found.client.close()
            server.close()  # ends a session still attached: the runtime resumes


async def _trace_function():
    return sys.gettrace()


def test_a_full_session_stops_inspects_steps_and_leaves_the_plugin_serving(adapter):
    capabilities = adapter.attach()
    assert capabilities["supportsConditionalBreakpoints"]
    assert capabilities["supportsLogPoints"]
    compute = adapter.line("double-compute")
    placed = adapter.set_breakpoints({"line": compute})
    placed_id = placed[0]["id"]
    assert placed == [{"id": placed_id, "verified": True, "line": compute,
                                      "source": {"path": str(adapter.source)}}]
    adapter.client.request("configurationDone")

    answer = adapter.send("double", {"n": 3})
    stopped = adapter.event("stopped")
    assert stopped["reason"] == "breakpoint" and stopped["threadId"] == 1
    assert stopped["hitBreakpointIds"] == [placed_id]
    assert adapter.client.request("threads")["threads"][0]["id"] == 1
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert (frames[0]["name"], frames[0]["line"]) == ("double", compute)
    assert Path(frames[0]["source"]["path"]) == adapter.source.resolve()

    scopes = adapter.client.request("scopes", {"frameId": frames[0]["id"]})["scopes"]
    local = adapter.variables(scopes[0]["variablesReference"])
    assert local["payload"]["value"] == "{'n': 3}"
    message = local["message"]
    assert message["variablesReference"] > 0  # a Message has children
    fields = adapter.variables(message["variablesReference"])
    assert fields["source"]["value"] == repr(DRIVER)
    payload = adapter.variables(fields["payload"]["variablesReference"])
    assert payload["'n'"]["value"] == "3"
    assert payload["'n'"]["evaluateName"] == "message.payload['n']"
    assert adapter.client.request("evaluate", {
        "expression": "payload['n'] * 10", "frameId": frames[0]["id"]})["result"] == "30"

    adapter.client.request("next", {"threadId": 1})
    assert adapter.event("stopped")["reason"] == "step"
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert frames[0]["line"] == adapter.line("double-return")
    scopes = adapter.client.request("scopes", {"frameId": frames[0]["id"]})["scopes"]
    assert adapter.variables(scopes[0]["variablesReference"])["doubled"]["value"] == "6"

    assert adapter.client.request("continue", {"threadId": 1}) == {"allThreadsContinued": True}
    assert answer.result(WAIT) == {"doubled": 6}
    adapter.client.request("disconnect")
    adapter.event("closed")

    assert adapter.h.send("alpha", "double", {"n": 5}) == {"doubled": 10}
    assert adapter.h.runtime.run(_trace_function()) is None


def test_conditions_hit_counts_and_log_messages(adapter):
    adapter.attach()
    first = adapter.line("double-first")
    adapter.set_breakpoints(
        {"line": first, "logMessage": "n is {message.payload['n']}"},
        {"line": adapter.line("double-compute"), "condition": "payload['n'] > 5",
         "hitCondition": "2"})
    adapter.client.request("configurationDone")

    for n in (1, 7):  # n=1: condition false; n=7: condition true but first hit
        assert adapter.send("double", {"n": n}).result(WAIT) == {"doubled": 2 * n}
    answer = adapter.send("double", {"n": 8})
    assert adapter.event("stopped")["reason"] == "breakpoint"
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert adapter.client.request("evaluate", {"expression": "payload",
                                               "frameId": frames[0]["id"]})["result"] == \
        "{'n': 8}"
    adapter.client.request("continue", {"threadId": 1})
    assert answer.result(WAIT) == {"doubled": 16}
    outputs = [adapter.event("output")["output"] for _ in range(3)]
    assert outputs == ["n is 1\n", "n is 7\n", "n is 8\n"]


def test_a_bad_condition_is_an_unverified_breakpoint_with_the_reason(adapter):
    adapter.attach()
    (breakpoint,) = adapter.set_breakpoints(
        {"line": adapter.line("double-compute"), "condition": "payload[["})
    assert not breakpoint["verified"] and "condition" in breakpoint["message"]


def test_message_and_exception_breakpoints_stop_with_their_reason(adapter):
    adapter.attach()
    adapter.client.request("setFunctionBreakpoints", {"breakpoints": [{"name": "later"}]})
    adapter.client.request("setExceptionBreakpoints", {"filters": ["raised"]})
    answer = adapter.send("later", 5)
    stopped = adapter.event("stopped")
    assert stopped["reason"] == "function breakpoint"
    assert stopped["description"] == f"message 'later' from {DRIVER}"
    adapter.client.request("continue", {"threadId": 1})
    assert answer.result(WAIT) == {"later": 5}

    with pytest.raises(DapRequestFailed, match="not stopped at an exception"):
        adapter.client.request("exceptionInfo", {"threadId": 1})
    failing = adapter.send("fail", "x")
    stopped = adapter.event("stopped")
    assert stopped["reason"] == "exception" and "bad input x" in stopped["text"]
    info = adapter.client.request("exceptionInfo", {"threadId": 1})
    assert (info["exceptionId"], info["description"], info["breakMode"]) == (
        "ValueError", "bad input x", "always")
    adapter.client.request("continue", {"threadId": 1})
    with pytest.raises(Exception, match="bad input x"):
        failing.result(WAIT)


def test_pause_stops_a_busy_handler_and_continue_lets_it_finish(adapter):
    adapter.attach()
    answer = adapter.send("spin")
    adapter.client.request("pause", {"threadId": 1})
    assert adapter.event("stopped")["reason"] == "pause"
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert frames[0]["name"] == "spin"
    adapter.client.request("evaluate", {"expression": "self.data.update(done=True)",
                                        "frameId": frames[0]["id"]})
    adapter.client.request("continue", {"threadId": 1})
    assert answer.result(WAIT) == "done"


def test_a_client_that_vanishes_while_stopped_lets_the_runtime_go_on(adapter):
    adapter.attach()
    adapter.set_breakpoints({"line": adapter.line("double-compute")})
    answer = adapter.send("double", {"n": 2})
    adapter.event("stopped")
    adapter.client.close()  # no disconnect: the socket just closes
    assert answer.result(WAIT) == {"doubled": 4}
    # and the server takes the next client
    second = DapClient(*adapter.server.address)
    try:
        second.request("initialize", {"adapterID": "logomesh"})
        second.request("attach", {"plugin": "alpha"})
        assert second.request("threads")["threads"][0]["name"] == "alpha (runtime)"
        second.request("disconnect")
    finally:
        second.close()


def test_launch_and_an_unnamed_plugin_are_refused_with_what_to_do(adapter):
    adapter.client.request("initialize", {"adapterID": "logomesh"})
    with pytest.raises(DapRequestFailed, match='use "request": "attach"'):
        adapter.client.request("launch", {})
    with pytest.raises(DapRequestFailed, match='attach needs "plugin": one of alpha, beta'):
        adapter.client.request("attach", {})
    with pytest.raises(DapRequestFailed, match="no plugin 'gamma'"):
        adapter.client.request("attach", {"plugin": "gamma"})
    adapter.client.request("attach", {"plugin": "alpha"})
    with pytest.raises(DapRequestFailed, match="the target is not stopped"):
        adapter.client.request("evaluate", {"expression": "1"})


def test_messages_are_framed_with_a_content_length_header():
    stream = io.BytesIO(encode_message({"seq": 1, "type": "event", "event": "é"})
                        + b"\r\n" + encode_message({"seq": 2, "type": "event"}))
    assert read_message(stream)["event"] == "é"
    assert read_message(stream)["seq"] == 2
    assert read_message(stream) is None
    assert encode_message({"a": 1}) == b'Content-Length: 7\r\n\r\n{"a":1}'
    with pytest.raises(DapProtocolError, match="Content-Length"):
        read_message(io.BytesIO(b"Content-Type: json\r\n\r\n{}"))
    with pytest.raises(DapProtocolError, match="not a JSON object"):
        read_message(io.BytesIO(b"Content-Length: 2\r\n\r\n[]"))


def test_run_dap_serves_the_debugger_of_a_headless_run(workspace):
    """`logomesh-studio run WORKSPACE --dap PORT`, the command the guide's launch.json
    attaches to (port 0 here: the one it listens on is printed)."""
    workspace.plugin("alpha", ALPHA)
    source = workspace.root / "alpha" / workspace.package_name("alpha") / "__init__.py"
    first = next(n for n, text in enumerate(source.read_text().splitlines(), 1)
                 if text.endswith("# double-first"))
    proc = subprocess.Popen([sys.executable, "-u", "-m", "logomesh_studio.cli", "run",
                             str(workspace.root), "--dap", "0", "--for", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on ([\d.]+):(\d+)", line)
        assert match, line
        client = DapClient(match[1], int(match[2]))
        try:
            client.request("initialize", {"adapterID": "logomesh"})
            client.request("attach", {})  # the workspace's only plugin
            placed = client.request("setBreakpoints", {"source": {"path": str(source)},
                                                       "breakpoints": [{"line": first}]})
            assert placed["breakpoints"][0] == {"id": 1, "verified": True, "line": first,
                                                "source": {"path": str(source)}}
            assert client.request("threads")["threads"] == [{"id": 1,
                                                             "name": "alpha (runtime)"}]
            client.request("disconnect")
        finally:
            client.close()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_a_request_deadline_does_not_run_while_the_target_is_stopped():
    now = [100.0]
    clock = StopClock(lambda: now[0])
    deadline = PausingDeadline(clock, timeout=1.0)
    now[0] += 0.5
    clock.set_stopped(True)  # a breakpoint: the developer looks for a minute
    now[0] += 60.0
    assert deadline.remaining() == 0.5 and deadline.paused
    clock.set_stopped(False)
    now[0] += 0.25
    assert deadline.remaining() == 0.25 and not deadline.paused
    now[0] += 0.5
    assert deadline.remaining() < 0


def test_attach_is_refused_while_another_session_debugs_the_runtime(adapter):
    other = DebugSession(adapter.h.runtime, "beta")
    other.start()
    try:
        adapter.client.request("initialize", {"adapterID": "logomesh"})
        with pytest.raises(DapRequestFailed, match="beta is being debugged on this runtime"):
            adapter.client.request("attach", {"plugin": "alpha"})
        assert adapter.h.send("alpha", "double", {"n": 1}) == {"doubled": 2}
    finally:
        other.stop()
    adapter.client.request("attach", {"plugin": "alpha"})  # free again


def test_step_in_enters_a_call_and_step_out_returns_to_the_caller(adapter):
    adapter.attach()
    call = adapter.line("nested-call")
    adapter.set_breakpoints({"line": call})
    answer = adapter.send("nested", 4)
    assert adapter.event("stopped")["reason"] == "breakpoint"

    adapter.client.request("stepIn", {"threadId": 1})
    assert adapter.event("stopped")["reason"] == "step"
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert (frames[0]["name"], frames[0]["line"]) == ("add_one", adapter.line("add-one-body"))
    assert (frames[1]["name"], frames[1]["line"]) == ("nested", call)
    scopes = adapter.client.request("scopes", {"frameId": frames[0]["id"]})["scopes"]
    assert adapter.variables(scopes[0]["variablesReference"])["n"]["value"] == "4"

    adapter.client.request("stepOut", {"threadId": 1})
    assert adapter.event("stopped")["reason"] == "step"
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert (frames[0]["name"], frames[0]["line"]) == ("nested", call)  # back, mid-line
    adapter.client.request("next", {"threadId": 1})
    adapter.event("stopped")
    frames = adapter.client.request("stackTrace", {"threadId": 1})["stackFrames"]
    assert frames[0]["line"] == adapter.line("nested-return")
    scopes = adapter.client.request("scopes", {"frameId": frames[0]["id"]})["scopes"]
    assert adapter.variables(scopes[0]["variablesReference"])["total"]["value"] == "5"
    adapter.client.request("continue", {"threadId": 1})
    assert answer.result(WAIT) == {"total": 5}


def test_a_resume_by_another_party_is_a_continued_event(adapter):
    adapter.attach()
    adapter.set_breakpoints({"line": adapter.line("double-compute")})
    answer = adapter.send("double", {"n": 1})
    adapter.event("stopped")
    adapter.server._connection.session.debugger.resume()  # as another front end would
    assert adapter.event("continued") == {"threadId": 1, "allThreadsContinued": True}
    assert answer.result(WAIT) == {"doubled": 2}


def test_the_debugged_plugin_stopping_ends_the_session_with_terminated(adapter):
    adapter.attach()
    adapter.h.runtime.run(adapter.h.host.stop("alpha"))
    adapter.event("terminated")
    assert adapter.h.runtime.run(_trace_function()) is None  # the runtime runs untraced
    adapter.client.request("disconnect")
    assert adapter.h.runtime.run(adapter.h.host.start("alpha"))
    assert adapter.h.send("alpha", "double", {"n": 2}) == {"doubled": 4}


def test_a_message_breakpoint_stops_on_a_message_from_an_isolated_plugin(workspace):
    """The runtime's debugger stops before the handler a message of an isolated plugin
    (sent from its own process) reaches, naming the isolated plugin as the sender."""
    workspace.plugin("alpha", ALPHA, isolation="process", permissions=["send:beta"])
    workspace.plugin("beta", BETA)
    with PluginHarness(workspace.root) as harness:
        server = DapServer(RuntimeTarget(harness.runtime))
        server.start()
        found = Adapter(harness, server, workspace.root / "beta")
        try:
            found.client.request("initialize", {"adapterID": "logomesh"})
            found.event("initialized")
            found.client.request("attach", {"plugin": "beta"})
            found.client.request("setFunctionBreakpoints", {"breakpoints": [{"name": "echo"}]})
            answer = found.send("relay", 7)
            stopped = found.event("stopped")
            assert stopped["reason"] == "function breakpoint"
            assert stopped["description"] == "message 'echo' from alpha"
            found.client.request("continue", {"threadId": 1})
            assert answer.result(WAIT) == {"relayed": 7}
            found.client.request("disconnect")
        finally:
            found.client.close()
            server.close()
