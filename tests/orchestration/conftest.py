"""A running workspace for orchestration tests: worker plugins, an initiator, an engine."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from logomesh_studio.orchestration.engine import OrchestrationEngine
from logomesh_studio.orchestration.io import loads
from logomesh_studio.orchestration.model import OrchestrationFile
from logomesh_studio.orchestration.records import RunRecord
from logomesh_studio.orchestration.run import OrchestrationRun
from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.events import Event
from logomesh_studio.runtime.runner import RuntimeThread

WORKER = """
import asyncio
import os
import threading
from pathlib import Path

from logomesh_studio.sdk import Plugin, handler


class Worker(Plugin):
    def initialize(self, ctx):
        super().initialize(ctx)
        self.gate = asyncio.Event()
        self.calls = 0
        self.active = self.peak = 0

    @handler("work")
    def work(self, message):
        self.calls += 1
        return {"echo": message.payload, "by": self.ctx.plugin_id}

    @handler("fail")
    def fail(self, message):
        raise ValueError("refused on purpose")

    @handler("wait")
    async def wait(self, message):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await self.gate.wait()
        finally:
            self.active -= 1
        return {"waited": message.payload, "by": self.ctx.plugin_id}

    @handler("open")
    def open(self, message):
        self.gate.set()
        return True

    @handler("stats")
    def stats(self, message):
        return {"calls": self.calls, "peak": self.peak}

    @handler("flaky")
    def flaky(self, message):
        if Path(message.payload["marker"]).exists():
            raise RuntimeError("the marker file is there")
        return {"ok": True}

    @handler("slow")
    async def slow(self, message):
        if os.environ.get("ORCHESTRATION_TEST_SLOW"):
            print("slow-started\\n", end="", flush=True)  # one write: other threads print too
            await asyncio.Event().wait()
        return {"slow": "done"}

    @handler("hog")
    def hog(self, message):
        if os.environ.get("ORCHESTRATION_TEST_SLOW"):
            print("hog-started\\n", end="", flush=True)
        threading.Event().wait(message.payload)  # synchronous work that holds the loop
        return {"blocked": message.payload}

    @handler("halt")
    def halt(self, message):
        if os.environ.get("ORCHESTRATION_TEST_DIE"):
            os.kill(os.getpid(), 9)  # the process ends the moment the work is done
        return {"died": False}

    @handler("raise")
    def raise_(self, message):
        raise {"cancelled": asyncio.CancelledError, "interrupt": KeyboardInterrupt,
               "exit": GeneratorExit}[message.payload]("raised by the handler")

    def execute(self, input):
        return {"executed": input}
"""

DRIVER = "test-driver"


class Studio:
    """A workspace of worker plugins (alpha, beta, gamma) driven by initiator ``boss``."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self.root: Path = workspace.root
        for pid in ("alpha", "beta", "gamma"):
            workspace.plugin(pid, code=WORKER, cls="Worker",
                             capabilities=["compute"] if pid == "alpha" else [])
        workspace.plugin("boss", permissions=["send:*", "capability:*"])
        self.events: list[Event] = []
        self._changed = threading.Condition()
        self._runtime: RuntimeThread | None = None
        self.engine: OrchestrationEngine | None = None

    @property
    def runtime(self) -> RuntimeThread:
        """The runtime, started on first use (add plugins before that)."""
        if self._runtime is None:
            runtime = RuntimeThread(self.root, RuntimeConfig(entry_points=False))
            runtime.events.subscribe(self._record)
            runtime.start()
            runtime.host.bus.grant(DRIVER, ["send:*", "capability:*"])
            self._runtime = runtime
            self.engine = OrchestrationEngine(runtime.host)
        return self._runtime

    def _record(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Event], bool], count: int = 1,
                 timeout: float = 10.0) -> list[Event]:
        """Block until ``count`` recorded events match ``predicate``."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: sum(map(predicate, self.events)) >= count, timeout)
            matched = [e for e in self.events if predicate(e)]
        assert ok, f"only {len(matched)} of {count} awaited events arrived"
        return matched

    def load(self, text: str, name: str = "test") -> OrchestrationFile:
        path = self.root / f"{name}.orchestration.yaml"
        path.write_text(textwrap.dedent(text))
        return loads(path.read_text(), str(path))

    def start(self, text: str, input: Any = None) -> OrchestrationRun:
        file = self.load(text)
        return self.runtime.run(self.engine.start(file, input))

    def run(self, text: str, input: Any = None) -> RunRecord:
        run = self.start(text, input)
        return self.runtime.run(run.wait())

    def wait(self, run: OrchestrationRun) -> RunRecord:
        return self.runtime.run(run.wait())

    def on_loop(self, func: Callable[..., Any], *args: Any) -> Any:
        """Call ``func(*args)`` on the runtime loop and return its result."""
        async def call() -> Any:
            return func(*args)
        return self.runtime.run(call())

    def send(self, target: str, type: str, payload: Any = None) -> Any:
        return self.runtime.run(self.runtime.host.bus.send(DRIVER, target, type, payload))

    def messages(self, source: str = "boss") -> list[Any]:
        """Bridge messages sent by ``source`` so far."""
        return [m for m in self.runtime.host.bus.history if m.source == source]

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.run(self.engine.close())
            self._runtime.stop()


@pytest.fixture
def studio(workspace: Any) -> Iterator[Studio]:
    """A workspace of worker plugins with a runtime and an orchestration engine."""
    studio = Studio(workspace)
    yield studio
    studio.close()


def kind(name: str, **fields: Any) -> Callable[[Event], bool]:
    """A predicate matching events of ``kind`` whose fields equal ``fields``."""
    def match(event: Event) -> bool:
        return event.kind == name and all(getattr(event, k) == v for k, v in fields.items())
    return match


@pytest.fixture
def event_kind() -> Callable[..., Callable[[Event], bool]]:
    return kind
