"""Tests for the live per-plugin CPU meter behind the plugin tree's CPU column."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from logomesh_studio.devtools.cpu_meter import CpuMeter
from tests.conftest import import_file

TIMEOUT = 30.0

BUSY_SOURCE = """
import time


def work(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
"""


def _load(path: Path):
    """Write the busy-loop module to ``path`` and import it as a module of its own."""
    return import_file(path, BUSY_SOURCE)


@pytest.fixture
def plugins(tmp_path: Path):
    """Two plugin folders, each with a module whose ``work(s)`` busy-loops for s seconds."""
    alpha = _load(tmp_path / "alpha" / "alpha_plugin.py")
    beta = _load(tmp_path / "beta" / "beta_plugin.py")
    roots = {"alpha": str(tmp_path / "alpha"), "beta": str(tmp_path / "beta")}
    return alpha, beta, roots


@pytest.fixture
def worker() -> Iterator[ThreadPoolExecutor]:
    """One thread that runs what it is given and waits (idle) in between."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def _run(worker: ThreadPoolExecutor, job) -> None:
    worker.submit(job).result(TIMEOUT)


def _ident(worker: ThreadPoolExecutor) -> int:
    return worker.submit(threading.get_ident).result(TIMEOUT)


def test_busy_plugin_gets_the_larger_share(plugins, worker):
    alpha, beta, roots = plugins

    def mixed() -> None:  # 4:1 in long turns: a sample that waited for the GIL (a loaded
        # machine) charges its wait to the next turn, which long turns make a small error
        for _ in range(3):
            alpha.work(0.2)
            beta.work(0.05)

    with CpuMeter(_ident(worker), roots) as meter:
        _run(worker, mixed)
        shares = meter.shares(meter.history)
    assert shares["alpha"] > 2 * shares["beta"] > 0
    assert sum(shares.values()) <= 1.0 + 1e-9


def test_shares_cover_only_the_window(plugins, worker):
    alpha, beta, roots = plugins
    with CpuMeter(_ident(worker), roots) as meter:
        _run(worker, lambda: alpha.work(0.1))
        _run(worker, lambda: beta.work(0.5))
        recent = meter.shares(0.2)
        everything = meter.shares(meter.history)
    assert "alpha" not in recent and recent["beta"] > 0.5
    assert everything["alpha"] > 0


def test_waiting_thread_is_charged_to_nobody(plugins, worker):
    alpha, _, roots = plugins
    ran = threading.Event()
    release = threading.Event()

    def wait_in_plugin_thread() -> None:
        ran.set()
        release.wait(TIMEOUT)

    with CpuMeter(_ident(worker), roots) as meter:
        future = worker.submit(wait_in_plugin_thread)
        assert ran.wait(TIMEOUT)
        other = threading.Thread(target=alpha.work, args=(0.1,))
        other.start()  # busy in alpha, but on another thread
        other.join(TIMEOUT)
        release.set()
        future.result(TIMEOUT)
        shares = meter.shares(meter.history)
    assert shares == {}


def test_set_roots_charges_later_samples_to_the_new_plugins(plugins, worker):
    alpha, _, roots = plugins
    with CpuMeter(_ident(worker), {}) as meter:
        _run(worker, lambda: alpha.work(0.1))
        before = meter.shares(meter.history)
        meter.set_roots(roots)

        def work_until_sampled() -> None:  # a loaded machine may starve the sampler a while
            deadline = time.monotonic() + TIMEOUT
            while "alpha" not in meter.shares(meter.history) and time.monotonic() < deadline:
                alpha.work(0.05)

        _run(worker, work_until_sampled)
        after = meter.shares(meter.history)
    assert before == {}
    assert after["alpha"] > 0


def test_close_stops_the_sampling_thread(plugins, worker):
    _, _, roots = plugins
    meter = CpuMeter(_ident(worker), roots)
    assert meter.running
    meter.close()
    meter.close()
    assert not meter.running
    assert "logomesh-cpu-meter" not in {thread.name for thread in threading.enumerate()}


def test_meter_refuses_a_non_positive_interval(worker):
    with pytest.raises(ValueError, match="interval must be positive"):
        CpuMeter(_ident(worker), {}, interval=0)
