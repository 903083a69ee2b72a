"""What one bus request costs in CPU instructions, now and at a baseline commit. JSON lines.

Wall-clock figures on a shared VM swing by tens of percent; instruction counts from
``valgrind --tool=callgrind`` repeat to a fraction of a percent whatever else runs. For
this tree and for ``--baseline`` (a git revision, checked out into a temporary worktree)
it loads bench/bus.py's workspace and counts instructions for 0 and for ``--sends``
request/response calls (``ctx.send`` to a sync handler, permissions, history and an
event subscriber on); the difference divided by ``--sends`` is the cost of one call.

    python bench/bus_instructions.py [--baseline 495d927] [--sends 4000]

Needs valgrind and git. Each run takes a few minutes (Python under callgrind is ~50x slower).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _workspace import emit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def child(tree: Path, sends: int) -> None:
    """Run ``sends`` calls against ``tree``'s code (this process runs under callgrind)."""
    sys.path[:0] = [str(tree), str(tree / "bench")]
    import bus  # the tree's own bench/bus.py: same workspace and payload on both sides

    from logomesh_studio.runtime.config import RuntimeConfig
    from logomesh_studio.runtime.host import PluginHost

    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="logomesh-bench-") as tmp:
            bus.build_workspace(Path(tmp))
            host = PluginHost(Path(tmp), RuntimeConfig(entry_points=False))
            host.events.subscribe(lambda event: None)
            await host.load_workspace()
            client = host.instance("client").ctx
            await client.send("server", "echo", bus.PAYLOAD)
            for _ in range(sends):
                await client.send("server", "echo", bus.PAYLOAD)
            await host.shutdown()

    asyncio.run(run())


def callgrind(command: list[str], env: dict[str, str], out: Path) -> int:
    """Instructions ``valgrind --tool=callgrind`` counts for ``command`` (its own process
    only, not the processes it starts); the profile is written to ``out``."""
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    match = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{out}: callgrind wrote no summary line")
    return int(match.group(1))


def instructions(tree: Path, sends: int, out: Path) -> int:
    """Instructions callgrind counts for a run of ``sends`` calls against ``tree``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return callgrind([sys.executable, __file__, "--child", str(tree), str(sends)], env, out)


def per_send(tree: Path, sends: int, scratch: Path) -> float:
    base = instructions(tree, 0, scratch / f"{tree.name}-0.out")
    loaded = instructions(tree, sends, scratch / f"{tree.name}-{sends}.out")
    return (loaded - base) / sends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="495d927", help="git revision to compare with")
    parser.add_argument("--sends", type=int, default=4000)
    parser.add_argument("--child", nargs=2, metavar=("TREE", "SENDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        emit("bus_instructions", "skipped", reason="valgrind is not installed")
        return 1
    with tempfile.TemporaryDirectory(prefix="logomesh-instr-") as tmp:
        scratch = Path(tmp)
        baseline = scratch / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                        str(baseline), args.baseline], check=True)
        try:
            now = per_send(REPO, args.sends, scratch)
            then = per_send(baseline, args.sends, scratch)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(baseline)], check=False)
    emit("bus_instructions", "request_response", sends=args.sends,
         instructions_per_send=round(now), baseline=args.baseline,
         baseline_instructions_per_send=round(then), ratio=round(now / then, 4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
