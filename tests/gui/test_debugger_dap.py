"""The debugger pane as a DAP client: what Studio does for a plugin whose debugger runs
behind a DAP server (an isolated plugin's child), here an in-process ``--dap`` server."""

from __future__ import annotations

import asyncio
import socket
import sys

from logomesh_studio.devtools.dap_session import DapSession
from logomesh_studio.studio.main_window import DAP_PORT_SETTING
from tests.debug_plugins import ALPHA

TIMEOUT_MS = 10_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def marker_line(path, marker: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))


def test_the_pane_debugs_over_dap_steps_and_leaves_the_plugin_serving(
        studio, workspace, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = workspace.plugin("alpha", ALPHA)
    source = folder / workspace.package_name("alpha") / "__init__.py"
    studio.open(workspace.root)
    port = free_port()
    with studio.qtbot.waitSignal(studio.client.sig_dap_serving, timeout=TIMEOUT_MS) as serving:
        studio.window.serve_dap(port)
    assert serving.args == [f"127.0.0.1:{port}"]
    assert int(studio.window.settings.value(DAP_PORT_SETTING)) == port
    # What isolation does for a plugin in a child: debug it through its DAP endpoint.
    studio.client.set_debug_endpoint("alpha", studio.client.dap_address)

    pane = studio.window.debugger
    assert pane.debug_plugin("alpha")
    assert isinstance(pane.client.session, DapSession)
    studio.qtbot.waitUntil(lambda: pane.client.session.attached, timeout=TIMEOUT_MS)
    compute = marker_line(source, "double-compute")
    placed = pane.client.toggle_breakpoint(str(source), compute)
    assert placed is not None and placed.verified and placed.line == compute

    with studio.qtbot.waitSignal(pane.sig_stopped, timeout=TIMEOUT_MS) as stopped:
        reply = asyncio.ensure_future(studio.client.send(studio.client.developer, "alpha",
                                                         "double", {"n": 21}))
    assert stopped.args[1] == compute and pane.code_view.execution_line == compute
    model = pane.inspector.variables_model

    def variable(*names):
        index = model.find(*names)
        return model.data(index.siblingAtColumn(1)) if index.isValid() else None

    studio.qtbot.waitUntil(lambda: variable("payload") == "{'n': 21}", timeout=TIMEOUT_MS)
    assert "stopped at a breakpoint in double" in pane.status_label.text()

    with studio.qtbot.waitSignal(pane.sig_stopped, timeout=TIMEOUT_MS) as stepped:
        pane.action_step_over.trigger()
    assert stepped.args[1] == marker_line(source, "double-return")
    studio.qtbot.waitUntil(lambda: variable("doubled") == "42", timeout=TIMEOUT_MS)
    assert not reply.done()

    with studio.qtbot.waitSignal(pane.sig_resumed, timeout=TIMEOUT_MS):
        pane.action_continue.trigger()
    studio.qtbot.waitUntil(reply.done, timeout=TIMEOUT_MS)
    assert reply.result() == {"doubled": 42}

    with studio.qtbot.waitSignal(pane.sig_session_ended, timeout=TIMEOUT_MS):
        pane.stop_debugging()
    assert studio.send(studio.client.developer, "alpha", "double", {"n": 5}) == {"doubled": 10}
    with studio.qtbot.waitSignal(studio.client.sig_dap_serving, timeout=TIMEOUT_MS) as off:
        studio.window.serve_dap(0)
    assert off.args == [""] and studio.client.dap_address is None


def test_debug_on_an_isolated_plugin_attaches_to_its_process(studio, workspace, monkeypatch):
    """The plugin tree's Debug on a plugin with isolation = "process": the pane attaches
    to the debugger its process serves, stops there and reads the plugin's variables."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = workspace.plugin("alpha", ALPHA, isolation="process")
    source = folder / workspace.package_name("alpha") / "__init__.py"
    studio.open(workspace.root)
    studio.qtbot.waitUntil(lambda: studio.client.debuggable_plugins() == ["alpha"],
                           timeout=TIMEOUT_MS)
    pane = studio.window.debugger
    assert pane.debug_plugin("alpha")
    assert isinstance(pane.client.session, DapSession)
    studio.qtbot.waitUntil(lambda: pane.client.session.attached, timeout=3 * TIMEOUT_MS)
    compute = marker_line(source, "double-compute")
    assert pane.client.toggle_breakpoint(str(source), compute).verified

    with studio.qtbot.waitSignal(pane.sig_stopped, timeout=3 * TIMEOUT_MS) as stopped:
        reply = asyncio.ensure_future(studio.client.send(studio.client.developer, "alpha",
                                                         "double", {"n": 4}))
    assert stopped.args[1] == compute
    model = pane.inspector.variables_model
    studio.qtbot.waitUntil(
        lambda: model.find("payload").isValid()
        and model.data(model.find("payload").siblingAtColumn(1)) == "{'n': 4}",
        timeout=3 * TIMEOUT_MS)
    pane.action_continue.trigger()
    studio.qtbot.waitUntil(reply.done, timeout=3 * TIMEOUT_MS)
    assert reply.result() == {"doubled": 8}
    with studio.qtbot.waitSignal(pane.sig_session_ended, timeout=3 * TIMEOUT_MS):
        pane.stop_debugging()
