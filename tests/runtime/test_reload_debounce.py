"""Save-aware debouncing: completed saves reload at once, bursts reload at most twice."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from logomesh_studio.runtime.debounce import CLOSED, GONE, SAVED, WRITE, Batch, SaveDebouncer
from logomesh_studio.runtime.events import ReloadFailed, ReloadStarted
from logomesh_studio.runtime.reload import SILENT_RETRIES, Reloader
from tests.runtime.reloading import code, completed, failed, module_file, reloads, save, settle


class Recorder:
    """An ``apply`` for SaveDebouncer that records batches; ``gate`` holds one open."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.applied = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.result: bool | None = None  # what apply returns (False: changed nothing)

    async def __call__(self, batch: Batch) -> bool | None:
        self.batches.append(batch)
        if self.gate is not None:
            await self.gate.wait()
        self.applied.set()
        return self.result

    async def next_batch(self) -> Batch:
        await asyncio.wait_for(self.applied.wait(), 5)
        self.applied.clear()
        return self.batches[-1]


def post(debouncer: SaveDebouncer, path: str, kind: str) -> None:
    debouncer.post(tuple(path.split("/")), time.perf_counter(), kind)


def test_a_completed_save_does_not_wait_for_the_quiet_period():
    async def scenario() -> Batch:
        recorder = Recorder()
        debouncer = SaveDebouncer(recorder, settle=0.001, quiet=60)
        post(debouncer, "alpha/pkg/__init__.py", WRITE)
        post(debouncer, "alpha/pkg/__init__.py", CLOSED)
        return await recorder.next_batch()  # 60 s of quiet would time this out

    batch = asyncio.run(scenario())
    assert batch.paths == {"alpha": ["alpha/pkg/__init__.py"]}


def test_without_close_events_a_quiet_period_ends_the_batch():
    async def scenario() -> Batch:
        recorder = Recorder()
        debouncer = SaveDebouncer(recorder, settle=60, quiet=0.01)
        post(debouncer, "alpha/pkg/__init__.py", WRITE)
        return await recorder.next_batch()

    assert list(asyncio.run(scenario()).paths) == ["alpha"]


def test_a_rename_onto_the_file_is_a_completed_save_and_names_it():
    async def scenario() -> Batch:
        recorder = Recorder()
        debouncer = SaveDebouncer(recorder, settle=0.001, quiet=60)
        post(debouncer, "alpha/sedTXFW0D", WRITE)
        post(debouncer, "alpha/sedTXFW0D", GONE)
        post(debouncer, "alpha/mod.py", SAVED)
        return await recorder.next_batch()

    batch = asyncio.run(scenario())
    assert batch.cause("alpha", lambda path: path == "alpha/mod.py") == "alpha/mod.py"


def test_a_save_waits_for_an_event_the_observer_saw_that_is_not_on_the_loop_yet():
    async def scenario() -> tuple[int, Batch]:
        recorder = Recorder()
        debouncer = SaveDebouncer(recorder, settle=0.001, quiet=60)
        seen = time.perf_counter()
        debouncer.observed["alpha"] = seen + 1e-6  # the rename after the close, in flight
        debouncer.post(("alpha", "sedTXFW0D"), seen, CLOSED)
        await asyncio.sleep(0.05)  # 50 settle times
        fired_early = len(recorder.batches)
        debouncer.post(("alpha", "sedTXFW0D"), seen + 1e-6, GONE)
        debouncer.post(("alpha", "mod.py"), seen + 1e-6, SAVED)
        return fired_early, await recorder.next_batch()

    fired_early, batch = asyncio.run(scenario())
    assert fired_early == 0
    assert batch.paths == {"alpha": ["alpha/sedTXFW0D", "alpha/mod.py"]}


def test_a_batch_taken_before_the_renames_event_arrived_names_the_saved_file(tmp_path):
    # Under load the batch can fire on the temporary file's close while the editor's
    # rename onto the real file has happened on disk but its event is still queued.
    package = tmp_path / "alpha" / "alpha"
    package.mkdir(parents=True)
    (package / "helper.py").write_text("x = 1\n")
    os.utime(package / "helper.py", ns=(1, 1))
    (package / "sedTXFW0D").write_text("y = 2\n")
    os.replace(package / "sedTXFW0D", package / "__init__.py")
    temp = "alpha/alpha/sedTXFW0D"  # closed after writing: the batch's saved file
    batch = Batch(paths={"alpha": [temp]}, saved={"alpha": temp})
    assert Reloader._cause(batch, "alpha", tmp_path) == "alpha/alpha/__init__.py"


