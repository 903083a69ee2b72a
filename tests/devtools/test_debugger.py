"""Engine tests for the sys.settrace debugger: real files under tmp_path, one target thread."""

from __future__ import annotations

import contextlib
import json
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from logomesh_studio.devtools.debugger import (
    Debugger,
    DebugSessionTerminated,
    EvaluationError,
    Stop,
    TargetNotStopped,
    UnknownFrameError,
)
from tests.conftest import import_file

WAIT = 10.0

PLUGIN = '''
import sys
import threading


def add(a, b):
    total = a + b  # add-body
    return total  # add-return


def accumulate(values):
    total = 0
    for value in values:  # acc-loop
        total = add(total, value)  # acc-call
    return total  # acc-return


def numbers():
    yield 1  # gen-first
    yield 2  # gen-second


def consume():
    seen = []
    for number in numbers():  # consume-loop
        seen.append(number)  # consume-append
    return seen


def double(value):
    return value * 2  # double-body


def through_library(call_each, values):
    results = call_each(double, values)  # through-call
    return results  # through-return


def total_via_library(compute, values):
    result = compute(values)  # total-call
    return result  # total-return


def sort_by_key(values):
    ordered = sorted(values, key=negate)  # sort-call
    return ordered


def negate(value):
    return -value  # negate-body


def fail(message):
    detail = message.upper()
    raise ValueError(detail)  # fail-raise


def catch(message):
    try:
        fail(message)
    except ValueError:
        return "caught"


def count_up(limit):
    for index in range(1, limit + 1):
        seen = index  # count-body
    return limit


def spin(started, done):
    count = 0
    started.set()
    while not done.is_set():
        count += 1  # spin-body
    return count


def long_text():
    text = "x" * 10_000
    return len(text)  # long-return


def in_other_thread(func, value):
    box = []
    worker = threading.Thread(target=lambda: box.append(func(value)))
    worker.start()
    worker.join()
    return box[0]


def current_trace():
    return sys.gettrace()


def documented(value):
    """A docstring is not code."""  # doc-line

    # only a comment  # comment-line
    return value + 1  # documented-return
'''

LIBRARY = """
def call_each(func, values):
    return [func(value) for value in values]


def compute(values):
    return sum(values)
"""


@dataclass
class Workspace:
    """A plugin folder (the debugger's root) with a plugin module and a library outside it."""

    root: Path
    plugin_path: Path
    plugin: ModuleType
    library: ModuleType

    def line(self, marker: str, path: Path | None = None) -> int:
        """The line of ``path`` (default: the plugin) that ends with ``# marker``."""
        lines = (path or self.plugin_path).read_text().splitlines()
        return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))


def write_module(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def import_path(path: Path) -> ModuleType:
    """Import a module from its file, fresh each time (new code objects)."""
    return import_file(path)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    root = tmp_path / "plugins" / "sample"
    plugin_path = write_module(root, "sample", PLUGIN)
    library_path = write_module(tmp_path / "site", "helpers", LIBRARY)
    return Workspace(root, plugin_path, import_path(plugin_path), import_path(library_path))


@pytest.fixture
def dbg(workspace: Workspace):
    debugger = Debugger(roots=[workspace.root])
    yield debugger
    debugger.terminate()
    with contextlib.suppress(Exception, DebugSessionTerminated):
        debugger.wait_finished(timeout=WAIT)


def stop_at(dbg: Debugger) -> Stop:
    stop = dbg.wait_for_stop(timeout=WAIT)
    assert stop is not None, "the target finished instead of stopping"
    return stop


def where(stop: Stop) -> tuple[str, int]:
    return stop.frames[0].function, stop.frames[0].line


# breakpoints


def test_breakpoint_stops_with_visible_frames_innermost_first(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2])

    stop = stop_at(dbg)

    assert stop.reason == "breakpoint"
    assert [(f.function, f.line) for f in stop.frames] == [
        ("add", workspace.line("add-body")),
        ("accumulate", workspace.line("acc-call")),
    ]
    assert {f.path for f in stop.frames} == {str(workspace.plugin_path.resolve())}
    assert dbg.variables(stop.frames[0].id) == {"a": "0", "b": "1"}


