"""The child process of ``logomesh-studio test``: pytest (and coverage.py) on plugins' tests.

    python -m logomesh_studio.devtools._testchild SPEC_JSON

It writes one JSON line per event to its original stdout as it happens (pytest's
own output goes to stderr): ``ready``, ``plugin_start``, ``start`` (a test began),
``test`` (a test finished), ``plugin_done`` (with coverage) and ``done``. The parent
(:mod:`logomesh_studio.devtools.testrun`) turns them into public records and
outlives a child that crashes or hangs.

Coverage is one session with a dynamic context per plugin, switched as collection
and the tests move from one plugin's folder to the next, so each plugin's figure
counts only what its own tests (and their imports) executed.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import coverage
    import pytest

Emit = Callable[[dict[str, Any]], None]


class TestOutcome(StrEnum):
    """A finished test's outcome, as the JSON lines and the tests pane show it."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


def _phase_outcome(reports: dict[str, pytest.TestReport]
                   ) -> tuple[TestOutcome, pytest.TestReport | None]:
    """The test's single outcome from its setup/call/teardown reports, and the report
    that decided it (for the message)."""
    setup, call, teardown = (reports.get(p) for p in ("setup", "call", "teardown"))
    if setup is not None and setup.failed:
        return TestOutcome.ERROR, setup
    if call is not None and call.failed:
        return TestOutcome.FAILED, call
    if teardown is not None and teardown.failed:
        return TestOutcome.ERROR, teardown
    for report in (setup, call):
        if report is not None and report.skipped:
            return TestOutcome.SKIPPED, report
    return TestOutcome.PASSED, None


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return report.longreprtext


