"""Payloads: JSON-compatible, size-limited, and copied so no two plugins share an object."""

from __future__ import annotations

import json
import math

import pytest

from logomesh_studio import sdk
from logomesh_studio.runtime import payload
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.testing import PluginHarness

LIMIT = 1024 * 1024

# Keeps what it is sent, mutates its copy, and hands out its own state.
KEEPER = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.data["box"] = {"items": [1, 2]}

    @handler("keep")
    def keep(self, message):
        self.data["kept"] = message.payload
        return None

    @handler("scribble")
    def scribble(self, message):
        message.payload["items"].append("scribbled")
        return len(message.payload["items"])

    @handler("kept")
    def kept(self, message):
        return self.data.get("kept")

    @handler("double")
    def double(self, message):
        return message.payload * 2

    @handler("box")
    def box(self, message):
        return self.data["box"]

    @handler("bad-reply")
    def bad_reply(self, message):
        return {"when": {1, 2}}
"""


def harness(workspace, **config) -> PluginHarness:
    return PluginHarness(workspace.root, RuntimeConfig(entry_points=False, **config))


class Opaque:
    pass


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, problem", [
    ({"items": [1, 2, 3, {4}]}, "payload.items[3]: set is not JSON-compatible"),
    ({"a": {"b": [b"raw"]}}, "payload.a.b[0]: bytes is not JSON-compatible"),
    ([Opaque()], "payload[0]: Opaque is not JSON-compatible"),
    ({"x": math.nan}, "payload.x: nan is not JSON-compatible"),
    ({"x": [math.inf]}, "payload.x[0]: inf is not JSON-compatible"),
    (-math.inf, "payload: -inf is not JSON-compatible"),
    ({(1, 2): "tuple key"}, "payload: key (1, 2) is not JSON-compatible"),
    ({math.nan: "nan key"}, "payload: key nan is not JSON-compatible"),
    ({"f": print}, "payload.f: builtin_function_or_method is not JSON-compatible"),
])
def test_invalid_payload_names_the_offending_path(value, problem):
    with pytest.raises(sdk.InvalidPayload) as caught:
        payload.encode(value, LIMIT)
    assert str(caught.value).startswith(problem)


def test_circular_reference_is_named_with_its_path():
    loop: dict = {"a": {"b": []}}
    loop["a"]["b"].append(loop)
    with pytest.raises(sdk.InvalidPayload, match=r"payload\.a\.b\[0\]: refers back to itself"):
        payload.encode(loop, LIMIT)


def test_a_value_seen_twice_without_a_cycle_is_valid():
    shared = [1, 2]
    assert json.loads(payload.encode({"a": shared, "b": shared}, LIMIT)) == {
        "a": [1, 2], "b": [1, 2]}


def test_payload_nested_too_deeply_is_invalid_not_a_crash():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(sdk.InvalidPayload, match="nested too deeply"):
        payload.encode(deep, LIMIT)


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2.5, "", "text ünïcode", [], {}, {"a": [1, {"b": None}]},
    [[[]]], {"1": 1.0e300},
])
def test_json_values_round_trip_unchanged(value):
    text = payload.encode(value, LIMIT)
    assert payload.decode(text, value) == value


def test_tuples_arrive_as_lists_and_number_keys_as_strings():
    value = {"t": (1, 2), 3: "three"}
    assert payload.decode(payload.encode(value, LIMIT), value) == {"t": [1, 2], "3": "three"}


def test_size_limit_counts_the_json_text():
    text = payload.encode("x" * 8, 10)  # '"xxxxxxxx"' is exactly 10 bytes
    assert len(text) == 10
    with pytest.raises(sdk.InvalidPayload, match="is 11 bytes as JSON, over the 10-byte limit"):
        payload.encode("x" * 9, 10)


def test_size_limit_counts_non_ascii_text_as_escaped_bytes():
    with pytest.raises(sdk.InvalidPayload, match="over the 10-byte limit"):
        payload.encode("éé", 10)  # "\\u00e9\\u00e9" is 14 bytes


def test_response_problems_name_the_response():
    with pytest.raises(sdk.InvalidPayload, match=r"^response\.a: set"):
        payload.encode({"a": set()}, LIMIT, "response")


def test_decoded_copy_shares_no_container_with_the_original():
    value = {"a": [1, {"b": [2]}]}
    copy = payload.decode(payload.encode(value, LIMIT), value)
    assert copy == value
    assert copy is not value and copy["a"] is not value["a"]
    assert copy["a"][1] is not value["a"][1] and copy["a"][1]["b"] is not value["a"][1]["b"]


def test_str_subclass_is_copied_not_shared():
    class Tagged(str):
        pass

    value = Tagged("x")
    value.tags = []  # a str subclass can carry mutable state
    copy = payload.decode(payload.encode(value, LIMIT), value)
    assert copy == "x" and type(copy) is str


# -- on the bridge ----------------------------------------------------------------------------


def test_invalid_payload_is_raised_to_the_sender_and_recorded(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        with pytest.raises(sdk.InvalidPayload,
                           match=r"payload\.items\[3\]: set is not JSON-compatible"):
            h.send("beta", "keep", {"items": [0, 1, 2, {3}]})
        last = h.host.bus.history[-1]
        assert h.send("beta", "kept") is None  # never delivered
    assert (last.outcome, last.target) == ("invalid", "beta")
    assert "payload.items[3]" in last.error


def test_invalid_payload_reaches_a_plugin_sender_through_ctx(workspace):
    workspace.plugin("alpha", """
