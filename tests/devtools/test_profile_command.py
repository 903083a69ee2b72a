"""``logomesh-studio profile``: a headless profile of one plugin under load."""

from __future__ import annotations

import asyncio
import json

from logomesh_studio.cli import main
from logomesh_studio.devtools.commands import _drive
from logomesh_studio.devtools.profiler import Profile
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.testing import DRIVER

BUSY = """
from logomesh_studio.sdk import Plugin, handler


def crunch(n):
    return sum(i * i for i in range(n))


class TestPlugin(Plugin):
    @handler("work")
    def work(self, message):
        return crunch(message.payload)
"""


def test_profile_writes_speedscope_and_charges_the_plugin(workspace, tmp_path, capsys):
    workspace.plugin("busy", BUSY)
    out = tmp_path / "busy.speedscope.json"
    code = main(["profile", str(workspace.root), "--plugin", "busy", "--duration", "0.5",
                 "--send", "work", "--payload", "2000", "-o", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["load"]["sent"] > 0 and summary["load"]["errors"] == 0
    assert summary["plugin_seconds"]["busy"] > 0.1
    assert any(f["name"].endswith("crunch") or "genexpr" in f["name"]
               for f in summary["top_functions"])
    profile = Profile.from_speedscope(out)
    assert profile.samples


def test_profile_of_an_unknown_plugin_exits_two(workspace, capsys):
    workspace.plugin("busy", BUSY)
    assert main(["profile", str(workspace.root), "--plugin", "ghost", "--duration", "0.1"]) == 2
    assert "'ghost' is not in the workspace" in capsys.readouterr().err


def test_profile_send_of_a_type_the_plugin_does_not_handle_stops_at_once(workspace, capsys):
    workspace.plugin("busy", BUSY)
    code = main(["profile", str(workspace.root), "--plugin", "busy", "--duration", "30",
                 "--send", "wrok"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--send: busy has no handler for 'wrok' (it handles: work)" in err


def test_profile_load_ends_on_the_first_error_every_further_send_would_repeat(workspace):
    workspace.plugin("busy", BUSY)
    runtime = RuntimeThread(workspace.root)
    runtime.host.bus.grant(DRIVER, ["send:busy"])
    runtime.start()
    try:
        never = asyncio.Event()
        load = runtime.run(_drive(runtime, "busy", "wrok", None, never), timeout=30)
    finally:
        runtime.stop()
    assert load["sent"] == 1 and load["errors"] == 1
    assert load["stopped"].startswith("NoHandler: busy has no handler for 'wrok'")
