"""Create a plugin folder from a template in ``resources/templates/<template>/``.

    logomesh-studio new TEMPLATE NAME [--dir DIR] [--capability NAME]

A template is a folder of files whose names and contents may hold ``{{key}}``
placeholders (``.tmpl`` suffixes are dropped). ``NAME`` is the plugin id; the
package, class and display names are derived from it. Everything is checked and
rendered before anything is written, and the folder appears in one rename, so a
refused request leaves the disk untouched.
"""

from __future__ import annotations

import argparse
import importlib.util
import keyword
import re
import shutil
import sys
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

from logomesh_studio.resources import resource_path
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.manifest import ManifestError, validate_manifest

__all__ = ["TEMPLATES", "PluginNames", "ScaffoldError", "names_for", "register", "scaffold"]

NAMES = ("new",)
"""The subcommands :func:`register` adds."""

TEMPLATES: dict[str, str] = {
    "basic": "a plugin with an execute() action",
    "service": "message handlers, a capability and state kept across hot reloads",
    "ui": "a plugin with its own Studio panel (the plugin never imports Qt)",
    "workflow": "steps run in order with ctx.workflow, and the same steps as an orchestration",
}
"""Template name -> one-line description, in the order a picker shows them."""

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class ScaffoldError(ValueError):
    """A plugin cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class PluginNames:
    """The names a new plugin gets from its id."""

    id: str
    package: str
    class_name: str
    name: str
    capability: str

    def placeholders(self, capabilities: list[str]) -> dict[str, str]:
        """The values of the templates' ``{{key}}`` placeholders."""
        return {"id": self.id, "package": self.package, "class": self.class_name,
                "name": self.name, "capability": self.capability,
                "capability_name": re.sub(r"\W", "_", self.capability),
                "capabilities": "[" + ", ".join(f'"{c}"' for c in capabilities) + "]"}


def names_for(plugin_id: str, capability: str | None = None) -> PluginNames:
    """Package ``my_tool``, class ``MyToolPlugin`` and name ``My Tool`` for id ``my-tool``."""
    words = [w for w in re.split(r"[.\-_]", plugin_id) if w]
    class_name = "".join(w.capitalize() for w in words)
    if not class_name.endswith("Plugin"):
        class_name += "Plugin"
    return PluginNames(id=plugin_id, package=re.sub(r"[.\-]", "_", plugin_id),
                       class_name=class_name, name=" ".join(w.capitalize() for w in words),
                       capability=capability or plugin_id)


def template_dir(template: str) -> Path:
    """The folder of ``template``; ScaffoldError naming the templates if unknown."""
    if template not in TEMPLATES:
        raise ScaffoldError(f"unknown template {template!r} "
                            f"(choose one of: {', '.join(TEMPLATES)})")
    return resource_path("templates", template)


def render(text: str, values: dict[str, str], where: str) -> str:
    """Replace every ``{{key}}``; an unknown key is a template bug, reported as such."""
    def value(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise ScaffoldError(f"{where}: unknown placeholder {match.group(0)} "
                                f"(known: {', '.join(sorted(values))})") from None

    return _PLACEHOLDER.sub(value, text)


def _rendered_files(template: str, values: dict[str, str]) -> dict[Path, str]:
    """Relative path -> content of every file of ``template``, rendered."""
    root = template_dir(template)
    files: dict[Path, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(root).as_posix()
        target = render(relative.removesuffix(".tmpl"), values, str(path))
        files[Path(target)] = render(path.read_text(encoding="utf-8"), values, str(path))
    return files


def _check_names(names: PluginNames, dest: Path) -> None:
    """The package name is importable and unused; the id and folder are free in ``dest``."""
    package = names.package
    if not package.isidentifier() or keyword.iskeyword(package):
        raise ScaffoldError(f"{names.id!r} would make the package name {package!r}, which "
                            "is not a Python identifier; start the id with a letter and "
                            "avoid Python keywords")
    if package in sys.stdlib_module_names or importlib.util.find_spec(package) is not None:
        raise ScaffoldError(f"{names.id!r}: the package name {package!r} is already taken by "
                            f"an importable module; choose another id (e.g. 'my-{names.id}')")
    if not dest.exists():
        return
    if not dest.is_dir():
        raise ScaffoldError(f"{dest} is not a folder")
    folder = dest / names.id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; choose another id or --dir")
    for source in discover(dest).plugins:
        if source.id == names.id:
            raise ScaffoldError(f"{names.id!r} is taken: {source.manifest_path} has that id")
        top = source.manifest.entry.partition(":")[0].split(".")[0]
        if top == package:
            raise ScaffoldError(f"{names.id!r}: plugin {source.id!r} ({source.manifest_path}) "
                                f"already uses the package name {package!r}; choose another id")


def _check_manifest(files: dict[Path, str], plugin_id: str) -> None:
    """Validate the rendered manifest as the runtime will (bad id or capability)."""
    text = files[Path("plugin.toml")]
    where = Path(plugin_id) / "plugin.toml"
    try:
        validate_manifest(where, tomllib.loads(text))
    except ManifestError as exc:
        raise ScaffoldError("; ".join(f"{p.field}: {p.reason}" for p in exc.problems)) from None


def scaffold(template: str, name: str, dest: Path | str, capability: str | None = None) -> Path:
    """Create plugin ``name`` (its id) from ``template`` in workspace ``dest``; returns
    its folder. Raises ScaffoldError, having written nothing, when the template is
    unknown, the id is invalid or taken, or the folder exists."""
    dest = Path(dest)
    folder_template = template_dir(template)
    if not folder_template.is_dir():
        raise ScaffoldError(f"template {template!r} is missing its files ({folder_template})")
    names = names_for(name, capability)
    capabilities = [names.capability] if capability or template == "service" else []
    files = _rendered_files(template, names.placeholders(capabilities))
    _check_names(names, dest)
    _check_manifest(files, name)
    folder = dest / names.id
    # A dot folder is invisible to discovery and the watcher until its one rename.
    staging = dest / f".{names.id}.new-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        staging.rename(folder)  # one step: the watcher never sees half a plugin
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ScaffoldError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``new`` subcommand to the CLI's subparsers."""
    listing = "\n".join(f"  {name:<9} {text}" for name, text in TEMPLATES.items())
    parser = subparsers.add_parser(
        "new", help="create a plugin from a template",
        description=f"Create plugin NAME from TEMPLATE in DIR.\n\ntemplates:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", choices=list(TEMPLATES), metavar="TEMPLATE",
                        help=f"one of: {', '.join(TEMPLATES)}")
    parser.add_argument("name", metavar="NAME", help="the plugin id, e.g. my-tool")
    parser.add_argument("--dir", type=Path, default=Path("."), metavar="DIR",
                        help="the workspace to create it in (default: the current folder)")
    parser.add_argument("--capability", metavar="NAME",
                        help="a capability the plugin provides (service: default its id)")
    parser.set_defaults(func=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    """Create the plugin and say what to do next."""
    try:
        folder = scaffold(args.template, args.name, args.dir, args.capability)
    except ScaffoldError as exc:
        print(f"new: {exc}", file=sys.stderr)
        return 2
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    print(f"created {folder}")
    for file in files:
        print(f"  {file}")
    print(f"next: logomesh-studio check {args.dir}  |  logomesh-studio test {args.dir} "
          f"{args.name}  |  logomesh-studio run {args.dir} --watch")
    return 0
