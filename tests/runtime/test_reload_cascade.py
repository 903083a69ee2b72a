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
