"""Hot reload cascades: order over every kind of dependency, causes, failures, removals."""

from __future__ import annotations

import os
import shutil

from logomesh_studio.runtime.events import PluginStopped, ReloadCompleted, ReloadStarted
from tests.runtime.reloading import code, completed, failed, module_file, save, settle

PROVIDER = code("{version}").replace("class TestPlugin(Plugin):", """class TestPlugin(Plugin):
    @handler("transform")
    def transform(self, message):
        return "{version}"
""")


def reload_order(h) -> list[str]:
    return [e.plugin_id for e in h.events if isinstance(e, ReloadCompleted)]


def test_atomic_save_names_the_saved_file_not_the_editors_temp_file(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    path = module_file(workspace, "alpha")
    (path.parent / ".__init__.py.kate-swp").write_text("swap")  # Kate's swap file
    for temp_name in ("sedTXFW0D", "__init__.py.Ab12Cd"):  # sed -i; QSaveFile (Kate, Qt)
        mark = h.mark()
        temp = path.with_name(temp_name)
        save(temp, code(temp_name))
        os.replace(temp, path)
        event = h.wait_for(completed("alpha"), after=mark)
        assert h.send("alpha", "version") == temp_name
        assert event.cause == f"alpha/{path.parent.name}/__init__.py"


def test_traffic_dependent_reloads_after_the_plugin_it_talks_to(workspace, watched):
    workspace.plugin("transformer", code("t1"))
    workspace.plugin("sink", code("s1"), dependencies={"transformer": ">=1"})
    workspace.plugin("audit", code("a1"), permissions=["send:sink"])  # before sink in load order
    h = watched()
    assert h.send("sink", "version", as_="audit") == "s1"  # audit now depends on sink by traffic
    save(module_file(workspace, "transformer"), code("t2"))
    h.wait_for(completed("audit"))
    assert reload_order(h) == ["transformer", "sink", "audit"]
    causes = {e.plugin_id: e.cause for e in h.events if isinstance(e, ReloadCompleted)}
    assert causes["sink"] == "dependency transformer reloaded"
    assert causes["audit"] == "dependency sink reloaded"


def test_capability_dependent_reloads_after_its_provider(workspace, watched):
    workspace.plugin("transformer", PROVIDER.replace("{version}", "t1"),
                     capabilities=["transform"])
    workspace.plugin("sink", code("s1"), permissions=["capability:transform"])
    h = watched()
    save(module_file(workspace, "transformer"), PROVIDER.replace("{version}", "t2"))
    h.wait_for(completed("sink"))
    assert reload_order(h) == ["transformer", "sink"]


def test_cascade_stops_below_a_failed_reload(workspace, watched):
    workspace.plugin("transformer", PROVIDER.replace("{version}", "t1"),
                     capabilities=["transform"])
    workspace.plugin("sink", code("s1"), permissions=["capability:transform"])
    workspace.plugin("viewer", code("v1"), dependencies={"sink": ""})
    workspace.plugin("sentinel")
    h = watched()
    save(module_file(workspace, "transformer"), "this is not python\n")
    h.wait_for(failed("transformer"))
    settle(h, workspace)
    started = [e.plugin_id for e in h.events if isinstance(e, ReloadStarted)]
    assert started == ["transformer", "sentinel"]
    assert h.send("sink", "version") == "s1" and h.plugin("sink").status == "running"


def test_removal_names_the_dependency_each_dependent_lost(workspace, watched):
    workspace.plugin("transformer", code("t1"))
    workspace.plugin("sink", code("s1"), dependencies={"transformer": ""})
    workspace.plugin("viewer", code("v1"), dependencies={"sink": ""})
    h = watched()
    shutil.rmtree(workspace.root / "transformer")
    h.wait_for(lambda e: isinstance(e, PluginStopped) and e.plugin_id == "transformer")
    assert "transformer was removed" in h.plugin("sink").error
    viewer = h.plugin("viewer").error
    assert viewer.startswith("dependencies.sink: stopped because sink stopped")
    assert "(transformer was removed)" in viewer


def test_a_save_is_checked_again_against_a_dependency_that_changed_version(workspace, watched):
    workspace.plugin("transformer", code("t1"))
    workspace.plugin("sink", code("s1"), dependencies={"transformer": "<2"})
    h = watched()
    save(module_file(workspace, "sink"), code("s2"))  # its plan is kept for the next save
    h.wait_for(completed("sink"))
    manifest = workspace.root / "transformer" / "plugin.toml"
    mark = h.mark()
    save(manifest, manifest.read_text().replace('version = "1.0.0"', 'version = "2.0.0"'))
    h.wait_for(completed("sink"), after=mark)  # follows transformer, code unchanged
    mark = h.mark()
    save(module_file(workspace, "sink"), code("s3"))
    event = h.wait_for(failed("sink"), after=mark)
    assert event.stage == "dependencies"
    assert "requires transformer <2 but version 2.0.0 is present" in event.error
    assert h.send("sink", "version") == "s2"


def test_a_manifest_edit_after_code_saves_is_applied(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    for version in ("v2", "v3"):  # the second save reuses the first one's plan
        mark = h.mark()
        save(module_file(workspace, "alpha"), code(version))
        h.wait_for(completed("alpha"), after=mark)
    manifest = workspace.root / "alpha" / "plugin.toml"
    mark = h.mark()
    save(manifest, manifest.read_text().replace('version = "1.0.0"', 'version = "1.1.0"'))
    assert h.wait_for(completed("alpha"), after=mark).version == "1.1.0"


def test_a_dependent_following_an_upstream_reload_runs_its_latest_saved_code(workspace,
                                                                               watched):
    workspace.plugin("transformer", PROVIDER.format(version="t1"))
    workspace.plugin("sink", code("s1"), dependencies={"transformer": ">=1"})
    h = watched()
    expected = "s1"
    for upstream, own in (("t2", None), ("t3", "s2"), ("t4", None), ("t5", "s3"), ("t6", None)):
        if own is not None:  # the dependent's own edit, then one upstream
            expected = own
            mark = h.mark()
            save(module_file(workspace, "sink"), code(own))
            h.wait_for(completed("sink"), after=mark)
        mark = h.mark()
        save(module_file(workspace, "transformer"), PROVIDER.format(version=upstream))
        event = h.wait_for(completed("sink"), after=mark)
        assert event.cause == "dependency transformer reloaded"
        assert h.send("sink", "version") == expected
        assert h.send("transformer", "transform") == upstream
