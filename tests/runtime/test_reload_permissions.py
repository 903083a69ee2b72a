"""Permission changes on reload: narrowing applies, widening is refused, asked or allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import PermissionsChanged
from logomesh_studio.runtime.permission_changes import permission_change
from logomesh_studio.sdk import PermissionDenied
from logomesh_studio.testing import PluginHarness
from tests.runtime.reloading import code, completed, save

SELF_GRANTING = "from pathlib import Path\n" + code("v1") + """
    @handler("escalate")
    def escalate(self, message):
        manifest = Path(__file__).resolve().parent.parent / "plugin.toml"
        manifest.write_text(manifest.read_text().replace('"send:target:other"', '"send:*"'))
        return True
"""


def changed(plugin_id: str):
    return lambda e: isinstance(e, PermissionsChanged) and e.plugin_id == plugin_id


def start(workspace, policy: str) -> PluginHarness:
    workspace.plugin("target")
    workspace.plugin("caller", SELF_GRANTING, permissions=["send:target:other"])
    h = PluginHarness(workspace.root, RuntimeConfig(entry_points=False,
                                                    permission_changes=policy))
    h.__enter__()
    h.watch()
    return h


def escalate(h: PluginHarness) -> PermissionsChanged:
    assert h.send("caller", "escalate") is True  # the plugin rewrites its own manifest
    h.wait_for(completed("caller"))
    event = h.wait_for(changed("caller"))
    assert isinstance(event, PermissionsChanged)
    assert event.added == ("send:*",) and event.removed == ("send:target:other",)
    assert event.widened == ("send:*",)
    return event


def test_a_plugin_widening_its_own_permissions_is_refused_headless(workspace):
    h = start(workspace, "refuse")
    try:
        event = escalate(h)
        assert event.status == "refused" and event.granted == ()
        with pytest.raises(PermissionDenied):
            h.send("target", "ping", 1, as_="caller")
        assert h.plugin("caller").permissions == ()  # narrowing applied: the old one is gone
    finally:
        h.__exit__(None, None, None)


def test_allowed_permission_changes_apply(workspace):
    h = start(workspace, "allow")
    try:
        assert escalate(h).status == "applied"
        assert h.send("target", "ping", 1, as_="caller")["pong"] == 1
    finally:
        h.__exit__(None, None, None)


@pytest.mark.parametrize("approve", [True, False])
def test_widened_permissions_wait_for_the_users_decision(workspace, approve):
    h = start(workspace, "ask")
    try:
        assert escalate(h).status == "pending"
        assert h.host.reloader.pending_permissions() == {"caller": ("send:*",)}
        with pytest.raises(PermissionDenied):
            h.send("target", "ping", 1, as_="caller")
        mark = h.mark()
        h.runtime.run(h.host.reloader.decide_permissions("caller", approve))
        decided = h.wait_for(changed("caller"), after=mark)
        assert decided.status == ("approved" if approve else "rejected")
        assert h.host.reloader.pending_permissions() == {}
        if approve:
            assert h.send("target", "ping", 1, as_="caller")["pong"] == 1
            assert h.plugin("caller").permissions == ("send:*",)
        else:
            with pytest.raises(PermissionDenied):
                h.send("target", "ping", 1, as_="caller")
    finally:
        h.__exit__(None, None, None)


def test_a_request_a_later_edit_takes_back_is_withdrawn(workspace):
    h = start(workspace, "ask")
    try:
        escalate(h)
        manifest = workspace.root / "caller" / "plugin.toml"
        mark = h.mark()
        save(manifest, manifest.read_text().replace('"send:*"', ""))  # what is in force
        assert h.wait_for(changed("caller"), after=mark).status == "withdrawn"
        assert h.host.reloader.pending_permissions() == {}
    finally:
        h.__exit__(None, None, None)


def test_narrowing_applies_at_once_and_is_announced(workspace, watched):
    workspace.plugin("target")
    workspace.plugin("caller", code("v1"), permissions=["send:target", "broadcast"])
    h = watched()
    manifest = workspace.root / "caller" / "plugin.toml"
    save(manifest, manifest.read_text().replace('"send:target", ', ""))
    event = h.wait_for(changed("caller"))
    assert (event.status, event.removed, event.added) == ("applied", ("send:target",), ())
    with pytest.raises(PermissionDenied):
        h.send("target", "ping", 1, as_="caller")


def test_an_added_permission_the_old_ones_already_grant_is_no_widening():
    change = permission_change(["send:*", "broadcast"], ["send:*", "send:store:get",
                                                         "broadcast:storage", "capability:x"])
    assert change.added == ("send:store:get", "broadcast:storage", "capability:x")
    assert change.widened == ("capability:x",)


@pytest.mark.parametrize("allow", [False, True])
def test_run_watch_prints_what_a_reload_did_to_permissions(workspace, allow):
    workspace.plugin("target")
    workspace.plugin("caller", code("v1"), permissions=["send:target:other"])
    manifest = workspace.root / "caller" / "plugin.toml"
    command = [sys.executable, "-u", "-m", "logomesh_studio.cli", "run", str(workspace.root),
               "--watch", "--for", "30"] + (["--allow-permission-changes"] if allow else [])
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("watching"):
                save(manifest, manifest.read_text().replace("send:target:other", "send:*"))
            if line.startswith("permissions"):
                break
        if allow:
            assert line.startswith("permissions caller: applied +send:* -send:target:other")
        else:
            assert line.startswith("permissions caller: refused +send:*")
            assert "refused: send:*" in line and "--allow-permission-changes" in line
    finally:
        proc.kill()
        proc.wait()
