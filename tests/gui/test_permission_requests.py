"""A reload that widens a plugin's permissions waits for the user's approval in Studio."""

from __future__ import annotations

import pytest

from logomesh_studio.sdk import PermissionDenied

TIMEOUT_MS = 10_000


def widen(studio, workspace, plugin_id: str) -> None:
    manifest = workspace.root / plugin_id / "plugin.toml"
    with studio.qtbot.waitSignal(studio.client.sig_permissions_changed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda e: e.status == "pending"):
        manifest.write_text(manifest.read_text() + 'permissions = ["send:*"]\n')


@pytest.mark.parametrize("approve", [True, False])
def test_widened_permissions_wait_for_approve_or_reject_in_the_plugin_pane(
        studio, two_plugins, approve):
    studio.open(two_plugins.root)
    banner = studio.window.plugins.permission_requests
    assert not banner.isVisible()
    widen(studio, two_plugins, "beta")
    request = banner.requests["beta"]
    assert banner.isVisible() and "send:*" in request.label.text()
    with pytest.raises(PermissionDenied):  # the old permissions stay in force meanwhile
        studio.send("beta", "alpha", "ping", 1)

    button = request.approve_button if approve else request.reject_button
    with studio.qtbot.waitSignal(studio.client.sig_permissions_changed, timeout=TIMEOUT_MS,
                                 check_params_cb=lambda e: e.plugin_id == "beta") as blocker:
        button.click()
    assert blocker.args[0].status == ("approved" if approve else "rejected")
    studio.qtbot.waitUntil(lambda: not banner.isVisible(), timeout=TIMEOUT_MS)
    if approve:
        assert studio.send("beta", "alpha", "ping", 1)["pong"] == 1
    else:
        with pytest.raises(PermissionDenied):
            studio.send("beta", "alpha", "ping", 1)


def test_narrowed_permissions_apply_at_once_and_are_shown_as_a_notice(studio, two_plugins):
    studio.open(two_plugins.root)
    manifest = two_plugins.root / "alpha" / "plugin.toml"
    with studio.qtbot.waitSignal(studio.client.sig_permissions_changed, timeout=TIMEOUT_MS):
        manifest.write_text(manifest.read_text().replace('"send:beta"', ""))
    banner = studio.window.plugins.permission_requests
    notice = banner.requests["alpha"]
    assert banner.isVisible() and not notice.approve_button.isVisible()
    assert "removed" in notice.label.text() and "send:beta" in notice.label.text()
    with pytest.raises(PermissionDenied):
        studio.send("alpha", "beta", "ping", 1)
    notice.reject_button.click()
    assert not banner.isVisible()
