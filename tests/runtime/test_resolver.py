"""Dependency resolution: load order, cycles, missing and mismatched dependencies."""

from __future__ import annotations

from pathlib import Path

from logomesh_studio.runtime.discovery import PluginSource
from logomesh_studio.runtime.manifest import Manifest, Problem
from logomesh_studio.runtime.resolver import resolve


def source(plugin_id: str, version: str = "1.0.0", **deps: str) -> PluginSource:
    manifest = Manifest(id=plugin_id, name=plugin_id, version=version, entry="m:P",
                        dependencies=dict(deps))
    folder = Path("/ws") / plugin_id
    return PluginSource(manifest, folder, folder / "plugin.toml", folder)


def test_dependencies_load_before_their_dependents():
    result = resolve([source("c", b=">=1"), source("a"), source("b", a="")])
    assert result.order == ["a", "b", "c"]
    assert result.failed == {}


def test_order_is_deterministic_for_independent_plugins():
    result = resolve([source(n) for n in ["delta", "alpha", "charlie", "bravo"]])
    assert result.order == ["alpha", "bravo", "charlie", "delta"]


def test_cycle_error_lists_the_path():
    result = resolve([source("a", b=""), source("b", c=""), source("c", a=""), source("free")])
    assert result.order == ["free"]
    for pid in "abc":
        assert result.failed[pid].field == "dependencies"
        assert "dependency cycle a -> b -> c -> a" in result.failed[pid].reason


def test_plugin_depending_on_a_cycle_says_why():
    result = resolve([source("a", b=""), source("b", a=""), source("user", a="")])
    assert "cycle" in result.failed["user"].reason and "a" in result.failed["user"].field


def test_missing_dependency_is_named():
    result = resolve([source("a", ghost=">=1")])
    problem = result.failed["a"]
    assert problem.path == "/ws/a/plugin.toml" and problem.field == "dependencies.ghost"
    assert "not in the workspace" in problem.reason


def test_version_mismatch_names_required_and_present():
    result = resolve([source("lib", "1.3.0"), source("app", lib=">=2.0")])
    assert "requires lib >=2.0 but version 1.3.0 is present" in result.failed["app"].reason
    assert result.order == ["lib"]


def test_prerelease_satisfies_a_matching_specifier():
    result = resolve([source("lib", "2.0.0rc1"), source("app", lib=">=2.0.0rc1")])
    assert result.order == ["lib", "app"]


def test_failure_propagates_to_transitive_dependents_only():
    result = resolve([source("base", ghost=""), source("mid", base=""), source("top", mid=""),
                      source("other")])
    assert result.order == ["other"]
    assert "not started because base failed" in result.failed["mid"].reason
    assert "not started because mid failed" in result.failed["top"].reason


def test_dependents_of_is_transitive_and_in_reload_order():
    result = resolve([source("a"), source("b", a=""), source("c", b=""), source("d", a=""),
                      source("e")])
    assert result.dependents_of("a") == ["b", "c", "d"]
    assert result.dependents_of("c") == []


def test_every_missing_or_mismatched_dependency_is_reported_in_one_pass():
    result = resolve([source("lib", "1.0"), source("app", ghost="", lib=">=2", phantom="")])
    assert [p.field for p in result.problems] == [
        "dependencies.ghost", "dependencies.lib", "dependencies.phantom"]
    assert result.failed["app"].field == "dependencies.ghost"  # the first reason
    assert result.order == ["lib"]


def test_a_dependency_that_is_present_but_invalid_is_called_so():
    result = resolve([source("parser", fetcher=">=1")],
                     unavailable={"fetcher": "invalid (version: 'one' is not a PEP 440 version)"})
    assert result.failed["parser"].reason == (
        "requires plugin 'fetcher', which is present but invalid "
        "(version: 'one' is not a PEP 440 version)")


def test_a_plugin_known_to_fail_is_left_out_and_fails_its_dependents():
    broken = Problem("/ws/lib/plugin.toml", "entry", "ImportError: no module named 'x'")
    result = resolve([source("lib"), source("app", lib=""), source("free")],
                     failed={"lib": broken})
    assert result.order == ["free"]
    assert result.failed["app"].reason == ("not started because lib failed: "
                                           "ImportError: no module named 'x'")
    assert result.problems == [result.failed["app"]]  # lib's own problem is the caller's


def test_cycles_are_named_from_their_smallest_id_in_dependency_direction():
    result = resolve([source("c", a=""), source("a", b=""), source("b", c=""),
                      source("y", x=""), source("x", y="")])
    assert result.failed["b"].reason == "dependency cycle a -> b -> c -> a"
    assert result.failed["y"].reason == "dependency cycle x -> y -> x"
    assert result.order == []