def test_breakpoint_on_line_without_code_moves_to_next_executable_line(dbg, workspace):
    comment = dbg.set_breakpoint(workspace.plugin_path, workspace.line("comment-line"))
    docstring = dbg.set_breakpoint(workspace.plugin_path, workspace.line("doc-line"))

    assert comment.verified and comment.line == workspace.line("documented-return")
    assert docstring.line == workspace.line("documented-return")
    dbg.start(workspace.plugin.documented, 1)
    assert where(stop_at(dbg)) == ("documented", workspace.line("documented-return"))


def test_breakpoint_past_end_of_file_is_unverified(dbg, workspace):
    last = len(workspace.plugin_path.read_text().splitlines())

    bp = dbg.set_breakpoint(workspace.plugin_path, last + 5)

    assert not bp.verified
    assert bp.line == last + 5


def test_breakpoint_outside_roots_is_unverified_and_never_stops(dbg, workspace):
    library_path = Path(workspace.library.__file__)

    bp = dbg.set_breakpoint(library_path, 2)
    dbg.start(workspace.plugin.through_library, workspace.library.call_each, [1])

    assert not bp.verified
    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.wait_finished(timeout=WAIT) == [2]


def test_removed_breakpoint_no_longer_stops(dbg, workspace):
    bp = dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2, 3])
    stop_at(dbg)

    dbg.remove_breakpoint(bp.id)
    dbg.resume()

    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.wait_finished(timeout=WAIT) == 6


