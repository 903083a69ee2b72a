"""The Studio window's ``--self-test`` (what a frozen app runs), in process: every pane
opened, every plugin messaged through the RuntimeClient, the verdict."""

from __future__ import annotations

import io

from logomesh_studio.bundle.selftest import SelfTest, StderrWatch
from logomesh_studio.studio.selftest import attach, send_every_type

from .conftest import TIMEOUT_MS

NEEDS_A_MISSING_MODULE = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("go")
    def go(self, message):
        import logomesh_no_such_module  # noqa: F401
        return {}
"""


def _self_test() -> SelfTest:
    return SelfTest(StderrWatch(io.StringIO()))


def test_the_self_test_messages_every_handled_type_through_the_client(studio, two_plugins):
    studio.open(two_plugins.root)
    test = _self_test()
    studio.run(send_every_type(studio.client, test))
    assert test.failures == []
    for plugin_id in ("alpha", "beta"):
        assert f"message 'ping' to {plugin_id}: handled" in test.checked
        assert (f"message 'crash' to {plugin_id}: handled (answered ValueError to an empty "
                "payload)") in test.checked
    # alpha relays to beta with its own permission: the developer's send reached alpha
    assert "message 'relay' to alpha: handled" in test.checked


def test_the_self_test_fails_naming_a_handler_that_cannot_import(studio, workspace):
    workspace.plugin("needy", NEEDS_A_MISSING_MODULE)
    studio.open(workspace.root)
    test = _self_test()
    studio.run(send_every_type(studio.client, test))
    assert len(test.failures) == 1
    assert "message 'go' to needy" in test.failures[0]
    assert "logomesh_no_such_module" in test.failures[0]


def test_the_window_self_test_opens_every_pane_messages_every_plugin_and_closes(
        studio, two_plugins, qtbot):
    test = _self_test()
    attach(studio.window, studio.client, test)
    studio.window.open_workspace(two_plugins.root)
    qtbot.waitUntil(lambda: not studio.window.isVisible(), timeout=3 * TIMEOUT_MS)
    out = io.StringIO()
    assert test.finish(out) == 0, out.getvalue()
    assert "workspace loaded: 2 plugins running (alpha, beta)" in test.checked
    opened = [line for line in test.checked if line.startswith("pane ")]
    assert any("'Messages' opened" in line for line in opened), opened
    assert "message 'ping' to beta: handled" in test.checked
