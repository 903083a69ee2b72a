"""``logomesh-studio send``: one message to a plugin from the shell."""

from __future__ import annotations

import json
import subprocess
import sys

from logomesh_studio.cli import main
from logomesh_studio.runtime.senders import DEVELOPER

ECHO = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("echo")
    def echo(self, message):
        return {"echo": message.payload, "from": message.source}

    @handler("boom")
    def boom(self, message):
        raise ValueError("no " + str(message.payload))
"""


def test_send_prints_the_response_and_exits_zero(workspace):
    workspace.plugin("echo", ECHO)
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "send",
                           str(workspace.root), "echo", "echo", '{"n": [1, 2]}'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["echo"] == {"n": [1, 2]}
    assert response["from"] == DEVELOPER  # the developer sender PluginHarness uses


def test_send_without_payload_sends_null(workspace, capsys):
    workspace.plugin("echo", ECHO)
    assert main(["send", str(workspace.root), "echo", "echo"]) == 0
    assert json.loads(capsys.readouterr().out)["echo"] is None


def test_send_prints_the_handler_error_and_exits_one(workspace, capsys):
    workspace.plugin("echo", ECHO)
    assert main(["send", str(workspace.root), "echo", "boom", '"way"']) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "send: RemoteError: echo raised ValueError: no way" in captured.err


def test_send_json_reports_the_outcome(workspace, capsys):
    workspace.plugin("echo", ECHO)
    assert main(["send", str(workspace.root), "echo", "echo", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "ok": True, "response": {"echo": 3, "from": DEVELOPER}}
    assert main(["send", str(workspace.root), "echo", "ehco", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["error"] == "NoHandler: echo has no handler for 'ehco' (it handles: boom, echo)"


def test_send_as_a_plugin_applies_its_permissions(workspace, capsys):
    workspace.plugin("echo", ECHO)
    workspace.plugin("caller", permissions=["send:echo:echo"])
    workspace.plugin("stranger")
    assert main(["send", str(workspace.root), "echo", "echo", "1", "--as", "caller"]) == 0
    assert json.loads(capsys.readouterr().out) == {"echo": 1, "from": "caller"}
    assert main(["send", str(workspace.root), "echo", "echo", "1", "--as", "stranger"]) == 1
    assert ("PermissionDenied: stranger may not send 'echo' to echo: its manifest needs the "
            "permission 'send:echo:echo'") in capsys.readouterr().err


def test_send_says_why_the_target_or_sender_cannot_take_part(workspace, capsys):
    workspace.plugin("echo", ECHO)
    workspace.plugin("broken", "raise RuntimeError('bad import')\n")
    assert main(["send", str(workspace.root), "ecko", "echo"]) == 1
    assert "plugin 'ecko' is not in the workspace (did you mean 'echo'?)" in capsys.readouterr().err
    assert main(["send", str(workspace.root), "broken", "echo"]) == 1
    err = capsys.readouterr().err
    assert "plugin 'broken' is failed" in err and "RuntimeError: bad import" in err
    assert main(["send", str(workspace.root), "echo", "echo", "--as", "broken"]) == 1
    assert "--as: plugin 'broken' is failed" in capsys.readouterr().err


def test_send_rejects_a_payload_that_is_not_json(workspace, capsys):
    workspace.plugin("echo", ECHO)
    assert main(["send", str(workspace.root), "echo", "echo", "{oops"]) == 2
    assert "send: PAYLOAD: invalid JSON" in capsys.readouterr().err
