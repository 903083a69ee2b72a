"""Discovery of workspace folders and installed entry-point plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

from logomesh_studio.runtime.discovery import ENTRY_POINT_GROUP, discover, discover_entry_points


def test_finds_every_plugin_folder_in_sorted_order(workspace):
    workspace.plugin("beta")
    workspace.plugin("alpha", fmt="json")
    (workspace.root / "notes").mkdir()
    (workspace.root / ".hidden").mkdir()
    found = discover(workspace.root, entry_points=False)
    assert [p.id for p in found.plugins] == ["alpha", "beta"]
    assert found.problems == []


def test_invalid_manifest_does_not_stop_the_others(workspace):
    workspace.plugin("good")
    workspace.plugin("bad", version="not-a-version")
    found = discover(workspace.root, entry_points=False)
    assert [p.id for p in found.plugins] == ["good"]
    [problem] = found.problems
    assert problem.path.endswith("bad/plugin.toml") and problem.field == "version"


def test_an_invalid_manifest_that_names_its_id_is_known_as_present(workspace):
    workspace.plugin("fetcher", version="one", permissions=["bogus"])
    workspace.plugin("parser", dependencies={"fetcher": ">=1"})
    found = discover(workspace.root, entry_points=False)
    assert [p.field for p in found.invalid["fetcher"]] == ["version", "permissions[0]"]
    assert found.unavailable() == {"fetcher": "invalid (version: 'one' is not a PEP 440 "
                                              "version (e.g. '1.0.2'); and 1 more)"}


def test_duplicate_id_names_both_folders(workspace):
    first = workspace.plugin("same")
    second = workspace.write_manifest(workspace.root / "zz-copy", {
        "id": "same", "name": "Copy", "version": "1.0", "entry": "x:Y"})
    found = discover(workspace.root, entry_points=False)
    assert [p.folder for p in found.plugins] == [first]
    [problem] = found.problems
    assert problem.path == str(second) and problem.field == "id"
    assert str(first) in problem.reason and str(second.parent) in problem.reason


def test_folder_with_both_manifest_formats_is_an_error(workspace):
    folder = workspace.plugin("twice")
    workspace.write_manifest(folder, {"id": "twice", "name": "T", "version": "1", "entry": "a:B"},
                             fmt="json")
    found = discover(workspace.root, entry_points=False)
    assert found.plugins == []
    assert "keep one" in found.problems[0].reason


def make_distribution(site: Path, dist: str, ep_name: str, ep_value: str,
                      manifest: str | None) -> None:
    """A real installed distribution: a package plus its .dist-info with entry_points.txt."""
    package = ep_value.partition(":")[0]
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(textwrap.dedent("""
        from logomesh_studio.sdk import Plugin, handler

        class Installed(Plugin):
            @handler("hello")
            def hello(self, message):
                return "hello from an installed plugin"
    """))
    if manifest is not None:
        (site / package / "plugin.toml").write_text(manifest)
    info = site / f"{dist}-2.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 2.1.0\nSummary: An installed plugin\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{ep_name} = {ep_value}\n")
    (info / "RECORD").write_text("")


def test_entry_point_plugin_without_manifest_uses_distribution_metadata(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "lm-greeter", "greeter", "lm_greeter_pkg:Installed", None)
    found = discover_entry_points([str(site)])
    [source] = found.plugins
    assert source.id == "greeter" and source.manifest.version == "2.1.0"
    assert source.manifest.entry == "lm_greeter_pkg:Installed"
    assert source.manifest.description == "An installed plugin"
    assert source.origin == "entry-point:lm-greeter"
    assert source.import_root == site


def test_entry_point_plugin_with_manifest_beside_its_module(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "lm-shout", "shout", "lm_shout_pkg:Installed",
                      'id = "shout"\nname = "Shout"\nversion = "3.0"\n'
                      'entry = "lm_shout_pkg:Installed"\ncapabilities = ["loud"]\n')
    [source] = discover_entry_points([str(site)]).plugins
    assert source.manifest.capabilities == ["loud"] and source.manifest.version == "3.0"
    assert source.folder == site / "lm_shout_pkg"


def test_installed_plugin_loads_and_answers(tmp_path, workspace):
    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.testing import PluginHarness

    site = tmp_path / "site"
    make_distribution(site, "lm-hello", "hello", "lm_hello_pkg:Installed", None)
    workspace.plugin("local")
    harness = PluginHarness(workspace.root, RuntimeConfig(entry_points=True))
    harness.runtime.host.entry_point_paths = [str(site)]
    with harness as h:
        assert h.plugin("hello").status == "running"
        assert h.send("hello", "hello") == "hello from an installed plugin"
        assert h.plugin("local").status == "running"


def test_entry_point_with_invalid_manifest_is_a_problem_not_a_crash(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "lm-broken", "broken", "lm_broken_pkg:Installed",
                      'id = "broken"\nversion = "1"\n')
    found = discover_entry_points([str(site)])
    assert found.plugins == []
    assert {p.field for p in found.problems} == {"name", "entry"}
