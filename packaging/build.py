"""Build LogoMesh Studio as a standalone one-folder app (PyInstaller).

    python packaging/build.py studio [--archive] [--dist DIR] [--work DIR]

makes ``dist/LogoMeshStudio/`` (run ``dist/LogoMeshStudio/LogoMeshStudio``) and, with
``--archive``, ``dist/LogoMeshStudio-linux-x86_64.tar.gz`` (and an AppImage where
``appimagetool`` is on PATH). To ship a plugin workspace as its own app, use
``logomesh-studio package WORKSPACE --name NAME``. The work (and PyInstaller's log) goes
to ``build/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logomesh_studio.bundle.build import AppRecipe, BuildFailed, build  # noqa: E402

STUDIO = "LogoMeshStudio"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["studio"], help="what to build")
    parser.add_argument("--archive", action="store_true",
                        help="also pack the folder as .tar.gz (and an AppImage if possible)")
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="output folder")
    parser.add_argument("--work", type=Path, default=Path("build"),
                        help="work folder (PyInstaller's files and the build log)")
    parser.add_argument("--naive", action="store_true",
                        help="no excludes, nothing dropped or stripped (the size baseline)")
    args = parser.parse_args(argv)
    name = f"{STUDIO}-naive" if args.naive else STUDIO
    try:
        build(AppRecipe(name=name, naive=args.naive), args.dist, args.work,
              archive=args.archive)
    except BuildFailed as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
