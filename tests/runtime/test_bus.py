"""The communication bridge: send, errors, broadcast, capabilities, history, connections.

Every test runs real plugins in a throwaway workspace on a real runtime thread
(``PluginHarness``); plugin code talks through its ``ctx`` as it would in the IDE.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

import pytest

from logomesh_studio import sdk
from logomesh_studio.runtime.bus import Connection
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import MessageRecorded, field_setters
from logomesh_studio.testing import DRIVER, PluginHarness

ECHO = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("echo")
    def echo(self, message):
        return {"echo": message.payload, "from": message.source}
"""

# A plugin that makes the calls under test through its own ctx and reports the outcome.
CALLER = """
from logomesh_studio.sdk import PluginError, Plugin, RemoteError, handler


class TestPlugin(Plugin):
    @handler("relay")
    async def relay(self, message):
        p = message.payload
        return await self.ctx.send(p["target"], p["type"], p.get("payload"), p.get("timeout"))

    @handler("relay-error")
    async def relay_error(self, message):
        p = message.payload
        try:
            await self.ctx.send(p["target"], p["type"], p.get("payload"))
        except RemoteError as exc:
            return {"error": type(exc).__name__, "error_type": exc.error_type,
                    "message": exc.remote_message, "target": exc.target}
        return {"error": None}

    @handler("ask")
    async def ask(self, message):
        provider, result = await self.ctx.request_capability(message.payload["name"],
                                                             message.payload.get("params"))
        return {"provider": provider, "result": result}

    @handler("providers")
    def providers(self, message):
        return self.ctx.providers(message.payload)
"""

FAILING = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("boom")
    def boom(self, message):
        raise ValueError("the answer is not 42")

    @handler("echo")
    def echo(self, message):
        return message.payload
"""

HANGING = """
import asyncio

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.data["cancelled"] = 0

    @handler("hang")
    async def hang(self, message):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.data["cancelled"] += 1
            raise

    @handler("echo")
    async def echo(self, message):
        return message.payload

    @handler("cancelled")
    def cancelled(self, message):
        return self.data["cancelled"]
"""


def provider(answer: str = "", fails: str = "") -> str:
    """Code of a plugin answering the ``text.upper`` capability (or failing with ``fails``)."""
    body = f"raise RuntimeError({fails!r})" if fails else \
        f"return {{'text': message.payload['text'].upper(), 'by': {answer!r}}}"
    return f"""
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("text.upper")
    def upper(self, message):
        {body}
