"""Load time of generated workspaces. Prints JSON lines.

- discovery + validation + resolution of 1,000 plugins (a random dependency DAG):
  one line per run, then the median. Goal: <= 300 ms.
- a full load (discover, import, instantiate, initialize: ``PluginHost.load_workspace``)
  of 1,000 and of 10,000 trivial plugins, each its own package: the median of a few
  runs after a warm-up (bytecode cached), and the 10,000/1,000 ratio (10 is linear).
  Goal: 10,000 plugins <= 5 s.

    python bench/load.py [PLUGINS] [--host-counts 1000,10000] [--host-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _workspace import QUIET, write_plugin

from logomesh_studio.runtime.config import RuntimeConfig
from logomesh_studio.runtime.discovery import discover
from logomesh_studio.runtime.host import PluginHost
from logomesh_studio.runtime.resolver import resolve

HOST_GOAL_S = {10_000: 5.0}


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


def host_load(root: Path) -> float:
    """Seconds to load every plugin of ``root`` in a fresh PluginHost (then stop them)."""
    host = PluginHost(root, RuntimeConfig(entry_points=False))
    start = time.perf_counter()
    asyncio.run(host.load_workspace())
    seconds = time.perf_counter() - start
    running = len(host.bus.running())
    asyncio.run(host.shutdown())
    assert running == len(host.records), host.problems[:3]
    return seconds


def bench_host(counts: list[int], runs: int) -> None:
    medians = {}
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for i in range(count):
                write_plugin(root, f"trivial-{i:05d}", QUIET, "Quiet", [], prefix="trivial_")
            host_load(root)  # warm-up: writes the bytecode caches
            times = [host_load(root) for _ in range(runs)]
        medians[count] = statistics.median(times)
        goal = HOST_GOAL_S.get(count)
        print(json.dumps({"bench": "load.host", "plugins": count, "runs": runs,
                          "median_s": round(medians[count], 3),
                          "per_plugin_us": round(medians[count] / count * 1e6, 1),
                          **({"goal_s": goal, "ok": medians[count] <= goal} if goal else {})}),
              flush=True)
    if len(medians) > 1:
        small, large = min(medians), max(medians)
        print(json.dumps({"bench": "load.host_scaling", "plugins": [small, large],
                          "ratio": round(medians[large] / medians[small], 2),
                          "linear_ratio": large / small}))


def main() -> None:
    # Measure what a user gets: bytecode cached after the warm-up (with
    # PYTHONDONTWRITEBYTECODE set, as on some CI machines, every run would compile).
    sys.dont_write_bytecode = False
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plugins", nargs="?", type=int, default=1000)
    parser.add_argument("--host-counts", default="1000,10000",
                        help="comma-separated workspace sizes for the full load ('' skips it)")
    parser.add_argument("--host-runs", type=int, default=3)
    args = parser.parse_args()
    count = args.plugins
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, count)
        runs = [run_once(root) for _ in range(7)]
    for i, run in enumerate(runs):
        print(json.dumps({"bench": "load", "run": i, "plugins": count,
                          **{k: round(v, 2) for k, v in run.items()}}))
    print(json.dumps({"bench": "load", "summary": "median", "plugins": count, "goal_ms": 300,
                      **{k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}}),
          flush=True)
    if args.host_counts:
        bench_host([int(n) for n in args.host_counts.split(",")], args.host_runs)


if __name__ == "__main__":
    main()
