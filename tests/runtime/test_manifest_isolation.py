"""The manifest's ``isolation`` field and ``[limits]`` table."""

from __future__ import annotations

import pytest

from logomesh_studio.runtime.manifest import ManifestError, load_manifest

BASE = 'id = "iso"\nname = "Iso"\nversion = "1.0"\nentry = "iso:Iso"\n'


def problems_of(tmp_path, text: str) -> list[str]:
    path = tmp_path / "plugin.toml"
    path.write_text(BASE + text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert all(p.path == str(path) for p in caught.value.problems)
    return [f"{p.field}: {p.reason}" for p in caught.value.problems]


def test_plugins_run_in_process_without_limits_by_default(tmp_path):
    path = tmp_path / "plugin.toml"
    path.write_text(BASE)
    manifest = load_manifest(path)
    assert (manifest.isolation, manifest.limits) == ("none", None)


def test_isolated_plugin_limits_are_read(tmp_path):
    path = tmp_path / "plugin.toml"
    path.write_text(BASE + 'isolation = "process"\n[limits]\nmemory_mb = 256\n'
                    'cpu_seconds = 30\nfiles = ["cache", "/srv/shared"]\nnetwork = true\n')
    limits = load_manifest(path).limits
    assert limits is not None
    assert (limits.memory_mb, limits.cpu_seconds, limits.files, limits.network) == (
        256, 30, ["cache", "/srv/shared"], True)


def test_unknown_isolation_mode_names_the_valid_ones(tmp_path):
    assert problems_of(tmp_path, 'isolation = "thread"\n') == [
        "isolation: 'thread' is not one of 'none' or 'process'"]


def test_limits_without_isolation_say_how_to_fix_it(tmp_path):
    assert problems_of(tmp_path, "[limits]\nmemory_mb = 256\n") == [
        'limits: applies only to isolated plugins: add isolation = "process" or remove '
        "[limits]"]


def test_every_bad_limit_is_reported_at_once(tmp_path):
    assert problems_of(tmp_path, 'isolation = "process"\n[limits]\nmemory_mb = 8\n'
                       'cpu_seconds = "a lot"\nfiles = [""]\nnetwork = "yes"\nswap = 1\n') == [
        "limits.memory_mb: must be greater than or equal to 64",
        "limits.cpu_seconds: must be an integer, not a string",
        "limits.files[0]: '' is not a path (give an absolute path or one relative to the "
        "plugin folder)",
        "limits.network: must be true or false, not a string",
        "limits.swap: unknown field (allowed: memory_mb, cpu_seconds, files, network)"]
