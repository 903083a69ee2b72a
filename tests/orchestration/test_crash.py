"""A run killed with SIGKILL keeps its history, shows as interrupted (with the tasks that
may have run), and resumes; Ctrl+C stops `orchestrate` and records the run stopped."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from logomesh_studio.orchestration.records import (
    CANCELLED,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    RUNNING,
)
from logomesh_studio.orchestration.store import RunStore, workspace_store_path
from tests.orchestration import test_commands

CHILD = """
import sys
from pathlib import Path

from logomesh_studio.orchestration.engine import OrchestrationEngine
from logomesh_studio.orchestration.io import load
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.runner import RuntimeThread

runtime = RuntimeThread(Path(sys.argv[1]), RuntimeConfig(entry_points=False))
runtime.start()
engine = OrchestrationEngine(runtime.host)
run = runtime.run(engine.start(load(sys.argv[2]), {"n": 5}))
print(f"run {run.id}\\n", end="", flush=True)
runtime.run(run.wait(), timeout=None)
"""

PIPELINE = """
name: crash
initiator: boss
participants: [alpha, beta, gamma]
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: {n: "${input.n}"}, output_mapping: {n: echo.n}}
      - {name: slow, target: beta, type: slow}
      - {name: last, target: gamma, type: work, input: {n: "${n}"}}
"""


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.strip())


def _stored_task_status(path, run_id: str, name: str) -> str:
    try:
        return RunStore(path).run(run_id).task(name).status
    except KeyError:
        return ""


def test_kill_9_mid_run_leaves_history_intact_and_resume_completes(studio, tmp_path):
    file = studio.root / "crash.orchestration.yaml"
    file.write_text(textwrap.dedent(PIPELINE))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "ORCHESTRATION_TEST_SLOW": "1"}
    child = subprocess.Popen([sys.executable, str(script), str(studio.root), str(file)],
                             stdout=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    try:
        said = {lines.get(timeout=60), lines.get(timeout=60)}  # in either order
        assert "slow-started" in said
        run_id = next(line for line in said if line.startswith("run ")).removeprefix("run ")
        path = workspace_store_path(studio.root)
        poll = threading.Event()
        for _ in range(200):  # rows are committed within the engine's flush delay
            if _stored_task_status(path, run_id, "slow") == RUNNING:
                break
            poll.wait(0.025)
        assert _stored_task_status(path, run_id, "slow") == RUNNING
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    store = RunStore(path)
    assert store.recover() == [run_id]
    crashed = store.run(run_id)
    assert crashed.status == INTERRUPTED
    assert crashed.progress == pytest.approx(1 / 3)  # counted from the stored tasks
    assert [t.status for t in crashed.phases[0].tasks] == [COMPLETED, RUNNING, "pending"]
    assert crashed.task("first").outputs == {"n": 5}

    resumed = studio.wait(studio.runtime.run(studio.engine.resume(run_id)))
    assert resumed.status == COMPLETED
    assert resumed.task("first").reused
    assert studio.send("alpha", "stats")["calls"] == 0  # the stored output was reused
    assert resumed.task("last").input == {"n": 5}
    assert RunStore(path).run(run_id).status == INTERRUPTED


DIES = """
name: dies
initiator: boss
participants: [alpha, beta, gamma]
phases:
  - name: one
    tasks:
      - {name: first, target: alpha, type: work, input: 1}
      - {name: fatal, target: beta, type: halt}
      - {name: last, target: gamma, type: work}
"""


def orchestrate_child(workspace, file, env: dict[str, str]) -> subprocess.Popen[str]:
    """``logomesh-studio orchestrate FILE`` in a child process, stdout piped."""
    return subprocess.Popen([sys.executable, "-m", "logomesh_studio.cli", "orchestrate",
                             str(file), "--workspace", str(workspace), "--input", '{"n": 5}'],
                            text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **env})


def test_a_task_sent_just_before_kill_9_is_flagged_may_have_run_and_resume_says_so(
        studio, capsys):
    file = studio.root / "dies.orchestration.yaml"
    file.write_text(textwrap.dedent(DIES))
    child = orchestrate_child(studio.root, file, {"ORCHESTRATION_TEST_DIE": "1"})
    child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL  # the handler ran, then the process died

    assert test_commands.cli("runs", str(studio.root), "--json") == 0
    [summary] = json.loads(capsys.readouterr().out)
    # 'first' answered, but the process died before its result was committed
    assert summary["status"] == INTERRUPTED and summary["may_have_run"] == 2
    assert summary["error"].endswith("2 tasks may have run (sent, no result recorded): a "
                                     "resume runs them again")
    crashed = RunStore(workspace_store_path(studio.root)).run(summary["id"])
    assert [(t.status, t.may_have_run) for t in crashed.phases[0].tasks] == [
        (RUNNING, True), (RUNNING, True), ("pending", False)]

    assert test_commands.cli("orchestrate", "--resume", summary["id"], "--workspace",
                             str(studio.root)) == 0
    err = capsys.readouterr().err
    for task in ("first", "fatal"):
        assert (f"warning: task {task!r} may have run before run {summary['id']} stopped (it "
                "was sent and no result was recorded); it runs again") in err


def _first_line(child: subprocess.Popen[str], text: str) -> None:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    while text not in lines.get(timeout=60):
        pass


@pytest.mark.parametrize("task", ["slow", "hog"])
def test_ctrl_c_during_orchestrate_stops_it_and_records_the_run_stopped(studio, task):
    file = studio.root / "stop.orchestration.yaml"
    file.write_text(textwrap.dedent(PIPELINE).replace(
        "{name: slow, target: beta, type: slow}",
        "{name: slow, target: beta, type: slow}" if task == "slow"
        else "{name: slow, target: beta, type: hog, input: 600}"))
    child = orchestrate_child(studio.root, file, {"ORCHESTRATION_TEST_SLOW": "1"})
    try:
        _first_line(child, f"{task}-started")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    assert "Traceback" not in err
    [summary] = RunStore(workspace_store_path(studio.root)).runs()
    stored = RunStore(workspace_store_path(studio.root)).run(summary.id)
    if task == "slow":  # the loop answers: the run is cancelled and says so
        assert stored.status == CANCELLED
        assert stored.task("slow").status == FAILED and stored.task("slow").error == "cancelled"
    else:  # a synchronous handler holds the loop: the run is recorded from outside
        assert f"run {summary.id} did not stop: plugin code holds the runtime (" in err
        assert stored.status == INTERRUPTED
        assert "cancelled with Ctrl+C while plugin code held the runtime (" in stored.error
        assert "in hog)" in stored.error
        assert stored.task("slow").may_have_run


def test_a_run_timeout_ends_orchestrate_even_when_plugin_code_never_returns(studio):
    file = studio.root / "held.orchestration.yaml"
    file.write_text(textwrap.dedent(PIPELINE).replace(
        "phases:", "timeout: 0.5\nphases:").replace(
        "{name: slow, target: beta, type: slow}",
        "{name: slow, target: beta, type: hog, input: 600}"))
    child = orchestrate_child(studio.root, file, {})
    try:
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    [summary] = RunStore(workspace_store_path(studio.root)).runs()
    assert (f"run {summary.id} timed out after 0.5 s, but plugin code holds the runtime ("
            in err)
    assert summary.status == INTERRUPTED
    assert summary.error.startswith("interrupted: timed out after 0.5 s while plugin code "
                                    "held the runtime (")
