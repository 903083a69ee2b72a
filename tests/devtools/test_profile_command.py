"""``logomesh-studio profile``: a headless profile of one plugin under load."""

from __future__ import annotations

import json

from logomesh_studio.cli import main
from logomesh_studio.devtools.profiler import Profile

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
