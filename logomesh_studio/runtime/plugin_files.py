"""A plugin folder's files as hot reload sees them: a content hash, cached bytecode."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import stat
import sys
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from logomesh_studio.runtime.watcher import is_ignored


@functools.lru_cache(maxsize=65536)
def real_prefix(folder: Path | str) -> str:
    """``folder`` resolved, with a trailing separator: what the files under it start
    with. Cached (resolving walks every path component with a syscall each, several
    times per plugin per load or reload); a folder is not expected to be re-pointed
    while the runtime runs."""
    return os.path.join(os.path.realpath(folder), "")


def is_under(filename: str, folder: Path | str) -> bool:
    """True if the file ``filename`` lives under ``folder`` (following symlinks)."""
    prefix = real_prefix(folder)
    return filename.startswith(prefix) or os.path.realpath(filename).startswith(prefix)


HASHED_SUFFIXES = (".py", ".toml", ".json", ".yaml", ".yml", ".cfg", ".ini", ".txt")
SKIPPED_SUBDIRS = ("tests",)

_StatKey = tuple[int, int, int, int]
"""A file's inode, size, mtime and ctime (ns): equal for a file not written since."""


class ContentHasher:
    """Hashes of plugin folders' code and data files (not their tests): equal means no
    change. Only files that may have changed are read again. Every write is followed
    by an event that names the file, so when events named only files, only those are
    read (a file written meanwhile has its own event coming, and a batch of its own).
    Otherwise (the first hash, a folder named) the folder is walked, and files whose
    inode, size or times differ from the last hash are read too. (A stat alone cannot
    prove a file unchanged: file times are coarse, a few ms on ext4, so a same-size
    rewrite can keep them.)"""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, tuple[_StatKey, bytes]]] = {}
        """Folder -> relative path ('pkg/mod.py') -> its stat key and content digest."""

    def digest(self, folder: Path, changed: Collection[str] | None = None) -> str:
        """The hash of ``folder``'s files. ``changed``: paths relative to ``folder``
        (with '/') that file events named since the last hash; None reads every file.
        When events named only files, the folder is not walked: those files are read
        (or found gone) and the rest keep their digests."""
        key = str(folder)
        known = self._files.get(key)
        if changed and known is not None:
            files = _updated(key, known, changed)
            if files is not None:
                return _total(files)
        known = {} if changed is None or known is None else known
        files = {}
        for relative, path, st in hashed_files(key):
            stat_key = _stat_key(st)
            cached = known.get(relative)
            if cached is not None and cached[0] == stat_key and (
                    changed is None or relative not in changed):
                files[relative] = cached
            else:
                files[relative] = (stat_key, _file_digest(path))
        self._files[key] = files
        return _total(files)

    def written_since(self, folder: Path) -> bool:
        """True if ``folder``'s files differ on disk from its last hash (by stat: a file
        written, added or removed since), e.g. while a reload read them."""
        files = self._files.get(str(folder))
        if files is None:
            return False
        count = 0
        for relative, _, st in hashed_files(str(folder)):
            known = files.get(relative)
            if known is None or known[0] != _stat_key(st):
                return True
            count += 1
        return count != len(files)

    def file_digests(self, folder: Path, names: Iterable[str]) -> tuple[bytes | None, ...]:
        """The digests of ``names`` (relative paths) at ``folder``'s last hash (None: no
        such file then)."""
        files = self._files.get(str(folder), {})
        return tuple(files[n][1] if n in files else None for n in names)

    def forget(self, folder: Path) -> None:
        """Drop what is remembered of ``folder`` (a plugin removed or moved away)."""
        self._files.pop(str(folder), None)


def _updated(folder: str, files: dict[str, tuple[_StatKey, bytes]],
             changed: Collection[str]) -> dict[str, tuple[_StatKey, bytes]] | None:
    """``files`` with the named files read again, added or dropped, in place; None if a
    name is a folder (made, moved in or out: its files need the walk)."""
    for relative in changed:
        path = os.path.join(folder, relative)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            files.pop(relative, None)
            continue
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        if stat.S_ISREG(st.st_mode) and _is_hashed(relative):
            files[relative] = (_stat_key(st), _file_digest(path))
        else:  # an editor's temporary file, a FIFO, a symlink: not part of the hash
            files.pop(relative, None)
    return files


