"""Helpers the benchmarks share: write throwaway plugins, print JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QUIET = '''
from logomesh_studio.sdk import Plugin


class Quiet(Plugin):
    pass
'''


def emit(bench: str, name: str, **fields: Any) -> None:
    """Print one figure as a JSON line: ``{"bench": "<bench>.<name>", ...}``."""
    print(json.dumps({"bench": f"{bench}.{name}", **fields}), flush=True)


def write_plugin(root: Path, plugin_id: str, code: str, cls: str, permissions: list[str],
                 prefix: str = "bench_", dependencies: dict[str, str] | None = None) -> Path:
    """A plugin folder with a one-module package; returns the module's path."""
    package = prefix + plugin_id.replace("-", "_")
    folder = root / plugin_id
    (folder / package).mkdir(parents=True)
    module = folder / package / "__init__.py"
    module.write_text(code)
    deps = "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in (dependencies or {}).items())
    deps = f"\n[dependencies]\n{deps}" if deps else ""
    (folder / "plugin.toml").write_text(
        f'id = "{plugin_id}"\nname = "{plugin_id}"\nversion = "1.0.0"\n'
        f'entry = "{package}:{cls}"\npermissions = {json.dumps(permissions)}\n{deps}\n')
    return module
