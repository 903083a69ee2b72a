"""The headless CLI: ``check`` exit codes and messages, ``run`` events."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from logomesh_studio.cli import _parser, _subcommand_names, main
from logomesh_studio.examples import example_workspace
from tests.conftest import stop_when


def test_check_on_a_valid_workspace_exits_zero(workspace, capsys):
    workspace.plugin("a")
    workspace.plugin("b", dependencies={"a": ">=1"})
    assert main(["check", str(workspace.root)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 plugins found, 2 loadable, 0 with problems" in captured.err


def test_check_prints_each_problem_as_path_field_reason_and_exits_one(workspace, capsys):
    workspace.plugin("a", version="one")
    workspace.plugin("b", dependencies={"ghost": ">=1"})
    assert main(["check", str(workspace.root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{workspace.root / 'a' / 'plugin.toml'}: version: 'one' is not a PEP 440" in lines[0]
    assert lines[1] == (f"{workspace.root / 'b' / 'plugin.toml'}: dependencies.ghost: "
                        "requires plugin 'ghost', which is not in the workspace")


def test_check_imports_every_entry_and_counts_the_plugins_with_problems(workspace, capsys):
    workspace.plugin("good")
    missing = workspace.plugin("missing", cls="Real")
    manifest = missing / "plugin.toml"
    manifest.write_text(manifest.read_text().replace(":Real", ":Gone"))
    shadow = workspace.plugin("shadow", package="queue")
    assert main(["check", str(workspace.root)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == (f"{manifest}: entry: AttributeError: module "
                        f"'{workspace.package_name('missing')}' has no attribute 'Gone'")
    assert lines[1].startswith(f"{shadow / 'queue'}: (module): queue is named like the "
                               "standard-library module 'queue'")
    assert "3 plugins found, 1 loadable, 2 with problems" in captured.err


def test_check_names_a_dependency_that_is_present_but_invalid(workspace, capsys):
    workspace.plugin("fetcher", version="one", permissions=["sendd:parser", "bogus"])
    workspace.plugin("parser", dependencies={"fetcher": ">=1", "ghost": "", "phantom": ""})
    workspace.plugin("sink")
    assert main(["check", str(workspace.root)]) == 1
    captured = capsys.readouterr()
    fields = [line.split(": ")[1] for line in captured.out.splitlines()]
    # Every problem in one pass, each field said once.
    assert fields == ["version", "permissions[0]", "permissions[1]", "dependencies.fetcher",
                      "dependencies.ghost", "dependencies.phantom"]
    assert ("dependencies.fetcher: requires plugin 'fetcher', which is present but invalid "
            "(version: 'one' is not a PEP 440 version") in captured.out
    assert "not in the workspace" not in captured.out.splitlines()[3]
    assert "3 plugins found, 1 loadable, 2 with problems" in captured.err


def test_check_fails_the_dependents_of_a_plugin_that_does_not_import(workspace, capsys):
    workspace.plugin("lib", "raise ImportError('no backend')\n")
    workspace.plugin("app", dependencies={"lib": ""})
    assert main(["check", str(workspace.root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["order"] == [] and (report["found"], report["with_problems"]) == (2, 2)
    [app] = [p for p in report["problems"] if p["field"] == "dependencies.lib"]
    assert app["reason"].startswith("not started because lib failed: ImportError: no backend")


def test_check_json_report(workspace, capsys):
    workspace.plugin("a")
    workspace.plugin("b", dependencies={"a": "<1"})
    assert main(["check", str(workspace.root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["order"] == ["a"]
    assert report["problems"][0]["field"] == "dependencies.a"
    assert {p["id"]: p["status"] for p in report["plugins"]} == {"a": "ok", "b": "error"}


def test_check_on_the_example_workspace_is_clean(capsys):
    assert main(["check", str(example_workspace())]) == 0


def test_check_rejects_a_missing_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "check",
                           str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not a directory" in proc.stderr


def test_run_json_prints_events_and_stops_after_the_duration(workspace):
    workspace.plugin("a")
    workspace.plugin("bad", "raise ValueError('no')\n")
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "run",
                           str(workspace.root), "--json", "--for", "0.2"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr  # a plugin failed to start
    assert "run: 1 plugin(s) did not start: bad" in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plugin_loaded" or "plugin_failed" in kinds[:2]
    assert "workspace_loaded" in kinds and kinds[-1] == "plugin_stopped"
    [failed] = [e for e in events if e["event"] == "plugin_failed"]
    assert failed["plugin_id"] == "bad" and "ValueError: no" in failed["error"]


def test_default_command_loads_the_example_workspace_and_exits():
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "--headless"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "loaded    coordinator" in proc.stdout
    assert "7 running, 0 failed" in proc.stdout


def test_run_watch_prints_watching_then_reload_events(workspace):
    folder = workspace.plugin("alpha")
    proc = subprocess.Popen([sys.executable, "-u", "-m", "logomesh_studio.cli", "run",
                             str(workspace.root), "--watch", "--json", "--for", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in proc.stdout:
            event = json.loads(line)
            seen.append(event["event"])
            if event["event"] == "watching":
                module = folder / workspace.package_name("alpha") / "__init__.py"
                module.write_text(module.read_text() + "\n# edited\n")
            if event["event"] == "reload_completed":
                assert event["plugin_id"] == "alpha" and event["timings"]["total"] > 0
                break
        assert seen.index("watching") < seen.index("reload_started")
    finally:
        proc.kill()
        proc.wait()


def test_default_command_opens_the_window_on_the_example_workspace():
    """The README's first command: `logomesh-studio` opens Studio on the bundled examples
    (offscreen here; the app exits once the workspace has loaded)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LOGOMESH_STUDIO_EXIT_AFTER": "loaded"}
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["event"] == "workspace_loaded" and loaded["failed"] == []
    assert len(loaded["running"]) == 7