"""


def harness(workspace, **config) -> PluginHarness:
    return PluginHarness(workspace.root, RuntimeConfig(entry_points=False, **config))


def records(h: PluginHarness) -> list[MessageRecorded]:
    return [e for e in h.events if isinstance(e, MessageRecorded)]


# -- send -------------------------------------------------------------------------------------


def test_send_returns_the_receivers_reply(workspace):
    workspace.plugin("alpha", CALLER, permissions=["send:beta"])
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        reply = h.send("alpha", "relay", {"target": "beta", "type": "echo", "payload": [1, "x"]})
    assert reply == {"echo": [1, "x"], "from": "alpha"}


def test_send_to_an_unknown_plugin_raises_plugin_not_found(workspace):
    workspace.plugin("alpha", ECHO)
    with harness(workspace) as h, pytest.raises(sdk.PluginNotFound, match="'ghost'"):
        h.send("ghost", "echo", {})


def test_send_of_an_unhandled_type_raises_no_handler_listing_handled_types(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h, pytest.raises(sdk.NoHandler) as caught:
        h.send("beta", "jump", {})
    assert "'jump'" in str(caught.value)
    assert "echo" in str(caught.value)


def test_handler_exception_reaches_the_sender_as_remote_error(workspace):
    workspace.plugin("alpha", CALLER, permissions=["send:beta"])
    workspace.plugin("beta", FAILING)
    with harness(workspace) as h:
        reply = h.send("alpha", "relay-error", {"target": "beta", "type": "boom"})
    assert reply == {"error": "RemoteError", "error_type": "ValueError",
                     "message": "the answer is not 42", "target": "beta"}


def test_target_keeps_running_after_its_handler_raises(workspace):
    workspace.plugin("beta", FAILING)
    with harness(workspace) as h:
        with pytest.raises(sdk.RemoteError):
            h.send("beta", "boom")
        assert h.send("beta", "echo", {"still": "here"}) == {"still": "here"}
        assert h.plugin("beta").status == "running"


def test_handler_exception_is_logged_with_its_traceback_by_the_target(workspace):
    workspace.plugin("beta", FAILING)
    with harness(workspace) as h:
        with pytest.raises(sdk.RemoteError):
            h.send("beta", "boom")
    logs = [e for e in h.events if getattr(e, "kind", "") == "log" and e.plugin_id == "beta"]
    assert logs and "ValueError: the answer is not 42" in logs[-1].traceback


def test_hanging_async_handler_raises_message_timeout(workspace):
    workspace.plugin("alpha", CALLER, permissions=["send:beta"])
    workspace.plugin("beta", HANGING)
    with harness(workspace) as h, pytest.raises(sdk.RemoteError) as caught:
        h.send("alpha", "relay", {"target": "beta", "type": "hang", "timeout": 0.05})
    assert caught.value.error_type == "MessageTimeout"  # what alpha's ctx.send raised


def test_timeout_affects_only_that_call(workspace):
    workspace.plugin("beta", HANGING)
    with harness(workspace) as h:
        with pytest.raises(sdk.MessageTimeout, match="beta did not answer 'hang'"):
            h.send("beta", "hang", timeout=0.05)
        assert h.send("beta", "echo", {"n": 2}) == {"n": 2}
        assert h.send("beta", "cancelled") == 1  # the hung handler was cancelled, not leaked
        assert h.plugin("beta").status == "running"


def test_default_timeout_comes_from_the_runtime_config(workspace):
    workspace.plugin("beta", HANGING)
    with harness(workspace, message_timeout=0.05) as h, pytest.raises(sdk.MessageTimeout):
        h.send("beta", "hang")


def test_timeout_error_raised_by_a_handler_is_a_remote_error_not_a_timeout(workspace):
    workspace.plugin("beta", """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("fetch")
    async def fetch(self, message):
        raise TimeoutError("upstream server too slow")
""")
    with harness(workspace) as h, pytest.raises(sdk.RemoteError) as caught:
        h.send("beta", "fetch", timeout=5)
    assert caught.value.error_type == "TimeoutError"
    assert caught.value.remote_message == "upstream server too slow"


def test_handler_calling_sys_exit_does_not_stop_the_runtime(workspace):
    workspace.plugin("beta", """
import sys

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("quit")
    def quit(self, message):
        sys.exit(3)

    @handler("echo")
    def echo(self, message):
        return message.payload
""")
    with harness(workspace) as h:
        with pytest.raises(sdk.RemoteError) as caught:
            h.send("beta", "quit")
        assert caught.value.error_type == "SystemExit"
        assert h.send("beta", "echo", 5) == 5


def test_handler_may_be_async(workspace):
    workspace.plugin("beta", HANGING)
    with harness(workspace) as h:
        assert h.send("beta", "echo", ["a"]) == ["a"]


# -- broadcast --------------------------------------------------------------------------------


def test_broadcast_reaches_every_other_plugin_handling_the_type(workspace):
    workspace.plugin("alpha", ECHO, permissions=["broadcast"])
    workspace.plugin("beta", ECHO)
    workspace.plugin("gamma", ECHO)
    workspace.plugin("quiet", FAILING.replace('@handler("echo")', '@handler("other")'))
    with harness(workspace) as h:
        replies = h.broadcast("echo", {"hi": 1}, as_="alpha")
    assert replies == {"beta": {"echo": {"hi": 1}, "from": "alpha"},
                       "gamma": {"echo": {"hi": 1}, "from": "alpha"}}


def test_broadcast_delivers_to_receivers_in_parallel(workspace):
    # Each receiver waits at a gate that opens only once all three have arrived, so
    # the broadcast can only succeed if the three handlers run at the same time.
    receiver = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("meet")
    async def meet(self, message):
        return await self.ctx.send("gate", "arrive", timeout=5)
"""
    workspace.plugin("gate", """
import asyncio

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.arrived = 0
        self.everyone = asyncio.Event()

    @handler("arrive")
    async def arrive(self, message):
        self.arrived += 1
        if self.arrived == 3:
            self.everyone.set()
        await self.everyone.wait()
        return self.arrived
""")
    for pid in ("r1", "r2", "r3"):
        workspace.plugin(pid, receiver, permissions=["send:gate:arrive"])
    with harness(workspace) as h:
        replies = h.broadcast("meet")
    assert replies == {"r1": 3, "r2": 3, "r3": 3}


