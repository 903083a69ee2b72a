"""A run killed with SIGKILL keeps its history, shows as interrupted, and resumes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading

from logomesh_studio.orchestration.records import COMPLETED, INTERRUPTED, RUNNING
from logomesh_studio.orchestration.store import RunStore, workspace_store_path

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
print("run", run.id, flush=True)
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
    assert [t.status for t in crashed.phases[0].tasks] == [COMPLETED, RUNNING, "pending"]
    assert crashed.task("first").outputs == {"n": 5}

    resumed = studio.wait(studio.runtime.run(studio.engine.resume(run_id)))
    assert resumed.status == COMPLETED
    assert resumed.task("first").reused
    assert studio.send("alpha", "stats")["calls"] == 0  # the stored output was reused
    assert resumed.task("last").input == {"n": 5}
    assert RunStore(path).run(run_id).status == INTERRUPTED
