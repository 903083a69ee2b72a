"""How big and how fast is the frozen Studio? Prints JSON lines.

Builds Studio twice in one run, as shipped (``packaging/build.py studio --archive``) and
naive (PyInstaller with no excludes, nothing dropped or stripped: the baseline), and
reports each folder's size, its .tar.gz size and its build time. Then times, from process
start to the workspace loaded (``LOGOMESH_STUDIO_EXIT_AFTER=loaded``, offscreen), the
frozen app against the unfrozen ``python -m logomesh_studio`` on the same copy of the
example workspace, alternating the two RUNS times; the medians are compared.

Goals: folder <= 180 MB, archive <= 75 MB, frozen start <= 1.0x the unfrozen start.

    python bench/package.py [--runs 5] [--dist DIR]
    python bench/package.py --start-only dist/LogoMeshStudio    # time an existing build
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _workspace import emit
from startup import time_to_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logomesh_studio.bundle.build import AppRecipe, build  # noqa: E402
from logomesh_studio.examples import example_workspace  # noqa: E402

GOAL_FOLDER_MB = 180
GOAL_ARCHIVE_MB = 75
GOAL_START_RATIO = 1.0


def _build(root: Path, name: str, naive: bool) -> tuple[Path, dict[str, float]]:
    result = build(AppRecipe(name=name, naive=naive), root / "dist", root / "work",
                   archive=True, progress=lambda line: print(f"# {line}", file=sys.stderr))
    return result.folder, {"folder_mb": round(result.size / 1e6, 1),
                           "archive_mb": round(result.archive_size / 1e6, 1),
                           "build_s": round(result.seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dist", type=Path, help="build here and keep it (default: a "
                        "temporary folder)")
    parser.add_argument("--start-only", type=Path, metavar="FOLDER",
                        help="build nothing: time the start of this built Studio folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logomesh-package-") as tmp:
        if args.start_only:
            _time_starts(args.start_only.resolve(), Path(tmp), args.runs)
            return 0
        root = args.dist or Path(tmp)
        _, naive = _build(root, "LogoMeshStudio-naive", naive=True)
        emit("package", "naive_build", **naive)
        folder, lean = _build(root, "LogoMeshStudio", naive=False)
        emit("package", "studio_build", **lean,
             folder_ratio_to_naive=round(lean["folder_mb"] / naive["folder_mb"], 2),
             archive_ratio_to_naive=round(lean["archive_mb"] / naive["archive_mb"], 2),
             goal_folder_mb=GOAL_FOLDER_MB, goal_archive_mb=GOAL_ARCHIVE_MB,
             ok=lean["folder_mb"] <= GOAL_FOLDER_MB and lean["archive_mb"] <= GOAL_ARCHIVE_MB)
        _time_starts(folder, Path(tmp), args.runs)
    return 0


def _time_starts(folder: Path, tmp: Path, runs: int) -> None:
    """Start to workspace loaded: the frozen ``folder`` against ``python -m``, alternating."""
    workspace = tmp / "workspace"
    shutil.copytree(example_workspace(), workspace,
                    ignore=shutil.ignore_patterns("__pycache__", ".logomesh"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"),
               LOGOMESH_STUDIO_EXIT_AFTER="loaded")
    source_env = dict(env, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    frozen_cmd = [str(folder / folder.name), str(workspace)]
    python_cmd = [sys.executable, "-m", "logomesh_studio", str(workspace)]
    frozen, unfrozen = [], []
    for _ in range(runs):
        unfrozen.append(time_to_line(python_cmd, source_env, "workspace_loaded"))
        frozen.append(time_to_line(frozen_cmd, env, "workspace_loaded"))
    f, u = statistics.median(frozen), statistics.median(unfrozen)
    emit("package", "unfrozen_start_to_loaded", runs=runs, median_s=round(u, 3),
         min_s=round(min(unfrozen), 3))
    emit("package", "frozen_start_to_loaded", runs=runs, median_s=round(f, 3),
         min_s=round(min(frozen), 3), ratio_to_unfrozen=round(f / u, 2),
         goal_ratio=GOAL_START_RATIO, ok=f / u <= GOAL_START_RATIO)


if __name__ == "__main__":
    raise SystemExit(main())
