"""The entry point of every frozen app (PyInstaller runs this file as its script).

Studio (no app configuration bundled) is the ``logomesh-studio`` command. A packaged
workspace reads ``logomesh_app.json`` (written by the build) and runs its workspace:
headless, optionally running its orchestration with ``--input``, or in the Studio
window. Both accept ``--self-test``. ``APP -m MODULE ...`` runs a module as
``python -m`` does, so that the child processes the runtime and Studio start with
``sys.executable -m ...`` (the import check, test runs) work in a frozen app too, and
any CLI subcommand (hidden ones included) passes to :func:`logomesh_studio.cli.main`.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logomesh_studio.runtime.workspace_state import frozen_root, state_dir

if TYPE_CHECKING:
    from logomesh_studio.bundle.selftest import SelfTest

__all__ = ["APP_CONFIG", "AppConfig", "main"]

APP_CONFIG = "logomesh_app.json"
"""The packaged workspace's configuration, at the root of the frozen app's files."""


@dataclass(frozen=True, slots=True)
class AppConfig:
    """What ``logomesh-studio package`` bundled: paths relative to the app's files."""

    name: str
    workspace: str
    gui: bool
    orchestration: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "workspace": self.workspace, "gui": self.gui,
                "orchestration": self.orchestration}


def bundle_root() -> Path:
    """Where the frozen app's files are (``sys._MEIPASS``); the source tree otherwise."""
    return frozen_root() or Path(__file__).resolve().parents[2]


def app_config() -> AppConfig | None:
    """The bundled workspace's configuration, or None in Studio."""
    path = bundle_root() / APP_CONFIG
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return AppConfig(name=data["name"], workspace=data["workspace"], gui=data["gui"],
                     orchestration=data.get("orchestration"))


def _run_module(module: str, args: list[str]) -> int:
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _studio(argv: list[str], self_test: bool) -> int:
    if self_test:
        from logomesh_studio.bundle.selftest import SelfTest, StderrWatch

        test = SelfTest(StderrWatch.install())
        workspace = Path(argv[0]) if argv and not argv[0].startswith("-") else None
        return _window_self_test(workspace, test)
    from logomesh_studio import cli

    return cli.main(argv)


def _window_self_test(workspace: Path | None, test: SelfTest) -> int:
    """Open the window offscreen (unless a platform is chosen), run the checks, quit."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from logomesh_studio.studio.app import main as studio_main

    studio_main(workspace, self_test=test)
    return test.finish()


def _workspace_app(config: AppConfig, argv: list[str]) -> int:
    root = bundle_root()
    workspace = root / config.workspace
    parser = argparse.ArgumentParser(
        prog=config.name, description=f"{config.name}: a LogoMesh workspace"
        + (" in the Studio window" if config.gui else "")
        + (" running its orchestration" if config.orchestration and not config.gui else ""),
        epilog=f"Run history and plugin data are kept in:\n  {state_dir(workspace)}",
        formatter_class=argparse.RawDescriptionHelpFormatter)  # a path is not wrapped
    parser.add_argument("--self-test", action="store_true",
                        help="load the workspace, message every plugin (and open every "
                             "pane), exit 0 if all is well, else 1 saying what failed")
    if not config.gui:
        if config.orchestration:
            parser.add_argument("--input", metavar="JSON", help="the orchestration's input")
            parser.add_argument("--json", action="store_true",
                                help="print the finished run as JSON")
        else:
            parser.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                                help="stop after SECONDS (default: until Ctrl+C)")
    args = parser.parse_args(argv)
    from logomesh_studio.bundle.selftest import SelfTest, StderrWatch, run_headless

    if args.self_test:
        test = SelfTest(StderrWatch.install())
        return _window_self_test(workspace, test) if config.gui else run_headless(workspace, test)
    if config.gui:
        from logomesh_studio.studio.app import main as studio_main

        return studio_main(workspace)
    from logomesh_studio import cli

    if config.orchestration:
        from logomesh_studio.orchestration.commands import cmd_orchestrate

        return cmd_orchestrate(argparse.Namespace(
            file=root / config.orchestration, workspace=workspace, input=args.input,
            resume=None, json=args.json))
    return cli.cmd_run(argparse.Namespace(workspace=workspace, json=False,
                                          duration=args.duration, once=False, watch=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the frozen app with ``argv`` (default: the command line)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "-m":
        return _run_module(args[1], args[2:])
    config = app_config()
    if config is None:
        self_test = "--self-test" in args
        return _studio([a for a in args if a != "--self-test"], self_test)
    if args and not args[0].startswith("-"):  # a subcommand, e.g. a plugin's child process
        from logomesh_studio import cli

        return cli.main(args)
    return _workspace_app(config, args)


if __name__ == "__main__":
    raise SystemExit(main())
