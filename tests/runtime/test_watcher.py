"""File watching: inotify read on the runtime's loop (Linux), watchdog's observer elsewhere."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
from pathlib import Path

import pytest

from logomesh_studio.runtime import watcher as watcher_module
from logomesh_studio.runtime.debounce import CLOSED, GONE, SAVED, WRITE
from logomesh_studio.runtime.watcher import WorkspaceWatcher
from tests.runtime.reloading import code, completed, module_file, reloads, save, settle

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="inotify is Linux's")

Change = tuple[tuple[str, ...], str]


class Changes:
    """Collects what a WorkspaceWatcher posts; ``until`` waits for a change."""

    def __init__(self) -> None:
        self.seen: list[Change] = []
        self._arrived = asyncio.Event()

    def __call__(self, relative: tuple[str, ...], seen: float, kind: str) -> None:
        self.seen.append((relative, kind))
        self._arrived.set()

    async def until(self, change: Change) -> None:
        async def arrived() -> None:
            while change not in self.seen:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), 5)


def watching(root: Path, scenario) -> Changes:
    """Run ``scenario(changes)`` on a loop with a watcher started on ``root``."""
    changes = Changes()

    async def main() -> None:
        watcher = WorkspaceWatcher(root, asyncio.get_running_loop(), changes)
        await watcher.start()
        try:
            await scenario(changes)
        finally:
            await watcher.stop()
        seen = len(changes.seen)
        (root / "after.py").write_text("")
        watcher.drain()  # a reload still running may ask: nothing more is read
        watcher.follow("late", root)
        assert len(changes.seen) == seen

    asyncio.run(main())
    return changes


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "observer"])
def test_a_save_and_an_atomic_save_each_reload_once_with_either_watcher(
        workspace, watched, monkeypatch, inotify):
    if inotify and not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux's")
    monkeypatch.setattr(watcher_module, "USE_INOTIFY", inotify)
    workspace.plugin("alpha", code("v1"))
    workspace.plugin("sentinel")
    h = watched()
    path = module_file(workspace, "alpha")
    save(path, code("v2"))
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"
    mark = h.mark()
    temp = path.with_name("a8f3k2")  # an editor saving through a random name
    save(temp, code("v3"))
    os.replace(temp, path)
    assert h.wait_for(completed("alpha"), after=mark).cause.endswith("__init__.py")
    assert h.send("alpha", "version") == "v3"
    settle(h, workspace)
    assert len(reloads(h, "alpha")) == 2


@linux_only
def test_without_inotify_the_observer_watches_and_says_why(workspace, watched, monkeypatch,
                                                            caplog):
    from logomesh_studio.runtime import inotify_watch

    def refuse(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(inotify_watch, "INotify", refuse)
    workspace.plugin("alpha", code("v1"))
    with caplog.at_level(logging.WARNING, logger=watcher_module.__name__):
        h = watched()
    assert "inotify cannot be used" in caplog.text
    save(module_file(workspace, "alpha"), code("v2"))
    h.wait_for(completed("alpha"))
    assert h.send("alpha", "version") == "v2"


@linux_only
def test_folders_made_moved_and_removed_after_watching_start_are_followed(tmp_path):
    (tmp_path / "alpha").mkdir()

    async def scenario(changes: Changes) -> None:
        sub = tmp_path / "alpha" / "sub"
        sub.mkdir()
        await changes.until((("alpha", "sub"), SAVED))
        (sub / "mod.py").write_text("x = 1\n")  # watched at once: its events are seen
        await changes.until((("alpha", "sub", "mod.py"), CLOSED))
        sub.rename(tmp_path / "alpha" / "moved")
        await changes.until((("alpha", "moved"), SAVED))
        (tmp_path / "alpha" / "moved" / "mod.py").write_text("x = 2\n")
        await changes.until((("alpha", "moved", "mod.py"), CLOSED))
        (tmp_path / "alpha" / "moved" / "mod.py").unlink()
        await changes.until((("alpha", "moved", "mod.py"), GONE))
        (tmp_path / "alpha" / "moved").rmdir()
        await changes.until((("alpha", "moved"), GONE))
        (tmp_path / "alpha" / "__pycache__").mkdir()  # ignored, as are its files
        (tmp_path / "alpha" / "__pycache__" / "m.pyc").write_bytes(b"")
        (tmp_path / "alpha" / "last.py").write_text("")
        await changes.until((("alpha", "last.py"), CLOSED))

    changes = watching(tmp_path, scenario)
    assert (("alpha", "sub"), GONE) in changes.seen
    assert (("alpha", "sub", "mod.py"), WRITE) in changes.seen
    assert not [c for c in changes.seen if "__pycache__" in c[0]]


@linux_only
def test_events_lost_to_a_full_kernel_queue_are_recovered(tmp_path, caplog):
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 50_000:
        pytest.skip(f"the kernel queues {limit} events; too many to overflow in a test")
    (tmp_path / "alpha").mkdir()
    (tmp_path / "noise").mkdir()
    files = [tmp_path / "noise" / "a.txt", tmp_path / "noise" / "b.txt"]

    async def scenario(changes: Changes) -> None:
        # The loop is not reading while this runs: the kernel's queue fills up.
        (tmp_path / "alpha" / "new").mkdir()  # lost: never announced, never watched
        handles = [f.open("a") for f in files]
        for _ in range(limit // 2 + 100):  # alternating, so the kernel cannot merge them
            for handle in handles:
                handle.write("x")
                handle.flush()
        for handle in handles:
            handle.close()
        await changes.until((("alpha",), SAVED))  # every top folder is said to be saved
        (tmp_path / "alpha" / "new" / "mod.py").write_text("")  # and new folders watched
        await changes.until((("alpha", "new", "mod.py"), CLOSED))

    with caplog.at_level(logging.WARNING):
        changes = watching(tmp_path, scenario)
    assert (("noise",), SAVED) in changes.seen
    assert "some events were lost" in caplog.text


def test_a_plugin_folder_made_after_watching_started_reloads_its_edits(workspace, watched):
    workspace.plugin("sentinel")
    h = watched()
    mark = h.mark()
    workspace.plugin("late", code("v1"))
    h.wait_for(lambda e: e.kind == "plugin_loaded" and e.plugin_id == "late", after=mark)
    save(module_file(workspace, "late"), code("v2"))
    h.wait_for(completed("late"))
    assert h.send("late", "version") == "v2"
