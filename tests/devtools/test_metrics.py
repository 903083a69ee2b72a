"""Per-plugin metrics: the histogram, what a run counts, and ``logomesh-studio metrics``."""

from __future__ import annotations

import json
import random

from logomesh_studio.cli import main
from logomesh_studio.devtools.insights import Insights
from logomesh_studio.devtools.metrics import Histogram
from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.runtime.senders import DEVELOPER
from tests.advisor_plugins import driver

SERVER = """
from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("echo")
    def echo(self, message):
        return {"echo": message.payload}

    @handler("fail")
    def fail(self, message):
        raise KeyError(message.payload)

    @handler("burn")
    def burn(self, message):
        return sum(i * i for i in range(message.payload))
"""


def test_histogram_quantiles_are_within_a_bucket_of_the_exact_ones():
    rng = random.Random(7)
    values = [rng.lognormvariate(-7, 1.5) for _ in range(20_000)]
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    values.sort()
    for q, estimate in zip((0.5, 0.95, 0.99), histogram.quantiles(0.5, 0.95, 0.99),
                           strict=True):
        exact = values[int(q * len(values))]
        assert abs(estimate - exact) / exact < 0.16, (q, estimate, exact)
    assert histogram.total == 20_000 and histogram.max == values[-1]


def test_merged_histograms_count_both():
    a, b = Histogram(), Histogram()
    for _ in range(90):
        a.add(0.001)
    for _ in range(10):
        b.add(1.0)
    merged = Histogram.merged([a, b])
    assert merged.total == 100
    assert merged.quantile(0.5) < 0.0012 and merged.quantile(0.95) > 0.9


def test_metrics_json_has_each_type_of_each_plugin(workspace, capsys):
    workspace.plugin("server", SERVER)
    workspace.plugin("driver", driver("""
        for i in range(40):
            await ctx.send("server", "echo", "abcdefgh")
        for i in range(10):
            try:
                await ctx.send("server", "fail", i)
            except PluginError:
                pass
    """), permissions=["send:server:*"])
    assert main(["metrics", str(workspace.root), "--for", "1.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    server = next(p for p in data["plugins"] if p["plugin"] == "server")
    types = {t["type"]: t for t in server["types"]}
    echo, fail = types["echo"], types["fail"]
    assert (echo["calls"], echo["errors"]) == (40, 0)
    assert echo["payload_bytes"] == 40 * len('"abcdefgh"')
    assert echo["response_bytes"] == 40 * len('{"echo":"abcdefgh"}')
    assert 0 < echo["p50"] <= echo["p95"] <= echo["p99"] <= echo["max"]
    assert (fail["calls"], fail["errors"]) == (10, 10)
    assert (server["calls"], server["errors"]) == (50, 10)
    driver_row = next(p for p in data["plugins"] if p["plugin"] == "driver")
    assert driver_row["sent"] == 50 and driver_row["calls"] == 0
    [pair] = [p for p in data["pairs"] if p["source"] == "driver"]
    assert (pair["target"], pair["calls"]) == ("server", 50)


def test_metrics_table_lists_plugins_and_types(workspace, capsys):
    workspace.plugin("server", SERVER)
    workspace.plugin("driver", driver("""
        await ctx.send("server", "echo", 1)
    """), permissions=["send:server:*"])
    assert main(["metrics", str(workspace.root), "--for", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "p95" in out.splitlines()[0]
    assert any(line.startswith("server ") for line in out.splitlines())
    assert any(line.strip().startswith("echo ") for line in out.splitlines())


def test_loop_time_and_memory_are_charged_to_the_plugin(workspace):
    workspace.plugin("server", SERVER)
    runtime = RuntimeThread(workspace.root)
    runtime.host.bus.grant(DEVELOPER, ["send:server"])
    insights = Insights(runtime, cpu_interval=0.005)
    runtime.start()
    insights.start()
    try:
        for _ in range(5):  # long enough (~0.2 s or more) that however fast the machine,
            # the sampled loop time is well over the bound below
            runtime.run(runtime.host.bus.send(DEVELOPER, "server", "burn", 1_000_000))
        insights.metrics.trace_memory(True)  # after the burns: tracing slows them 100-fold
        runtime.run(runtime.host.bus.send(DEVELOPER, "server", "echo", list(range(1000))))

        async def read():
            return insights.snapshot()

        snapshot = runtime.run(read())
    finally:
        insights.close()
        runtime.stop()
    server = snapshot.plugin("server")
    assert server is not None
    [burn] = [t for t in server.types if t.type == "burn"]
    assert burn.held_s > 0.05 and server.held_s >= burn.held_s
    assert server.memory_bytes is not None


def test_a_truncated_record_keeps_the_full_response_size(workspace):
    workspace.plugin("server", SERVER)
    runtime = RuntimeThread(workspace.root)
    runtime.host.bus.grant(DEVELOPER, ["send:server"])
    runtime.start()
    try:
        runtime.run(runtime.host.bus.send(DEVELOPER, "server", "echo", "x" * 100_000))
        record = runtime.host.bus.history[-1]
    finally:
        runtime.stop()
    assert record.truncated
    assert record.size == 100_002
    assert record.response_size == len('{"echo":}') + 100_002
