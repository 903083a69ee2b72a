"""Plugin folders on the move: renamed folders keep their state, symlinked folders reload."""

from __future__ import annotations

import os

from logomesh_studio.runtime.events import PluginLoaded, PluginStopped
from tests.conftest import Workspace
from tests.runtime.reloading import code, completed, save


def test_renaming_a_plugin_folder_is_a_move_that_keeps_its_state(workspace, watched):
    workspace.plugin("alpha", code("v1"))
    h = watched()
    h.send("alpha", "remember", {"counter": 42})
    mark = h.mark()
    os.rename(workspace.root / "alpha", workspace.root / "alpha-renamed")
    event = h.wait_for(completed("alpha"), after=mark)
    assert event.cause == "alpha moved to alpha-renamed"
    assert h.send("alpha", "recall") == {"counter": 42}
    assert h.plugin("alpha").folder == str(workspace.root / "alpha-renamed")
    assert not [e for e in h.events[mark:] if isinstance(e, PluginStopped | PluginLoaded)]

    mark = h.mark()  # and it keeps reloading from its new place
    save(workspace.root / "alpha-renamed" / workspace.package_name("alpha") / "__init__.py",
         code("v2"))
    h.wait_for(completed("alpha"), after=mark)
    assert h.send("alpha", "version") == "v2"
    assert h.send("alpha", "recall") == {"counter": 42}


def test_a_plugin_folder_symlinked_from_outside_the_workspace_reloads(workspace, watched,
                                                                      tmp_path):
    outside = Workspace(tmp_path / "elsewhere")
    target = outside.plugin("alpha", code("v1"))
    os.symlink(target, workspace.root / "alpha", target_is_directory=True)
    h = watched()
    assert h.send("alpha", "version") == "v1"
    module = target / outside.package_name("alpha") / "__init__.py"
    save(module, code("v2"))  # edited where it really lives
    event = h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
    assert event.cause == f"alpha/{outside.package_name('alpha')}/__init__.py"
