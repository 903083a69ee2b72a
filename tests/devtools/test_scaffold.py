"""``logomesh-studio new``: plugins from templates that check, load and pass their tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from logomesh_studio.cli import main
from logomesh_studio.devtools.scaffold import TEMPLATES, ScaffoldError, names_for, scaffold
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.testing import PluginHarness


def unique_id(tmp_path: Path, stem: str) -> str:
    """An id whose package name no other test imports (modules are process-wide)."""
    return f"{stem}-{abs(hash(str(tmp_path))) % 10**6:06d}"


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_each_template_makes_a_plugin_that_checks_and_loads(template, tmp_path, capsys):
    workspace = tmp_path / "ws"
    plugin_id = unique_id(tmp_path, template)
    folder = scaffold(template, plugin_id, workspace)
    names = names_for(plugin_id)
    assert folder == workspace / plugin_id
    assert {"plugin.toml", "README.md", f"{names.package}/__init__.py",
            f"tests/test_{names.package}.py"} <= files_under(folder)
    assert not any("{{" in p.read_text() for p in folder.rglob("*") if p.is_file())
    assert main(["check", str(workspace)]) == 0
    with PluginHarness(workspace) as harness:
        assert harness.plugin(plugin_id).status == "running"


def test_two_plugins_get_test_files_with_different_names(tmp_path):
    # pytest (rootdir-less, prepend import mode) refuses two test modules of one basename
    first = scaffold("basic", unique_id(tmp_path, "one"), tmp_path)
    second = scaffold("basic", unique_id(tmp_path, "two"), tmp_path)
    assert ({p.name for p in (first / "tests").iterdir()}
            .isdisjoint(p.name for p in (second / "tests").iterdir()))


def test_service_provides_the_capability_it_is_given(tmp_path):
    folder = scaffold("service", unique_id(tmp_path, "notes"), tmp_path, capability="notes.keep")
    manifest = tomllib.loads((folder / "plugin.toml").read_text())
    assert manifest["capabilities"] == ["notes.keep"]
    assert '@handler("notes.keep")' in next(folder.glob("*/__init__.py")).read_text()


def test_ui_template_names_a_panel_factory_the_plugin_package_never_imports(tmp_path):
    plugin_id = unique_id(tmp_path, "clicker")
    folder = scaffold("ui", plugin_id, tmp_path)
    package = names_for(plugin_id).package
    (source,) = discover(tmp_path).plugins
    assert source.manifest.ui is not None
    assert source.manifest.ui.panel == f"{package}_panel:make_panel"
    assert (folder / f"{package}_panel.py").is_file()
    assert "PySide6" not in (folder / package / "__init__.py").read_text()


def test_workflow_template_ships_an_orchestration_of_the_plugin(tmp_path):
    from logomesh_studio.orchestration.io import load

    plugin_id = unique_id(tmp_path, "pipeline")
    folder = scaffold("workflow", plugin_id, tmp_path)
    (path,) = folder.glob("*.orchestration.yaml")
    assert load(path).document.initiator == plugin_id


@pytest.mark.parametrize(("name", "expected"), [
    ("Bad", "is not a valid plugin id"),
    ("1st", "is not a Python identifier"),
    ("json", "already taken by an importable module"),
])
def test_a_bad_id_is_a_clear_error_and_nothing_is_written(tmp_path, name, expected):
    with pytest.raises(ScaffoldError, match=expected):
        scaffold("basic", name, tmp_path / "ws")
    assert not (tmp_path / "ws").exists()


def test_a_taken_id_is_refused_and_nothing_is_written(tmp_path, workspace):
    workspace.plugin("taken", fmt="json")
    (workspace.root / "taken").rename(workspace.root / "elsewhere")
    before = files_under(workspace.root)
    with pytest.raises(ScaffoldError, match=r"'taken' is taken: .*manifest.json has that id"):
        scaffold("basic", "taken", workspace.root)
    assert files_under(workspace.root) == before


def test_an_existing_folder_is_refused_and_left_alone(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("service", "mine", tmp_path)
    assert files_under(tmp_path) == {"mine/notes.txt"}


def test_a_package_name_another_plugin_uses_is_refused(tmp_path, workspace):
    plugin_id = unique_id(tmp_path, "twin")
    scaffold("basic", plugin_id, workspace.root)
    with pytest.raises(ScaffoldError, match="already uses the package name"):
        scaffold("basic", plugin_id.replace("-", "_"), workspace.root)


def test_a_bad_capability_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ScaffoldError,
                       match=r"capabilities\[0\]: 'Not Valid' is not a valid capability"):
        scaffold("service", unique_id(tmp_path, "svc"), tmp_path, capability="Not Valid")
    assert files_under(tmp_path) == set()


def test_an_unknown_template_names_the_templates(tmp_path):
    with pytest.raises(ScaffoldError, match="basic, service, ui, workflow"):
        scaffold("fancy", "x", tmp_path)


def test_cli_new_creates_the_plugin_and_lists_its_files(tmp_path, capsys):
    plugin_id = unique_id(tmp_path, "cli")
    assert main(["new", "service", plugin_id, "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"created {tmp_path / plugin_id}" in out and "plugin.toml" in out


def test_cli_new_refusal_exits_two_with_the_reason(tmp_path, capsys):
    (tmp_path / "dup").mkdir()
    assert main(["new", "basic", "dup", "--dir", str(tmp_path)]) == 2
    assert "new: " in capsys.readouterr().err
