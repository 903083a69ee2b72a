"""Permissions: the grammar, what each rule grants, refusals on the bridge, ctx isolation."""

from __future__ import annotations

import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logomesh_studio import sdk
from logomesh_studio.runtime.bus import CommunicationBridge
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import EventHub
from logomesh_studio.runtime.host import PluginHost
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.security import (
    EVERYONE,
    PermissionSet,
    PermissionSyntaxError,
    parse_permission,
    required_permission,
)
from logomesh_studio.testing import PluginHarness

# Counts what it receives, so a test can prove a refused message never arrived.
RECEIVER = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.data["received"] = []

    @handler("get")
    def get(self, message):
        self.data["received"].append(message.type)
        return "got"

    @handler("put")
    def put(self, message):
        self.data["received"].append(message.type)
        return "put"

    @handler("search")
    def search(self, message):
        self.data["received"].append(message.type)
        return "found"
"""

# Makes a call through its ctx and reports the PermissionDenied it got, if any.
CALLER = """
from logomesh_studio.sdk import PermissionDenied, Plugin, handler


class TestPlugin(Plugin):
    @handler("try")
    async def attempt(self, message):
        p = message.payload
        try:
            if p["call"] == "send":
                await self.ctx.send(p["target"], p["type"])
            elif p["call"] == "broadcast":
                await self.ctx.broadcast(p["type"], None, p.get("capability"))
            else:
                await self.ctx.request_capability(p["name"])
        except PermissionDenied as exc:
            return {"denied": str(exc), "permission": exc.permission}
        return {"denied": None}
