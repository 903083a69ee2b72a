"""Tests for the sampling profiler, its speedscope I/O and the per-plugin tools."""

from __future__ import annotations

import asyncio
import json
import selectors
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from logomesh_studio.devtools.profiler import (
    Frame,
    MemorySnapshot,
    Profile,
    Profiler,
    Sample,
    count_calls,
    record_thread,
    trace_memory,
)
from tests.conftest import import_file

DATA = Path(__file__).resolve().parent.parent / "data"

SPIN_SOURCE = """
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""

# About 65 ns per iteration on the development machine: 1,000,000 is ~65 ms.
UNIT = 1_000_000


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def _hot() -> int:
    return _spin(4 * UNIT)


def _cold() -> int:
    return _spin(UNIT // 2)


def _load(path: Path, source: str):
    """Write ``source`` to ``path`` and import it as a module of its own."""
    return import_file(path, source)


@pytest.fixture
def plugins(tmp_path: Path):
    """Two plugin folders, each with a module whose ``work(n)`` spins n times."""
    alpha = _load(tmp_path / "alpha" / "alpha_plugin.py", SPIN_SOURCE)
    beta = _load(tmp_path / "beta" / "beta_plugin.py", SPIN_SOURCE)
    roots = {"alpha": str(tmp_path / "alpha"), "beta": str(tmp_path / "beta")}
    return alpha, beta, roots


def _by_name(profile: Profile) -> dict[str, object]:
    return {f.name: f for f in profile.functions()}


def _recorded_profile() -> Profile:
    with Profiler(interval=0.001, switch_interval=0.001) as profiler:
        _hot()
        _cold()
    return profiler.profile


# --- sampling ---------------------------------------------------------------------


def test_hot_function_dominates_samples():
    with Profiler(interval=0.001) as profiler:
        _hot()
        _cold()
    functions = profiler.profile.functions()
    spin = _by_name(profiler.profile)["_spin"]
    hot, cold = _by_name(profiler.profile)["_hot"], _by_name(profiler.profile)["_cold"]

    assert functions[0].name == "_spin"
    assert spin.self_seconds > 0.8 * profiler.profile.total_seconds
    assert hot.total_seconds > 3 * cold.total_seconds
    assert hot.samples > cold.samples


def test_sample_weights_add_up_to_the_elapsed_time():
    with Profiler(interval=0.001) as profiler:
        _spin(3 * UNIT)
    profile = profiler.profile

    assert len(profile.samples) > 5
    assert profile.total_seconds == pytest.approx(profile.duration, abs=0.03)
    assert profile.sample_rate == pytest.approx(len(profile.samples) / profile.duration)


def test_switch_interval_is_lowered_while_profiling_and_restored_after():
    original = sys.getswitchinterval()
    with Profiler(switch_interval=0.0005):
        during = sys.getswitchinterval()
    assert during == pytest.approx(0.0005)
    assert sys.getswitchinterval() == original


def test_cpu_clock_weights_samples_by_the_target_threads_cpu_time():
    with Profiler(interval=0.001, clock="cpu") as profiler:
        cpu_start = time.thread_time()
        _spin(3 * UNIT)
        threading.Event().wait(0.2)  # idle part of the workload: no CPU time
        cpu_used = time.thread_time() - cpu_start
    profile = profiler.profile

    assert profile.clock == "cpu"
    assert profile.total_seconds == pytest.approx(cpu_used, rel=0.3, abs=0.02)
    assert profile.total_seconds < profile.duration - 0.15


def test_profiler_refuses_an_unknown_clock():
    with pytest.raises(ValueError, match="clock"):
        Profiler(clock="gpu")  # type: ignore[arg-type]


# --- idle ----------------------------------------------------------------------------


def _block_in_selector(ready: threading.Event, stop: threading.Event) -> None:
    with selectors.DefaultSelector() as selector:
        ready.set()
        while not stop.is_set():
            selector.select(timeout=0.05)


def _block_in_asyncio(ready: threading.Event, stop: threading.Event) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        stopped = loop.create_future()
        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopped.set_result, None)),
            daemon=True,
        ).start()
        ready.set()
        await stopped

    asyncio.run(main())


def _block_in_event_wait(ready: threading.Event, stop: threading.Event) -> None:
    ready.set()
    stop.wait()


@pytest.fixture
def blocked_thread(request) -> Iterator[threading.Thread]:
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=request.param, args=(ready, stop), daemon=True)
    thread.start()
    assert ready.wait(5)
    yield thread
    stop.set()
    thread.join(5)


@pytest.mark.parametrize(
    "blocked_thread",
    [_block_in_selector, _block_in_asyncio, _block_in_event_wait],
    indirect=True,
    ids=["selector", "asyncio", "event-wait"],
)
def test_thread_blocked_waiting_is_reported_as_idle(blocked_thread):
    profile = record_thread(blocked_thread.ident, duration=0.15, interval=0.001)
    top = profile.functions()[0]

    assert len(profile.samples) > 10
    assert top.name == "[idle]"
    assert profile.idle_seconds() > 0.9 * profile.total_seconds


def test_record_thread_returns_when_the_target_thread_ends():
    release = threading.Event()
    thread = threading.Thread(target=lambda: (release.wait(), _spin(UNIT)))
    thread.start()
    started = time.perf_counter()
    release.set()
    profile = record_thread(thread.ident, duration=30)
    thread.join()

    assert time.perf_counter() - started < 15
    assert "_spin" in _by_name(profile)


def test_record_thread_refuses_to_profile_its_own_thread():
    with pytest.raises(ValueError, match="calling thread"):
        record_thread(threading.get_ident(), duration=0.01)


# --- plugins and messages ----------------------------------------------------------


def test_plugin_seconds_follow_each_plugins_share_of_the_work(plugins):
    alpha, beta, roots = plugins
    with Profiler(interval=0.001, switch_interval=0.001, plugin_roots=roots) as profiler:
        for _ in range(40):
            alpha.work(3 * UNIT // 20)
            beta.work(UNIT // 20)
    seconds = profiler.profile.plugin_seconds()

    assert set(seconds) == {"alpha", "beta"}
    assert 2.0 < seconds["alpha"] / seconds["beta"] < 4.5
    assert sum(seconds.values()) > 0.8 * profiler.profile.total_seconds


def test_sample_is_charged_to_the_plugin_nearest_the_top_of_the_stack(tmp_path):
    alpha = _load(tmp_path / "alpha" / "outer.py", "def run(inner, n):\n    return inner(n)\n")
    beta = _load(tmp_path / "beta" / "inner.py", "def run(spin, n):\n    return spin(n)\n")
    library = _load(tmp_path / "lib" / "spin.py", SPIN_SOURCE)
    roots = {"alpha": tmp_path / "alpha", "beta": tmp_path / "beta"}
    with Profiler(interval=0.001, plugin_roots=roots) as profiler:
        alpha.run(lambda n: beta.run(library.work, n), 3 * UNIT)
    seconds = profiler.profile.plugin_seconds()

    assert seconds.get("alpha", 0.0) == 0.0
    assert seconds["beta"] > 0.9 * profiler.profile.total_seconds


def test_message_hook_tags_each_sample_with_the_message_being_handled():
    handling: list[str | None] = [None]
    with Profiler(interval=0.001, switch_interval=0.001, message_of=lambda: handling[0]) as p:
        for _ in range(10):
            handling[0] = "load"
            _spin(3 * UNIT // 20)
            handling[0] = "save"
            _spin(UNIT // 20)
        handling[0] = None
    seconds = p.profile.message_seconds()

    assert set(seconds) == {"load", "save"}
    assert seconds["load"] > seconds["save"]


# --- speedscope ---------------------------------------------------------------------


def test_round_trip_through_speedscope_keeps_self_and_total_times(tmp_path, plugins):
    alpha, beta, roots = plugins
    with Profiler(switch_interval=0.001, plugin_roots=roots) as profiler:
        alpha.work(2 * UNIT)
        beta.work(UNIT)
    original = profiler.profile
    path = tmp_path / "out.speedscope.json"
    original.save_speedscope(path)
    loaded = Profile.from_speedscope(path)

    def key(stats):
        return {(f.name, f.file, f.line): (f.self_seconds, f.total_seconds) for f in stats}

    before, after = key(original.functions()), key(loaded.functions())
    assert before.keys() == after.keys()
    for function, (self_seconds, total_seconds) in before.items():
        assert after[function] == pytest.approx((self_seconds, total_seconds), abs=1e-9)
    assert loaded.plugin_seconds() == pytest.approx(original.plugin_seconds())
    assert loaded.sample_rate == pytest.approx(original.sample_rate)


def test_speedscope_export_validates_against_the_published_schema():
    schema = json.loads((DATA / "speedscope.schema.json").read_text())
    document = json.loads(json.dumps(_recorded_profile().to_speedscope()))

    jsonschema.validate(document, schema)
    assert document["profiles"][0]["type"] == "sampled"


def test_pyinstrument_speedscope_file_loads(tmp_path):
    script = tmp_path / "workload.py"
    script.write_text(
        SPIN_SOURCE
        + "\ndef hot():\n    return work(3_000_000)\n"
        + "\ndef cold():\n    return work(500_000)\n"
        + "\nhot()\ncold()\n"
    )
    output = tmp_path / "workload.speedscope.json"
    subprocess.run(
        [sys.executable, "-m", "pyinstrument", "-r", "speedscope", "-o", str(output), str(script)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert json.loads(output.read_text())["profiles"][0]["type"] == "evented"

    profile = Profile.from_speedscope(output)
    ours = {f.name: f for f in profile.functions() if f.file == str(script)}

    assert ours["work"].self_seconds > 0.8 * ours["<module>"].total_seconds
    assert ours["hot"].total_seconds > 3 * ours["cold"].total_seconds


def _evented_document(events: list[dict]) -> dict:
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {
            "frames": [{"name": "a", "file": "a.py", "line": 1}, {"name": "b"}, {"name": "c"}]
        },
        "profiles": [
            {
                "type": "evented",
                "name": "hand-built",
                "unit": "milliseconds",
                "startValue": 0,
                "endValue": 10,
                "events": events,
            }
        ],
    }


def test_evented_profile_import_computes_self_and_total_times():
    events = [
        {"type": "O", "frame": 0, "at": 0},
        {"type": "O", "frame": 1, "at": 1},
        {"type": "O", "frame": 2, "at": 2},
        {"type": "C", "frame": 2, "at": 5},
        {"type": "C", "frame": 1, "at": 6},
        {"type": "O", "frame": 2, "at": 7},
        {"type": "C", "frame": 2, "at": 8},
        {"type": "C", "frame": 0, "at": 10},
    ]
    stats = {f.name: f for f in Profile.from_speedscope(_evented_document(events)).functions()}

    assert stats["a"].self_seconds == pytest.approx(0.004)
    assert stats["a"].total_seconds == pytest.approx(0.010)
    assert stats["b"].self_seconds == pytest.approx(0.002)
    assert stats["b"].total_seconds == pytest.approx(0.005)
    assert stats["c"].self_seconds == pytest.approx(0.004)
    assert (stats["a"].file, stats["a"].line) == ("a.py", 1)


def test_evented_profile_with_an_unbalanced_close_is_rejected():
    events = [{"type": "O", "frame": 0, "at": 0}, {"type": "C", "frame": 1, "at": 1}]
    with pytest.raises(ValueError, match=r"events\[1\] closes frame 1"):
        Profile.from_speedscope(_evented_document(events))


def test_sampled_import_picks_the_active_profile_and_converts_units():
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "activeProfileIndex": 1,
        "shared": {"frames": [{"name": "main"}, {"name": "worker"}]},
        "profiles": [
            {
                "type": "sampled",
                "name": "thread 1",
                "unit": "seconds",
                "startValue": 0,
                "endValue": 1,
                "samples": [[0]],
                "weights": [1],
            },
            {
                "type": "sampled",
                "name": "thread 2",
                "unit": "microseconds",
                "startValue": 0,
                "endValue": 3000,
                "samples": [[0, 1], [0, 1], [0]],
                "weights": [1000, 1000, 1000],
            },
        ],
    }
    active = Profile.from_speedscope(document)
    first = Profile.from_speedscope(document, index=0)

    assert active.name == "thread 2"
    assert _by_name(active)["worker"].self_seconds == pytest.approx(0.002)
    assert _by_name(active)["main"].total_seconds == pytest.approx(0.003)
    assert first.total_seconds == pytest.approx(1.0)


def test_non_speedscope_json_is_rejected_with_a_pointer_to_the_format():
    with pytest.raises(ValueError, match="not a speedscope file"):
        Profile.from_speedscope({"traceEvents": []})


# --- collapsed stacks -------------------------------------------------------------


def test_collapsed_output_has_one_line_per_stack_with_its_weight():
    profile = Profile(
        frames=[Frame("main", "app.py", 1), Frame("parse", "app.py", 10), Frame("[idle]")],
        samples=[
            Sample((0, 1), 0.002),
            Sample((0,), 0.001),
            Sample((0, 1), 0.003),
            Sample((0, 2), 0.004),
        ],
    )

    assert profile.to_collapsed() == (
        "main (app.py:1) 1000\n"
        "main (app.py:1);[idle] 4000\n"
        "main (app.py:1);parse (app.py:10) 5000\n"
    )
    assert profile.to_collapsed(unit="samples").splitlines()[-1] == (
        "main (app.py:1);parse (app.py:10) 2"
    )


# --- call counts and memory ------------------------------------------------------


def test_count_calls_counts_only_the_chosen_plugins_functions(tmp_path):
    fib = _load(
        tmp_path / "alpha" / "fib.py",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    )
    _load(tmp_path / "beta" / "other.py", "def unused():\n    pass\n")
    roots = {"alpha": tmp_path / "alpha", "beta": tmp_path / "beta"}

    stats = count_calls(lambda: [fib.fib(10) for _ in range(2)], roots=roots, plugin="alpha")

    assert [(s.plugin, s.name, s.calls, s.primitive_calls) for s in stats] == [
        ("alpha", "fib", 2 * 177, 2)
    ]


def test_memory_diff_charges_allocations_to_the_plugin_that_asked(tmp_path):
    library = _load(
        tmp_path / "lib" / "make.py", "def make(n):\n    return [str(i) * 3 for i in range(n)]\n"
    )
    source = "def allocate(make, n):\n    return make(n)\n"
    alpha = _load(tmp_path / "alpha" / "alloc_alpha.py", source)
    beta = _load(tmp_path / "beta" / "alloc_beta.py", source)
    roots = {"alpha": tmp_path / "alpha", "beta": tmp_path / "beta"}

    with trace_memory():
        before = MemorySnapshot.take()
        kept = (alpha.allocate(library.make, 10_000), beta.allocate(library.make, 1_000))
        after = MemorySnapshot.take()
    changes = after.compare_to(before, plugin_roots=roots)
    held = after.plugin_bytes(roots)

    assert len(kept[0]) == 10_000
    assert changes[0].plugin == "alpha"
    assert changes[0].file.endswith("alloc_alpha.py")
    assert changes[0].size_diff > 10_000 * 40
    assert held["alpha"] > 5 * held["beta"]


def test_memory_snapshot_needs_tracing_to_be_on():
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc was started outside this test")
    with pytest.raises(RuntimeError, match="trace_memory"):
        MemorySnapshot.take()


BUSY_PLUGIN = """
import json
import time

