"""Regression tests from recorded traffic: each recorded call to a plugin becomes a test.

    logomesh-studio testgen WORKSPACE PLUGIN --from RECORDING [-o FILE]

RECORDING holds JSON lines of ``message`` events as ``logomesh-studio run --json``
prints them (other events are ignored). Every recorded ``send`` to PLUGIN that
answered (``ok``) becomes a test that sends the same payload through
:class:`~logomesh_studio.testing.PluginHarness` as the same sender, so its
permissions apply, and compares the response; ``refused``, ``error`` and
``no_handler`` outcomes become ``pytest.raises`` tests. Identical calls are kept
once, in recording order. Fields that change from call to call (timestamps, uuids,
counters that differ for the same request) are left out of the comparison, with a
comment saying which and why.
"""

from __future__ import annotations

import argparse
import json
import keyword
import pprint
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logomesh_studio._argtypes import directory
from logomesh_studio.runtime.bus import Outcome
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.events import MessageRecorded
from logomesh_studio.testing import DRIVER

__all__ = ["RecordingError", "default_output", "generate_tests", "load_recording",
           "register", "without"]

NAMES = ("testgen",)
"""The subcommands :func:`register` adds."""

_RAISES = {"refused": "PermissionDenied", "error": "RemoteError", "no_handler": "NoHandler"}
_USED = ("ok", *_RAISES)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_HEX_ID = re.compile(r"^[0-9a-f]{16,}$", re.I)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_TIME_NAME = re.compile(r"(^|_)(time|timestamp|ts|date|created|updated|modified|at|when|"
                        r"elapsed|duration|seconds|ms|uuid|nonce)$", re.I)

Path_ = tuple[str | int, ...]


class RecordingError(ValueError):
    """A recording cannot be read; the message names the file and line."""


@dataclass
class _Call:
    """One distinct recorded call and what it answered."""

    source: str
    type: str
    payload: Any
    outcome: str
    response: Any = None
    error: str = ""
    volatile: dict[Path_, str] = field(default_factory=dict)  # path -> why
    responses: list[Any] = field(default_factory=list)


def load_recording(path: Path | str) -> list[dict[str, Any]]:
    """The ``message`` events of a JSON-lines recording (other events are skipped)."""
    records = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{path}:{number}: not a JSON line ({exc.msg}); expected "
                                 "the output of logomesh-studio run --json") from None
        if isinstance(record, dict) and record.get("event") == "message":
            records.append(record)
    return records


def _as_dict(record: Mapping[str, Any] | MessageRecorded) -> Mapping[str, Any]:
    return record.to_json() if isinstance(record, MessageRecorded) else record


def _decode(text: str) -> Any:
    return json.loads(text) if text else None


