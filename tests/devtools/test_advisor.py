"""The advisor: one purpose-built plugin per finding kind, and a clean twin that is not
flagged. Drivers start their work in ``initialize`` and log "driven" once done."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from logomesh_studio.cli import main
from logomesh_studio.devtools.advisor import AdviceFound, AdvisorSettings, Finding
from logomesh_studio.devtools.insights import Insights
from logomesh_studio.examples import example_workspace
from logomesh_studio.runtime.events import Event, LogRecorded
from logomesh_studio.runtime.runner import RuntimeThread
from tests.advisor_plugins import SLEEPER, driver, line_of


class Observed:
    """A running workspace with insights attached, and the events it emitted."""

    def __init__(self, runtime: RuntimeThread, insights: Insights) -> None:
        self.runtime = runtime
        self.insights = insights
        self.driven = threading.Event()
        self.advised: list[Finding] = []
        self.advice = threading.Event()

    def on_event(self, event: Event) -> None:
        if isinstance(event, LogRecorded) and event.message == "driven":
            self.driven.set()
        elif isinstance(event, AdviceFound):
            self.advised.extend(Finding.from_json(f) for f in event.findings)
            self.advice.set()

    def wait_driven(self) -> None:
        assert self.driven.wait(30), "the driver plugin did not finish"

    def findings(self, kind: str | None = None) -> list[Finding]:
        async def read() -> list[Finding]:
            return self.insights.findings()

        found = self.runtime.run(read())
        return [f for f in found if kind is None or f.kind == kind]

    def reload(self, plugin_id: str) -> bool:
        return self.runtime.run(self.runtime.host.reload(plugin_id))


@contextmanager
def observing(root: Path, settings: AdvisorSettings | None = None) -> Iterator[Observed]:
    runtime = RuntimeThread(root)
    # Attached before the load: drivers start in initialize.
    insights = Insights(runtime, settings)
    observed = Observed(runtime, insights)
    runtime.events.subscribe(observed.on_event)
    runtime.start()
    insights.start()
    try:
        yield observed
    finally:
        insights.close()
        runtime.stop()


def test_blocking_handler_names_the_sleeping_line(workspace):
    folder = workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for _ in range(2):
            await ctx.send("sleeper", "work")
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("blocking-handler")
    file, line = line_of(folder, "time.sleep(0.2)")
    assert finding.plugin == "sleeper" and finding.type == "work"
    assert finding.location == f"{file}:{line}"
    assert "held the runtime loop for" in finding.evidence
    assert "asyncio.to_thread" in finding.suggestion


def test_an_async_wait_is_not_a_blocking_handler(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for _ in range(3):
            await ctx.send("sleeper", "wait")
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("blocking-handler") == []


def test_slow_handler_names_the_line_it_waits_at(workspace):
    folder = workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for _ in range(6):
            await ctx.send("sleeper", "wait")
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("slow-handler")
    file, line = line_of(folder, "await asyncio.sleep(0.15)")
    assert (finding.plugin, finding.type) == ("sleeper", "wait")
    assert finding.location == f"{file}:{line}"
    assert "p95 1" in finding.evidence  # 1xx ms


def test_a_fast_handler_is_not_slow(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for i in range(50):
            await ctx.send("sleeper", "quick", i)
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings() == []


CHATTY = """
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.5
    while loop.time() < end:
        await ctx.send("sleeper", "quick", 1)
"""


def test_chatty_pair_reports_the_rate(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver(CHATTY), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("chatty-pair")
    assert (finding.plugin, finding.peer) == ("driver", "sleeper")
    rate = int(finding.evidence.split(": ")[1].split(" ")[0])
    assert rate > 1000
    assert "batch" in finding.suggestion


def test_a_batched_pair_is_not_chatty(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for _ in range(20):
            await ctx.send("sleeper", "quick", list(range(1000)))
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("chatty-pair") == []


def test_large_payload_reports_size_and_copy_cost(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for _ in range(3):
            await ctx.send("sleeper", "quick", "x" * 300_000)
            await asyncio.sleep(0.05)  # the first one shows the copy, the next are timed
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("large-payload")
    assert (finding.plugin, finding.type) == ("sleeper", "quick")
    assert "payload up to 293 KiB" in finding.evidence
    assert "response up to 293 KiB" in finding.evidence
    assert "copying one in cost" in finding.evidence


def test_small_payloads_are_not_large(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        await ctx.send("sleeper", "quick", "x" * 200_000)
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("large-payload") == []


FLAKY = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("parse")
    def parse(self, message):
        if message.payload % {every} == 0:
            raise ValueError("not a number: " + str(message.payload))  # the failing line
        return message.payload
"""


