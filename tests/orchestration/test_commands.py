"""``orchestrate`` and ``runs`` as the CLI wires them: output and exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

import pytest

from logomesh_studio.orchestration import commands
from logomesh_studio.orchestration.records import COMPLETED, RunRecord
from logomesh_studio.orchestration.store import RunStore, workspace_store_path

OK = """
name: cli
initiator: boss
participants: [alpha, beta]
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: "${input.word}", output_mapping: {by: by}}
      - {name: second, target: beta, type: flaky, input: {marker: "${input.marker}"}}
"""


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="logomesh-studio")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def plan(studio):
    """An orchestration file in the studio's workspace (no runtime of the studio started)."""
    path = studio.root / "cli.orchestration.yaml"
    path.write_text(textwrap.dedent(OK))
    return path


def test_orchestrate_json_prints_the_final_run_and_exits_0(plan, tmp_path, capsys):
    code = cli("orchestrate", str(plan), "--input",
               json.dumps({"word": "hi", "marker": str(tmp_path / "absent")}), "--json")
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["status"] == "completed" and out["error"] == ""
    first = out["phases"][0]["tasks"][0]
    assert {k: first[k] for k in ("name", "status", "outputs", "error")} == {
        "name": "first", "status": "completed", "outputs": {"by": "alpha"}, "error": ""}
    assert first["duration"] > 0
    assert out["context"]["by"] == "alpha" and out["metrics"]["messages"] == 2


def test_orchestrate_shows_progress_then_a_summary(plan, tmp_path, capsys):
    cli("orchestrate", str(plan), "--input",
        json.dumps({"word": "hi", "marker": str(tmp_path / "absent")}))
    out = capsys.readouterr().out
    assert "[1/2] one/first: completed" in out
    assert "cli: completed in" in out


def test_orchestrate_exits_1_when_the_run_fails(plan, tmp_path, capsys):
    marker = tmp_path / "marker"
    marker.touch()
    code = cli("orchestrate", str(plan), "--input",
               json.dumps({"word": "hi", "marker": str(marker)}), "--json")
    assert code == 1
    assert json.loads(capsys.readouterr().out)["status"] == "failed"


def test_orchestrate_exits_2_with_the_report_on_stderr_for_an_invalid_file(studio, capsys):
    path = studio.root / "bad.orchestration.yaml"
    path.write_text(textwrap.dedent(OK).replace("target: beta", "target: betta"))
    assert cli("orchestrate", str(path)) == 2
    err = capsys.readouterr().err
    assert f"{path}:9: phases[0].tasks[1].target: 'betta' is not a participant" in err


def test_orchestrate_exits_2_when_the_initiator_lacks_a_permission(plan, studio, capsys):
    plan.write_text(plan.read_text().replace("initiator: boss", "initiator: alpha")
                    .replace("participants: [alpha, beta]", "participants: [alpha, beta, gamma]"))
    assert cli("orchestrate", str(plan), "--workspace", str(studio.root)) == 2
    err = capsys.readouterr().err
    assert "lacks the permission 'send:alpha:work'" in err
    assert err.count("'gamma' is not the target of any task") == 1


def test_orchestrate_exits_2_for_input_that_is_not_json(plan, capsys):
    assert cli("orchestrate", str(plan), "--input", "{nope") == 2
    assert "--input: not valid JSON" in capsys.readouterr().err


def test_orchestrate_needs_a_file_or_resume(capsys):
    assert cli("orchestrate") == 2
    assert "give either FILE or --resume RUN_ID" in capsys.readouterr().err


def test_orchestrate_resume_completes_a_failed_run(plan, studio, tmp_path, capsys):
    marker = tmp_path / "marker"
    marker.touch()
    cli("orchestrate", str(plan), "--input", json.dumps({"word": "x", "marker": str(marker)}),
        "--json")
    failed = json.loads(capsys.readouterr().out)
    marker.unlink()
    code = cli("orchestrate", "--resume", failed["id"], "--workspace", str(studio.root), "--json")
    resumed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert resumed["resumed_from"] == failed["id"]
    assert [t["reused"] for t in resumed["phases"][0]["tasks"]] == [True, False]


def test_runs_lists_the_history_newest_first(plan, studio, tmp_path, capsys):
    ids = []
    for word in ("a", "b"):
        cli("orchestrate", str(plan), "--input",
            json.dumps({"word": word, "marker": str(tmp_path / "absent")}), "--json")
        ids.append(json.loads(capsys.readouterr().out)["id"])
    assert cli("runs", str(studio.root), "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["id"] for run in listed] == ids[::-1]
    assert {run["status"] for run in listed} == {"completed"}


def test_runs_of_a_workspace_without_history_says_so(tmp_path, capsys):
    assert cli("runs", str(tmp_path)) == 0
    assert "no orchestration runs" in capsys.readouterr().out


def test_runs_refuses_a_limit_below_one(studio, capsys):
    with pytest.raises(SystemExit) as exited:
        cli("runs", str(studio.root), "--limit", "0")
    assert exited.value.code == 2
    assert "--limit: must be at least 1, not 0" in capsys.readouterr().err


def test_runs_piped_into_a_reader_that_leaves_early_exits_quietly(tmp_path):
    store = RunStore(workspace_store_path(tmp_path))
    for i in range(3000):  # far more than a pipe buffers, so the writer meets a closed pipe
        store.stage_run(RunRecord(id=f"r{i:05d}", orchestration="demo", path="demo.yaml",
                                  status=COMPLETED, created=float(i)))
    store.close()
    child = subprocess.Popen([sys.executable, "-m", "logomesh_studio.cli", "runs", str(tmp_path),
                              "--limit", "3000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline().startswith(b"ID ")
    child.stdout.close()  # like `| head -1`
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0
    assert err == ""


def test_orchestrate_hints_at_workspace_when_the_files_folder_lacks_its_plugins(tmp_path, capsys):
    path = tmp_path / "elsewhere.orchestration.yaml"
    path.write_text(textwrap.dedent(OK))
    assert cli("orchestrate", str(path)) == 2
    err = capsys.readouterr().err
    assert (f"hint: plugins 'boss', 'alpha', 'beta' are not in workspace {tmp_path} (the file's "
            "folder); pass --workspace DIR if the plugins live elsewhere") in err


def test_orchestrate_reports_a_task_whose_handler_raises_cancelled_error_as_failed(
        studio, capsys):
    path = studio.root / "hostile.orchestration.yaml"
    path.write_text(textwrap.dedent("""
        name: hostile
        initiator: boss
        participants: [alpha]
        phases:
          - name: one
            tasks: [{name: stray, target: alpha, type: raise, input: cancelled}]
        """))
    assert cli("orchestrate", str(path)) == 1
    out = capsys.readouterr().out
    assert "[1/1] one/stray: failed" in out
    assert "hostile: failed in" in out
