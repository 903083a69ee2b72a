"""Tracebacks trimmed to a plugin's own frames, with the file:line to show the author."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PluginTraceback:
    """An error in plugin code: summary line, trimmed traceback, and where it happened."""

    error: str
    text: str
    path: str = ""
    line: int = 0


def _under(filename: str, folder: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def plugin_traceback(exc: BaseException, folder: Path) -> PluginTraceback:
    """Format ``exc`` keeping only frames in files under ``folder``.

    A SyntaxError has no frame in the plugin (the compiler raised it), so its own
    filename and line are used as the location.
    """
    folder = folder.resolve()
    te = traceback.TracebackException.from_exception(exc)
    frames = [f for f in te.stack if _under(f.filename, folder)]
    path, line = "", 0
    if frames:
        path, line = frames[-1].filename, frames[-1].lineno or 0
    if isinstance(exc, SyntaxError) and exc.filename and _under(exc.filename, folder):
        path, line = exc.filename, exc.lineno or 0
    te.stack = traceback.StackSummary.from_list(frames)
    text = "".join(te.format())
    summary = "".join(te.format_exception_only()).strip().splitlines()[-1]
    if path:
        summary = f"{summary} ({path}:{line})"
    return PluginTraceback(summary, text, path, line)