def test_broadcast_failing_receiver_does_not_spoil_the_others(workspace):
    workspace.plugin("beta", ECHO)
    workspace.plugin("broken", """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("echo")
    def echo(self, message):
        raise KeyError("lost")
""")
    workspace.plugin("gamma", ECHO)
    with harness(workspace) as h:
        replies = h.broadcast("echo", 7)
    assert replies["beta"] == {"echo": 7, "from": DRIVER}
    assert replies["gamma"] == {"echo": 7, "from": DRIVER}
    assert isinstance(replies["broken"], sdk.RemoteError)
    assert replies["broken"].error_type == "KeyError"


def test_broadcast_hanging_receiver_times_out_alone(workspace):
    workspace.plugin("beta", ECHO)
    workspace.plugin("slow", HANGING.replace('@handler("echo")', '@handler("ignored")')
                     .replace('@handler("hang")', '@handler("echo")'))
    with harness(workspace, message_timeout=0.05) as h:
        replies = h.broadcast("echo", "x")
    assert replies["beta"] == {"echo": "x", "from": DRIVER}
    assert isinstance(replies["slow"], sdk.MessageTimeout)


def test_broadcast_to_a_capability_reaches_only_its_providers(workspace):
    workspace.plugin("alpha", ECHO, permissions=["broadcast:text.upper"])
    workspace.plugin("beta", ECHO, capabilities=["text.upper"])
    workspace.plugin("gamma", ECHO)
    with harness(workspace) as h:
        replies = h.broadcast("echo", 1, capability="text.upper", as_="alpha")
    assert replies == {"beta": {"echo": 1, "from": "alpha"}}


def test_broadcast_does_not_reach_the_sender(workspace):
    workspace.plugin("alpha", ECHO, permissions=["broadcast"])
    with harness(workspace) as h:
        assert h.broadcast("echo", 1, as_="alpha") == {}


def test_broadcast_reaching_nobody_is_still_recorded(workspace):
    workspace.plugin("alpha", ECHO)
    with harness(workspace) as h:
        assert h.broadcast("unheard", {"x": 1}) == {}
        (record,) = h.host.bus.history
    assert (record.call, record.target, record.type, record.outcome) == (
        "broadcast", "*", "unheard", "ok")
    assert record.payload == '{"x":1}'


# -- capabilities -----------------------------------------------------------------------------


def test_capability_request_reaches_the_provider_and_names_it(workspace):
    workspace.plugin("alpha", CALLER, permissions=["capability:text.upper"])
    workspace.plugin("beta", provider("beta"), capabilities=["text.upper"])
    with harness(workspace) as h:
        reply = h.send("alpha", "ask", {"name": "text.upper", "params": {"text": "hello"}})
    assert reply == {"provider": "beta", "result": {"text": "HELLO", "by": "beta"}}


def test_capability_provider_without_a_handler_answers_through_execute(workspace):
    workspace.plugin("beta", """
from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def execute(self, input):
        return {"executed": input}
""", capabilities=["runner"])
    with harness(workspace) as h:
        assert h.request_capability("runner", [1, 2]) == ("beta", {"executed": [1, 2]})


def test_providers_are_ordered_by_priority_then_load_order(workspace):
    # zeta loads before alpha (alpha depends on it), so with equal priority zeta comes first.
    workspace.plugin("alpha", provider("alpha"), capabilities=["text.upper"],
                     dependencies={"zeta": ">=1"})
    workspace.plugin("zeta", provider("zeta"), capabilities=["text.upper"])
    workspace.plugin("top", provider("top"), capabilities=["text.upper"], priority=5)
    workspace.plugin("low", provider("low"), capabilities=["text.upper"], priority=-1)
    workspace.plugin("caller", CALLER)
    with harness(workspace) as h:
        assert h.send("caller", "providers", "text.upper") == ["top", "zeta", "alpha", "low"]


def test_capability_request_asks_the_first_provider_in_order(workspace):
    workspace.plugin("alpha", provider("alpha"), capabilities=["text.upper"])
    workspace.plugin("beta", provider("beta"), capabilities=["text.upper"], priority=1)
    with harness(workspace) as h:
        provider_id, result = h.request_capability("text.upper", {"text": "a"})
    assert (provider_id, result["by"]) == ("beta", "beta")


