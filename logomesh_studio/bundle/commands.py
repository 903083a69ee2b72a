"""``logomesh-studio package``: ship a plugin workspace as a standalone app.

    logomesh-studio package WORKSPACE --name NAME [--gui | --headless]
                            [--orchestration FILE] [--archive] [--dist DIR] [--work DIR]

makes ``DIST/NAME/NAME``, a one-folder app (PyInstaller) carrying the runtime and the
workspace's plugins. Headless (the default) it loads the plugins and runs until stopped,
or, with ``--orchestration``, runs that orchestration (``NAME --input JSON``) and exits
with its status (0 completed, 1 failed); with ``--gui`` it opens the workspace in the
Studio window. Every packaged app accepts ``--self-test``. Needs PyInstaller
(``pip install pyinstaller``) in the Python that runs it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from logomesh_studio._argtypes import directory

NAMES = ("package",)
"""The subcommands :func:`register` adds."""


def _app_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an app name (letters, digits, '.', '-', '_'; no spaces)")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``package`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "package", help="ship a workspace as a standalone app (PyInstaller)",
        description="Build DIST/NAME/NAME, a one-folder app (PyInstaller) carrying the runtime "
                    "and the workspace's plugins: headless by default (with --orchestration, "
                    "NAME --input JSON runs it and exits 0 completed or 1 failed), or the "
                    "Studio window with --gui. Every packaged app accepts --self-test. Needs "
                    "PyInstaller in this Python (pip install pyinstaller).")
    parser.add_argument("workspace", type=directory)
    parser.add_argument("--name", type=_app_name, required=True,
                        help="the app's name: its folder and executable")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--gui", action="store_true", help="open the workspace in the Studio "
                      "window")
    mode.add_argument("--headless", action="store_true",
                      help="no window (the default): run the plugins, or the orchestration")
    parser.add_argument("--orchestration", type=Path, metavar="FILE",
                        help="headless: run this orchestration (NAME --input JSON) and exit "
                             "with its status")
    parser.add_argument("--archive", action="store_true", help="also pack it as .tar.gz")
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="output folder "
                        "(default: dist)")
    parser.add_argument("--work", type=Path, default=Path("build"),
                        help="work folder with the build log (default: build)")
    parser.set_defaults(func=cmd_package)


def cmd_package(args: argparse.Namespace) -> int:
    """Build the app; 0 when built, 1 with the reason when not."""
    from logomesh_studio.bundle.build import AppRecipe, BuildFailed, build

    if args.gui and args.orchestration:
        print("package: --orchestration runs headless; drop --gui (the window opens "
              "orchestrations itself)", file=sys.stderr)
        return 2
    recipe = AppRecipe(name=args.name, workspace=args.workspace, gui=args.gui,
                       orchestration=args.orchestration)
    try:
        build(recipe, args.dist, args.work, archive=args.archive)
    except BuildFailed as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    return 0