from logomesh_studio.sdk import Plugin, handler


class TestPlugin(Plugin):
    @handler("work")
    def work(self, message):
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            json.dumps({"n": list(range(50))})
        return "done"
"""


def test_plugin_code_only_folds_idle_runtime_and_library_frames_away(tmp_path):
    def frame(name: str, module) -> Frame:
        return Frame(name, module.__file__, 1)

    import logomesh_studio.runtime.bus as bus

    handler = Frame("work", str(tmp_path / "busy" / "busy.py"), 7)
    frames = [frame("_bootstrap", threading), frame("run_forever", asyncio.base_events),
              Frame("[idle]"), frame("send", bus), handler, frame("dumps", json),
              Frame("<module>", "<frozen runpy>", 1)]
    boot, loop, idle, send, work, dumps, frozen = range(len(frames))
    profile = Profile(frames, [Sample((boot, loop, idle), 5.0),
                               Sample((boot, loop, send, work), 0.001, "busy"),
                               Sample((boot, loop, send, work, dumps), 0.0003, "busy"),
                               Sample((frozen, boot, loop, send), 0.002)], duration=5.0)

    mine = profile.plugin_code_only()
    assert mine.samples == [Sample((work,), 0.001, "busy"), Sample((work,), 0.0003, "busy")]
    assert mine.frames == profile.frames and mine.duration == 5.0
    assert [(f.name, f.self_seconds) for f in mine.functions()] == [
        ("work", pytest.approx(0.0013))]
    assert mine.total_seconds == pytest.approx(0.0013)  # the whole chart, not a sliver
    assert len(profile.samples) == 4  # the recording itself is untouched


def test_plugin_code_only_of_a_quiet_workspace_is_the_plugins_own_time(workspace):
    from logomesh_studio.testing import PluginHarness

    folder = workspace.plugin("busy", BUSY_PLUGIN)
    with PluginHarness(workspace.root) as harness:
        ident = harness.runtime.thread.ident
        with Profiler(0.001, ident, plugin_roots={"busy": folder}) as profiler:
            for _ in range(3):
                assert harness.send("busy", "work") == "done"
                # Give the loop 20 ms with nothing to do: the idle time the view folds away.
                harness.runtime.run(asyncio.sleep(0.02))
        profile = profiler.profile

    assert profile.idle_seconds() > 0
    mine = profile.plugin_code_only()
    plugin_time = profile.plugin_seconds()["busy"]
    assert mine.total_seconds == pytest.approx(plugin_time)
    assert mine.idle_seconds() == 0
    shown = {profile.frames[i] for sample in mine.samples for i in sample.stack}
    assert {f.name for f in shown} == {"TestPlugin.work"}
    assert all(Path(f.file).is_relative_to(folder) for f in shown)


def test_plugin_code_only_of_a_recording_keeps_just_its_plugin_folders(tmp_path):
    folder = tmp_path / "ws" / "busy"
    frames = [Frame("drive", str(tmp_path / "scripts" / "drive.py"), 3),
              Frame("work", str(folder / "busy.py"), 7),
              Frame("feature_import", "shibokensupport/feature.py", 1)]
    samples = [Sample((0, 1), 0.002, "busy"), Sample((0,), 0.001), Sample((2, 0), 0.001)]
    recorded = Profile(frames, samples, plugin_roots={"busy": str(folder)})
    assert recorded.plugin_code_only().samples == [Sample((1,), 0.002, "busy")]
    # Without the folders (an imported file), code that is not a library's is kept.
    imported = Profile(frames, samples)
    assert [s.stack for s in imported.plugin_code_only().samples] == [(0, 1), (0,), (0,)]

    path = tmp_path / "busy.speedscope.json"
    recorded.save_speedscope(path)
    assert Profile.from_speedscope(path).plugin_roots == {"busy": str(folder)}


def test_a_recording_remembers_its_plugin_folders(plugins):
    alpha, _beta, roots = plugins
    with Profiler(interval=0.001, plugin_roots=roots) as profiler:
        alpha.work(UNIT // 4)
    assert profiler.profile.plugin_roots == roots