def test_capability_request_falls_back_to_the_next_provider(workspace):
    workspace.plugin("first", provider(fails="disk full"), capabilities=["text.upper"],
                     priority=9)
    workspace.plugin("second", provider("second"), capabilities=["text.upper"])
    with harness(workspace) as h:
        assert h.request_capability("text.upper", {"text": "ok"}) == (
            "second", {"text": "OK", "by": "second"})
        attempts = [(r.target, r.outcome) for r in h.host.bus.history if r.call == "capability"]
    assert attempts == [("first", "error"), ("second", "ok")]


def test_capability_unavailable_lists_each_providers_error(workspace):
    workspace.plugin("first", provider(fails="disk full"), capabilities=["text.upper"],
                     priority=1)
    workspace.plugin("second", ECHO, capabilities=["text.upper"])  # no handler, no execute
    with harness(workspace) as h, pytest.raises(sdk.CapabilityUnavailable) as caught:
        h.request_capability("text.upper", {"text": "x"})
    errors = caught.value.errors
    assert list(errors) == ["first", "second"]
    assert "RuntimeError: disk full" in errors["first"]
    assert "no handler for 'text.upper'" in errors["second"]
    assert "first:" in str(caught.value) and "second:" in str(caught.value)


def test_capability_without_providers_is_unavailable_and_recorded(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        with pytest.raises(sdk.CapabilityUnavailable, match="no providers"):
            h.request_capability("text.upper", {})
        last = h.host.bus.history[-1]
    assert (last.call, last.target, last.outcome) == ("capability", "text.upper", "not_found")


def test_capability_request_skips_a_provider_that_times_out(workspace):
    workspace.plugin("slow", HANGING.replace('@handler("hang")', '@handler("text.upper")'),
                     capabilities=["text.upper"], priority=1)
    workspace.plugin("quick", provider("quick"), capabilities=["text.upper"])
    with harness(workspace, message_timeout=0.05) as h:
        assert h.request_capability("text.upper", {"text": "q"})[0] == "quick"


# -- history and connections ------------------------------------------------------------------


def test_every_call_emits_a_message_recorded_event(workspace):
    workspace.plugin("alpha", ECHO, permissions=["send:beta:echo"])
    workspace.plugin("beta", FAILING, capabilities=["text.upper"])
    with harness(workspace) as h:
        h.send("beta", "echo", 1)
        with pytest.raises(sdk.RemoteError):
            h.send("beta", "boom")
        with pytest.raises(sdk.PermissionDenied):
            h.send("beta", "boom", as_="alpha")
        with pytest.raises(sdk.PluginNotFound):
            h.send("ghost", "echo")
        with pytest.raises(sdk.InvalidPayload):
            h.send("beta", "echo", {1, 2})
        h.broadcast("echo", 2)
        with pytest.raises(sdk.CapabilityUnavailable):
            h.request_capability("text.upper")
        history = list(h.host.bus.history)
    outcomes = [(r.call, r.outcome) for r in records(h)]
    assert outcomes == [("send", "ok"), ("send", "error"), ("send", "refused"),
                        ("send", "not_found"), ("send", "invalid"),
                        ("broadcast", "ok"), ("broadcast", "ok"),  # alpha and beta
                        ("capability", "no_handler")]
    assert records(h) == history


def test_history_record_describes_the_call(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        h.send("beta", "echo", {"k": [1, 2]})
        record = h.host.bus.history[-1]
    assert (record.call, record.source, record.target, record.type, record.outcome) == (
        "send", DRIVER, "beta", "echo", "ok")
    assert record.size == len('{"k":[1,2]}')
    assert json.loads(record.payload) == {"k": [1, 2]}
    assert json.loads(record.response) == {"echo": {"k": [1, 2]}, "from": DRIVER}
    assert record.duration > 0 and record.time > 0
    assert MessageRecorded(**{k: v for k, v in record.to_json().items() if k != "event"}) \
        == record
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.outcome = "error"  # type: ignore[misc]


def test_a_handler_gets_a_frozen_message_like_any_other(workspace):
    workspace.plugin("beta", """
        import dataclasses
        from logomesh_studio.sdk import Message, Plugin, handler

        class TestPlugin(Plugin):
            @handler("look")
            def look(self, message):
                try:
                    message.payload = "changed"
                except dataclasses.FrozenInstanceError:
                    frozen = True
                else:
                    frozen = False
                return {"same": message == Message(message.source, "look", {"k": 1}, 0),
                        "frozen": frozen, "repr": repr(message)}
    """)
    with harness(workspace) as h:
        answer = h.send("beta", "look", {"k": 1})
    assert answer == {"same": True, "frozen": True,
                      "repr": f"Message(source='{DRIVER}', type='look', payload={{'k': 1}}, id=0)"}


def test_field_setters_must_name_every_field():
    with pytest.raises(TypeError, match="response_size"):
        field_setters(MessageRecorded, *(f.name for f in dataclasses.fields(MessageRecorded)
                                         if f.name != "response_size"))


def test_history_keeps_only_the_latest_history_size_messages(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace, history_size=5) as h:
        for n in range(8):
            h.send("beta", "echo", n)
        kept = [json.loads(r.payload) for r in h.host.bus.history]
    assert kept == [3, 4, 5, 6, 7]
    assert len(records(h)) == 8  # every call was still published


def test_history_ids_increase_with_every_call(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        for n in range(3):
            h.send("beta", "echo", n)
    ids = [r.id for r in records(h)]
    assert ids == sorted(set(ids)) and len(ids) == 3


def test_connections_summarise_traffic_with_each_peer(workspace):
    workspace.plugin("alpha", ECHO, permissions=["send:beta"])
    workspace.plugin("beta", FAILING, permissions=["send:alpha"])
    with harness(workspace) as h:
        h.send("beta", "echo", 1, as_="alpha")
        h.send("beta", "echo", 2, as_="alpha")
        with pytest.raises(sdk.RemoteError):
            h.send("beta", "boom", as_="alpha")
        h.send("alpha", "echo", 3, as_="beta")
        bus = h.host.bus
        between = [r for r in bus.history if {r.source, r.target} == {"alpha", "beta"}]
        (alpha_view,) = bus.connections("alpha")
        (beta_view,) = bus.connections("beta")
    assert (alpha_view.peer, alpha_view.sent, alpha_view.received, alpha_view.errors) == (
        "beta", 3, 1, 1)
    assert alpha_view.types == ("boom", "echo")
    assert alpha_view.mean_latency == pytest.approx(
        sum(r.duration for r in between) / len(between))
    assert alpha_view.last_time == max(r.time for r in between)
    assert (beta_view.peer, beta_view.sent, beta_view.received) == ("alpha", 1, 3)


def test_connections_list_one_entry_per_peer_sorted_by_id(workspace):
    workspace.plugin("alpha", ECHO, permissions=["send:*", "broadcast"])
    workspace.plugin("gamma", ECHO)
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        h.send("gamma", "echo", as_="alpha")
        h.broadcast("echo", as_="alpha")
        peers = h.host.bus.connections("alpha")
    assert [(c.peer, c.sent) for c in peers] == [("beta", 1), ("gamma", 2)]
    assert all(isinstance(c, Connection) for c in peers)
    assert peers[0].to_json()["types"] == ["echo"]


def test_connections_of_a_plugin_without_traffic_are_empty(workspace):
    workspace.plugin("beta", ECHO)
    with harness(workspace) as h:
        assert h.host.bus.connections("beta") == []


EXECUTES = """
import asyncio

from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    async def execute(self, input):
        if input == "hang":
            await asyncio.Event().wait()
        return {"ran": input}
"""


def test_execute_is_a_permission_checked_recorded_message(workspace):
    workspace.plugin("worker", EXECUTES)
    workspace.plugin("boss", permissions=["send:worker:execute"])
    workspace.plugin("other")
    with PluginHarness(workspace.root) as h:
        bus = h.host.bus
        assert h.runtime.run(bus.execute("boss", "worker", 7)) == {"ran": 7}
        record = bus.history[-1]
        assert (record.source, record.target, record.type, record.outcome) == (
            "boss", "worker", "execute", "ok")
        with pytest.raises(sdk.PermissionDenied, match="send:worker:execute") as refused:
            h.runtime.run(bus.execute("other", "worker", 1))
        assert str(refused.value).startswith("other may not execute worker:")


def test_a_cancelled_message_is_recorded_as_cancelled(workspace):
    workspace.plugin("worker", EXECUTES)
    with PluginHarness(workspace.root) as h:
        bus = h.host.bus

        async def send_then_cancel():
            task = asyncio.ensure_future(bus.execute(DRIVER, "worker", "hang"))
            while not bus._routes["worker"].inflight:
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        h.runtime.run(send_then_cancel())
        assert bus.history[-1].outcome == "cancelled"


def test_delivery_hooks_see_each_message_before_its_handler(workspace):
    workspace.plugin("worker", EXECUTES)
    with PluginHarness(workspace.root) as h:
        seen = []
        remove = h.host.bus.add_delivery_hook(lambda *call: seen.append(call))
        h.runtime.run(h.host.bus.execute(DRIVER, "worker", 1))
        assert seen == [(DRIVER, "worker", "execute")]
        remove()
        h.runtime.run(h.host.bus.execute(DRIVER, "worker", 2))
        assert seen == [(DRIVER, "worker", "execute")]


def test_a_raising_delivery_hook_is_logged_and_skipped_not_the_targets_error(workspace, caplog):
    workspace.plugin("worker", EXECUTES)
    with PluginHarness(workspace.root) as h:
        seen = []

        def broken(source, target, type):
            raise ValueError("the hook's own bug")

        h.host.bus.add_delivery_hook(broken)
        h.host.bus.add_delivery_hook(lambda *call: seen.append(call))
        with caplog.at_level(logging.ERROR, logger="logomesh_studio.runtime.bus"):
            assert h.runtime.run(h.host.bus.execute(DRIVER, "worker", 1)) == {"ran": 1}
            assert h.runtime.run(h.host.bus.execute(DRIVER, "worker", 2)) == {"ran": 2}
        assert [r.outcome for r in h.host.bus.history] == ["ok", "ok"]
        assert seen == [(DRIVER, "worker", "execute")] * 2  # later hooks still run
        failures = [r for r in caplog.records if "delivery hook" in r.getMessage()]
        assert len(failures) == 1  # once per burst, not once per message
        assert "the hook's own bug" in failures[0].exc_text


def test_history_keeps_at_most_the_text_limit_of_big_payloads(workspace):
    workspace.plugin("worker", EXECUTES)
    config = RuntimeConfig(entry_points=False, history_text_limit=100)
    with PluginHarness(workspace.root, config) as h:
        bus = h.host.bus
        assert h.runtime.run(bus.execute(DRIVER, "worker", "x" * 500)) == {"ran": "x" * 500}
        record = bus.history[-1]
        assert record.truncated and len(record.payload) == 100 and len(record.response) == 100
        assert record.size == 502
        h.runtime.run(bus.execute(DRIVER, "worker", "small"))
        assert not bus.history[-1].truncated


REPLAYABLE = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("note")
    def note(self, message):
        self.data.setdefault("notes", []).append(message.payload)
        return len(self.data["notes"])

    def execute(self, input):
        return {"ran": input}
"""


def test_replay_repeats_each_kind_of_call_as_recorded(workspace):
    workspace.plugin("notes", REPLAYABLE, capabilities=["noting"])
    workspace.plugin("boss", permissions=["send:notes", "broadcast", "capability:noting"])
    with PluginHarness(workspace.root) as h:
        bus, run = h.host.bus, h.runtime.run
        run(bus.send("boss", "notes", "note", {"n": 1}))
        run(bus.broadcast("boss", "note", {"n": 2}))
        run(bus.request_capability("boss", "noting", {"n": 3}))
        run(bus.execute("boss", "notes", 4))
        recorded = list(bus.history)
        assert [r.call for r in recorded] == ["send", "broadcast", "capability", "send"]
        assert run(bus.replay(recorded[0])) == 3  # notes: 1, 2 (broadcast), then this
        assert run(bus.replay(recorded[1])) == 4  # that broadcast delivery, again
        assert run(bus.replay(recorded[2])) == ("notes", {"ran": {"n": 3}})
        assert run(bus.replay(recorded[3])) == {"ran": 4}
        assert [r.call for r in list(bus.history)[4:]] == [r.call for r in recorded]


def test_truncated_record_cannot_be_replayed(workspace):
    workspace.plugin("notes", REPLAYABLE)
    config = RuntimeConfig(entry_points=False, history_text_limit=10)
    with PluginHarness(workspace.root, config) as h:
        h.send("notes", "note", "x" * 50)
        with pytest.raises(sdk.InvalidPayload, match="truncated"):
            h.runtime.run(h.host.bus.replay(h.host.bus.history[-1]))