"""


def harness(workspace) -> PluginHarness:
    return PluginHarness(workspace.root, RuntimeConfig(entry_points=False))


def allows(rules: list[str], kind: str, target: str, type: str = "") -> bool:
    return PermissionSet(rules).allows(kind, target, type)


# -- grammar ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "send:store", "send:store:get", "send:*", "send:*:get", "send:text.*:tok*",
    "send:store:a/b-c.d_e", "broadcast", "broadcast:search", "broadcast:*",
    "capability:storage", "capability:text.*",
])
def test_valid_permission_strings_parse(text):
    assert parse_permission(text).kind == text.split(":")[0]


@pytest.mark.parametrize("text", [
    "", "send", "send:", "send:Store", "send:store:", "send:a:b:c", "broadcast:",
    "broadcast:a:b", "capability", "capability:", "capability:a:b", "receive:store",
    " send:store", "send:store ", "send:st ore",
])
def test_invalid_permission_strings_are_rejected_with_the_expected_forms(text):
    with pytest.raises(PermissionSyntaxError, match="send:<plugin>"):
        parse_permission(text)


def test_non_string_permission_is_rejected():
    with pytest.raises(PermissionSyntaxError, match="must be a string, not int"):
        parse_permission(3)


# -- what each rule grants --------------------------------------------------------------------

GRANTS = [
    # rule, kind, target, type, allowed
    ("send:store", "send", "store", "get", True),
    ("send:store", "send", "store", "anything", True),
    ("send:store", "send", "stores", "get", False),
    ("send:store", "send", "archive", "get", False),
    ("send:store:get", "send", "store", "get", True),
    ("send:store:get", "send", "store", "put", False),
    ("send:store:get", "send", "store", "get-all", False),
    ("send:store:get*", "send", "store", "get-all", True),
    ("send:store:get*", "send", "store", "forget", False),
    ("send:*", "send", "anyone", "anything", True),
    ("send:*:get", "send", "anyone", "get", True),
    ("send:*:get", "send", "anyone", "put", False),
    ("send:text.*", "send", "text.tokenizer", "t", True),
    ("send:text.*", "send", "text", "t", False),
    ("send:text.*", "send", "context.x", "t", False),
    ("send:*-store", "send", "blob-store", "t", True),
    ("send:*-store", "send", "store", "t", False),
    ("send:store", "broadcast", EVERYONE, "t", False),
    ("send:store", "capability", "store", "", False),
    ("broadcast", "broadcast", EVERYONE, "t", True),
    ("broadcast", "broadcast", "search", "t", True),  # everyone includes any providers
    ("broadcast:search", "broadcast", "search", "t", True),
    ("broadcast:search", "broadcast", "storage", "t", False),
    ("broadcast:search", "broadcast", EVERYONE, "t", False),
    ("broadcast:*", "broadcast", "search", "t", True),
    ("broadcast:*", "broadcast", EVERYONE, "t", False),  # any capability, not everyone
    ("broadcast:text.*", "broadcast", "text.index", "t", True),
    ("broadcast:text.*", "broadcast", "storage", "t", False),
    ("broadcast", "send", "store", "t", False),
    ("capability:storage", "capability", "storage", "", True),
    ("capability:storage", "capability", "storage.fast", "", False),
    ("capability:storage*", "capability", "storage.fast", "", True),
    ("capability:*", "capability", "anything", "", True),
    ("capability:*", "send", "anything", "x", False),
    ("capability:*", "broadcast", "anything", "x", False),
]


@pytest.mark.parametrize("rule, kind, target, type, allowed", GRANTS)
def test_rule_grants_exactly_what_it_says(rule, kind, target, type, allowed):
    assert allows([rule], kind, target, type) is allowed


def test_no_permissions_allow_nothing():
    assert not allows([], "send", "store", "get")
    assert not allows([], "broadcast", EVERYONE, "t")
    assert not allows([], "capability", "storage")


def test_rules_add_up():
    rules = ["send:store:get", "send:archive", "capability:storage"]
    assert allows(rules, "send", "store", "get")
    assert allows(rules, "send", "archive", "put")
    assert not allows(rules, "send", "store", "put")
    assert allows(rules, "capability", "storage")
    assert not allows(rules, "broadcast", EVERYONE, "t")


def test_repeated_decisions_stay_the_same_past_the_cache_size():
    rules = PermissionSet(["send:a*"])
    decisions = [rules.allows("send", f"{prefix}{n}", "t")
                 for _ in range(2) for n in range(3000) for prefix in "ab"]
    assert decisions == [prefix == "a" for _ in range(2) for n in range(3000) for prefix in "ab"]


plugin_ids = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8})?", fullmatch=True)
message_types = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,10}", fullmatch=True)
# The machine running the suite may be busy: judge the rules, not the clock.
unhurried = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@unhurried
@given(plugin_ids, message_types, plugin_ids, message_types)
def test_a_rule_without_wildcards_allows_only_the_call_it_names(target, type, other, other_type):
    rule = f"send:{target}:{type}"
    assert allows([rule], "send", target, type)
    assert allows([rule], "send", other, other_type) is (other == target and other_type == type)


@unhurried
@given(plugin_ids, plugin_ids, message_types)
def test_a_prefix_wildcard_allows_exactly_the_ids_with_that_prefix(prefix, target, type):
    assert allows([f"send:{prefix}*"], "send", target, type) is target.startswith(prefix)


@unhurried
@given(st.sampled_from(["send", "broadcast", "capability"]), plugin_ids, message_types)
def test_the_named_required_permission_allows_the_call(kind, target, type):
    call_target = EVERYONE if kind == "broadcast" and target.startswith("0") else target
    needed = required_permission(kind, call_target, type)
    assert allows([needed], kind, call_target, type)


@pytest.mark.parametrize("kind, target, type, expected", [
    ("send", "store", "get", "send:store:get"),
    ("send", "store", "", "send:store"),
    ("send", "store", "has space", "send:store"),  # a type the grammar cannot name
    ("broadcast", EVERYONE, "t", "broadcast"),
    ("broadcast", "search", "t", "broadcast:search"),
    ("capability", "storage", "storage", "capability:storage"),
])
def test_required_permission_is_the_narrowest_rule(kind, target, type, expected):
    assert required_permission(kind, target, type) == expected


# -- refusals on the bridge -------------------------------------------------------------------


@pytest.mark.parametrize("permissions, call, needed", [
    ([], {"call": "send", "target": "beta", "type": "get"}, "send:beta:get"),
    (["send:beta:get"], {"call": "send", "target": "beta", "type": "put"}, "send:beta:put"),
    (["send:gamma"], {"call": "send", "target": "beta", "type": "get"}, "send:beta:get"),
    (["broadcast:search"], {"call": "broadcast", "type": "get"}, "broadcast"),
    (["broadcast:storage"], {"call": "broadcast", "type": "search", "capability": "search"},
     "broadcast:search"),
    (["broadcast:*"], {"call": "broadcast", "type": "get"}, "broadcast"),
    (["capability:storage"], {"call": "capability", "name": "search"}, "capability:search"),
    (["send:beta"], {"call": "capability", "name": "search"}, "capability:search"),
], ids=["send", "typed-send", "other-plugin", "broadcast", "capability-broadcast",
        "any-capability-broadcast", "capability", "send-is-not-capability"])
def test_refused_call_raises_permission_denied_naming_the_permission(
        workspace, permissions, call, needed):
    workspace.plugin("alpha", CALLER, permissions=permissions)
    workspace.plugin("beta", RECEIVER, capabilities=["search"])
    with harness(workspace) as h:
        reply = h.send("alpha", "try", call)
        received = h.host.instance("beta").data["received"]
        (record,) = [r for r in h.host.bus.history if r.source == "alpha"]
    assert reply["permission"] == needed
    assert f"needs the permission {needed!r}" in reply["denied"]
    assert received == []  # never delivered
    assert (record.call, record.outcome) == (call["call"], "refused")
    assert needed in record.error


@pytest.mark.parametrize("permissions, call", [
    (["send:beta"], {"call": "send", "target": "beta", "type": "put"}),
    (["send:beta:get"], {"call": "send", "target": "beta", "type": "get"}),
    (["send:*:get"], {"call": "send", "target": "beta", "type": "get"}),
    (["broadcast"], {"call": "broadcast", "type": "get"}),
    (["broadcast"], {"call": "broadcast", "type": "search", "capability": "search"}),
    (["broadcast:search"], {"call": "broadcast", "type": "search", "capability": "search"}),
    (["broadcast:*"], {"call": "broadcast", "type": "search", "capability": "search"}),
    (["capability:search"], {"call": "capability", "name": "search"}),
    (["capability:*"], {"call": "capability", "name": "search"}),
])
def test_granted_call_is_delivered(workspace, permissions, call):
    workspace.plugin("alpha", CALLER, permissions=permissions)
    workspace.plugin("beta", RECEIVER, capabilities=["search"])
    with harness(workspace) as h:
        reply = h.send("alpha", "try", call)
        received = h.host.instance("beta").data["received"]
    assert reply == {"denied": None}
    assert received == [call.get("type") or call.get("name")]


def test_typed_send_allows_only_that_type(workspace):
    workspace.plugin("alpha", RECEIVER, permissions=["send:beta:get"])
    workspace.plugin("beta", RECEIVER)
    with harness(workspace) as h:
        assert h.send("beta", "get", as_="alpha") == "got"
        with pytest.raises(sdk.PermissionDenied) as caught:
            h.send("beta", "put", as_="alpha")
        received = h.host.instance("beta").data["received"]
    assert caught.value.permission == "send:beta:put"
    assert received == ["get"]


def test_refusals_are_recorded_but_not_counted_as_traffic_to_a_peer(workspace):
    workspace.plugin("alpha", RECEIVER)
    workspace.plugin("beta", RECEIVER, capabilities=["search"])
    with harness(workspace) as h:
        for call in (lambda: h.broadcast("get", as_="alpha"),
                     lambda: h.broadcast("get", capability="search", as_="alpha"),
                     lambda: h.request_capability("search", as_="alpha")):
            with pytest.raises(sdk.PermissionDenied):
                call()
        refused = [(r.call, r.target) for r in h.host.bus.history if r.outcome == "refused"]
        peers = h.host.bus.connections("alpha")
    assert refused == [("broadcast", "*"), ("broadcast", "search"), ("capability", "search")]
    assert peers == []


def test_an_unknown_sender_may_do_nothing(workspace):
    workspace.plugin("beta", RECEIVER)
    with harness(workspace) as h, pytest.raises(sdk.PermissionDenied):
        h.send("beta", "get", as_="stranger")


# -- isolation: ctx is the plugin's whole world -----------------------------------------------


def reachable(root: object, depth: int) -> list[object]:
    """Every object reachable from ``root`` through attributes (single-underscore ones
    too, dunders excluded) and container items, up to ``depth`` steps."""
    seen = {id(root)}
    found: list[object] = []
    frontier = [root]
    for _ in range(depth):
        children = []
        for obj in frontier:
            if isinstance(obj, dict):
                children += [*obj.keys(), *obj.values()]
            elif isinstance(obj, list | tuple | set | frozenset):
                children += list(obj)
            for name in dir(obj):
                if name.startswith("__") and name.endswith("__"):
                    continue
                try:
                    children.append(getattr(obj, name))
                except Exception:  # a property may refuse; it exposes nothing then
                    continue
        frontier = []
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                found.append(child)
                frontier.append(child)
    return found


RUNTIME_OBJECTS = (sdk.Plugin, CommunicationBridge, PluginHost, RuntimeThread, PluginHarness, EventHub,
                   types.ModuleType)


def test_ctx_leads_to_no_plugin_bus_host_or_module(workspace):
    workspace.plugin("alpha", CALLER, permissions=["send:*", "broadcast", "capability:*"],
                     config={"nested": {"list": [1, 2]}})
    workspace.plugin("beta", RECEIVER, capabilities=["search"])
    with harness(workspace) as h:
        h.send("alpha", "try", {"call": "send", "target": "beta", "type": "get"})
        h.send("alpha", "try", {"call": "capability", "name": "search"})
        ctx = h.host.instance("alpha").ctx
        found = reachable(ctx, depth=8)
    leaks = [type(obj).__name__ for obj in found if isinstance(obj, RUNTIME_OBJECTS)]
    assert len(found) > 20  # the walk did go somewhere
    assert leaks == []


def test_message_given_to_a_handler_leads_to_no_runtime_object(workspace):
    workspace.plugin("beta", """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("keep")
    def keep(self, message):
        self.last = message
        return None
""")
    with harness(workspace) as h:
        h.send("beta", "keep", {"a": [1]})
        message = h.host.instance("beta").last
        found = reachable(message, depth=6)
    assert isinstance(message, sdk.Message)
    assert [obj for obj in found if isinstance(obj, RUNTIME_OBJECTS)] == []


def test_ctx_private_port_leads_to_no_plugin_bus_host_or_module(workspace):
    # ``_port()`` is the one ctx method that returns an object rather than a coroutine.
    workspace.plugin("alpha", CALLER, permissions=["send:*"])
    with harness(workspace) as h:
        port = h.host.instance("alpha").ctx._port()
        found = reachable(port, depth=8)
    assert [type(obj).__name__ for obj in found if isinstance(obj, RUNTIME_OBJECTS)] == []


def test_context_keeps_its_port_outside_its_attributes(workspace):
    workspace.plugin("alpha", CALLER)
    with harness(workspace) as h:
        ctx = h.host.instance("alpha").ctx
        names = {n for n in dir(ctx) if not n.startswith("__")}
    assert {n for n in names if not callable(getattr(ctx, n))} == {"plugin_id", "config", "log"}
