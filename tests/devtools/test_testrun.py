"""``logomesh-studio test``: plugins' tests in a child process, results streamed as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from logomesh_studio.devtools.scaffold import TEMPLATES, scaffold
from logomesh_studio.devtools.testrun import (
    PluginStarted,
    PluginSummary,
    TestResult,
    UnknownPlugin,
    run_tests,
)

TEST_KEYS = {"kind", "plugin", "nodeid", "file", "line", "outcome", "duration", "message",
             "location"}
SUMMARY_KEYS = {"kind", "plugin", "total", "passed", "failed", "skipped", "errors", "duration",
                "coverage", "files", "crashed", "timed_out", "message"}

CODE = '''
from logomesh_studio.sdk import Plugin


class Subject(Plugin):
    def execute(self, input):
        if input:
            return "yes"
        return "no"
'''


def add_plugin(workspace, plugin_id: str, tests: str | None, code: str = CODE) -> Path:
    """A plugin whose package imports nothing heavy, with ``tests`` as its test module."""
    folder = workspace.plugin(plugin_id, code, cls="Subject")
    if tests is not None:
        package = workspace.package_name(plugin_id)
        source = f"import {package}\n" + textwrap.dedent(tests)
        (folder / "tests").mkdir()
        (folder / "tests" / f"test_{package}.py").write_text(source)
    return folder


def collect(workspace, *args, **kwargs) -> list:
    return list(run_tests(workspace.root, *args, **kwargs))


def by_kind(records, kind):
    return [r for r in records if isinstance(r, kind)]


def summary_of(records, plugin) -> PluginSummary:
    (found,) = [r for r in by_kind(records, PluginSummary) if r.plugin == plugin]
    return found


def outcomes(records) -> dict[str, str]:
    return {r.nodeid.split("::")[-1]: r.outcome for r in by_kind(records, TestResult)}


MIXED = '''
import threading

import pytest


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_passes():
    assert {package}.Subject().execute(1) == "yes"


def test_fails():
    assert {package}.Subject().execute(0) == "yes"


def test_errors(broken):
    pass


def test_skipped():
    pytest.skip("not today")


def test_slow():
    threading.Event().wait(0.3)
'''


def test_outcomes_messages_locations_and_counts(workspace):
    package = workspace.package_name("mixed")
    folder = add_plugin(workspace, "mixed", MIXED.replace("{package}", package))
    records = collect(workspace)
    assert outcomes(records) == {"test_passes": "passed", "test_fails": "failed",
                                 "test_errors": "error", "test_skipped": "skipped",
                                 "test_slow": "passed"}
    tests = {r.nodeid.split("::")[-1]: r for r in by_kind(records, TestResult)}
    test_file = folder / "tests" / f"test_{package}.py"
    failed = tests["test_fails"]
    assert failed.file == str(test_file) and failed.line == 17
    assert failed.location == f"{test_file}:18"
    assert "assert 'no' == 'yes'" in failed.message
    assert "fixture broke" in tests["test_errors"].message
    assert tests["test_skipped"].message == "Skipped: not today"
    assert tests["test_slow"].duration >= 0.3
    assert tests["test_passes"].nodeid == f"mixed/tests/test_{package}.py::test_passes"
    summary = summary_of(records, "mixed")
    assert (summary.total, summary.passed, summary.failed, summary.skipped, summary.errors) == \
        (5, 2, 1, 1, 1)
    assert not summary.ok and not summary.crashed and not summary.timed_out


def test_coverage_counts_the_plugins_own_code_with_its_missing_lines(workspace):
    package = workspace.package_name("cov")
    folder = add_plugin(workspace, "cov", f"""
        def test_yes():
            assert {package}.Subject().execute(1) == "yes"
    """)
    summary = summary_of(collect(workspace), "cov")
    code = str(folder / package / "__init__.py")
    assert list(summary.files) == [code]  # the tests themselves are not counted
    assert summary.files[code]["missing"] == [9]
    assert summary.coverage == pytest.approx(100 * 5 / 6)


def test_no_coverage_leaves_coverage_out(workspace):
    add_plugin(workspace, "quick", "def test_ok():\n    pass\n")
    summary = summary_of(collect(workspace, coverage=False), "quick")
    assert summary.passed == 1 and summary.coverage is None and summary.files == {}


def test_a_plugin_without_tests_reports_zero_tests_plainly(workspace):
    add_plugin(workspace, "bare", None)
    records = collect(workspace)
    assert [type(r) for r in records] == [PluginStarted, PluginSummary]
    assert records[1].total == 0 and records[1].ok
    assert "no tests" in records[1].message


def test_a_crash_is_reported_and_the_other_plugins_still_run(workspace):
    package = workspace.package_name("a-crasher")
    add_plugin(workspace, "a-crasher", """
        import os

        def test_before():
            pass

        def test_crash():
            print("last words")
            os._exit(3)

        def test_never_runs():
            pass
    """)
    add_plugin(workspace, "b-after", "def test_ok():\n    pass\n")
    records = collect(workspace)
    assert outcomes(records) == {"test_before": "passed", "test_crash": "error",
                                 "test_ok": "passed"}
    crashed = summary_of(records, "a-crasher")
    assert crashed.crashed and not crashed.ok and "exited with code 3" in crashed.message
    crash = next(r for r in by_kind(records, TestResult) if r.nodeid.endswith("test_crash"))
    assert crash.nodeid == f"a-crasher/tests/test_{package}.py::test_crash"
    assert "exited with code 3" in crash.message
    assert summary_of(records, "b-after").ok


def test_a_hanging_test_times_out_and_the_other_plugins_still_run(workspace):
    add_plugin(workspace, "a-hanger", """
        import threading

        def test_hangs():
            threading.Event().wait()
    """)
    add_plugin(workspace, "b-after", "def test_ok():\n    pass\n")
    records = collect(workspace, timeout=5)
    assert outcomes(records) == {"test_hangs": "error", "test_ok": "passed"}
    hung = summary_of(records, "a-hanger")
    assert hung.timed_out and not hung.crashed and "ran longer than 5 s" in hung.message
    assert summary_of(records, "b-after").ok


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_results_stream_while_the_tests_still_run(workspace, tmp_path):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    add_plugin(workspace, "streamer", f"""
        def test_first():
            pass

        def test_blocked_until_the_runner_saw_the_first():
            with open({str(gate)!r}) as fifo:
                assert fifo.read() == "go"
    """)
    records = run_tests(workspace.root, timeout=30)
    seen = []
    for record in records:
        seen.append(record)
        if isinstance(record, TestResult):
            break
    # The second test cannot finish before we open the gate: this record was streamed.
    assert seen[-1].nodeid.endswith("test_first") and seen[-1].outcome == "passed"
    assert not by_kind(seen, PluginSummary)
    released = threading.Thread(target=lambda: gate.write_text("go"))
    released.start()
    rest = list(records)
    released.join()
    assert summary_of(rest, "streamer").passed == 2


def test_pattern_and_selection_narrow_the_run(workspace):
    package = workspace.package_name("picky")
    add_plugin(workspace, "picky", "def test_alpha():\n    pass\n\ndef test_beta():\n    pass\n")
    add_plugin(workspace, "other", "def test_gamma():\n    pass\n")
    assert set(outcomes(collect(workspace, pattern="beta"))) == {"test_beta"}
    only = collect(workspace, select=[f"picky/tests/test_{package}.py::test_alpha"])
    assert set(outcomes(only)) == {"test_alpha"}
    assert {r.plugin for r in by_kind(only, PluginSummary)} == {"picky"}


def test_an_unknown_plugin_is_an_error_naming_the_plugins(workspace):
    add_plugin(workspace, "known", None)
    with pytest.raises(UnknownPlugin, match="ghost: not in .*plugins: known"):
        collect(workspace, ["ghost"])


def test_cli_json_prints_exactly_the_documented_records_and_exits_one_on_failure(workspace):
    add_plugin(workspace, "good", "def test_ok():\n    pass\n")
    add_plugin(workspace, "bad", "def test_no():\n    assert False\n")
    proc = subprocess.run([sys.executable, "-m", "logomesh_studio.cli", "test",
                           str(workspace.root), "--json"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["kind"], r["plugin"]) for r in lines] == [
        ("plugin_started", "bad"), ("test", "bad"), ("summary", "bad"),
        ("plugin_started", "good"), ("test", "good"), ("summary", "good")]
    assert set(lines[0]) == {"kind", "plugin", "tests_dir"}
    assert set(lines[1]) == TEST_KEYS and set(lines[2]) == SUMMARY_KEYS
    assert lines[2]["failed"] == 1 and lines[5]["passed"] == 1


def test_cli_exits_zero_when_all_pass_and_two_for_an_unknown_plugin(workspace, capsys):
    from logomesh_studio.cli import main

    add_plugin(workspace, "fine", "def test_ok():\n    pass\n")
    assert main(["test", str(workspace.root), "fine", "--no-coverage"]) == 0
    assert "fine: 1 passed, 0 failed" in capsys.readouterr().out
    assert main(["test", str(workspace.root), "nope"]) == 2
    assert "nope: not in" in capsys.readouterr().err


def test_every_template_passes_its_own_tests_with_coverage_of_80_percent(tmp_path):
    workspace = tmp_path / "ws"
    suffix = f"{abs(hash(str(tmp_path))) % 10**6:06d}"
    ids = [scaffold(template, f"{template}-{suffix}", workspace).name for template in TEMPLATES]
    summaries = {r.plugin: r for r in run_tests(workspace) if isinstance(r, PluginSummary)}
    for plugin_id in ids:
        summary = summaries[plugin_id]
        assert summary.ok and summary.total >= 3 and summary.passed == summary.total, summary
        assert summary.coverage is not None and summary.coverage >= 80, summary


def test_pytest_plugins_the_tests_do_not_use_are_not_loaded(workspace):
    add_plugin(workspace, "lean", """
        def test_runs_without_the_optional_plugins(request):
            manager = request.config.pluginmanager
            # (spelled in pieces: naming a plugin in a test is what makes it load)
            names = ("hypo" + "thesispytest", "pytest-qt", "time" + "out", "pytest" + "_cov")
            loaded = [name for name in names if manager.has_plugin(name)]
            assert loaded == []
    """)
    add_plugin(workspace, "uses-qt", """
        def test_gets_the_fixture_of_the_plugin_it_uses(qtbot):
            assert qtbot is not None
    """)
    lean = collect(workspace, ["lean"], coverage=False)
    assert outcomes(lean) == {"test_runs_without_the_optional_plugins": "passed"}
    uses_qt = collect(workspace, ["uses-qt"], coverage=False)
    assert outcomes(uses_qt) == {"test_gets_the_fixture_of_the_plugin_it_uses": "passed"}
