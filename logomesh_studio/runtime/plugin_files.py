"""A plugin folder's files as hot reload sees them: a content hash, cached bytecode."""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from collections.abc import Iterator
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


def hashed_files(folder: Path) -> Iterator[tuple[str, str]]:
    """``(rel_dir, path)`` of each of a plugin's code and data files (not its tests, not
    editors' temporary files), in a stable order: what hot reload watches for changes."""
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = os.path.relpath(dirpath, folder)
        dirnames[:] = sorted(d for d in dirnames if not (
            is_ignored((d, "")) or (rel_dir == "." and d in SKIPPED_SUBDIRS)))
        for name in sorted(filenames):
            if name.endswith(HASHED_SUFFIXES) and not is_ignored((name,)):
                yield rel_dir, os.path.join(dirpath, name)


def content_hash(folder: Path) -> str:
    """Hash of a plugin's code and data files (not its tests): equal means no change."""
    digest = hashlib.blake2b(digest_size=16)
    for rel_dir, path in hashed_files(folder):
        data = _read_regular(path)
        if data is None:
            continue
        digest.update(f"{rel_dir}/{os.path.basename(path)}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def newest_file(folder: Path) -> Path | None:
    """The most recently modified of :func:`hashed_files` (None if there is none)."""
    newest: tuple[int, str] | None = None
    for _, path in hashed_files(folder):
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:  # removed meanwhile
            continue
        if newest is None or mtime > newest[0]:
            newest = (mtime, path)
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


def drop_bytecode(folder: Path) -> None:
    """Delete cached bytecode under ``folder``: a same-size rewrite within the same
    second would otherwise pass the mtime+size check and run the old code."""
    for dirpath, dirnames, filenames in os.walk(folder):
        if os.path.basename(dirpath) == "__pycache__":
            for name in filenames:
                if name.endswith(".pyc"):
                    try:
                        os.unlink(os.path.join(dirpath, name))
                    except OSError:
                        pass
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules")]
