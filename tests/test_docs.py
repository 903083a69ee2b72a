"""The README's and the plugin guide's examples run as written."""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logomesh_studio.examples import example_workspace
from logomesh_studio.testing import PluginHarness
from tests.conftest import Workspace, stop_when

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GUIDE = REPO / "docs" / "plugin-guide.md"
CLI = [sys.executable, "-m", "logomesh_studio.cli"]


def blocks(path: Path, language: str) -> list[str]:
    """The fenced code blocks of ``path`` in ``language`` ("" for unlabelled ones)."""
    return [code for lang, code in re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(),
                                              re.DOTALL | re.MULTILINE) if lang == language]


def block_with(path: Path, language: str, text: str) -> str:
    [code] = [code for code in blocks(path, language) if text in code]
    return code


def command(line: str) -> list[str]:
    """A documented ``logomesh-studio ...`` command line as argv for this interpreter."""
    args = shlex.split(line, comments=True)
    assert args[0] == "logomesh-studio", line
    return [*CLI, *args[1:]]


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A folder holding a fresh copy of the example workspace as ``plugins/``."""
    shutil.copytree(example_workspace(), tmp_path / "plugins",
                    ignore=shutil.ignore_patterns("__pycache__", ".logomesh"))
    return tmp_path


@pytest.mark.parametrize("path", [README, GUIDE], ids=["README", "guide"])
def test_every_python_example_is_valid_python(path):
    for code in blocks(path, "python"):
        compile(code, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize(("path", "marker"), [(README, "class CounterPlugin"),
                                              (GUIDE, "class CounterPlugin")],
                         ids=["README", "guide"])
def test_the_counter_plugin_example_counts_with_the_tokenizer(examples, path, marker):
    from logomesh_studio.testing import PluginHarness

    (examples / "plugins" / "counter" / "counter" / "__init__.py").write_text(
        block_with(path, "python", marker))
    with PluginHarness(examples / "plugins") as harness:
        assert harness.send("counter", "count", {"text": "a b a"})["total"] == 3


def test_the_guide_testing_examples_pass_in_the_example_workspace(examples):
    tests = examples / "plugins" / "counter" / "tests"
    (tests / "test_guide_harness.py").write_text(
        block_with(GUIDE, "python", "PluginHarness(WORKSPACE)"))
    (tests / "test_guide_reload.py").write_text(block_with(GUIDE, "python", "harness.mark()"))
    # From the workspace's parent, so plugins/conftest.py (the harness fixture) applies.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tests / "test_guide_harness.py"),
                           str(tests / "test_guide_reload.py")],
                          cwd=examples, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


def test_the_guide_check_example_prints_what_it_shows(tmp_path):
    shown = block_with(GUIDE, "", "$ logomesh-studio check my-workspace").splitlines()
    workspace = Workspace(tmp_path / "my-workspace")
    workspace.plugin("tokenizer", version="1.0.0")
    workspace.plugin("counter", dependencies={"tokenizer": ">=2"})
    workspace.plugin("store", version="one")
    proc = subprocess.run(command(shown[0].removeprefix("$ ")), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert (proc.stdout + proc.stderr).splitlines() == shown[1:]


def test_the_guide_send_examples_print_what_they_show(examples):
    shown = block_with(GUIDE, "", "$ logomesh-studio send").splitlines()
    calls = [i for i, line in enumerate(shown) if line.startswith("$ ")]
    for start, end in zip(calls, [*calls[1:], len(shown)], strict=True):
        proc = subprocess.run(command(shown[start][2:]), cwd=examples, capture_output=True,
                              text=True, timeout=120)
        printed = (proc.stdout + proc.stderr).splitlines()
        expected = shown[start + 1:end]
        if expected[-1] == "  ...":  # the response is elided after its first lines
            expected, printed = expected[:-1], printed[:len(expected) - 1]
        assert printed == expected


def readme_commands() -> list[str]:
    code = block_with(README, "bash", "logomesh-studio check plugins")
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.parametrize("line", readme_commands(),
                         ids=lambda line: " ".join(shlex.split(line, comments=True)[1:3]))
def test_the_readme_headless_commands_run_as_written(examples, line):
    args = command(line)
    duration = args[args.index("--for") + 1] if "--for" in args else None
    if args[len(CLI)] == "run" and (duration is None or float(duration) > 5):
        # Runs until Ctrl+C (or for a minute): stop it once it is up, as a user would.
        ready = ("watching", "watching ") if "--watch" in args else ("workspace_loaded",
                                                                      "workspace ")
        proc = stop_when(args, lambda out: f'"event": "{ready[0]}"' in out
                         or out.startswith(ready[1]), cwd=examples)
        assert proc.returncode == 0, proc.stderr
        return
    if args[len(CLI)] == "testgen":
        record_traffic(examples / args[args.index("--from") + 1], examples / "plugins")
    proc = subprocess.run(args, cwd=examples, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def record_traffic(path: Path, workspace: Path) -> None:
    """What ``run --json`` prints while a counter message goes through: the recording
    the README's ``testgen`` line reads."""
    with PluginHarness(workspace) as harness:
        harness.send("counter", "count", {"text": "a b a"})
    path.write_text("".join(json.dumps(event.to_json()) + "\n" for event in harness.events))


def headings(path: Path) -> set[str]:
    """The section titles of a markdown file (code blocks left out)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.DOTALL | re.MULTILINE)
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}


def anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_every_section_the_docs_and_code_refer_to_exists():
    guide = headings(GUIDE)
    for path in [README, *sorted((REPO / "docs").glob("*.md"))]:
        for target, name in re.findall(r"\]\(([\w./-]*\.md)?#([\w-]+)\)", path.read_text()):
            linked = path.parent / target if target else path
            assert name in {anchor(t) for t in headings(linked)}, f"{path}: #{name}"
        for name in re.findall(r"guide's \"([^\"]+)\" section", path.read_text()):
            assert name in guide, f"{path}: {name!r}"
    for path in (REPO / "logomesh_studio").rglob("*.py"):
        for name in re.findall(r"plugin-guide\.md, \"([^\"]+)\"", path.read_text()):
            assert name in guide, f"{path}: {name!r}"


def test_the_guide_launch_json_attaches_to_the_port_its_run_command_serves():
    served = block_with(GUIDE, "", "--dap")
    port = int(command(served.strip())[-1])
    [configuration] = json.loads(block_with(GUIDE, "json", '"request": "attach"'))[
        "configurations"]
    assert configuration["request"] == "attach"
    assert configuration["connect"] == {"host": "127.0.0.1", "port": port}
    assert configuration["debugServer"] == port