def test_condition_stops_only_where_true(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"), condition="b == 3")
    dbg.start(workspace.plugin.accumulate, [1, 2, 3, 4])

    stop = stop_at(dbg)
    assert dbg.evaluate("b", stop.frames[0].id) == "3"
    dbg.resume()
    assert dbg.wait_for_stop(timeout=WAIT) is None


def test_condition_that_raises_stops_and_reports_the_error(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"), condition="missing > 1")
    dbg.start(workspace.plugin.accumulate, [1])

    stop = stop_at(dbg)

    assert stop.reason == "breakpoint"
    assert "NameError" in stop.condition_error and "missing" in stop.condition_error


def test_condition_that_is_not_python_is_rejected(dbg, workspace):
    with pytest.raises(ValueError, match="condition"):
        dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"), condition="a >")


@pytest.mark.parametrize(
    ("hit_condition", "stops_at"),
    [("3", [3]), ("== 3", [3]), (">= 4", [4, 5, 6]), ("> 4", [5, 6]), ("% 2", [2, 4, 6])],
)
def test_hit_condition_selects_hits(dbg, workspace, hit_condition, stops_at):
    dbg.set_breakpoint(
        workspace.plugin_path, workspace.line("count-body"), hit_condition=hit_condition
    )
    dbg.start(workspace.plugin.count_up, 6)

    seen = []
    while (stop := dbg.wait_for_stop(timeout=WAIT)) is not None:
        seen.append(int(dbg.evaluate("index", stop.frames[0].id)))
        dbg.resume()

    assert seen == stops_at


def test_hit_condition_counts_only_hits_where_condition_holds(dbg, workspace):
    dbg.set_breakpoint(
        workspace.plugin_path,
        workspace.line("count-body"),
        condition="index % 2 == 1",
        hit_condition="2",
    )
    dbg.start(workspace.plugin.count_up, 6)

    stop = stop_at(dbg)

    assert dbg.evaluate("index", stop.frames[0].id) == "3"


@pytest.mark.parametrize("hit_condition", ["<= 2", "two", "% 0", "== -1"])
def test_invalid_hit_condition_is_rejected(dbg, workspace, hit_condition):
    with pytest.raises(ValueError, match="hit condition"):
        dbg.set_breakpoint(
            workspace.plugin_path, workspace.line("count-body"), hit_condition=hit_condition
        )


def test_logpoint_logs_interpolated_message_and_never_stops(dbg, workspace):
    dbg.set_breakpoint(
        workspace.plugin_path,
        workspace.line("count-body"),
        log_message="index={index} square={index * index} {{braces}} {missing}",
    )
    dbg.start(workspace.plugin.count_up, 3)

    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.log_output == [
        f"index={i} square={i * i} {{braces}} <NameError: name 'missing' is not defined>"
        for i in (1, 2, 3)
    ]


def test_breakpoint_hits_after_module_is_reimported_from_edited_file(dbg, workspace):
    path = write_module(
        workspace.root,
        "reloadable",
        "def scaled(value):\n    factor = 2\n    return value * factor\n",
    )
    old = import_path(path)
    dbg.set_breakpoint(path, 3)
    dbg.start(old.scaled, 5)
    stop_at(dbg)
    dbg.resume()
    assert dbg.wait_finished(timeout=WAIT) == 10

    path.write_text("def scaled(value):\n    factor = 30\n    return value * factor\n")
    new = import_path(path)
    dbg.start(new.scaled, 5)

    stop = stop_at(dbg)
    assert where(stop) == ("scaled", 3)
    assert dbg.evaluate("factor", stop.frames[0].id) == "30"
    dbg.resume()
    assert dbg.wait_finished(timeout=WAIT) == 150


def test_breakpoint_set_while_running_stops_the_running_frame(dbg, workspace):
    started, done = threading.Event(), threading.Event()
    dbg.start(workspace.plugin.spin, started, done)
    assert started.wait(WAIT)

    dbg.set_breakpoint(workspace.plugin_path, workspace.line("spin-body"))

    assert where(stop_at(dbg)) == ("spin", workspace.line("spin-body"))
    done.set()


# stepping


def test_step_over_stays_in_the_current_frame(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("acc-call"))
    dbg.start(workspace.plugin.accumulate, [1, 2])
    stop_at(dbg)
    dbg.remove_breakpoint(dbg.breakpoints[0].id)

    lines = []
    for _ in range(3):
        dbg.step_over()
        stop = stop_at(dbg)
        assert stop.reason == "step"
        lines.append(where(stop))

    assert lines == [
        ("accumulate", workspace.line("acc-loop")),
        ("accumulate", workspace.line("acc-call")),
        ("accumulate", workspace.line("acc-loop")),
    ]


def test_step_into_enters_the_called_function(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("acc-call"))
    dbg.start(workspace.plugin.accumulate, [1])
    stop_at(dbg)

    dbg.step_into()

    stop = stop_at(dbg)
    assert stop.reason == "step"
    assert [f.function for f in stop.frames] == ["add", "accumulate"]
    assert stop.frames[0].line == workspace.line("add-body")


def test_step_out_stops_in_the_caller_at_the_call_line(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"), hit_condition="1")
    dbg.start(workspace.plugin.accumulate, [1, 2])
    stop_at(dbg)

    dbg.step_out()

    stop = stop_at(dbg)
    assert stop.reason == "step"
    assert [(f.function, f.line) for f in stop.frames] == [
        ("accumulate", workspace.line("acc-call"))
    ]
    dbg.step_over()
    assert where(stop_at(dbg)) == ("accumulate", workspace.line("acc-loop"))


def test_step_over_a_return_stops_in_the_caller_at_the_call_line(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-return"), hit_condition="1")
    dbg.start(workspace.plugin.accumulate, [1, 2])
    stop_at(dbg)

    dbg.step_over()

    assert where(stop_at(dbg)) == ("accumulate", workspace.line("acc-call"))


def test_step_into_resumes_inside_a_generator(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("consume-append"), hit_condition="1")
    dbg.start(workspace.plugin.consume)
    stop_at(dbg)
    dbg.step_over()
    assert where(stop_at(dbg)) == ("consume", workspace.line("consume-loop"))

    dbg.step_into()

    stop = stop_at(dbg)
    assert [(f.function, f.line) for f in stop.frames] == [
        ("numbers", workspace.line("gen-second")),
        ("consume", workspace.line("consume-loop")),
    ]


def test_step_over_a_yield_stops_in_the_consumer(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("gen-first"))
    dbg.start(workspace.plugin.consume)
    stop_at(dbg)

    dbg.step_over()
    assert where(stop_at(dbg)) == ("consume", workspace.line("consume-loop"))
    dbg.step_over()
    assert where(stop_at(dbg)) == ("consume", workspace.line("consume-append"))


def test_step_out_of_a_generator_stops_in_the_consumer(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("gen-second"))
    dbg.start(workspace.plugin.consume)
    stop_at(dbg)

    dbg.step_out()

    stop = stop_at(dbg)
    assert stop.reason == "step"
    assert [(f.function, f.line) for f in stop.frames] == [
        ("consume", workspace.line("consume-loop"))
    ]


def test_step_into_does_not_stop_in_code_outside_the_roots(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("total-call"))
    dbg.start(workspace.plugin.total_via_library, workspace.library.compute, [1, 2])
    stop_at(dbg)

    dbg.step_into()

    assert where(stop_at(dbg)) == ("total_via_library", workspace.line("total-return"))


def test_step_into_stops_in_a_callback_from_code_outside_the_roots(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("through-call"))
    dbg.start(workspace.plugin.through_library, workspace.library.call_each, [1, 2])
    stop_at(dbg)

    dbg.step_into()
    first = stop_at(dbg)
    dbg.step_into()
    second = stop_at(dbg)

    assert [f.function for f in first.frames] == ["double", "through_library"]
    assert dbg.variables(second.frames[0].id) == {"value": "2"}
    assert where(second) == ("double", workspace.line("double-body"))


def test_step_into_stops_in_a_sort_key_callback(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("sort-call"))
    dbg.start(workspace.plugin.sort_by_key, [3, 1])
    stop_at(dbg)

    dbg.step_into()

    stop = stop_at(dbg)
    assert [(f.function, f.line) for f in stop.frames] == [
        ("negate", workspace.line("negate-body")),
        ("sort_by_key", workspace.line("sort-call")),
    ]


def test_frames_outside_the_roots_are_never_shown(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("double-body"))
    dbg.start(workspace.plugin.through_library, workspace.library.call_each, [1])

    stop = stop_at(dbg)

    assert [f.function for f in stop.frames] == ["double", "through_library"]
    assert all(Path(f.path).is_relative_to(workspace.root.resolve()) for f in stop.frames)


# exceptions


def test_pause_on_raised_exception_stops_where_it_is_raised(dbg, workspace):
    dbg.pause_on_exceptions = "raised"
    dbg.start(workspace.plugin.catch, "boom")

    stop = stop_at(dbg)

    assert stop.reason == "exception"
    assert stop.exception == ("ValueError", "BOOM")
    assert where(stop) == ("fail", workspace.line("fail-raise"))
    assert [f.function for f in stop.frames] == ["fail", "catch"]
    dbg.resume()
    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.wait_finished(timeout=WAIT) == "caught"


def test_pause_on_raised_exception_from_library_stops_in_first_visible_frame(dbg, workspace):
    dbg.pause_on_exceptions = "raised"
    dbg.start(workspace.plugin.total_via_library, workspace.library.compute, ["a"])

    stop = stop_at(dbg)

    assert stop.exception[0] == "TypeError"
    assert where(stop) == ("total_via_library", workspace.line("total-call"))


def test_pause_on_uncaught_exception_ignores_caught_ones(dbg, workspace):
    dbg.pause_on_exceptions = "uncaught"
    dbg.start(workspace.plugin.catch, "boom")

    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.wait_finished(timeout=WAIT) == "caught"


def test_pause_on_uncaught_exception_shows_the_raising_frame(dbg, workspace):
    dbg.pause_on_exceptions = "uncaught"
    dbg.start(workspace.plugin.fail, "boom")

    stop = stop_at(dbg)

    assert stop.reason == "exception"
    assert stop.exception == ("ValueError", "BOOM")
    assert where(stop) == ("fail", workspace.line("fail-raise"))
    assert dbg.variables(stop.frames[0].id) == {"message": "'boom'", "detail": "'BOOM'"}
    dbg.resume()
    with pytest.raises(ValueError, match="BOOM"):
        dbg.wait_finished(timeout=WAIT)


def test_exceptions_do_not_stop_when_mode_is_never(dbg, workspace):
    dbg.start(workspace.plugin.fail, "boom")

    assert dbg.wait_for_stop(timeout=WAIT) is None
    with pytest.raises(ValueError, match="BOOM"):
        dbg.wait_finished(timeout=WAIT)


def test_unknown_exception_mode_is_rejected(dbg):
    with pytest.raises(ValueError, match="pause_on_exceptions"):
        dbg.pause_on_exceptions = "always"


# inspection


def test_variables_and_evaluate_refuse_frames_not_in_the_current_stop(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2])
    old = stop_at(dbg)
    dbg.resume()
    current = stop_at(dbg)

    for frame_id in (old.frames[0].id, max(f.id for f in current.frames) + 100):
        with pytest.raises(UnknownFrameError):
            dbg.variables(frame_id)
        with pytest.raises(UnknownFrameError):
            dbg.evaluate("a", frame_id)


def test_evaluate_returns_repr_in_the_chosen_frame(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [5])
    stop = stop_at(dbg)
    inner, outer = (f.id for f in stop.frames)

    assert dbg.evaluate("(a, b)", inner) == "(0, 5)"
    assert dbg.evaluate("[v * 2 for v in values]", outer) == "[10]"


@pytest.mark.parametrize(
    ("expression", "error"), [("b / 0", "ZeroDivisionError"), ("b +", "not a Python")]
)
def test_evaluate_raises_evaluation_error(dbg, workspace, expression, error):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [5])
    stop = stop_at(dbg)

    with pytest.raises(EvaluationError, match=error):
        dbg.evaluate(expression, stop.frames[0].id)


def test_variables_truncate_long_reprs(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("long-return"))
    dbg.start(workspace.plugin.long_text)
    stop = stop_at(dbg)

    text = dbg.variables(stop.frames[0].id)["text"]

    assert text.startswith("'xxx") and len(text) <= 200


def test_stop_round_trips_through_json(dbg, workspace):
    dbg.pause_on_exceptions = "raised"
    dbg.start(workspace.plugin.catch, "boom")
    stop = stop_at(dbg)

    assert Stop.from_json(json.loads(json.dumps(stop.to_json()))) == stop


# session control


def test_pause_stops_a_busy_loop(dbg, workspace):
    started, done = threading.Event(), threading.Event()
    dbg.start(workspace.plugin.spin, started, done)
    assert started.wait(WAIT)

    dbg.pause()

    stop = stop_at(dbg)
    assert stop.reason == "pause"
    assert stop.frames[0].function == "spin"
    done.set()
    dbg.resume()
    assert dbg.wait_finished(timeout=WAIT) > 0


def test_only_the_target_thread_is_traced(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("double-body"))
    dbg.start(workspace.plugin.in_other_thread, workspace.plugin.double, 4)

    assert dbg.wait_for_stop(timeout=WAIT) is None
    assert dbg.wait_finished(timeout=WAIT) == 8


def test_no_trace_function_without_a_session(dbg, workspace):
    before = sys.gettrace()
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("double-body"))
    dbg.pause_on_exceptions = "raised"

    assert workspace.plugin.current_trace() is before
    assert workspace.plugin.double(2) == 4
    dbg.start(workspace.plugin.current_trace)
    assert dbg.wait_finished(timeout=WAIT) is not None
    assert sys.gettrace() is before


def test_attach_traces_the_calling_thread_until_detach(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    results = []

    def runtime_thread():
        previous = sys.gettrace()
        dbg.attach()
        try:
            results.append(workspace.plugin.accumulate([1, 2]))
        finally:
            dbg.detach()
        results.append(sys.gettrace() is previous)

    thread = threading.Thread(target=runtime_thread, daemon=True)
    thread.start()
    stop = stop_at(dbg)
    assert [f.function for f in stop.frames] == ["add", "accumulate"]
    dbg.remove_breakpoint(stop.breakpoint_id)
    dbg.resume()

    assert dbg.wait_for_stop(timeout=WAIT) is None
    thread.join(WAIT)
    assert results == [3, True]


def test_terminate_ends_a_stopped_target(dbg, workspace):
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2])
    stop_at(dbg)

    dbg.terminate()

    with pytest.raises(DebugSessionTerminated):
        dbg.wait_finished(timeout=WAIT)


