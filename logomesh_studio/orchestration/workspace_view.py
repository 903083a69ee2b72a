"""What validation needs to know about a workspace, from a live host, a plugin list or a folder.

:func:`.validation.check_workspace` asks one question set (which plugins exist and
run, what they handle and provide, what they may do) of a :class:`WorkspaceView`.
The engine builds one from its running host; Studio from the plugin list the
client already holds; the editor headless from a folder's manifests, whose handlers
are read from the source (``@handler("type")``) without importing any plugin code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logomesh_studio.runtime.host import PluginHost
    from logomesh_studio.runtime.plugin_record import PluginInfo

RUNNING = "running"


@dataclass(frozen=True, slots=True)
class PluginFacts:
    """One plugin as validation sees it; ``handles`` is None when it cannot be known."""

    id: str
    status: str
    capabilities: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    handles: tuple[str, ...] | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """The plugins of a workspace by id, and who provides a capability (best first)."""

    plugins: Mapping[str, PluginFacts]
    providers: Callable[[str], list[str]]

    @classmethod
    def from_host(cls, host: PluginHost) -> WorkspaceView:
        """The live state of ``host`` (call on the runtime loop)."""
        return cls({info.id: _facts(info) for info in host.plugins()}, host.bus.providers)

    @classmethod
    def from_infos(cls, infos: Iterable[PluginInfo | PluginFacts]) -> WorkspaceView:
        """A snapshot such as Studio's plugin list (providers in list order)."""
        plugins = {info.id: _facts(info) for info in infos}

        def providers(capability: str) -> list[str]:
            return [pid for pid, info in plugins.items()
                    if info.status == RUNNING and capability in info.capabilities]

        return cls(plugins, providers)

    @classmethod
    def from_folder(cls, folder: Path | str) -> WorkspaceView:
        """A workspace folder read from disk: every valid manifest counts as loadable."""
        from logomesh_studio.runtime.discovery import discover

        found = discover(Path(folder), entry_points=False)
        facts = [PluginFacts(source.id, RUNNING, tuple(source.manifest.capabilities),
                             tuple(source.manifest.permissions), declared_handlers(source.folder))
                 for source in found.plugins]
        return cls.from_infos(facts)

    @classmethod
    def of(cls, workspace: Any) -> WorkspaceView:
        """A view of ``workspace``: a view, a PluginHost, a folder, or a list of plugin infos."""
        if isinstance(workspace, WorkspaceView):
            return workspace
        if isinstance(workspace, str | Path):
            return cls.from_folder(workspace)
        if hasattr(workspace, "plugins") and hasattr(workspace, "bus"):
            return cls.from_host(workspace)
        return cls.from_infos(workspace)


def _facts(info: PluginInfo | PluginFacts) -> PluginFacts:
    if isinstance(info, PluginFacts):
        return info
    return PluginFacts(info.id, info.status, tuple(info.capabilities), tuple(info.permissions),
                       tuple(info.handles), info.error)


def declared_handlers(folder: Path) -> tuple[str, ...] | None:
    """Message types a plugin folder's code declares with ``@handler("type")``, read with
    ``ast`` (nothing is imported); None if the code cannot be read."""
    found: list[str] = []
    try:
        for path in sorted(folder.rglob("*.py")):
            if "tests" in path.relative_to(folder).parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for item in ast.walk(tree):
                if isinstance(item, ast.Call) and _named(item.func, "handler") and item.args \
                        and isinstance(item.args[0], ast.Constant) \
                        and isinstance(item.args[0].value, str):
                    found.append(item.args[0].value)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    return tuple(dict.fromkeys(found))


def _named(func: ast.expr, name: str) -> bool:
    return (isinstance(func, ast.Name) and func.id == name) or \
        (isinstance(func, ast.Attribute) and func.attr == name)
