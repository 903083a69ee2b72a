"""Import plugins' entries in a child process, as the runtime would.

``logomesh-studio check`` uses :func:`check_imports` so that an entry class that does
not exist, a syntax error or a package name that collides with an already imported
module is reported before ``run``, while a plugin's import side effects (output,
``sys.exit``, ``os._exit``, a hang) stay in the child. The child imports through the
runtime's own :meth:`PluginHost.instantiate`, every plugin into one process in load
order, so it sees the failures and collisions the runtime would see.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from logomesh_studio._children import child_environment
from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.manifest import Manifest, Problem

IMPORT_TIMEOUT = 30.0
"""Seconds one plugin's import may take before the checker reports it as hanging."""
START_TIMEOUT = 120.0
"""Seconds the checking process may take to start (it imports the runtime)."""


class ImportCheckError(RuntimeError):
    """The checking process itself could not run (not a plugin's fault)."""


def check_imports(sources: Sequence[PluginSource],
                  timeout: float = IMPORT_TIMEOUT) -> dict[str, Problem]:
    """Import (and construct) every source's entry in order, in a child process; the
    problem of each one that fails, by plugin id. A plugin whose import kills or hangs
    the child is reported, and a fresh child goes on with the plugins after it."""
    problems: dict[str, Problem] = {}
    pending = list(sources)
    while pending:
        done = _run_child(pending, timeout, problems)
        pending = pending[done:]
    return problems


def _run_child(sources: list[PluginSource], timeout: float,
               problems: dict[str, Problem]) -> int:
    """Check ``sources`` in one child, adding to ``problems``; how many were checked
    (a plugin that ended the child counts as checked)."""
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=errors, text=True,
                                 env=child_environment())
        assert child.stdin is not None and child.stdout is not None
        lines = _lines_of(child.stdout)
        try:
            try:
                child.stdin.write(json.dumps([_source_to_json(s) for s in sources]))
                child.stdin.close()
            except BrokenPipeError:
                pass  # it died at start: reported below
            try:
                ready = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                raise ImportCheckError(f"the import checker did not start within "
                                       f"{START_TIMEOUT:g} s") from None
            if ready is None:
                raise ImportCheckError(f"the import checker did not start "
                                       f"({_ending(child)}){_tail(errors)}")
            for done, source in enumerate(sources):
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:
                    problems[source.id] = _problem(
                        source, f"importing it did not finish within {timeout:g} s")
                    return done + 1
                if line is None:
                    problems[source.id] = _problem(
                        source, f"importing it ended the process ({_ending(child)})"
                                f"{_tail(errors)}")
                    return done + 1
                error = json.loads(line)["error"]
                if error:
                    problems[source.id] = _problem(source, error)
            return len(sources)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()


def _problem(source: PluginSource, reason: str) -> Problem:
    return Problem(str(source.manifest_path), "entry", reason)


def _lines_of(stream: IO[str]) -> queue.Queue[str | None]:
    """The lines of ``stream`` as a queue (read by a thread; None at the end), so the
    parent can wait for each with a timeout on every platform."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="import-check-reader", daemon=True).start()
    return lines


def _ending(child: subprocess.Popen[str]) -> str:
    """How the child ended: its exit code or the signal that killed it."""
    code = child.wait()
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _tail(errors: IO[str], limit: int = 500) -> str:
    """The end of what the child wrote to stderr, as a ``: ...`` suffix."""
    errors.seek(0)
    text = errors.read().strip()
    return f": {text[-limit:]}" if text else ""


def _source_to_json(source: PluginSource) -> dict[str, Any]:
    return {"manifest": source.manifest.model_dump(mode="json"), "folder": str(source.folder),
            "manifest_path": str(source.manifest_path),
            "import_root": str(source.import_root), "origin": source.origin}


def _source_from_json(data: dict[str, Any]) -> PluginSource:
    return PluginSource(Manifest.model_validate(data["manifest"]), Path(data["folder"]),
                        Path(data["manifest_path"]), Path(data["import_root"]), data["origin"])


def _child_main() -> None:
    """The checking process: read sources on stdin, write one result line per plugin."""
    results = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what plugins print goes to stderr, never into the results
    sys.stdout = sys.stderr
    from logomesh_studio.runtime.host import PluginHost
    from logomesh_studio.runtime.plugin_record import PluginLoadError, PluginRecord

    sources = [_source_from_json(item) for item in json.load(sys.stdin)]
    host = PluginHost(None)
    results.write('{"ready": true}\n')

    async def import_all() -> None:
        for source in sources:
            error = ""
            try:
                await host.lifecycle.instantiate(PluginRecord(source))
            except PluginLoadError as exc:
                error = exc.detail.error
            results.write(json.dumps({"id": source.id, "error": error}) + "\n")

    asyncio.run(import_all())
    results.close()
    os._exit(0)  # plugins' atexit hooks and threads are not the checker's to wait for


if __name__ == "__main__":
    _child_main()