class Streamer:
    """A pytest plugin that streams results and switches coverage contexts per plugin."""

    def __init__(self, emit: Emit, workspace: Path, plugins: list[dict[str, Any]],
                 cov: coverage.Coverage | None, report_dir: Path) -> None:
        self.emit = emit
        self.plugins: list[tuple[str, Path]] = [(str(p["id"]), Path(p["folder"]).resolve())
                                                for p in plugins]
        self.cov = cov
        self.report_dir = report_dir
        self.current: str | None = None
        self.started = 0.0
        self.done: set[str] = set()
        self.reports: dict[str, dict[str, pytest.TestReport]] = {}
        self.invocation_dir = Path.cwd()
        self.workspace = workspace
        self.rootpath = self.invocation_dir  # pytest's rootdir, known at configure

    # -- plugins ----------------------------------------------------------------------------

    def plugin_of(self, path: Path) -> str | None:
        for plugin_id, folder in self.plugins:
            if path.is_relative_to(folder):
                return plugin_id
        return None

    def folder_of(self, plugin_id: str) -> Path:
        return next(folder for pid, folder in self.plugins if pid == plugin_id)

    def _context(self, plugin_id: str | None) -> None:
        if self.cov is not None and plugin_id is not None:
            self.cov.switch_context(plugin_id)

    def enter(self, plugin_id: str | None) -> None:
        """Make ``plugin_id`` the plugin whose tests run now (closing the previous one)."""
        if plugin_id == self.current or plugin_id is None:
            return
        self.leave()
        self.current = plugin_id
        self.started = time.perf_counter()
        self.emit({"kind": "plugin_start", "plugin": plugin_id})
        self._context(plugin_id)

    def leave(self) -> None:
        if self.current is None:
            return
        plugin_id, self.current = self.current, None
        duration = time.perf_counter() - self.started
        self.done.add(plugin_id)
        self.emit({"kind": "plugin_done", "plugin": plugin_id, "duration": duration,
                   **self.coverage_of(plugin_id)})

    def coverage_of(self, plugin_id: str) -> dict[str, Any]:
        """``coverage`` (percent or None) and ``files`` of one plugin's own code."""
        if self.cov is None:
            return {"coverage": None, "files": {}}
        from coverage.exceptions import NoDataError

        folder = self.folder_of(plugin_id)
        out = self.report_dir / f"{len(self.done)}.json"
        self.cov.stop()
        try:
            self.cov.json_report(outfile=str(out), include=[str(folder / "*")],
                                 contexts=[f"^{re.escape(plugin_id)}$"])
        except NoDataError:
            return {"coverage": None, "files": {}}
        finally:
            self.cov.start()
        data = json.loads(out.read_text(encoding="utf-8"))
        files = {str((self.invocation_dir / name).resolve()): {
            "coverage": info["summary"]["percent_covered"], "missing": info["missing_lines"]}
            for name, info in data["files"].items()}
        return {"coverage": data["totals"]["percent_covered"] if files else None,
                "files": files}

    def nodeid(self, nodeid: str) -> str:
        """``nodeid`` relative to the workspace (pytest's is relative to its rootdir)."""
        path, sep, rest = nodeid.partition("::")
        full = (self.rootpath / path).resolve()
        if not full.is_relative_to(self.workspace):
            return nodeid
        return f"{full.relative_to(self.workspace).as_posix()}{sep}{rest}"

    # -- pytest hooks -----------------------------------------------------------------------

    def pytest_load_initial_conftests(self) -> None:
        # Measure from here on: the conftests and tests may import plugin code, pytest's
        # own start-up (options, its plugins) is not worth tracing.
        if self.cov is not None:
            self.cov.start()

    def pytest_configure(self, config: pytest.Config) -> None:
        self.rootpath = config.rootpath

    def pytest_collectstart(self, collector: pytest.Collector) -> None:
        path = getattr(collector, "path", None)
        if path is not None and self.cov is not None:
            self._context(self.plugin_of(Path(path).resolve()))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        path = (self.rootpath / report.fspath).resolve()
        self.emit({"kind": "test", "plugin": self.plugin_of(path),
                   "nodeid": self.nodeid(report.nodeid),
                   "file": str(path), "line": None, "outcome": "error", "duration": 0.0,
                   "message": report.longreprtext, "location": self.location(report, path)})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        with_items = {self.plugin_of(Path(item.path).resolve()) for item in session.items}
        for plugin_id, _ in self.plugins:
            if plugin_id not in with_items:  # nothing to run (all deselected, or no tests)
                self.emit({"kind": "plugin_start", "plugin": plugin_id})
                self.done.add(plugin_id)
                self.emit({"kind": "plugin_done", "plugin": plugin_id, "duration": 0.0,
                           "coverage": None, "files": {}})

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        path = (self.rootpath / location[0]).resolve()
        self.enter(self.plugin_of(path))
        self.emit({"kind": "start", "plugin": self.current, "nodeid": self.nodeid(nodeid)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        phases = self.reports.setdefault(report.nodeid, {})
        phases[report.when] = report
        if report.when != "teardown":
            return
        del self.reports[report.nodeid]
        outcome, decisive = _phase_outcome(phases)
        path = (self.rootpath / report.location[0]).resolve()
        line = report.location[1]
        message = location = None
        if decisive is not None and outcome == TestOutcome.SKIPPED:
            message = _skip_reason(decisive)
        elif decisive is not None:
            message = decisive.longreprtext
            location = self.location(decisive, path)
        self.emit({"kind": "test", "plugin": self.current, "nodeid": self.nodeid(report.nodeid),
                   "file": str(path), "line": None if line is None else line + 1,
                   "outcome": outcome, "duration": sum(r.duration for r in phases.values()),
                   "message": message, "location": location})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.leave()

    def location(self, report: pytest.TestReport | pytest.CollectReport,
                 test_file: Path) -> str | None:
        """``file:line`` of the failure: the innermost traceback entry in the plugin's
        own folder (its tests or its code), else where the exception was raised."""
        longrepr = report.longrepr
        tb = getattr(longrepr, "reprtraceback", None)
        plugin = self.plugin_of(test_file)
        folder = self.folder_of(plugin) if plugin is not None else test_file.parent
        for entry in reversed(getattr(tb, "reprentries", [])):
            loc = getattr(entry, "reprfileloc", None)
            if loc is not None:
                path = (self.invocation_dir / loc.path).resolve()
                if path.is_relative_to(folder):
                    return f"{path}:{loc.lineno}"
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            return f"{(self.invocation_dir / crash.path).resolve()}:{crash.lineno}"
        return None


def main(argv: list[str]) -> int:
    """Run the spec's tests; returns pytest's exit status."""
    # Keep the real stdout for records; anything else printing to fd 1 goes to stderr.
    out: TextIO = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def emit(record: dict[str, Any]) -> None:
        out.write(json.dumps(record) + "\n")

    spec = json.loads(argv[0])
    emit({"kind": "ready"})
    # As the runtime imports a plugin from its folder, its tests may import it from there.
    sys.path[:0] = [p["folder"] for p in spec["plugins"]]
    import pytest

    for name in spec.get("preload", ()):
        importlib.import_module(name)  # before coverage starts: not the plugins' code

    cov = None
    if spec["coverage"]:
        import coverage

        cov = coverage.Coverage(
            data_file=None, source=[p["folder"] for p in spec["plugins"]],
            omit=[str(Path(p["folder"]) / "tests" / "*") for p in spec["plugins"]]
            + ["*/conftest.py"])
    # No --rootdir: pytest's importlib mode names test modules after their path from
    # the rootdir, and "echo.tests.test_echo" would take the package name "echo" from
    # the plugin. --confcutdir lets a workspace conftest.py in whatever the rootdir is.
    args = [*spec["args"], "-p", "no:cacheprovider", "--continue-on-collection-errors",
            "--confcutdir", spec["workspace"]]
    if spec.get("pattern"):
        args += ["-k", spec["pattern"]]
    with tempfile.TemporaryDirectory(prefix="logomesh-cov-") as report_dir:
        streamer = Streamer(emit, Path(spec["workspace"]), spec["plugins"], cov, Path(report_dir))
        try:
            status = pytest.main(args, plugins=[streamer])
        finally:
            if cov is not None:
                cov.stop()
    emit({"kind": "done", "status": int(status)})
    return int(status)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: a thread a test left running must not keep us alive.
    os._exit(code)
