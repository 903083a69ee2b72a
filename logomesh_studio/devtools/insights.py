"""Metrics, the blocking watch and the advisor, attached to one running workspace.

    insights = Insights(runtime)        # after runtime.start()
    insights.start()
    runtime.run(insights.findings())    # on the runtime loop; or wait for AdviceFound events
    insights.close()

Studio and ``logomesh-studio run`` keep one attached while the workspace runs. Every
second the rules are evaluated on the runtime loop and new findings are published as
an :class:`AdviceFound` event, so front ends get them like any other runtime event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from logomesh_studio.runtime.events import (
    Event,
    PluginLoaded,
    PluginStopped,
    ReloadCompleted,
    ReloadFailed,
    ReloadStarted,
)

from ._model import Frame
from .advisor import AdviceFound, Advisor, AdvisorSettings, Finding
from .blocking import BlockingWatch
from .metrics import Metrics, MetricsSnapshot
from .reload_leaks import ReloadLeakTracker

if TYPE_CHECKING:
    from logomesh_studio.runtime.runner import RuntimeThread

__all__ = ["Insights"]

EVALUATE_EVERY = 100
"""Heartbeats (of 10 ms) between two evaluations of the rules."""
SAMPLE_EVERY = 5
"""Heartbeats between two looks at long calls in flight."""


class Insights:
    """The advisor's machinery on ``runtime``; :meth:`close` detaches it all."""

    def __init__(self, runtime: RuntimeThread, settings: AdvisorSettings | None = None,
                 cpu_interval: float = 0.02,
                 on_detect: Callable[[str, Frame, float], None] | None = None) -> None:
        self.runtime = runtime
        self.settings = settings or AdvisorSettings()
        host = runtime.host
        self.metrics = Metrics(host.bus)
        self.metrics.large = self.settings.large_payload
        self.advisor = Advisor(self.metrics, self.settings)
        self.leaks = ReloadLeakTracker(self.settings.reload_grace_s)
        self.watch: BlockingWatch | None = None
        self._on_detect = on_detect
        self._cpu_interval = cpu_interval
        self._beats = 0
        self._roots_stale = True
        self._reported: dict[tuple[str, str, str, str], str] = {}
        self._unsubscribe = host.events.subscribe(self._on_event)
        self._closed = False

    def start(self) -> Insights:
        """Start the CPU meter and the blocking watch (the runtime thread must run).
        Messages are counted from construction on: make it before ``runtime.start()``
        to see what plugins do in ``initialize``."""
        if self.watch is None and not self._closed:
            runtime = self.runtime
            self.watch = BlockingWatch(
                runtime.loop, runtime.thread_id, self.advisor.add_block,
                threshold=self.settings.blocking_ms / 1000, on_beat=self._on_beat,
                current=self.metrics.current_call, paused=runtime.host.lock.locked,
                on_detect=self._on_detect)
            self._roots_stale = True
            self._refresh_roots()
            self.metrics.start_meter(runtime.thread_id, self._cpu_interval)
            self.watch.start()
        return self

    def close(self) -> None:
        """Detach from the runtime; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self.watch is not None:
            self.watch.close()
        self.metrics.close()

    # -- reading (on the runtime loop) ------------------------------------------------------

    def snapshot(self, plugins: list[str] | None = None) -> MetricsSnapshot:
        """The metrics now (of ``plugins`` only, if given)."""
        self._refresh_roots()
        if self.watch is not None:
            self.watch.settle()
        return self.metrics.snapshot(plugins=plugins)

    def findings(self) -> list[Finding]:
        """Every finding now."""
        self.metrics.drain()
        self._refresh_roots()
        if self.watch is not None:
            self.watch.settle()
        host = self.runtime.host
        running = {pid: r for pid, r in host.records.items() if r.loaded is not None}
        permissions = {pid: r.source.manifest.permissions for pid, r in running.items()}
        capabilities = {pid: r.source.manifest.capabilities for pid, r in running.items()}
        leaks = self.leaks.leaks(r.loaded.instance for r in running.values()
                                 if r.loaded is not None)
        return self.advisor.findings(permissions=permissions, capabilities=capabilities,
                                     leaks=leaks)

    def publish(self) -> list[Finding]:
        """Evaluate, and emit an AdviceFound event with the findings that are new (or
        changed severity) since the last time."""
        findings = self.findings()
        fresh = [f for f in findings if self._reported.get(f.key) != f.severity]
        self._reported.update((f.key, f.severity) for f in fresh)
        if fresh:
            self.runtime.host.events.emit(AdviceFound(findings=tuple(f.to_json()
                                                                     for f in fresh)))
        return findings

    # -- the runtime loop's side ------------------------------------------------------------

    def _on_beat(self) -> None:
        self.metrics.drain()
        self._beats += 1
        if self._roots_stale:
            self._refresh_roots()
        if self._beats % SAMPLE_EVERY == 0:
            self.metrics.sample_slow_calls(self.settings.slow_p95_ms / 2000)
        if self._beats % EVALUATE_EVERY == 0:
            self.publish()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReloadStarted):
            instance = self.runtime.host.instance(event.plugin_id)
            if instance is not None:
                self.leaks.started(event.plugin_id, instance)
        elif isinstance(event, ReloadCompleted):
            self.leaks.forget(event.plugin_id)
            self.leaks.completed(event.plugin_id)
            self._roots_stale = True
        elif isinstance(event, ReloadFailed):
            self.leaks.failed(event.plugin_id)
        elif isinstance(event, PluginLoaded | PluginStopped):
            self._roots_stale = True

    def _refresh_roots(self) -> None:
        if not self._roots_stale:
            return
        self._roots_stale = False
        roots: dict[str, str | os.PathLike[str]] = {
            pid: record.source.folder for pid, record in self.runtime.host.records.items()}
        self.metrics.set_roots(roots)
        if self.watch is not None:
            self.watch.set_roots(roots)
