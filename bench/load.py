"""Discovery + validation + resolution time for a generated 1,000-plugin workspace.

Prints JSON lines: one per run phase split, then the median. Goal: <= 300 ms.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.resolver import resolve


def generate(root: Path, count: int, seed: int = 7) -> None:
    """``count`` plugins; each depends on up to 3 earlier ones (a random DAG)."""
    rng = random.Random(seed)
    for i in range(count):
        deps = sorted(set(rng.sample(range(i), k=min(i, rng.randint(0, 3)))))
        folder = root / f"plugin-{i:04d}"
        folder.mkdir()
        lines = [f'id = "plugin-{i:04d}"', f'name = "Plugin {i}"', f'version = "1.{i % 7}.0"',
                 f'entry = "pkg_{i:04d}:Plugin"', f'capabilities = ["cap-{i % 20}"]',
                 'permissions = ["send:plugin-*", "capability:cap-*"]', "[dependencies]"]
        lines += [f'"plugin-{d:04d}" = ">=1.0,<2"' for d in deps]
        if i % 2:
            data = {"id": f"plugin-{i:04d}", "name": f"Plugin {i}", "version": f"1.{i % 7}.0",
                    "main": f"pkg_{i:04d}:Plugin", "capabilities": [f"cap-{i % 20}"],
                    "permissions": ["send:plugin-*"],
                    "dependencies": {f"plugin-{d:04d}": ">=1.0,<2" for d in deps}}
            (folder / "manifest.json").write_text(json.dumps(data))
        else:
            (folder / "plugin.toml").write_text("\n".join(lines) + "\n")


def run_once(root: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    found = discover(root, entry_points=False)
    t1 = time.perf_counter()
    resolution = resolve(found.plugins)
    t2 = time.perf_counter()
    assert not found.problems and not resolution.failed and len(resolution.order) == len(
        found.plugins)
    return {"discover_validate_ms": (t1 - t0) * 1000, "resolve_ms": (t2 - t1) * 1000,
            "total_ms": (t2 - t0) * 1000}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, count)
        runs = [run_once(root) for _ in range(7)]
    for i, run in enumerate(runs):
        print(json.dumps({"bench": "load", "run": i, "plugins": count,
                          **{k: round(v, 2) for k, v in run.items()}}))
    print(json.dumps({"bench": "load", "summary": "median", "plugins": count, "goal_ms": 300,
                      **{k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}}))


if __name__ == "__main__":
    main()
