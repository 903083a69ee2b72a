"""Garbled manifests never crash the loader or ``check``: valid, or a ManifestError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logomesh_studio.cli import main
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.manifest import Manifest, ManifestError, load_manifest

FIELDS = ["id", "name", "version", "entry", "description", "capabilities", "dependencies",
          "permissions", "priority", "config", "main"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=50) | st.text(min_size=3000, max_size=6000),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                      children, max_size=4),
    max_leaves=10)

plausible = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["ok", "x.y", "BAD", ""]) | st.text(max_size=120) | json_values,
    "name": st.text(max_size=300) | json_values,
    "version": st.sampled_from(["1.0", "1.0.0rc1", "one", ""]) | json_values,
    "entry": st.sampled_from(["m:C", "m", "a.b:C.D"]) | json_values,
    "capabilities": st.lists(st.text(max_size=20), max_size=3) | json_values,
    "dependencies": st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=3)
    | json_values,
    "permissions": st.lists(st.sampled_from(["send:*", "send:a:b", "broadcast", "nope", ""])
                            | st.text(max_size=15), max_size=3) | json_values,
    "main": st.text(max_size=10),
    "priority": json_values,
}) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=6)


def toml_text(data: dict) -> str:
    """TOML-ish text for ``data`` (NaN, which neither format spells, becomes raw junk)."""
    try:
        return "\n".join(f"{json.dumps(k)} = {json.dumps(v, allow_nan=False)}"
                         for k, v in data.items())
    except ValueError:
        return "nan = nan = nan"


def outcome(path: Path) -> None:
    try:
        assert isinstance(load_manifest(path), Manifest)
    except ManifestError as exc:
        assert exc.problems and all(p.path == str(path) for p in exc.problems)
        assert all(p.field and p.reason for p in exc.problems)


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(plausible)
def test_random_json_manifests_are_valid_or_a_manifest_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "manifest.json"
        path.write_text(json.dumps(data))
        outcome(path)


@SETTINGS
@given(plausible)
def test_random_toml_manifests_are_valid_or_a_manifest_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plugin.toml"
        path.write_text(toml_text(data))
        outcome(path)


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from(["plugin.toml", "manifest.json"]),
       st.sampled_from(["utf-8", "utf-16", "latin-1", None]))
def test_binary_junk_and_wrong_encodings_are_manifest_errors(raw, name, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if encoding is not None:
            raw = raw.decode("latin-1").encode(encoding, errors="replace")
        path.write_bytes(raw)
        outcome(path)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(plausible, min_size=1, max_size=4),
       st.lists(st.sampled_from(["plugin.toml", "manifest.json"]), min_size=4, max_size=4))
def test_check_never_raises_on_garbled_workspaces(manifests, names):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for index, data in enumerate(manifests):
            folder = root / f"p{index}"
            folder.mkdir()
            text = json.dumps(data) if names[index].endswith(".json") else toml_text(data)
            (folder / names[index]).write_text(text)
        assert discover(root, entry_points=False) is not None
        assert main(["check", str(root)]) in (0, 1)
