"""``orchestrate`` and ``runs`` as the CLI wires them: output and exit codes."""

from __future__ import annotations

import argparse
import json
import textwrap

import pytest

from logomesh_studio.orchestration import commands

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