from logomesh_studio.sdk import InvalidPayload, Plugin, handler


class TestPlugin(Plugin):
    @handler("go")
    async def go(self, message):
        try:
            await self.ctx.send("beta", "keep", {"when": float("nan")})
        except InvalidPayload as exc:
            return str(exc)
""", permissions=["send:beta"])
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        assert h.send("alpha", "go") == "payload.when: nan is not JSON-compatible"


def test_payload_over_the_configured_limit_is_refused(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace, payload_limit=100) as h:
        assert h.send("beta", "keep", "x" * 98) is None
        with pytest.raises(sdk.InvalidPayload, match="over the 100-byte limit"):
            h.send("beta", "keep", "x" * 99)


def test_broadcast_payload_is_validated_once_before_any_delivery(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        with pytest.raises(sdk.InvalidPayload, match=r"payload\.s: set"):
            h.broadcast("keep", {"s": set()})
        assert h.send("beta", "kept") is None


def test_invalid_response_is_refused_by_the_bridge_not_raised_by_the_target(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        with pytest.raises(sdk.ResponseRefused) as caught:
            h.send("beta", "bad-reply")
        record = h.host.bus.history[-1]
    assert str(caught.value) == ("bridge refused the response of 'beta': "
                                 "response.when: set is not JSON-compatible")
    assert caught.value.target == "beta" and isinstance(caught.value, sdk.InvalidPayload)
    assert "raised" not in str(caught.value)
    assert (record.outcome, record.error) == ("error", str(caught.value))


def test_response_over_the_limit_is_refused_by_the_bridge(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace, payload_limit=100) as h:
        assert h.send("beta", "double", "y" * 40) == "y" * 80
        with pytest.raises(sdk.ResponseRefused, match="bridge refused the response of 'beta': "
                           "response: is 122 bytes .* 100-byte limit"):
            h.send("beta", "double", "y" * 60)  # within the limit on the way in


# -- copies -----------------------------------------------------------------------------------


def test_sender_mutation_after_send_is_not_seen_by_the_receiver(workspace):
    workspace.plugin("beta", KEEPER)
    sent = {"items": [1], "meta": {"n": 1}}
    with harness(workspace) as h:
        h.send("beta", "keep", sent)
        sent["items"].append(2)
        sent["meta"]["n"] = 99
        assert h.send("beta", "kept") == {"items": [1], "meta": {"n": 1}}


def test_receiver_mutation_is_not_seen_by_the_sender(workspace):
    workspace.plugin("beta", KEEPER)
    sent = {"items": [1]}
    with harness(workspace) as h:
        assert h.send("beta", "scribble", sent) == 2
    assert sent == {"items": [1]}


def test_sender_mutation_of_a_response_is_not_seen_by_the_receiver(workspace):
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        reply = h.send("beta", "box")
        reply["items"].append("mine")
        assert h.send("beta", "box") == {"items": [1, 2]}
        assert reply is not h.host.instance("beta").data["box"]


def test_plugins_exchanging_through_ctx_never_share_an_object(workspace):
    workspace.plugin("alpha", """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("go")
    async def go(self, message):
        mine = {"items": [1]}
        await self.ctx.send("beta", "keep", mine)
        mine["items"].append("after send")
        after_scribble = {"items": [1]}
        await self.ctx.send("beta", "scribble", after_scribble)
        box = await self.ctx.send("beta", "box")
        box["items"].clear()
        return {"kept": await self.ctx.send("beta", "kept"), "scribbled": after_scribble,
                "box": await self.ctx.send("beta", "box")}
""", permissions=["send:beta"])
    workspace.plugin("beta", KEEPER)
    with harness(workspace) as h:
        assert h.send("alpha", "go") == {"kept": {"items": [1]}, "scribbled": {"items": [1]},
                                         "box": {"items": [1, 2]}}


def test_each_broadcast_receiver_gets_its_own_copy(workspace):
    workspace.plugin("beta", KEEPER)
    workspace.plugin("gamma", KEEPER)
    with harness(workspace) as h:
        assert h.broadcast("scribble", {"items": []}) == {"beta": 1, "gamma": 1}
        h.broadcast("keep", {"items": ["same"]})
        beta = h.host.instance("beta").data["kept"]
        gamma = h.host.instance("gamma").data["kept"]
    assert beta == gamma and beta is not gamma and beta["items"] is not gamma["items"]


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"x": -Infinity}', "1e400",
                                  '{"a": 1', "", "[1] [2]"])
def test_text_from_another_process_is_held_to_what_encode_allows(text: str) -> None:
    with pytest.raises(sdk.InvalidPayload, match="^response: is not valid JSON"):
        payload.from_text(text, "response")


def test_encoded_text_is_taken_as_is_sized_and_its_value_is_the_copy() -> None:
    encoded = payload.from_text('{"a":[1,2.5,"é"]}')
    assert encoded.value == {"a": [1, 2.5, "é"]}
    assert payload.encode(encoded, 100) == '{"a":[1,2.5,"é"]}'
    assert payload.decode(encoded.text, encoded) is encoded.value
    with pytest.raises(sdk.InvalidPayload, match="over the 10-byte limit"):
        payload.encode(encoded, 10)
