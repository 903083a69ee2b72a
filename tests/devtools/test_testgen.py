"""``logomesh-studio testgen``: regression tests from recorded traffic that pass, then
catch a change in the plugin's behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logomesh_studio.cli import main
from logomesh_studio.devtools.testgen import (
    default_output,
    generate_tests,
    load_recording,
    without,
)
from logomesh_studio.devtools.testrun import PluginSummary, TestResult, run_tests
from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.sdk import PluginError
from logomesh_studio.testing import PluginHarness

REPO = Path(__file__).resolve().parents[2]

NOTES = '''
import time
import uuid

from logomesh_studio.sdk import Plugin, handler


class Notes(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.notes = {}

    @handler("put")
    def put(self, message):
        self.notes[message.payload["key"]] = message.payload["text"]
        return {"key": message.payload["key"], "stored": True, "at": time.time(),
                "ticket": str(uuid.uuid4())}

    @handler("get")
    def get(self, message):
        return {"text": self.notes[message.payload["key"]]}

    @handler("count")
    def count(self, message):
        return {"notes": len(self.notes), "keys": sorted(self.notes)}
'''


@pytest.fixture
def recorded(workspace, tmp_path):
    """A workspace with ``notes`` and two callers, and a recording of traffic to notes
    written as ``logomesh-studio run --json`` prints it."""
    workspace.plugin("notes", NOTES, cls="Notes")
    workspace.plugin("client", permissions=["send:notes:put", "send:notes:get"])
    workspace.plugin("stranger")
    events = []
    with PluginHarness(workspace.root) as harness:
        harness.runtime.events.subscribe(events.append)
        harness.send("notes", "put", {"key": "k1", "text": "hello"}, as_="client")
        harness.send("notes", "put", {"key": "k1", "text": "hello"}, as_="client")
        harness.send("notes", "get", {"key": "k1"}, as_="client")
        harness.send("notes", "count")
        for call in (lambda: harness.send("notes", "get", {"key": "nope"}, as_="client"),
                     lambda: harness.send("notes", "put", {"key": "x", "text": ""},
                                          as_="stranger"),
                     lambda: harness.send("notes", "forget", {"key": "k1"})):
            with pytest.raises(PluginError):
                call()
        harness.send("client", "ping", {"not": "to notes"})
    recording = tmp_path / "traffic.jsonl"
    recording.write_text("".join(json.dumps(e.to_json()) + "\n" for e in events))
    return workspace, recording


def write_tests(workspace, recording) -> Path:
    output = default_output(workspace.root, "notes")
    output.parent.mkdir(exist_ok=True)
    output.write_text(generate_tests(load_recording(recording), "notes", workspace.root,
                                     output, recording=recording.name))
    return output


def results(workspace) -> tuple[PluginSummary, dict[str, str]]:
    records = list(run_tests(workspace.root, ["notes"], coverage=False))
    (summary,) = [r for r in records if isinstance(r, PluginSummary)]
    return summary, {r.nodeid.split("::")[-1]: r.outcome for r in records
                     if isinstance(r, TestResult)}


def test_generated_tests_pass_then_fail_when_the_response_changes(recorded):
    workspace, recording = recorded
    output = write_tests(workspace, recording)
    summary, outcomes = results(workspace)
    assert outcomes == {"test_put_as_client": "passed", "test_get_as_client": "passed",
                        "test_count": "passed", "test_get_error_as_client": "passed",
                        "test_put_refused_as_stranger": "passed",
                        "test_forget_no_handler": "passed"}, output.read_text()
    assert summary.ok
    code = workspace.root / "notes" / workspace.package_name("notes") / "__init__.py"
    code.write_text(code.read_text().replace('{"text": self.notes[', '{"text": "?" + self.notes['))
    summary, outcomes = results(workspace)
    assert outcomes["test_get_as_client"] == "failed"
    assert summary.failed == 1


def test_generated_file_is_ruff_clean(recorded):
    workspace, recording = recorded
    output = write_tests(workspace, recording)
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                           str(REPO / "pyproject.toml"), str(output)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + output.read_text()


def test_calls_are_replayed_as_their_sender_and_kept_once(recorded):
    workspace, recording = recorded
    source = generate_tests(load_recording(recording), "notes", workspace.root)
    assert source.count("def test_put_as_client") == 1  # recorded twice
    assert "as_='client'" in source and "as_='stranger'" in source
    assert "harness.send(PLUGIN, 'count', None)\n" in source  # the driver: no as_
    assert "with pytest.raises(PermissionDenied, match=" in source
    assert "not to notes" not in source  # traffic to other plugins is ignored


def test_volatile_fields_are_left_out_with_a_comment(recorded):
    workspace, recording = recorded
    source = generate_tests(load_recording(recording), "notes", workspace.root)
    put = source[source.index("def test_put_as_client"):source.index("def test_get_as_client")]
    assert "#   reply['at']: looks like a timestamp" in put
    assert "#   reply['ticket']: looks like a generated id" in put
    assert "assert without(reply, [('at',), ('ticket',)]) == {'key': 'k1', 'stored': True}" in put


def test_fields_that_differ_for_the_same_request_are_volatile(workspace):
    workspace.plugin("counter")
    records = [MessageRecorded(id=n, call="send", source="test", target="counter",
                               type="hit", size=2, duration=0.001, outcome="ok",
                               payload="{}", response=json.dumps({"hits": n, "name": "c"}))
               for n in (1, 2)]
    source = generate_tests(records, "counter", workspace.root)
    assert source.count("def test_hit") == 1
    assert "reply['hits']: differs between recorded calls with the same payload" in source
    assert "== {'name': 'c'}" in source


def test_echoed_values_are_not_volatile(workspace):
    workspace.plugin("echo")
    ticket = "0f8fad5b-d9cb-469f-a165-70867728950e"
    record = {"event": "message", "id": 1, "call": "send", "source": "test", "target": "echo",
              "type": "echo", "outcome": "ok", "payload": json.dumps({"ticket": ticket}),
              "response": json.dumps({"ticket": ticket}), "time": 1.0}
    source = generate_tests([record], "echo", workspace.root)
    assert f"assert reply == {{'ticket': '{ticket}'}}" in source


def test_without_drops_dict_fields_and_blanks_list_items():
    value = {"a": 1, "items": [{"id": "x", "n": 1}, 5], "keep": True}
    assert without(value, [("a",), ("items", 0, "id"), ("items", 1)]) == \
        {"items": [{"n": 1}, None], "keep": True}


def test_cli_writes_the_tests_under_the_plugins_tests_folder(recorded, capsys):
    workspace, recording = recorded
    assert main(["testgen", str(workspace.root), "notes", "--from", str(recording)]) == 0
    output = default_output(workspace.root, "notes")
    assert capsys.readouterr().out == f"wrote 6 tests to {output}\n"
    assert output.name == f"test_{workspace.package_name('notes')}_recorded.py"


def test_cli_rejects_a_recording_that_is_not_json_lines(workspace, tmp_path, capsys):
    workspace.plugin("notes")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "message"}\nnot json\n')
    assert main(["testgen", str(workspace.root), "notes", "--from", str(bad)]) == 2
    assert f"{bad}:2: not a JSON line" in capsys.readouterr().err


def test_cli_rejects_an_unknown_plugin(workspace, tmp_path, capsys):
    recording = tmp_path / "empty.jsonl"
    recording.write_text("")
    assert main(["testgen", str(workspace.root), "ghost", "--from", str(recording)]) == 2
    assert "plugin 'ghost' is not in" in capsys.readouterr().err