INITIALIZE_FAILS = """
from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def initialize(self, ctx):
        raise RuntimeError("no disk")
"""


def test_run_names_a_failed_dependency_once(workspace, capsys):
    workspace.plugin("lib", INITIALIZE_FAILS)
    workspace.plugin("app", dependencies={"lib": ""})
    assert main(["run", str(workspace.root), "--for", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAILED    app: dependencies: not started because its dependency lib is failed" in out


def test_run_exits_zero_when_every_plugin_started(workspace):
    workspace.plugin("a")
    assert main(["run", str(workspace.root), "--for", "0"]) == 0


def test_run_exits_one_when_a_plugin_folder_has_an_invalid_manifest(workspace, capsys):
    workspace.plugin("a")
    workspace.plugin("b", version="one")
    assert main(["run", str(workspace.root), "--for", "0"]) == 1
    assert f"did not start: {workspace.root / 'b' / 'plugin.toml'}" in capsys.readouterr().err


def test_headless_exits_one_when_a_plugin_failed_to_start(workspace):
    workspace.plugin("bad", "raise ValueError('no')\n")
    assert main([str(workspace.root), "--headless"]) == 1


CLEANS_UP = """
from pathlib import Path

from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def cleanup(self):
        Path({marker!r}).write_text("cleaned up")
"""


def test_sigterm_stops_run_like_ctrl_c_running_every_cleanup(workspace, tmp_path):
    marker = tmp_path / "cleanup-ran"
    workspace.plugin("tidy", CLEANS_UP.format(marker=str(marker)))
    proc = stop_when([sys.executable, "-u", "-m", "logomesh_studio.cli", "run",
                      str(workspace.root), "--json"],
                     lambda line: json.loads(line)["event"] == "workspace_loaded")
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "cleaned up"
    stopped = [json.loads(line) for line in proc.stdout.splitlines()]
    assert stopped[-1] == {**stopped[-1], "event": "plugin_stopped", "plugin_id": "tidy",
                           "reason": "shutdown"}


def test_a_mistyped_subcommand_is_named_with_the_nearest_one(workspace, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["chekc", str(workspace.root)])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "'chekc' is not a command or a folder; did you mean 'check'?" in err
    assert "not a directory" not in err


def test_an_unknown_word_lists_every_registered_subcommand(workspace, capsys):
    with pytest.raises(SystemExit):
        main(["frobnicate", str(workspace.root)])
    err = capsys.readouterr().err
    assert "'frobnicate' is not a command or a folder (commands: " in err
    registered = _subcommand_names(_parser())
    assert {"check", "run", "send", "profile"} <= set(registered)
    assert all(name in err for name in registered)


def test_a_bare_folder_name_still_opens_that_folder(workspace, monkeypatch):
    workspace.plugin("a")
    monkeypatch.chdir(workspace.root.parent)
    assert main([workspace.root.name, "--headless"]) == 0


@pytest.mark.parametrize("command", [[], *([name] for name in _subcommand_names(_parser()))])
def test_help_texts_have_no_markup_backticks(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    assert "`" not in capsys.readouterr().out


def test_help_shows_the_orchestration_workspace_as_optional(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "orchestrate FILE [--workspace DIR]" in capsys.readouterr().out
