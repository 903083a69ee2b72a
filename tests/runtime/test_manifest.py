"""Manifest validation: every field, both formats, and errors that name file, field, reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logomesh_studio.runtime.manifest import ManifestError, load_manifest

VALID = {"id": "text.counter", "name": "Counter", "version": "1.2.0", "entry": "counter:Plugin"}


def write_json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return path


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plugin.toml"
    path.write_text(text)
    return path


def problem_for(tmp_path: Path, **changes: object) -> tuple[str, str, str]:
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ManifestError) as info:
        load_manifest(write_json(tmp_path, data))
    return info.value.path, info.value.field, info.value.reason


def test_minimal_toml_manifest_defaults_optional_fields(tmp_path):
    path = write_toml(tmp_path, 'id = "echo"\nname = "Echo"\nversion = "1.0"\nentry = "echo:E"\n')
    manifest = load_manifest(path)
    assert (manifest.id, manifest.version, manifest.entry) == ("echo", "1.0", "echo:E")
    assert manifest.capabilities == [] and manifest.dependencies == {}
    assert manifest.permissions == [] and manifest.description == ""


def test_json_manifest_accepts_main_as_alias_for_entry(tmp_path):
    data = {k: v for k, v in VALID.items() if k != "entry"} | {"main": "counter:Plugin"}
    assert load_manifest(write_json(tmp_path, data)).entry == "counter:Plugin"


def test_json_manifest_with_both_main_and_entry_is_an_error(tmp_path):
    path, field, reason = problem_for(tmp_path, main="other:Plugin")
    assert field == "main" and "not both" in reason


def test_all_fields_round_trip_from_toml(tmp_path):
    path = write_toml(tmp_path, """