def _leaves(value: Any, path: Path_ = ()) -> Iterable[tuple[Path_, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _get(value: Any, path: Path_) -> Any:
    for part in path:
        value = value[part]
    return value


def _looks_volatile(path: Path_, value: Any, payload_values: set[str], when: float) -> str:
    """Why a response leaf looks like a time or an id, or "" if it does not."""
    if json.dumps(value) in payload_values:
        return ""  # echoed from the request: as stable as the request
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    if isinstance(value, str):
        if _UUID.match(value) or _HEX_ID.match(value):
            return "looks like a generated id"
        if _DATETIME.match(value):
            return "looks like a timestamp"
    if isinstance(value, int | float) and not isinstance(value, bool) and when \
            and abs(value - when) < 366 * 86400:
        return "looks like a timestamp"
    if name and _TIME_NAME.search(name) and isinstance(value, int | float | str) \
            and not isinstance(value, bool):
        return f"its name ({name!r}) says it is a time or an id"
    return ""


def _differing(responses: list[Any]) -> set[Path_]:
    """Paths whose value is not the same in every response to one request."""
    first = dict(_leaves(responses[0]))
    paths: set[Path_] = set()
    for other in responses[1:]:
        leaves = dict(_leaves(other))
        paths |= {p for p in first.keys() | leaves.keys() if first.get(p) != leaves.get(p)}
    return paths


def _calls(records: Iterable[Mapping[str, Any] | MessageRecorded], plugin: str,
           skipped: list[str]) -> list[_Call]:
    """Distinct calls to ``plugin`` in recording order, volatile fields marked."""
    by_key: dict[str, _Call] = {}
    for raw in records:
        record = _as_dict(raw)
        if record.get("event", "message") != "message" or record.get("target") != plugin:
            continue
        outcome, where = record.get("outcome"), f"#{record.get('id')} {record.get('type')}"
        if record.get("call") != "send":
            skipped.append(f"{where}: a {record.get('call')} (only direct sends are replayed)")
            continue
        if outcome not in _USED:
            skipped.append(f"{where}: outcome {outcome} (depends on timing or on other plugins)")
            continue
        if record.get("truncated"):
            skipped.append(f"{where}: recorded truncated")
            continue
        payload = _decode(record.get("payload", ""))
        key = json.dumps([record["source"], record["type"], payload, outcome], sort_keys=True)
        call = by_key.get(key)
        if call is None:
            call = by_key[key] = _Call(record["source"], record["type"], payload, outcome,
                                       error=record.get("error", ""))
        if outcome == Outcome.OK:
            call.responses.append(_decode(record.get("response", "")))
        when = float(record.get("time") or 0)
        if outcome == Outcome.OK:
            payload_values = {json.dumps(v) for _, v in _leaves(payload)}
            for path, value in _leaves(call.responses[-1]):
                why = _looks_volatile(path, value, payload_values, when)
                if why:
                    call.volatile.setdefault(path, why)
    for call in by_key.values():
        if call.outcome != Outcome.OK:
            continue
        for path in _differing(call.responses):
            call.volatile.setdefault(path, "differs between recorded calls with the same "
                                           "payload")
        call.response = call.responses[0]
    return list(by_key.values())


def _name(call: _Call, taken: set[str]) -> str:
    words = re.sub(r"\W+", "_", call.type.lower()).strip("_") or "message"
    base = f"test_{words}"
    if call.outcome != Outcome.OK:
        base += f"_{call.outcome}"
    if call.source != DRIVER:
        base += "_as_" + re.sub(r"\W+", "_", call.source.lower()).strip("_")
    name, n = base, 2
    while name in taken or keyword.iskeyword(name):
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _literal(value: Any, indent: int) -> str:
    text = pprint.pformat(value, width=96 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def _pattern(text: str) -> str:
    """A readable literal of the regex matching ``text`` exactly (for pytest.raises)."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)
    if "\\" in escaped and "'" not in escaped and escaped.isprintable():
        return f"r'{escaped}'"
    return repr(escaped)


def _path_text(path: Path_) -> str:
    return "".join(f"[{part!r}]" for part in path)


def _test(call: _Call, plugin: str, name: str, plugins: set[str]) -> tuple[str, set[str]]:
    """Source of one test and the sdk names it uses."""
    as_ = call.source if call.source in plugins else None
    who = f", as_={as_!r}" if as_ else ""
    note = "" if as_ or call.source == DRIVER else \
        f"    # recorded from {call.source!r}, which is not a plugin: sent as the test driver\n"
    if call.type == "execute":
        invoke = f"harness.execute(PLUGIN, {_literal(call.payload, 8)}{who})"
    else:
        invoke = f"harness.send(PLUGIN, {call.type!r}, {_literal(call.payload, 8)}{who})"
    lines = [f"def {name}(harness):\n"]
    if note:
        lines.append(note)
    if call.outcome in _RAISES:
        error = _RAISES[call.outcome]
        lines.append(f"    with pytest.raises({error}, match={_pattern(call.error)}):\n")
        lines.append(f"        {invoke}\n")
        return "".join(lines), {error}
    volatile = sorted(call.volatile.items(), key=lambda item: [str(p) for p in item[0]])
    if any(not path for path, _ in volatile):
        why = dict(volatile)[()]
        lines.append(f"    # The response is not compared: it {why}.\n")
        lines.append(f"    {invoke}\n")
        return "".join(lines), set()
    lines.append(f"    reply = {invoke}\n")
    if not volatile:
        lines.append(f"    assert reply == {_literal(call.response, 20)}\n")
        return "".join(lines), set()
    lines.append("    # Left out of the comparison, as they change from call to call:\n")
    for path, why in volatile:
        lines.append(f"    #   reply{_path_text(path)}: {why}\n")
    paths = ", ".join(repr(path) for path, _ in volatile)
    expected = without(json.loads(json.dumps(call.response)), [p for p, _ in volatile])
    lines.append(f"    assert without(reply, [{paths}]) == {_literal(expected, 40)}\n")
    return "".join(lines), {"without"}


def without(value: Any, paths: Iterable[Path_]) -> Any:
    """``value`` with the volatile parts at ``paths`` dropped (list items become None);
    generated tests compare ``without(reply, paths)`` with the recorded response."""
    for path in paths:
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent[path[-1]] = None
    return value


def _workspace_expr(workspace: Path, output: Path | None) -> str:
    if output is not None:
        out = output.resolve()
        if out.is_relative_to(workspace):
            depth = len(out.relative_to(workspace).parts) - 1
            return f"Path(__file__).resolve().parents[{depth}]"
        return f"Path({str(workspace)!r})"
    return "Path(__file__).resolve().parents[2]"


def generate_tests(records: Iterable[Mapping[str, Any] | MessageRecorded], plugin: str,
                   workspace: Path | str, output: Path | str | None = None,
                   recording: str = "a recording") -> str:
    """The source of a pytest module replaying ``records``' calls to ``plugin``.

    ``records`` are ``message`` events (``MessageRecorded`` or their ``to_json()``);
    ``output`` is where the module will be written (default: the plugin's
    ``tests/`` folder), so that it finds ``workspace`` from there.
    """
    workspace = Path(workspace).resolve()
    plugins = {s.id for s in discover(workspace, entry_points=False).plugins}
    skipped: list[str] = []
    calls = _calls(records, plugin, skipped)
    taken: set[str] = set()
    tests, used = [], set()
    for call in calls:
        text, names = _test(call, plugin, _name(call, taken), plugins)
        tests.append(text)
        used |= names
    errors = sorted(used - {"without"})
    header = [f'"""Tests of {plugin} generated by logomesh-studio testgen from {recording}.\n',
              "\n",
              "Each test sends a recorded call through PluginHarness, as the recorded sender\n",
              "(so its permissions apply), and compares the recorded response or error.\n",
              "Regenerate them when the plugin's behaviour changes on purpose.\n"]
    if skipped:
        header.append("\nNot replayed:\n")
        header += [f"- {why}\n" for why in skipped]
    header.append('"""\n\nfrom pathlib import Path\n\nimport pytest\n\n')
    if "without" in used:  # the very function that computed the expected values
        header.append("from logomesh_studio.devtools.testgen import without\n")
    if errors:
        header.append(f"from logomesh_studio.sdk import {', '.join(errors)}\n")
    header.append("from logomesh_studio.testing import PluginHarness\n\n")
    header.append(f"WORKSPACE = {_workspace_expr(workspace, None if output is None else Path(output))}\n")
    header.append(f"PLUGIN = {plugin!r}\n\n\n")
    header.append('@pytest.fixture(scope="module")\ndef harness():\n'
                  '    """The workspace, running; the tests share it in recording order."""\n'
                  "    with PluginHarness(WORKSPACE) as running:\n        yield running\n")
    if not tests:
        header.append("\n\ndef test_nothing_was_recorded():\n"
                      f'    pytest.skip("the recording has no replayable call to {plugin}")\n')
    return "".join(header) + "".join(f"\n\n{t}" for t in tests)


def default_output(workspace: Path | str, plugin: str) -> Path:
    """``<plugin folder>/tests/test_<package>_recorded.py`` (unique across plugins)."""
    for source in discover(Path(workspace), entry_points=False).plugins:
        if source.id == plugin:
            package = source.manifest.entry.partition(":")[0].split(".")[0]
            return source.folder / "tests" / f"test_{package}_recorded.py"
    raise RecordingError(f"plugin {plugin!r} is not in {workspace}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``testgen`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "testgen", help="generate a plugin's regression tests from recorded messages",
        description="Turn the recorded calls to PLUGIN in RECORDING (JSON lines of "
                    "'logomesh-studio run --json') into pytest tests.")
    parser.add_argument("workspace", type=directory)
    parser.add_argument("plugin", metavar="PLUGIN")
    parser.add_argument("--from", dest="recording", type=Path, required=True,
                        metavar="RECORDING", help="the recorded events (JSON lines)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="where to write "
                        "the tests (default: PLUGIN/tests/test_<package>_recorded.py)")
    parser.set_defaults(func=cmd_testgen)


def cmd_testgen(args: argparse.Namespace) -> int:
    """Write the generated tests; exit 2 when the recording or plugin is unusable."""
    try:
        records = load_recording(args.recording)
        output = args.output or default_output(args.workspace, args.plugin)
    except RecordingError as exc:
        print(f"testgen: {exc}", file=sys.stderr)
        return 2
    source = generate_tests(records, args.plugin, args.workspace, output,
                            recording=args.recording.name)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(source, encoding="utf-8")
    count = source.count("\ndef test_")
    print(f"wrote {count} tests to {output}")
    return 0
