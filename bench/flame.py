"""How fast is the flame chart on a big profile? Prints JSON lines.

Builds a synthetic profile whose time-order view has FRAMES rectangles (a skewed
call tree sampled with temporal locality, like a real sampler's output), renders it
offscreen in a 1600x900 chart and reports:

- ``first_paint_ms``: from ``set_profile`` (layout included) to the end of the first paint;
- ``zoom_frame_ms`` p50/p95/max over STEPS zoom steps (each: set the range, repaint
  synchronously), with the item's own paint time alongside.

Goals: first paint <= 500 ms, zoom frame p95 <= 16 ms.

    python bench/flame.py [--frames 100000] [--steps 50]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from _workspace import emit

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from logomesh_studio.devtools.profiler import Frame, Profile, Sample  # noqa: E402
from logomesh_studio.studio.widgets import flame_layout  # noqa: E402
from logomesh_studio.studio.widgets.flame_chart import FlameChart  # noqa: E402


def synthetic_profile(frames: int, seed: int = 7) -> Profile:
    """A profile whose time-order view has about ``frames`` rectangles."""
    rng = random.Random(seed)
    functions = [Frame(f"module{i % 40}.function_{i}", f"/src/pkg/module{i % 40}.py", 10 + i)
                 for i in range(600)]
    # A fixed program: every function calls a few others, the first callee most often.
    callees = {i: rng.sample(range(1, len(functions)), rng.randint(1, 5))
               for i in range(len(functions))}
    samples: list[Sample] = []
    previous: tuple[int, ...] = ()
    made = 0  # rectangles of the time-order view so far
    while made < frames:
        keep = len(previous) if rng.random() < 0.3 else rng.randint(1, max(len(previous), 1))
        stack = list(previous[:keep]) or [0]
        while len(stack) < 45 and rng.random() < 0.82:
            options = callees[stack[-1]]
            stack.append(options[min(int(rng.expovariate(1.2)), len(options) - 1)])
        pairs = zip(previous, stack, strict=False)
        shared = next((i for i, (a, b) in enumerate(pairs) if a != b),
                      min(len(previous), len(stack)))
        made += len(stack) - shared
        previous = tuple(stack)
        samples.append(Sample(previous, rng.uniform(0.0008, 0.0012)))
    return Profile(functions, samples, name="synthetic")


def first_paint(app: QApplication, chart: FlameChart, profile: Profile, view: str) -> float:
    chart.item.last_paint = {}
    began = time.perf_counter()
    chart.set_view(view)
    chart.set_profile(profile)
    chart.show()
    while not chart.item.last_paint:
        app.processEvents()
    return (time.perf_counter() - began) * 1e3


def zoom_frames(chart: FlameChart, steps: int) -> tuple[list[float], list[float]]:
    """Zoom in by 20 % a step towards a point 37 % along the profile."""
    total = chart.layout_data.total
    centre = 0.37 * total
    viewport = chart.plot.viewport()
    x0, x1 = 0.0, total
    frame_ms, paint_ms = [], []
    for _ in range(steps):
        x0, x1 = centre - (centre - x0) * 0.8, centre + (x1 - centre) * 0.8
        began = time.perf_counter()
        chart.zoom_to(x0, x1)
        viewport.repaint()
        frame_ms.append((time.perf_counter() - began) * 1e3)
        paint_ms.append(chart.item.last_paint["ms"])
    return frame_ms, paint_ms


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    profile = synthetic_profile(args.frames)
    matrix = flame_layout.stack_matrix(profile)
    for view in ("time", "left-heavy"):
        chart = FlameChart()
        chart.resize(1600, 900)
        ms = first_paint(app, chart, profile, view)
        frames = len(chart.layout_data)
        emit("flame", "first_paint", view=view, frames=frames, samples=len(matrix.weights),
             ms=round(ms, 1), goal_ms=500, rects=chart.item.last_paint["rects"],
             merged=chart.item.last_paint["merged"])
        frame_ms, paint_ms = zoom_frames(chart, args.steps)
        emit("flame", "zoom_frame", view=view, frames=frames, steps=args.steps,
             p50_ms=round(statistics.median(frame_ms), 2),
             p95_ms=round(percentile(frame_ms, 95), 2), max_ms=round(max(frame_ms), 2),
             item_paint_p50_ms=round(statistics.median(paint_ms), 2), goal_ms=16)
        chart.close()
        chart.deleteLater()


if __name__ == "__main__":
    main()