id = "indexer"
name = "Indexer"
version = "0.3.0rc1"
description = "Indexes things"
entry = "indexer.core:IndexerPlugin"
capabilities = ["text.index"]
permissions = ["send:counter:count", "broadcast:storage", "capability:*"]
priority = 5
[dependencies]
counter = ">=1.1,<2"
[config]
limit = 3
""")
    m = load_manifest(path)
    assert m.dependencies == {"counter": ">=1.1,<2"}
    assert m.permissions == ["send:counter:count", "broadcast:storage", "capability:*"]
    assert (m.priority, m.config, m.capabilities) == (5, {"limit": 3}, ["text.index"])


@pytest.mark.parametrize("field", ["id", "name", "version", "entry"])
def test_missing_required_field_is_named(tmp_path, field):
    path, where, reason = problem_for(tmp_path, **{field: None})
    assert path.endswith("manifest.json") and where == field
    assert reason == "required field is missing"


@pytest.mark.parametrize("value", ["Echo", "echo plugin", "-echo", "echo..x", "", "é"])
def test_invalid_id_is_rejected_with_the_rule(tmp_path, value):
    _, field, reason = problem_for(tmp_path, id=value)
    assert field == "id" and "lowercase" in reason


def test_overlong_id_is_rejected(tmp_path):
    _, field, reason = problem_for(tmp_path, id="a" * 101)
    assert field == "id" and "at most 100" in reason


@pytest.mark.parametrize("value", ["one", "1.0-beta-final-x", "v1..2"])
def test_invalid_version_says_pep_440(tmp_path, value):
    _, field, reason = problem_for(tmp_path, version=value)
    assert field == "version" and "PEP 440" in reason


def test_version_must_be_a_string_not_a_number(tmp_path):
    _, field, reason = problem_for(tmp_path, version=1.0)
    assert field == "version" and "string" in reason


@pytest.mark.parametrize("value", ["counter", "counter:", ":Plugin", "count er:P", "a:b:c"])
def test_invalid_entry_says_module_colon_class(tmp_path, value):
    _, field, reason = problem_for(tmp_path, entry=value)
    assert field == "entry" and "module:Class" in reason


def test_invalid_dependency_specifier_suggests_a_fix(tmp_path):
    _, field, reason = problem_for(tmp_path, dependencies={"store": "^1.0"})
    assert field == "dependencies.store"  # said once: the reason does not repeat the id
    assert reason == "'^1.0' is not a valid version specifier (try '>=1.0,<2')"


@pytest.mark.parametrize(("spec", "hint"), [("^1.0", ">=1.0,<2"), ("^1.2.3", ">=1.2.3,<2"),
                                            ("^0.2.3", ">=0.2.3,<0.3"), ("~1.2", ">=1.2,<1.3"),
                                            ("~1.2.3", ">=1.2.3,<1.3"), ("~2", ">=2,<3")])
def test_specifier_hint_spells_the_caret_or_tilde_range_in_pep_440(tmp_path, spec, hint):
    _, _, reason = problem_for(tmp_path, dependencies={"store": spec})
    assert reason.endswith(f"(try '{hint}')")


def test_dependency_id_must_be_a_valid_id(tmp_path):
    _, field, reason = problem_for(tmp_path, dependencies={"Bad Id": ">=1"})
    assert field == "dependencies.Bad Id" and "not a valid plugin id" in reason


def test_every_bad_permission_dependency_and_capability_is_reported_at_once(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(write_json(tmp_path, {
            "id": "fetcher", "name": "F", "version": "1.0", "entry": "f:F",
            "permissions": ["sendd:parser", "send:ok", "bogus"],
            "dependencies": {"a": "^1.0", "b": ">=1", "c": "~2"},
            "capabilities": ["Bad", "ok", "Worse"]}))
    assert [p.field for p in info.value.problems] == [
        "capabilities[0]", "capabilities[2]", "dependencies.a", "dependencies.c",
        "permissions[0]", "permissions[2]"]
    assert info.value.plugin_id == "fetcher"  # dependents can tell it is present


def test_dependency_specifier_must_be_a_string(tmp_path):
    _, field, _ = problem_for(tmp_path, dependencies={"store": 1})
    assert field == "dependencies.store"


@pytest.mark.parametrize("value", ["send", "send:", "recv:x", "broadcast:", "capability", 3])
def test_malformed_permission_is_named_with_its_index(tmp_path, value):
    _, field, reason = problem_for(tmp_path, permissions=["send:ok", value])
    assert field in ("permissions", "permissions[1]")
    assert "permission" in reason or reason == "must be a string, not a number"


def test_capabilities_must_be_a_list_of_names(tmp_path):
    _, field, _ = problem_for(tmp_path, capabilities="storage")
    assert field == "capabilities"
    _, field, reason = problem_for(tmp_path, capabilities=["storage", "storage"])
    assert field == "capabilities" and "twice" in reason


def test_unknown_field_lists_the_allowed_ones(tmp_path):
    _, field, reason = problem_for(tmp_path, dependancies={})
    assert field == "dependancies" and "unknown field" in reason and "dependencies" in reason


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(write_json(tmp_path, {"id": "X", "version": "nope"}))
    fields = {p.field for p in info.value.problems}
    assert {"id", "version", "name", "entry"} <= fields


def test_toml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(write_toml(tmp_path, 'id = "a"\nname = \n'))
    assert info.value.field == "(syntax)" and "line 2" in info.value.reason


def test_json_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"id": "a",\n "name": }')
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "line 2" in info.value.reason and "column" in info.value.reason


def test_json_top_level_must_be_an_object(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(write_json(tmp_path, ["id", "a"]))
    assert "JSON object" in info.value.reason


def test_non_utf8_manifest_is_a_clear_error(tmp_path):
    path = tmp_path / "plugin.toml"
    path.write_bytes('id = "caf\u00e9"'.encode("latin-1"))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.field == "(file)" and "UTF-8" in info.value.reason


def test_str_of_error_is_path_field_reason(tmp_path):
    with pytest.raises(ManifestError) as info:
        load_manifest(write_json(tmp_path, {**VALID, "version": "x.y"}))
    assert str(info.value) == f"{tmp_path / 'manifest.json'}: version: {info.value.reason}"
