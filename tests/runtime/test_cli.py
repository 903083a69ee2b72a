"""The headless CLI: ``check`` exit codes and messages, ``run`` events."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from logomesh_studio.cli import main


def test_check_on_a_valid_workspace_exits_zero(workspace, capsys):
    workspace.plugin("a")
    workspace.plugin("b", dependencies={"a": ">=1"})
    assert main(["check", str(workspace.root)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 plugins, 2 loadable, 0 problems" in captured.err


def test_check_prints_each_problem_as_path_field_reason_and_exits_one(workspace, capsys):
    workspace.plugin("a", version="one")
    workspace.plugin("b", dependencies={"ghost": ">=1"})
    assert main(["check", str(workspace.root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{workspace.root / 'a' / 'plugin.toml'}: version: 'one' is not a PEP 440" in lines[0]
    assert lines[1] == (f"{workspace.root / 'b' / 'plugin.toml'}: dependencies.ghost: "
                        "requires plugin 'ghost', which is not in the workspace")


def test_check_json_report(workspace, capsys):
    workspace.plugin("a")
    workspace.plugin("b", dependencies={"a": "<1"})
    assert main(["check", str(workspace.root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["order"] == ["a"]
    assert report["problems"][0]["field"] == "dependencies.a"
    assert {p["id"]: p["status"] for p in report["plugins"]} == {"a": "ok", "b": "error"}


def test_check_on_the_example_workspace_is_clean(capsys):
    from logomesh_studio.cli import default_workspace

    assert main(["check", str(default_workspace())]) == 0


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
    assert proc.returncode == 0, proc.stderr
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