def test_error_rate_names_the_error_and_its_line(workspace):
    folder = workspace.plugin("flaky", FLAKY.format(every=5))
    workspace.plugin("driver", driver("""
        for i in range(1, 101):
            try:
                await ctx.send("flaky", "parse", i)
            except PluginError:
                pass
    """), permissions=["send:flaky:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("error-rate")
    file, line = line_of(folder, "# the failing line")
    assert (finding.plugin, finding.type) == ("flaky", "parse")
    assert "failed 20 of 100 calls (20%)" in finding.evidence
    assert "ValueError: not a number" in finding.evidence
    assert finding.location == f"{file}:{line}"


def test_a_rare_error_is_under_the_error_rate(workspace):
    workspace.plugin("flaky", FLAKY.format(every=50))
    workspace.plugin("driver", driver("""
        for i in range(1, 101):
            try:
                await ctx.send("flaky", "parse", i)
            except PluginError:
                pass
    """), permissions=["send:flaky:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("error-rate") == []


HOLDER = """
import threading
from logomesh_studio.sdk import Plugin


class TestPlugin(Plugin):
    def initialize(self, ctx):
        self.ctx = ctx
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll, name="poller", daemon=True)
        self.thread.start()

    def poll(self):
        self.stop.wait()  # keeps self alive until stopped

    def cleanup(self):
        {cleanup}
"""


def test_reload_leak_names_the_thread_holding_the_old_instance(workspace):
    folder = workspace.plugin("holder", HOLDER.format(cleanup="pass"))
    with observing(workspace.root, AdvisorSettings(reload_grace_s=0)) as seen:
        assert seen.reload("holder")
        [finding] = seen.findings("reload-leak")
        seen.runtime.host.instance("holder").stop.set()
    file, line = line_of(folder, "self.stop.wait()")
    assert finding.plugin == "holder"
    assert "the old TestPlugin instance is still alive" in finding.evidence
    assert "thread 'poller' (running TestPlugin.poll() at line" in finding.evidence
    assert finding.location == f"{file}:{line}"


def test_a_plugin_that_stops_its_thread_does_not_leak(workspace):
    workspace.plugin("holder", HOLDER.format(cleanup="self.stop.set(); self.thread.join()"))
    with observing(workspace.root, AdvisorSettings(reload_grace_s=0)) as seen:
        assert seen.reload("holder")
        assert seen.findings("reload-leak") == []


def test_unused_permission_is_reported_once_the_plugin_sent_enough(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for i in range(30):
            await ctx.send("sleeper", "quick", i)
    """), permissions=["send:sleeper:quick", "send:archive:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("unused-permission")
    assert finding.plugin == "driver"
    assert "'send:archive:*' allowed none of the 30 calls" in finding.evidence


def test_used_permissions_are_not_reported(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        for i in range(30):
            await ctx.send("sleeper", "quick", i)
    """), permissions=["send:sleeper:*"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("unused-permission") == []


DENIED = """
    from logomesh_studio.sdk import PermissionDenied
    for i in range(3):
        try:
            await ctx.send("sleeper", "quick", i)
        except PermissionDenied:
            pass
"""


def test_denied_permission_names_the_missing_permission(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver(DENIED), permissions=[])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        [finding] = seen.findings("denied-permission")
    assert finding.plugin == "driver"
    assert "3 calls refused for lack of 'send:sleeper:quick'" in finding.evidence
    assert "'send:sleeper:quick'" in finding.suggestion


def test_a_granted_call_is_not_denied(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver(DENIED), permissions=["send:sleeper:quick"])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.findings("denied-permission") == []


def test_findings_are_published_as_events(workspace):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver(DENIED), permissions=[])
    with observing(workspace.root) as seen:
        seen.wait_driven()
        assert seen.advice.wait(10)
    assert [f.kind for f in seen.advised] == ["denied-permission"]


@pytest.mark.parametrize("kind", ["blocking-handler", "slow-handler"])
def test_thresholds_are_settings(workspace, kind):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver("""
        await ctx.send("sleeper", "work")
    """), permissions=["send:sleeper:*"])
    settings = AdvisorSettings(blocking_ms=1000, slow_p95_ms=1000)
    with observing(workspace.root, settings) as seen:
        seen.wait_driven()
        assert seen.findings(kind) == []


def test_advise_prints_each_finding_and_exits_zero(workspace, capsys):
    workspace.plugin("sleeper", SLEEPER)
    workspace.plugin("driver", driver(DENIED), permissions=[])
    assert main(["advise", str(workspace.root), "--for", "1"]) == 0
    out = capsys.readouterr().out
    assert "ERROR   denied-permission [driver]" in out
    assert "fix: add 'send:sleeper:quick' to permissions" in out
    assert out.rstrip().endswith("1 finding")


def test_the_example_workspace_has_no_findings_after_ten_seconds(capsys):
    assert main(["advise", str(example_workspace()), "--for", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