def test_events_during_a_batch_form_one_trailing_batch():
    async def scenario() -> list[Batch]:
        recorder = Recorder()
        recorder.gate = asyncio.Event()
        debouncer = SaveDebouncer(recorder, settle=0.001, quiet=60, burst_quiet=0.02)
        post(debouncer, "alpha/a.py", CLOSED)
        while not recorder.batches:  # the leading batch started
            await asyncio.sleep(0)
        for i in range(20):
            post(debouncer, f"beta/b{i}.py", WRITE)
            post(debouncer, f"beta/b{i}.py", CLOSED)
            assert debouncer.changing("beta")
        recorder.gate.set()
        await recorder.next_batch()
        await recorder.next_batch()
        await debouncer.close()
        return recorder.batches

    leading, trailing = asyncio.run(scenario())
    assert list(leading.paths) == ["alpha"]
    assert list(trailing.paths) == ["beta"] and len(trailing.paths["beta"]) == 20


def test_a_save_right_after_a_batch_that_changed_nothing_is_not_held_as_a_burst():
    async def scenario() -> Batch:
        recorder = Recorder()
        recorder.result = False  # e.g. only an editor's temporary file was closed
        debouncer = SaveDebouncer(recorder, settle=0.001, quiet=60, burst_quiet=60)
        post(debouncer, "alpha/sedTXFW0D", CLOSED)
        await recorder.next_batch()
        for _ in range(3):  # the batch task ends and its done callback runs
            await asyncio.sleep(0)
        post(debouncer, "alpha/mod.py", SAVED)
        return await recorder.next_batch()  # 60 s of burst quiet would time this out

    assert asyncio.run(scenario()).paths == {"alpha": ["alpha/mod.py"]}


BURST_PLUGIN = """
from logomesh_studio.sdk import Plugin, handler
from . import {imports}

class TestPlugin(Plugin):
    @handler("version")
    def version(self, message):
        return [{values}]
"""
MODULES = 5


def burst_plugin(workspace, plugin_id: str, version: str):
    folder = workspace.plugin(plugin_id, BURST_PLUGIN.format(
        imports=", ".join(f"m{i}" for i in range(MODULES)),
        values=", ".join(f"m{i}.VALUE" for i in range(MODULES))))
    package = folder / workspace.package_name(plugin_id)
    for i in range(MODULES):
        (package / f"m{i}.py").write_text(f"VALUE = {version!r}\n")
    return package


def test_burst_across_plugins_reloads_each_at_most_twice_and_ends_on_final_content(
        workspace, watched):
    ids = [f"p{i:02d}" for i in range(10)]
    packages = [burst_plugin(workspace, pid, "v0") for pid in ids]
    workspace.plugin("sentinel")
    h = watched()
    for version in ("v1", "v2", "final"):  # like a checkout or a formatter: 150 writes
        for package in packages:
            for i in range(MODULES):
                (package / f"m{i}.py").write_text(f"VALUE = {version!r}\n")
    settle(h, workspace)
    for pid in ids:
        assert h.send(pid, "version") == ["final"] * MODULES
        assert 1 <= len(reloads(h, pid)) <= 2, pid
    assert [e for e in h.events if isinstance(e, ReloadFailed)] == []


def test_a_half_written_module_is_retried_not_reported(workspace, watched):
    folder = workspace.plugin("alpha", code("v1"))
    workspace.plugin("beta", code("b1"))
    package = folder / workspace.package_name("alpha")
    (package / "helpers.py").write_text("OLD = 1\n")
    h = watched()
    with open(package / "helpers.py", "w") as writer:  # still being written
        writer.write("def shout(text):\n")
        writer.flush()
        save(package / "__init__.py", code("v2") + "\nfrom .helpers import shout\n")
        save(module_file(workspace, "beta"), code("b2"))
        h.wait_for(completed("beta"))  # the batch that saw the half-written file is done
        writer.write("    return text.upper()\n")
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
    assert [e for e in h.events if isinstance(e, ReloadFailed)] == []


def test_a_broken_edit_is_reported_even_while_the_plugin_keeps_writing_its_folder(
        workspace, watched):
    # A plugin writing a file in its own folder keeps that folder "being written": its
    # broken edit may be retried quietly a few times, but not for ever.
    folder = workspace.plugin("alpha", code("v1"))
    h = watched()
    with open(folder / "log.txt", "w") as writer:  # written, never closed
        writer.write("start\n")
        writer.flush()
        save(module_file(workspace, "alpha"), "this is not python\n")
        for attempt in range(SILENT_RETRIES + 3):
            mark = h.mark()
            try:
                event = h.wait_for(lambda e: isinstance(e, (ReloadStarted, ReloadFailed))
                                   and e.plugin_id == "alpha", after=mark)
            except TimeoutError:
                break
            if isinstance(event, ReloadFailed):
                break
            writer.write(f"line {attempt}\n")
            writer.flush()
        failure = h.wait_for(failed("alpha"), timeout=5)
    assert failure.stage == "import"
    assert h.send("alpha", "version") == "v1"  # the old version still serves


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_plugin_folder_does_not_block_reloading(workspace, watched):
    folder = workspace.plugin("alpha", code("v1"))
    os.mkfifo(folder / "pipe.txt")
    h = watched()
    save(module_file(workspace, "alpha"), code("v2"))
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
