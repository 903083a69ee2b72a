"""Importing every plugin's entry in a child process, for ``check``."""

from __future__ import annotations

import os

from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.import_check import check_imports


def checked(workspace, timeout: float = 30.0):
    found = discover(workspace.root, entry_points=False)
    return check_imports(found.plugins, timeout=timeout)


def test_a_good_plugin_has_no_problem(workspace):
    workspace.plugin("good")
    assert checked(workspace) == {}


def test_an_entry_class_that_does_not_exist_is_reported(workspace):
    folder = workspace.plugin("a", cls="Real")
    manifest = folder / "plugin.toml"
    manifest.write_text(manifest.read_text().replace(":Real", ":Missing"))
    problem = checked(workspace)["a"]
    assert (problem.path, problem.field) == (str(manifest), "entry")
    assert problem.reason == (f"AttributeError: module '{workspace.package_name('a')}' "
                              "has no attribute 'Missing'")


def test_an_import_error_names_the_plugin_file_and_line(workspace):
    folder = workspace.plugin("a", "import os\n\nfrom nowhere_at_all import thing\n")
    module = folder / workspace.package_name("a") / "__init__.py"
    reason = checked(workspace)["a"].reason
    assert reason.startswith("ModuleNotFoundError: No module named 'nowhere_at_all'")
    assert reason.endswith(f"({module}:3)")


def test_a_syntax_error_names_the_file_and_line(workspace):
    folder = workspace.plugin("a", "x = 1\ndef broken(:\n")
    module = folder / workspace.package_name("a") / "__init__.py"
    reason = checked(workspace)["a"].reason
    assert reason.startswith("SyntaxError") and reason.endswith(f"({module}:2)")


def test_a_package_named_like_a_standard_module_is_reported(workspace):
    workspace.plugin("queue", package="queue")
    reason = checked(workspace)["queue"].reason
    assert reason.startswith("ImportError: queue is named like the standard-library module")


def test_import_side_effects_stay_in_the_child(workspace, tmp_path, capfd):
    marker = tmp_path / "pid"
    workspace.plugin("noisy", f"""
        import os
        print("hello from the import")
        open({str(marker)!r}, "w").write(str(os.getpid()))
        from logomesh_studio.sdk import Plugin

        class TestPlugin(Plugin):
            pass
        """)
    assert checked(workspace) == {}
    assert int(marker.read_text()) != os.getpid()
    assert "hello from the import" not in capfd.readouterr().out


def test_an_import_that_ends_the_process_is_reported_and_the_next_still_checked(workspace):
    workspace.plugin("a-exits", "import os\nos._exit(3)\n")
    workspace.plugin("b-good")
    workspace.plugin("c-sysexit", "import sys\nsys.exit('bye')\n")
    problems = checked(workspace)
    assert problems["a-exits"].reason.startswith("importing it ended the process (exit code 3)")
    assert "SystemExit: bye" in problems["c-sysexit"].reason
    assert "b-good" not in problems


def test_an_import_that_hangs_is_reported_after_the_timeout(workspace):
    workspace.plugin("a-hangs", "import threading\nthreading.Event().wait()\n")
    workspace.plugin("b-good")
    problems = checked(workspace, timeout=3.0)
    assert problems["a-hangs"].reason == "importing it did not finish within 3 s"
    assert "b-good" not in problems
