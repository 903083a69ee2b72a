"""Find plugins: folders of a workspace and installed ``logomesh.plugins`` entry points."""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from logomesh_studio.runtime.manifest import (
    MANIFEST_NAMES,
    Manifest,
    ManifestError,
    Problem,
    load_manifest,
    validate_manifest,
)

ENTRY_POINT_GROUP = "logomesh.plugins"


@dataclass(frozen=True, slots=True)
class PluginSource:
    """A plugin found on disk: its manifest, its folder and where to import it from."""

    manifest: Manifest
    folder: Path
    manifest_path: Path
    import_root: Path
    origin: str = "workspace"

    @property
    def id(self) -> str:
        return self.manifest.id


@dataclass(slots=True)
class Discovery:
    """What a discovery pass found: valid plugins and the problems of the rest."""

    plugins: list[PluginSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    invalid: dict[str, list[Problem]] = field(default_factory=dict)
    """The problems of each invalid manifest that still names its id."""

    def reject(self, error: ManifestError) -> None:
        """Record a plugin whose manifest is invalid."""
        self.problems.extend(error.problems)
        if error.plugin_id is not None:
            self.invalid.setdefault(error.plugin_id, []).extend(error.problems)

    def unavailable(self) -> dict[str, str]:
        """Why each id with an invalid manifest cannot be depended on (for ``resolve``)."""
        valid = {s.id for s in self.plugins}
        return {pid: _invalid(problems) for pid, problems in self.invalid.items()
                if pid not in valid}


def _invalid(problems: list[Problem]) -> str:
    more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"invalid ({problems[0].field}: {problems[0].reason}{more})"


def manifest_in(folder: Path) -> Path | None:
    """The manifest file of a plugin folder, or None if it has none (or cannot be read)."""
    try:
        found = _manifests(folder)
    except OSError:
        return None
    return found[0] if found else None


def _manifests(folder: Path) -> list[Path]:
    """The manifest files in ``folder``; OSError if the folder cannot be read."""
    found = []
    for name in MANIFEST_NAMES:
        candidate = folder / name
        try:
            mode = candidate.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISREG(mode):
            found.append(candidate)
    return found


def load_plugin_folder(folder: Path, found: list[Path] | None = None) -> PluginSource:
    """Load the manifest of one plugin folder (raises ManifestError); ``found``: its
    manifest files, if the caller already listed them."""
    if found is None:
        try:
            found = _manifests(folder)
        except OSError as exc:
            raise ManifestError([Problem(
                str(exc.filename or folder), "(folder)",
                f"cannot read this plugin folder: {exc.strerror}")]) from None
    if not found:
        raise ManifestError([Problem(str(folder), "(manifest)",
                                     f"no {' or '.join(MANIFEST_NAMES)} in this folder")])
    if len(found) > 1:
        raise ManifestError([Problem(str(found[1]), "(file)",
                                     f"both {found[0].name} and {found[1].name} exist; keep one")])
    manifest = load_manifest(found[0])
    return PluginSource(manifest, folder, found[0], import_root=folder)


def is_plugin_folder(folder: Path) -> bool:
    """A workspace child that holds a plugin: a visible folder (not ``.x`` or ``_x``)
    with a manifest, or one that cannot be read (loading it reports why)."""
    if folder.name.startswith((".", "_")) or not folder.is_dir():
        return False
    try:
        return bool(_manifests(folder))
    except OSError:
        return True


def _workspace_folders(workspace: Path) -> Iterable[tuple[Path, list[Path] | None]]:
    """The plugin folders of ``workspace`` in name order, each with its manifest files
    (None: the folder cannot be read; loading it reports why). Listed once: with
    10,000 plugins every stat counts."""
    try:
        with os.scandir(workspace) as entries:
            names = sorted(e.name for e in entries if not e.name.startswith((".", "_"))
                           and e.is_dir())
    except OSError:
        return []
    folders: list[tuple[Path, list[Path] | None]] = []
    for name in names:
        folder = workspace / name
        try:
            found: list[Path] | None = _manifests(folder)
        except OSError:
            found = None
        if found is None or found:
            folders.append((folder, found))
    return folders


def _entry_point_source(ep: metadata.EntryPoint, dist: metadata.Distribution) -> PluginSource:
    """A plugin from an installed distribution: a manifest beside its module, or one
    built from the distribution's metadata (id = entry point name)."""
    root = Path(str(dist.locate_file("")))
    module_name = ep.value.partition(":")[0].strip()
    where = f"entry point {ep.name} = {ep.value} ({dist.metadata['Name']})"
    spec = None
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        pass
    if spec is None:
        candidate = root.joinpath(*module_name.split("."))
        folder = candidate if candidate.is_dir() else candidate.parent
    elif spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
    else:
        folder = Path(spec.origin or root).parent
    manifest_path = manifest_in(folder)
    if manifest_path is not None:
        manifest = load_manifest(manifest_path)
    else:
        manifest_path = Path(where)
        manifest = validate_manifest(manifest_path, {
            "id": ep.name,
            "name": dist.metadata["Name"] or ep.name,
            "version": dist.version,
            "description": dist.metadata["Summary"] or "",
            "entry": ep.value if ":" in ep.value else f"{ep.value}:Plugin",
        })
    return PluginSource(manifest, folder, manifest_path, import_root=root,
                        origin=f"entry-point:{dist.metadata['Name']}")


def discover_entry_points(paths: list[str] | None = None) -> Discovery:
    """Plugins advertised by installed distributions (``paths`` defaults to sys.path)."""
    found = Discovery()
    dists = metadata.distributions(path=paths) if paths is not None else metadata.distributions()
    for dist in dists:
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            try:
                found.plugins.append(_entry_point_source(ep, dist))
            except ManifestError as exc:
                found.reject(exc)
    return found


def discover(workspace: Path | None, *, entry_points: bool = True,
             entry_point_paths: list[str] | None = None) -> Discovery:
    """Discover every plugin of ``workspace`` plus installed ones; ids must be unique."""
    found = Discovery()
    if workspace is not None:
        for folder, manifests in _workspace_folders(workspace):
            try:
                found.plugins.append(load_plugin_folder(folder, manifests))
            except ManifestError as exc:
                found.reject(exc)
    if entry_points:
        installed = discover_entry_points(entry_point_paths)
        found.plugins.extend(installed.plugins)
        found.problems.extend(installed.problems)
        for pid, problems in installed.invalid.items():
            found.invalid.setdefault(pid, []).extend(problems)
    return _reject_duplicates(found)


def _reject_duplicates(found: Discovery) -> Discovery:
    first: dict[str, PluginSource] = {}
    unique: list[PluginSource] = []
    for source in found.plugins:
        other = first.get(source.id)
        if other is None:
            first[source.id] = source
            unique.append(source)
        else:
            found.problems.append(Problem(
                str(source.manifest_path), "id",
                f"duplicate plugin id {source.id!r}: already used by {other.folder} "
                f"(this one is in {source.folder})"))
    found.plugins = unique
    return found
