"""How fast does the Studio window appear? Prints JSON lines.

Times, from process start to the first window shown, ``logomesh-studio WORKSPACE``
on a throwaway workspace of 20 plugins against a bare PySide6 window shown by the
same interpreter, alternating the two RUNS times; the medians are compared. Each
child prints a JSON line once its window is shown (the Studio does so when
``LOGOMESH_STUDIO_EXIT_AFTER=shown``) and exits. Also reported: start to workspace
loaded (``LOGOMESH_STUDIO_EXIT_AFTER=loaded``).

Goals: window shown <= 1.5 s and <= 2.5x the bare window.

    python bench/startup.py [--runs 5] [--show] [--module]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _workspace import QUIET, emit, write_plugin

PLUGINS = 20
GOAL_SECONDS = 1.5
GOAL_RATIO = 2.5
BARE = """
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
window = QWidget()
window.setWindowTitle("bare")
window.resize(800, 600)
window.show()
def shown():
    print(json.dumps({"event": "window_shown", "time": time.time()}), flush=True)
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def studio_command(workspace: Path, module: bool) -> list[str]:
    script = shutil.which("logomesh-studio", path=str(Path(sys.executable).parent))
    if module or script is None:
        return [sys.executable, "-m", "logomesh_studio.studio", str(workspace)]
    return [script, str(workspace)]


def time_to_line(command: list[str], env: dict[str, str], event: str,
                 timeout: float = 60.0) -> float:
    """Seconds from spawning ``command`` until it prints a JSON line naming ``event``."""
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env=env, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if f'"event": "{event}"' in line:
                elapsed = time.perf_counter() - started
                child.wait(timeout)
                return elapsed
        child.wait(timeout)
    raise RuntimeError(f"{' '.join(command)} exited without reporting {event!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--show", action="store_true", help="use the real display")
    parser.add_argument("--module", action="store_true",
                        help="run python -m logomesh_studio.studio instead of the script")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logomesh-startup-") as tmp:
        root = Path(tmp)
        workspace = root / "workspace"
        for i in range(PLUGINS):
            write_plugin(workspace, f"quiet-{i:02d}", QUIET, "Quiet", [], prefix="startup_")
        env = dict(os.environ, XDG_CONFIG_HOME=str(root / "config"))
        if not args.show:
            env["QT_QPA_PLATFORM"] = "offscreen"
        command = studio_command(workspace, args.module)
        bare, studio, loaded = [], [], []
        for _ in range(args.runs):
            bare.append(time_to_line([sys.executable, "-c", BARE], env, "window_shown"))
            studio.append(time_to_line(command, dict(env, LOGOMESH_STUDIO_EXIT_AFTER="shown"),
                                       "window_shown"))
            loaded.append(time_to_line(command, dict(env, LOGOMESH_STUDIO_EXIT_AFTER="loaded"),
                                       "workspace_loaded"))
        b, s, w = (statistics.median(v) for v in (bare, studio, loaded))
        emit("startup", "bare_window", runs=args.runs, median_s=round(b, 3),
             min_s=round(min(bare), 3))
        emit("startup", "studio_window", runs=args.runs, plugins=PLUGINS,
             command=" ".join(Path(c).name for c in command[:1]) + " " +
             " ".join(command[1:-1]), median_s=round(s, 3), min_s=round(min(studio), 3),
             ratio_to_bare=round(s / b, 2), goal_s=GOAL_SECONDS, goal_ratio=GOAL_RATIO,
             ok=s <= GOAL_SECONDS and s / b <= GOAL_RATIO)
        emit("startup", "studio_workspace_loaded", runs=args.runs, plugins=PLUGINS,
             median_s=round(w, 3), min_s=round(min(loaded), 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
