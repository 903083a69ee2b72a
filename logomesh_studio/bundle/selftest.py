"""``--self-test`` of a packaged app: load the workspace, try every plugin, report.

A frozen app breaks in ways a start-up smoke test misses: a module imported only when a
message arrives, a pane that fails to build while the window still comes up. The self
test loads the workspace, sends one message (payload ``{}``) for every type every running
plugin handles, and (in the window) opens every pane. It fails, saying what, on a plugin
that did not start, a message whose handler could not import a module, or any traceback
written to stderr while it ran. Handlers that reject the empty payload pass: they ran.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from logomesh_studio.runtime.plugin_record import PluginStatus
from logomesh_studio.runtime.senders import DEVELOPER
from logomesh_studio.sdk import PluginError, RemoteError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from logomesh_studio.runtime.plugin_record import PluginInfo
    from logomesh_studio.runtime.runner import RuntimeThread

__all__ = ["MESSAGE_TIMEOUT", "SelfTest", "StderrWatch", "check_reply", "messages_to_send",
           "run_headless", "send_every_type"]

TRACEBACK = "Traceback (most recent call last):"
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
MESSAGE_TIMEOUT = 10.0


class StderrWatch(io.TextIOBase):
    """Stands in for ``sys.stderr``: passes everything on and keeps the tracebacks."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._text: list[str] = []

    def write(self, text: str) -> int:
        self._text.append(text)
        self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # TextIOBase declares it read-only
        return getattr(self.stream, "encoding", "utf-8")

    def tracebacks(self) -> list[str]:
        """The last line (the exception) of each traceback written so far."""
        text = "".join(self._text)
        found = []
        for block in text.split(TRACEBACK)[1:]:
            lines = [line for line in block.splitlines() if line and not line.startswith(" ")]
            found.append(lines[0] if lines else "(empty traceback)")
        return found

    @classmethod
    def install(cls) -> StderrWatch:
        watch = cls(sys.stderr)
        sys.stderr = watch
        return watch


@dataclass(slots=True)
class SelfTest:
    """What the self-test checked, and what failed."""

    watch: StderrWatch
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _reported: int = 0

    def take_tracebacks(self) -> list[str]:
        """The tracebacks written to stderr since the last call."""
        found = self.watch.tracebacks()
        new, self._reported = found[self._reported:], len(found)
        return new

    def ok(self, what: str) -> None:
        self.checked.append(what)

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def finish(self, out: TextIO | None = None) -> int:
        """Print the result (one line per check) and return the exit code."""
        out = out or sys.stdout
        self.failures.extend(f"traceback on stderr: {last}" for last in self.take_tracebacks())
        for line in self.checked:
            print(f"self-test: ok    {line}", file=out)
        for line in self.failures:
            print(f"self-test: FAIL  {line}", file=out)
        verdict = "FAILED" if self.failures else "passed"
        print(f"self-test: {verdict} ({len(self.checked)} ok, {len(self.failures)} failed)",
              file=out, flush=True)
        return 1 if self.failures else 0

    def check_loaded(self, running: list[str], failed: list[str], errors: dict[str, str]) -> None:
        """Record the workspace load: every plugin must be running."""
        if running:
            self.ok(f"workspace loaded: {len(running)} plugins running ({', '.join(running)})")
        for plugin_id in failed:
            self.fail(f"plugin {plugin_id} did not start: {errors.get(plugin_id, '')}")
        if not running and not failed:
            self.fail("the workspace has no plugins")


def messages_to_send(infos: Iterable[PluginInfo]) -> list[tuple[str, str]]:
    """``(plugin id, message type)`` for every type every running plugin handles."""
    return [(info.id, message_type) for info in infos if info.status == PluginStatus.RUNNING
            for message_type in info.handles]


def check_reply(test: SelfTest, target: str, message_type: str,
                error: BaseException | None) -> None:
    """Record the answer to the self-test's ``{}`` to ``target``: ``error`` is what the
    send raised (None: answered). A handler that refused the empty payload ran: it
    passes; one that could not import a module, or no answer, fails."""
    what = f"message {message_type!r} to {target}"
    if error is None:
        test.ok(f"{what}: handled")
    elif isinstance(error, RemoteError) and error.error_type not in IMPORT_ERRORS:
        test.ok(f"{what}: handled (answered {error.error_type} to an empty payload)")
    elif isinstance(error, RemoteError):
        test.fail(f"{what}: {error}")
    else:
        test.fail(f"{what}: {type(error).__name__}: {error}")


def send_every_type(runtime: RuntimeThread, test: SelfTest) -> None:
    """Send ``{}`` once for every type every running plugin handles (as the developer)."""
    for target, message_type in messages_to_send(runtime.host.plugins()):
        runtime.host.bus.grant(DEVELOPER, [f"send:{target}"])
        try:
            runtime.run(runtime.host.bus.send(DEVELOPER, target, message_type, {},
                                              MESSAGE_TIMEOUT), MESSAGE_TIMEOUT + 5)
        except (PluginError, TimeoutError) as exc:  # RemoteError is a PluginError
            check_reply(test, target, message_type, exc)
        else:
            check_reply(test, target, message_type, None)


def load_errors(runtime: RuntimeThread) -> dict[str, str]:
    """Each plugin that is not running: its error."""
    return {p.id: p.error for p in runtime.host.plugins() if p.status != PluginStatus.RUNNING}


def run_headless(workspace: Path, test: SelfTest, out: TextIO | None = None) -> int:
    """The self-test without a window: load ``workspace``, message every plugin."""
    from logomesh_studio.runtime.runner import RuntimeThread

    runtime = RuntimeThread(workspace)
    try:
        runtime.start()
        infos = runtime.host.plugins()
        test.check_loaded([p.id for p in infos if p.status == PluginStatus.RUNNING],
                          [p.id for p in infos if p.status != PluginStatus.RUNNING],
                          load_errors(runtime))
        for problem in runtime.host.problems:
            test.fail(f"{problem}")
        send_every_type(runtime, test)
    finally:
        runtime.stop()
    return test.finish(out)