def test_step_commands_need_a_stopped_target(dbg, workspace):
    dbg.start(workspace.plugin.double, 1)
    assert dbg.wait_finished(timeout=WAIT) == 2

    for command in (dbg.step_over, dbg.step_into, dbg.step_out, dbg.resume):
        with pytest.raises(TargetNotStopped):
            command()


def test_stop_listener_hears_each_stop_and_each_resume(dbg, workspace):
    heard = []
    remove = dbg.add_stop_listener(heard.append)
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2])
    for _ in range(2):
        stop_at(dbg)
        dbg.resume()
    assert dbg.wait_finished(timeout=WAIT) == 3
    remove()

    assert [where(event) if event else None for event in heard] == [
        ("add", workspace.line("add-body")), None,
        ("add", workspace.line("add-body")), None,
        None,  # the session ended
    ]


def test_stop_listener_may_resume_the_target_itself(dbg, workspace):
    def resume_at_once(stop):
        if stop is not None:
            dbg.resume()

    dbg.add_stop_listener(resume_at_once)
    dbg.set_breakpoint(workspace.plugin_path, workspace.line("add-body"))
    dbg.start(workspace.plugin.accumulate, [1, 2, 3])

    assert dbg.wait_finished(timeout=WAIT) == 6


def test_is_visible_only_under_the_roots(dbg, workspace):
    assert dbg.is_visible(workspace.plugin_path)
    assert not dbg.is_visible(workspace.library.__file__)
