"""Run one plugin test in this process, handing each harness runtime it starts to a debugger.

A plugin's tests drive it through :class:`~logomesh_studio.testing.PluginHarness`, whose
runtime thread runs the plugin's code. To debug a test, :func:`run_test` runs it with
pytest in the calling thread (a worker thread in Studio) while :func:`harness_hook` is
active: every harness that starts is offered to ``on_runtime`` once its runtime is up and
before the test sends anything, and what ``on_runtime`` returns is called before that
runtime stops. Studio attaches a ``DebugSession`` there, so breakpoints in the plugin's
code stop as in a live debug session. The test function itself runs untraced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from logomesh_studio.runtime.runner import RuntimeThread
from logomesh_studio.testing import PluginHarness

__all__ = ["PYTEST_ARGS", "RuntimeHook", "harness_hook", "run_test"]

RuntimeHook = Callable[[RuntimeThread], Callable[[], None] | None]
"""Called with a harness's started runtime; may return a cleanup run before it stops."""

PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:timeout", "-p", "no:faulthandler",
               "-p", "no:pytest-qt", "--capture=no")
"""In-process pytest without what needs the main thread (signal-based timeouts,
faulthandler) or would touch the host's Qt application, and without output capture
(fd capture would swallow the whole process's output)."""


@contextlib.contextmanager
def harness_hook(on_runtime: RuntimeHook) -> Iterator[None]:
    """While active, each PluginHarness calls ``on_runtime(runtime)`` after starting and
    the cleanup it returned before stopping."""
    enter, leave = PluginHarness.__enter__, PluginHarness.__exit__
    cleanups: dict[int, Callable[[], None]] = {}

    def hooked_enter(harness: PluginHarness) -> PluginHarness:
        started = enter(harness)
        cleanup = on_runtime(harness.runtime)
        if cleanup is not None:
            cleanups[id(harness)] = cleanup
        return started

    def hooked_exit(harness: PluginHarness, *exc_info: object) -> None:
        cleanup = cleanups.pop(id(harness), None)
        try:
            if cleanup is not None:
                cleanup()
        finally:
            leave(harness, *exc_info)

    PluginHarness.__enter__ = hooked_enter  # type: ignore[method-assign]
    PluginHarness.__exit__ = hooked_exit  # type: ignore[method-assign]
    try:
        yield
    finally:
        PluginHarness.__enter__ = enter  # type: ignore[method-assign]
        PluginHarness.__exit__ = leave  # type: ignore[method-assign]


def run_test(nodeid: str, rootdir: Path | str, on_runtime: RuntimeHook) -> int:
    """Run the test ``nodeid`` (relative to ``rootdir``) with pytest in this thread under
    :func:`harness_hook`; returns pytest's exit code (0: passed)."""
    import pytest

    with harness_hook(on_runtime):
        return int(pytest.main([*PYTEST_ARGS, f"--rootdir={rootdir}",
                                str(Path(rootdir) / nodeid)]))
