"""The advisor: named findings over the metrics, the blocking watch and reloads.

Each :class:`Finding` names the plugin, the evidence (figures and, when known, a code
location) and the fix. The kinds, named exactly:

- ``blocking-handler``: plugin code held the runtime loop over ``blocking_ms``;
- ``chatty-pair``: two plugins exchanging over ``chatty_rate`` messages a second with
  payloads under ``chatty_payload`` bytes;
- ``large-payload``: payloads or responses over ``large_payload`` bytes;
- ``slow-handler``: a message type whose p95 latency exceeds ``slow_p95_ms``;
- ``error-rate``: a handler failing over ``error_rate`` of its calls;
- ``reload-leak``: an old plugin version still alive after a hot reload;
- ``unused-permission`` / ``denied-permission``: permissions never used by a plugin
  that sent messages, and refused calls that hint at a missing one.

The rules read figures the metrics keep up to date; evaluating them costs a pass over
the message keys and the plugins (a 1,000-plugin workspace: bench/advisor.py). What each
finding means for a plugin author: docs/plugin-guide.md, "Reading the advisor's findings".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from logomesh_studio.runtime.security import EVERYONE, Permission, parse_permission

from ._model import Frame
from .blocking import Block
from .findings import KINDS, AdviceFound, Finding, Severity, where
from .metrics import Metrics
from .reload_leaks import Leak

__all__ = ["KINDS", "AdviceFound", "AdvisorSettings", "Advisor", "Finding", "Severity"]


@dataclass(frozen=True, slots=True)
class AdvisorSettings:
    """The advisor's thresholds (defaults from the issue that named the findings)."""

    blocking_ms: float = 50.0
    """Plugin code holding the runtime loop this long is a blocking-handler."""
    chatty_rate: float = 1000.0
    """Messages a second between two plugins, in their busiest second, that make them chatty..."""
    chatty_payload: float = 256.0
    """...when their payloads average under this many bytes."""
    large_payload: int = 256 * 1024
    """A payload or response from this many bytes on is large."""
    slow_p95_ms: float = 100.0
    """A message type whose p95 latency exceeds this is slow."""
    error_rate: float = 0.05
    """A handler failing more than this fraction of its calls..."""
    error_min_calls: int = 10
    """...over at least this many calls."""
    unused_min_calls: int = 20
    """A plugin's permissions are judged unused only once it has made this many calls."""
    reload_grace_s: float = 1.0
    """Seconds after a reload before an old version still alive counts as leaked."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} us"


def _kib(size: float) -> str:
    return f"{size / 1024:.0f} KiB"


class Advisor:
    """Applies the rules; blocks and leaks arrive from other threads, thread-safely."""

    def __init__(self, metrics: Metrics, settings: AdvisorSettings | None = None) -> None:
        self.metrics = metrics
        self.settings = settings or AdvisorSettings()
        self._lock = threading.Lock()
        self._blocks: dict[tuple[str, Frame], list[Block]] = {}
        self._rules: dict[str, Permission] = {}

    def add_block(self, block: Block) -> None:
        """Record a block seen by the blocking watch (any thread)."""
        if block.seconds * 1000 < self.settings.blocking_ms:
            return
        with self._lock:
            seen = self._blocks.setdefault((block.plugin, block.location), [])
            seen.append(block)
            del seen[:-20]
        if block.message is not None:
            target, type_ = block.message
            for frame, count in block.frames:
                self.metrics.add_slow_sample(target, type_, frame, count)

    def findings(self, permissions: Mapping[str, Iterable[str]] | None = None,
                 capabilities: Mapping[str, Iterable[str]] | None = None,
                 leaks: Iterable[Leak] = ()) -> list[Finding]:
        """Every finding now, most severe first. ``permissions`` and ``capabilities``
        map running plugins to their manifest's lists (for the permission rules, and
        to tell plugins from other senders)."""
        found = [*self._blocking(), *self._chatty(permissions), *self._per_type(),
                 *self._leaks(leaks), *self._denied()]
        if permissions is not None:
            found.extend(self._unused(permissions, capabilities or {}))
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        found.sort(key=lambda f: (order.get(Severity(f.severity), 3), f.kind, f.plugin, f.type))
        return found

    # -- the rules --------------------------------------------------------------------------

    def _blocking(self) -> Iterable[Finding]:
        with self._lock:
            blocks = {key: list(seen) for key, seen in self._blocks.items()}
        for (plugin, location), seen in blocks.items():
            longest = max(b.seconds for b in seen)
            handler = next((b.message for b in reversed(seen) if b.message), None)
            what = (f"the {handler[1]!r} handler" if handler
                    else f"code between two awaits in {location.name}()")
            times = f"{len(seen)} time{'s' if len(seen) > 1 else ''}"
            yield Finding(
                kind="blocking-handler", plugin=plugin, severity=Severity.ERROR,
                evidence=(f"{what} held the runtime loop for {_ms(longest)} ({times}; no "
                          f"other plugin ran meanwhile) at {location.name} ({where(location)})"),
                location=where(location), type=handler[1] if handler else "",
                suggestion=(("make the handler async and " if handler else "")
                            + "move the blocking work off the loop: await "
                            "asyncio.to_thread(work, ...) (or use an async library)"))

    def _chatty(self, plugins: Mapping[str, Iterable[str]] | None) -> Iterable[Finding]:
        s = self.settings
        for pair in self.metrics.pairs(s.chatty_rate, s.chatty_payload):
            if plugins is not None and (pair.source not in plugins or pair.target not in plugins):
                continue  # the developer or a tool driving the workspace is not a plugin
            yield Finding(
                kind="chatty-pair", plugin=pair.source, peer=pair.target,
                severity=Severity.WARNING,
                evidence=(f"{pair.source} -> {pair.target}: {pair.peak_rate} messages in "
                          f"its busiest second ({pair.calls} in all), "
                          f"{pair.mean_payload:.0f} bytes each on average"),
                suggestion=("batch them: send one message with a list of items (or a "
                            "debounced summary) instead of one message per item"))

    def _per_type(self) -> Iterable[Finding]:
        s = self.settings
        metrics = self.metrics
        for target, type_, calls, errors, slowest, payload, response in metrics.type_figures():
            if slowest * 1000 > s.slow_p95_ms:  # only then is the p95 worth computing
                t = metrics.type_metrics(target, type_)
                if t.p95 * 1000 > s.slow_p95_ms:
                    yield self._slow(target, type_, t.p95, t.p99, calls)
            if calls >= s.error_min_calls and errors / calls > s.error_rate:
                yield self._errors(target, type_, errors, calls)
            if max(payload, response) >= s.large_payload:
                yield self._large(target, type_, payload, response)

    def _slow(self, plugin: str, type_: str, p95: float, p99: float, calls: int) -> Finding:
        frames = self.metrics.slow_frames(plugin, type_)
        top = "; ".join(f"{f.name} ({where(f)}) in {n} sample{'s' if n > 1 else ''}"
                        for f, n in frames)
        return Finding(
            kind="slow-handler", plugin=plugin, type=type_, severity=Severity.WARNING,
            evidence=(f"{type_!r}: p95 {_ms(p95)}, p99 {_ms(p99)} over {calls} calls"
                      + (f"; during slow calls it was at {top}" if top else "")),
            location=where(frames[0][0]) if frames else "",
            suggestion=("find the wait at the location: cache or batch the slow work, run it "
                        "concurrently (asyncio.gather), or answer at once and finish later"))

    def _errors(self, plugin: str, type_: str, errors: int, calls: int) -> Finding:
        sites = self.metrics.error_sites(plugin, type_)
        error, count, location = sites[0] if sites else ("", 0, None)
        return Finding(
            kind="error-rate", plugin=plugin, type=type_, severity=Severity.ERROR,
            evidence=(f"{type_!r} failed {errors} of {calls} calls ({errors / calls:.0%}); "
                      f"most often ({count}x): {error}"
                      + (f" at {where(location)}" if location else "")),
            location=where(location),
            suggestion=("handle the failing case in the handler (validate the payload, "
                        "catch the expected error and answer with it) or fix the caller"))

    def _large(self, plugin: str, type_: str, payload: int, response: int) -> Finding:
        copy = self.metrics.copy_cost(plugin, type_)
        parts = [f"payload up to {_kib(payload)}" if payload >= self.settings.large_payload
                 else "", f"response up to {_kib(response)}"
                 if response >= self.settings.large_payload else ""]
        cost = f"; copying one in cost {_ms(copy)}" if copy else ""
        return Finding(
            kind="large-payload", plugin=plugin, type=type_, severity=Severity.WARNING,
            evidence=f"{type_!r}: " + ", ".join(p for p in parts if p) + cost
                     + " (every message is encoded and decoded: a copy per delivery)",
            suggestion=("pass a reference instead (a key in a store plugin, a file path) or "
                        "split it into pages the receiver asks for"))

    def _leaks(self, leaks: Iterable[Leak]) -> Iterable[Finding]:
        for leak in leaks:
            chain = " <- ".join(leak.held_by) or "an unknown referrer"
            made = f"; created at {where(leak.created)}" if leak.created else ""
            yield Finding(
                kind="reload-leak", plugin=leak.plugin, severity=Severity.WARNING,
                evidence=(f"{leak.what} is still alive {leak.seconds:.1f} s after the reload, "
                          f"held by {chain}{made}"),
                location=where(leak.location or leak.created),
                suggestion=("release it in cleanup(): stop threads and tasks you started, "
                            "remove callbacks and registry entries you added"))

    def _denied(self) -> Iterable[Finding]:
        for (source, needed), (count, last) in sorted(self.metrics.refused().items()):
            yield Finding(
                kind="denied-permission", plugin=source, severity=Severity.ERROR,
                evidence=(f"{count} call{'s' if count > 1 else ''} refused for lack of "
                          f"{needed!r} (last: {last})"),
                suggestion=(f"add {needed!r} to permissions in the plugin's manifest, or "
                            "stop making the call"))

    def _unused(self, permissions: Mapping[str, Iterable[str]],
                capabilities: Mapping[str, Iterable[str]]) -> Iterable[Finding]:
        made: dict[str, list[tuple[str, str, str]]] = {}
        sent: dict[str, int] = {}
        rules = self._rules
        for (source, target, type_), call, count in self.metrics.calls():
            made.setdefault(source, []).append((call, target, type_))
            sent[source] = sent.get(source, 0) + count
        for plugin, strings in permissions.items():
            calls = sent.get(plugin, 0)
            if calls < self.settings.unused_min_calls:
                continue  # too little traffic to tell
            for text in strings:
                rule = rules.get(text)
                if rule is None:
                    rule = rules[text] = parse_permission(text)
                if not any(_allows(rule, call, target, type_, capabilities)
                           for call, target, type_ in made[plugin]):
                    yield Finding(
                        kind="unused-permission", plugin=plugin, severity=Severity.INFO,
                        evidence=(f"{text!r} allowed none of the {calls} calls {plugin} made "
                                  "while the workspace ran"),
                        suggestion=(f"remove {text!r} from the manifest's permissions (or "
                                    "keep it if a path not exercised here needs it)"))


def _allows(rule: Permission, call: str, target: str, type_: str,
            capabilities: Mapping[str, Iterable[str]]) -> bool:
    """Would ``rule`` have allowed this recorded delivery?"""
    if call == "send":
        return rule.allows("send", target, type_)
    if call == "broadcast":
        return any(rule.allows("broadcast", scope, type_)
                   for scope in (EVERYONE, *capabilities.get(target, ())))
    return rule.allows("capability", type_)