def _is_hashed(relative: str) -> bool:
    """True if a file at ``relative`` (a path in a plugin folder) is one that
    :func:`hashed_files` lists."""
    *folders, name = relative.split("/")
    return _hashed_name(name) and not any(
        _skipped_folder(folder, top=index == 0) for index, folder in enumerate(folders))


def _hashed_name(name: str) -> bool:
    """True for a file name whose file is part of a plugin's hash."""
    return name.endswith(HASHED_SUFFIXES) and not is_ignored((name,))


def _skipped_folder(name: str, top: bool) -> bool:
    """True for a folder whose files are not part of a plugin's hash (``top``: right in
    the plugin's folder)."""
    return is_ignored((name, "")) or (top and name in SKIPPED_SUBDIRS)


def _file_digest(path: str) -> bytes:
    data = _read_regular(path)
    return b"" if data is None else hashlib.blake2b(data, digest_size=16).digest()


def _total(files: dict[str, tuple[_StatKey, bytes]]) -> str:
    total = hashlib.blake2b(digest_size=16)
    for relative in sorted(files):
        total.update(relative.encode())
        total.update(b"\0")
        total.update(files[relative][1])
    return total.hexdigest()


def _stat_key(st: os.stat_result) -> _StatKey:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def hashed_files(folder: Path | str) -> Iterator[tuple[str, str, os.stat_result]]:
    """``(relative path, path, stat)`` of each of a plugin's code and data files (not its
    tests, not editors' temporary files), in a stable order: what hot reload watches
    for changes."""
    stack = [("", str(folder))]
    while stack:
        rel_dir, directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():  # a symlink to a folder is not followed (os.walk's rule)
                    if not (entry.is_symlink() or _skipped_folder(name, not rel_dir)):
                        subdirs.append((f"{rel_dir}{name}/", entry.path))
                    continue
                if not _hashed_name(name):
                    continue
                st = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield f"{rel_dir}{name}", entry.path, st
        stack.extend(reversed(subdirs))


def newest_file(folder: Path) -> Path | None:
    """The most recently modified of :func:`hashed_files` (None if there is none)."""
    newest: tuple[int, str] | None = None
    for _, path, st in hashed_files(folder):
        if newest is None or st.st_mtime_ns > newest[0]:
            newest = (st.st_mtime_ns, path)
    return None if newest is None else Path(newest[1])


def _read_regular(path: str) -> bytes | None:
    """The bytes of ``path`` if it is a regular file; None for a FIFO, a device, a socket
    or an unreadable file (opening a FIFO for a blocking read waits for a writer forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            return handle.read()
        except OSError:
            return None


def drop_bytecode(folder: Path, only: Collection[str] | None = None) -> None:
    """Delete cached bytecode under ``folder``: a same-size rewrite within the same
    second would otherwise pass the mtime+size check and run the old code. ``only``:
    the paths (relative to ``folder``) that may have changed, as file events named
    them; None, or a folder among them, deletes every file's."""
    if only is not None and not any(
            not p.endswith(".py") and os.path.isdir(os.path.join(folder, p)) for p in only):
        for relative in only:
            if relative.endswith(".py"):
                _drop_cached(os.path.join(folder, relative))
        return
    for dirpath, dirnames, filenames in os.walk(folder):
        if os.path.basename(dirpath) == "__pycache__":
            for name in filenames:
                if name.endswith(".pyc"):
                    try:
                        os.unlink(os.path.join(dirpath, name))
                    except OSError:
                        pass
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules")]


def _drop_cached(source: str) -> None:
    """Delete ``source``'s cached bytecode, at every optimization level."""
    for cached in bytecode_files(source):
        try:
            os.unlink(cached)
        except OSError:  # none cached
            pass


def bytecode_files(source: str) -> tuple[str, ...]:
    """Where ``source``'s bytecode may be cached, at optimization levels 0, 1 and 2 (so
    ``[sys.flags.optimize]`` is this interpreter's ``__cached__``); none without a cache
    tag. Computed once per file and ``sys.pycache_prefix``, not at every reload."""
    return _bytecode_files(source, sys.pycache_prefix)


@functools.lru_cache(maxsize=4096)
def _bytecode_files(source: str, prefix: str | None) -> tuple[str, ...]:
    try:
        return tuple(importlib.util.cache_from_source(source, optimization=level)
                     for level in ("", 1, 2))
    except NotImplementedError:  # no cache tag on this interpreter
        return ()
