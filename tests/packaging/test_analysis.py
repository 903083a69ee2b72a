"""What ``logomesh-studio package`` finds in a workspace before it builds anything, and
the headless ``--self-test`` (both run without PyInstaller)."""

from __future__ import annotations

import io
import json

import pytest

from logomesh_studio.bundle.analysis import analyse_workspace
from logomesh_studio.bundle.build import AppRecipe, BuildFailed, _plan, build, stdlib_modules
from logomesh_studio.bundle.commands import cmd_package
from logomesh_studio.bundle.selftest import SelfTest, StderrWatch, run_headless
from logomesh_studio.runtime.manifest import ManifestError, load_manifest

IMPORTS = """
import json
import yaml
from numpy import linalg
from PySide6 import QtCore
from . import helpers
from logomesh_studio.sdk import Plugin, handler


class P(Plugin):
    @handler("go")
    def go(self, message):
        import ruamel.yaml
        return {}
"""


def test_third_party_imports_are_read_from_the_code_and_the_manifest(workspace):
    workspace.plugin("reader", IMPORTS, cls="P", requires=["simpleeval"])
    folder = workspace.root / "reader"
    (folder / "tests").mkdir()
    (folder / "tests" / "test_reader.py").write_text("import hypothesis\n")  # tests stay out
    found = analyse_workspace(workspace.root)
    assert found.missing == [] and found.problems == []
    assert found.modules == ["PySide6", "PySide6.QtCore", "numpy", "numpy.linalg",
                             "ruamel.yaml", "simpleeval", "yaml"]


def test_a_missing_import_is_named_with_its_plugin_file_and_line(workspace, tmp_path):
    workspace.plugin("needy", "import json\nimport not_installed_anywhere_xyz\n")
    workspace.plugin("asks", requires=["also_not_installed_xyz"])
    with pytest.raises(BuildFailed) as info:
        build(AppRecipe(name="needy", workspace=workspace.root, gui=False), tmp_path / "dist",
              tmp_path / "work", progress=lambda line: None)
    message = str(info.value)
    source = next((workspace.root / "needy").rglob("__init__.py"))
    assert f"not_installed_anywhere_xyz (plugin needy, {source}:2)" in message
    assert "also_not_installed_xyz (plugin asks, " in message and "requires" in message
    assert not (tmp_path / "dist" / "needy").exists()  # nothing was built


def test_the_package_command_reports_a_broken_workspace_and_exits_1(workspace, tmp_path, capsys):
    workspace.plugin("ok")
    (workspace.root / "broken").mkdir()
    (workspace.root / "broken" / "plugin.toml").write_text('id = "broken"\n')
    import argparse

    code = cmd_package(argparse.Namespace(
        workspace=workspace.root, name="app", gui=False, headless=True, orchestration=None,
        archive=False, dist=tmp_path / "dist", work=tmp_path / "work"))
    assert code == 1
    err = capsys.readouterr().err
    assert "the workspace has problems" in err and "broken" in err and "name" in err


def test_a_headless_app_leaves_the_windows_packages_out_unless_a_plugin_imports_them(
        workspace, tmp_path):
    workspace.plugin("plain")
    plan, _ = _plan(AppRecipe(name="app", workspace=workspace.root, gui=False), tmp_path,
                    lambda line: None)
    assert {"PySide6", "pyqtgraph", "numpy", "logomesh_studio.studio"} <= set(plan.excludes)
    workspace.plugin("maths", "import numpy\n")
    plan, _ = _plan(AppRecipe(name="app", workspace=workspace.root, gui=False), tmp_path,
                    lambda line: None)
    assert "numpy" not in plan.excludes and "numpy" in plan.hiddenimports
    assert "PySide6" in plan.excludes


def test_requires_takes_module_names_only(tmp_path):
    path = tmp_path / "plugin.json"
    base = {"id": "p", "name": "P", "version": "1.0", "entry": "p:P"}
    path.write_text(json.dumps({**base, "requires": ["numpy", "ruamel.yaml"]}))
    assert load_manifest(path).requires == ["numpy", "ruamel.yaml"]
    path.write_text(json.dumps({**base, "requires": ["PyYAML>=6"]}))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.field == "requires[0]" and "not a module name" in info.value.reason


def test_the_whole_standard_library_is_listed_but_tk_and_its_tests():
    modules = set(stdlib_modules())
    assert {"wave", "xml.dom.minidom", "email.mime.text", "sqlite3", "_decimal",
            "concurrent.futures.thread"} <= modules
    assert not any(m.split(".")[0] in ("tkinter", "test", "idlelib") for m in modules)


PROBE = """
from logomesh_studio.sdk import Plugin, handler


class P(Plugin):
    @handler("fine")
    def fine(self, message):
        return {"ok": True}

    @handler("picky")
    def picky(self, message):
        return message.payload["needed"]

    @handler("lacking")
    def lacking(self, message):
        import not_bundled_module_xyz
        return {}
"""


def _self_test(workspace) -> tuple[int, str]:
    out = io.StringIO()
    test = SelfTest(StderrWatch(io.StringIO()))
    code = run_headless(workspace.root, test, out=out)
    return code, out.getvalue()


def test_headless_self_test_passes_handlers_that_run_and_names_a_missing_module(workspace):
    workspace.plugin("probe", PROBE, cls="P")
    code, out = _self_test(workspace)
    assert code == 1
    assert "ok    message 'fine' to probe: handled" in out
    assert "ok    message 'picky' to probe: handled (answered KeyError" in out
    assert "FAIL  message 'lacking' to probe: probe raised ModuleNotFoundError" in out
    assert "not_bundled_module_xyz" in out


def test_headless_self_test_fails_naming_a_plugin_that_did_not_start(workspace):
    workspace.plugin("good")
    workspace.plugin("bad", "raise RuntimeError('no start')\n")
    code, out = _self_test(workspace)
    assert code == 1
    assert "FAIL  plugin bad did not start" in out and "no start" in out
    assert "ok    message 'ping' to good: handled" in out


def test_a_traceback_on_stderr_fails_the_self_test():
    watch = StderrWatch(io.StringIO())
    test = SelfTest(watch)
    test.ok("something")
    watch.write("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\n")
    out = io.StringIO()
    assert test.finish(out) == 1
    assert "FAIL  traceback on stderr: ValueError: boom" in out.getvalue()
