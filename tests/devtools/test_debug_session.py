"""Debug sessions on a real runtime thread: breakpoints, message breakpoints, reloads."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from logomesh_studio.devtools import inspection
from logomesh_studio.devtools.debug_session import (
    BreakpointsChanged,
    DebugEnded,
    DebugSession,
    DebugStopped,
)
from logomesh_studio.devtools.debugger import Stop
from logomesh_studio.devtools.workspace_breakpoints import (
    MessageBreakpoint,
    SourceBreakpoint,
    WorkspaceBreakpoints,
    breakpoints_file,
    load_breakpoints,
    next_executable_line,
    save_breakpoints,
)
from logomesh_studio.testing import DRIVER, PluginHarness
from tests.debug_plugins import ALPHA, BETA

WAIT = 10.0




class Debugged:
    """A running workspace with a debug session on plugin ``alpha``."""

    def __init__(self, harness: PluginHarness, session: DebugSession, source: Path) -> None:
        self.h = harness
        self.session = session
        self.dbg = session.debugger
        self.source = source
        self.events: list[object] = []
        session.subscribe(self.events.append)

    def line(self, marker: str, path: Path | None = None) -> int:
        lines = (path or self.source).read_text().splitlines()
        return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))

    def send(self, target: str, type: str, payload=None):
        """Send from another thread; the future completes once the handler has run."""
        return self.h.runtime.submit(self.h.host.bus.send(DRIVER, target, type, payload))

    def stop_at(self) -> Stop:
        stop = self.dbg.wait_for_stop(timeout=WAIT)
        assert stop is not None, "the session ended instead of stopping"
        return stop


def source_of(workspace, plugin_id: str) -> Path:
    return workspace.root / plugin_id / workspace.package_name(plugin_id) / "__init__.py"


@pytest.fixture
def debugged(workspace, monkeypatch) -> Iterator[Debugged]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    workspace.plugin("alpha", ALPHA, permissions=["send:beta"])
    workspace.plugin("beta", BETA)
    with PluginHarness(workspace.root) as harness:
        session = DebugSession(harness.runtime, "alpha")
        session.start()
        try:
            yield Debugged(harness, session, source_of(workspace, "alpha"))
        finally:
            session.stop()  # resumes a stopped runtime, so the harness can shut down


def where(stop: Stop) -> tuple[str, int]:
    return stop.frames[0].function, stop.frames[0].line


def test_breakpoint_in_handler_stops_when_a_message_arrives(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-compute"))

    reply = debugged.send("alpha", "double", {"n": 21})

    stop = debugged.stop_at()
    assert where(stop) == ("double", debugged.line("double-compute"))
    assert not reply.done()
    debugged.dbg.resume()
    assert reply.result(WAIT) == {"doubled": 42}


def test_variables_show_the_message_payload(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-compute"))
    reply = debugged.send("alpha", "double", {"n": 21, "tags": ["a", "b"]})
    frame = debugged.stop_at().frames[0].id

    assert debugged.dbg.variables(frame)["payload"] == "{'n': 21, 'tags': ['a', 'b']}"
    children = {c.name: c for c in inspection.children(debugged.dbg, frame, "payload")}
    assert children["'tags'"].expression == "payload['tags']"
    assert children["'tags'"].expandable
    tags = inspection.children(debugged.dbg, frame, children["'tags'"].expression)
    assert [(c.name, c.value) for c in tags] == [("[0]", "'a'"), ("[1]", "'b'")]
    debugged.dbg.resume()
    reply.result(WAIT)


def test_step_over_advances_to_the_next_line_and_resume_completes_the_message(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-first"))
    reply = debugged.send("alpha", "double", {"n": 4})
    debugged.stop_at()

    debugged.dbg.step_over()

    stop = debugged.stop_at()
    assert where(stop) == ("double", debugged.line("double-compute"))
    assert stop.reason == "step"
    debugged.dbg.resume()
    assert reply.result(WAIT) == {"doubled": 8}


def test_stop_events_reach_subscribers(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-first"))
    reply = debugged.send("alpha", "double", {"n": 1})
    debugged.stop_at()
    debugged.dbg.resume()
    reply.result(WAIT)

    kinds = [type(event).__name__ for event in debugged.events]
    assert kinds == ["BreakpointsChanged", "DebugStopped", "DebugResumed"]
    assert debugged.session.state == "running"


def test_message_breakpoint_stops_at_the_first_line_before_the_handler_runs(debugged):
    debugged.session.set_message_breakpoint("alpha", "later")

    reply = debugged.send("alpha", "later", 7)

    stop = debugged.stop_at()
    assert where(stop) == ("later", debugged.line("later-first"))
    assert "value" not in debugged.dbg.variables(stop.frames[0].id)
    stopped = [event for event in debugged.events if isinstance(event, DebugStopped)]
    assert stopped[-1].message is not None
    assert (stopped[-1].message.source, stopped[-1].message.type) == (DRIVER, "later")
    debugged.dbg.resume()
    assert reply.result(WAIT) == {"later": 7}


def test_message_breakpoint_ignores_other_message_types(debugged):
    debugged.session.set_message_breakpoint("alpha", "later")
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-return"))

    reply = debugged.send("alpha", "double", {"n": 1})

    assert where(debugged.stop_at()) == ("double", debugged.line("double-return"))
    debugged.dbg.resume()
    reply.result(WAIT)


def test_message_breakpoint_on_another_plugin_never_stops(debugged):
    debugged.session.set_message_breakpoint("beta", "echo")

    assert debugged.h.send("beta", "echo", "hi") == "hi"
    assert debugged.session.current_stop is None


def test_breakpoint_still_hits_after_the_plugin_is_reloaded_with_edited_code(debugged):
    line = debugged.line("double-compute")
    debugged.session.set_breakpoint(debugged.source, line)
    debugged.source.write_text(debugged.source.read_text().replace('payload["n"] * 2',
                                                                   'payload["n"] * 3'))

    assert debugged.h.reload("alpha")
    reply = debugged.send("alpha", "double", {"n": 5})

    stop = debugged.stop_at()
    assert where(stop) == ("double", line)
    debugged.dbg.step_over()
    assert debugged.dbg.evaluate("doubled", debugged.stop_at().frames[0].id) == "15"
    debugged.dbg.resume()
    assert reply.result(WAIT) == {"doubled": 15}


def test_reload_re_places_a_breakpoint_whose_line_lost_its_code(debugged):
    line = debugged.line("double-compute")
    debugged.session.set_breakpoint(debugged.source, line)
    text = debugged.source.read_text().replace(
        '        doubled = payload["n"] * 2  # double-compute\n',
        "        # a comment now  # double-compute\n"
        '        doubled = payload["n"] * 2\n',
    )
    debugged.source.write_text(text)

    assert debugged.h.reload("alpha")

    assert [bp.line for bp in debugged.session.breakpoints.source] == [line + 1]
    assert isinstance(debugged.events[-1], BreakpointsChanged)
    reply = debugged.send("alpha", "double", {"n": 1})
    assert where(debugged.stop_at()) == ("double", line + 1)
    debugged.dbg.resume()
    reply.result(WAIT)


def test_frames_of_other_plugins_never_appear(debugged, workspace):
    beta = source_of(workspace, "beta")
    placed = debugged.session.set_breakpoint(beta, debugged.line("echo-body", beta))
    debugged.session.set_breakpoint(debugged.source, debugged.line("relay-send"))
    assert not placed.verified

    reply = debugged.send("alpha", "relay", "x")
    debugged.stop_at()
    debugged.dbg.step_into()  # into ctx.send -> beta's handler, which is not visible

    stop = debugged.stop_at()
    assert where(stop) == ("relay", debugged.line("relay-return"))
    root = str(debugged.session.root)
    assert all(frame.path.startswith(root) for frame in stop.frames)
    debugged.dbg.resume()
    assert reply.result(WAIT) == {"relayed": "x"}


def test_stop_while_stopped_lets_the_message_complete_and_runtime_work_on(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-first"))
    debugged.session.set_message_breakpoint("alpha", "later")
    reply = debugged.send("alpha", "double", {"n": 2})
    debugged.stop_at()

    debugged.session.stop()

    assert reply.result(WAIT) == {"doubled": 4}
    assert isinstance(debugged.events[-1], DebugEnded)
    assert debugged.events[-1].error == ""
    assert debugged.h.send("alpha", "later", 1) == {"later": 1}
    assert debugged.h.send("alpha", "relay", 2) == {"relayed": 2}
    assert debugged.h.reload("alpha")
    assert debugged.h.send("alpha", "double", {"n": 3}) == {"doubled": 6}


async def _trace_function():
    return sys.gettrace()


def test_stop_removes_the_trace_function_from_the_runtime_thread(debugged):
    assert debugged.h.runtime.run(_trace_function()) is not None

    debugged.session.stop()

    assert debugged.h.runtime.run(_trace_function()) is None
    assert debugged.h.host.bus._hooks == ()


def test_toggle_adds_then_removes_the_breakpoint_a_click_lands_on(debugged):
    blank = debugged.line("double-first") - 1  # the "def" line holds no code of the handler
    first = debugged.session.toggle_breakpoint(debugged.source, blank + 1)
    assert first is not None and first.line == blank + 1

    assert debugged.session.toggle_breakpoint(debugged.source, blank + 1) is None
    assert debugged.session.breakpoints.source == ()


def test_disabled_breakpoint_is_kept_but_never_stops(debugged):
    line = debugged.line("double-first")
    debugged.session.set_breakpoint(debugged.source, line, enabled=False)

    assert debugged.h.send("alpha", "double", {"n": 1}) == {"doubled": 2}
    assert [(bp.line, bp.enabled) for bp in debugged.session.breakpoints.source] == [(line, False)]


def test_logpoint_logs_without_stopping(debugged):
    debugged.session.set_breakpoint(debugged.source, debugged.line("double-return"),
                                    log_message="doubled={doubled}")

    assert debugged.h.send("alpha", "double", {"n": 5}) == {"doubled": 10}
    assert debugged.dbg.log_output == ["doubled=10"]


def test_invalid_condition_is_rejected(debugged):
    with pytest.raises(ValueError, match="not a Python expression"):
        debugged.session.set_breakpoint(debugged.source, debugged.line("double-first"),
                                        condition="n ==")


# persistence


def test_breakpoints_round_trip_through_the_workspace_file(tmp_path):
    source = tmp_path / "alpha" / "alpha" / "__init__.py"
    source.parent.mkdir(parents=True)
    source.write_text("x = 1\n")
    outside = tmp_path.parent / "elsewhere.py"
    saved = WorkspaceBreakpoints(
        source=(SourceBreakpoint(str(source.resolve()), 1, condition="x > 0"),
                SourceBreakpoint(str(outside.resolve()), 3, enabled=False, verified=False)),
        messages=(MessageBreakpoint("alpha", "ping"),),
    )

    path = save_breakpoints(tmp_path, saved)

    assert path == breakpoints_file(tmp_path) == tmp_path / ".logomesh" / "breakpoints.json"
    stored = json.loads(path.read_text())
    assert stored["source"][0]["path"] == "alpha/alpha/__init__.py"
    loaded = load_breakpoints(tmp_path)
    assert loaded.messages == saved.messages
    assert [(bp.path, bp.line, bp.condition, bp.enabled) for bp in loaded.source] == [
        (bp.path, bp.line, bp.condition, bp.enabled) for bp in saved.source
    ]


def test_missing_or_broken_breakpoints_file_loads_as_empty(tmp_path, caplog):
    assert load_breakpoints(tmp_path) == WorkspaceBreakpoints()
    breakpoints_file(tmp_path).parent.mkdir()
    breakpoints_file(tmp_path).write_text("{not json")

    assert load_breakpoints(tmp_path) == WorkspaceBreakpoints()
    assert "breakpoints.json: not a breakpoints file" in caplog.text


def test_session_restores_saved_breakpoints(debugged, workspace):
    line = debugged.line("double-first")
    save_breakpoints(workspace.root, WorkspaceBreakpoints(
        source=(SourceBreakpoint(str(debugged.source), line),),
        messages=(MessageBreakpoint("alpha", "later"),),
    ))

    debugged.session.restore(load_breakpoints(workspace.root))

    assert [bp.line for bp in debugged.session.breakpoints.source] == [line]
    reply = debugged.send("alpha", "later", 1)
    assert where(debugged.stop_at()) == ("later", debugged.line("later-first"))
    debugged.dbg.resume()
    reply.result(WAIT)


def test_next_executable_line_skips_blank_lines_and_comments(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""\
        x = 1

        # comment
        y = 2
    """))

    assert next_executable_line(path, 2) == 4
    assert next_executable_line(path, 5) is None
    assert next_executable_line(tmp_path / "missing.py", 1) is None
