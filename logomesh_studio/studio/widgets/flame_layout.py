"""Flame chart geometry as numpy arrays: one row per frame rectangle, no Qt.

A profile becomes a :class:`StackMatrix` (one row per sample, frame indices padded
with -1), and each view is a :class:`FlameLayout`: parallel arrays of start, width,
depth, frame, parent and self time, sorted by (depth, start) so a row of the chart
is a contiguous slice. :meth:`FlameLayout.cull` picks what one paint draws: frames at
least a pixel wide, plus narrower frames merged into runs of pixel columns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from logomesh_studio.devtools.profiler import Frame, Profile, Sample

VIEWS = ("time", "left-heavy", "sandwich", "diff")


@dataclass(frozen=True)
class StackMatrix:
    """Samples as a (samples x depth) matrix of frame indices, -1 past each stack's end."""

    frames: list[Frame]
    stacks: np.ndarray
    weights: np.ndarray

    @property
    def total(self) -> float:
        return float(self.weights.sum())


def stack_matrix(profile: Profile) -> StackMatrix:
    """Pack ``profile``'s non-empty samples; frames equal by (name, file, line) merge."""
    return _pack(profile.frames, profile.samples)


def _pack(frames: Sequence[Frame], samples: Sequence[Sample]) -> StackMatrix:
    unique: list[Frame] = []
    position: dict[Frame, int] = {}
    remap = np.empty(len(frames), dtype=np.int32)
    for i, frame in enumerate(frames):
        remap[i] = position.setdefault(frame, len(unique))
        if remap[i] == len(unique):
            unique.append(frame)
    kept = [s for s in samples if s.stack]
    lengths = np.fromiter((len(s.stack) for s in kept), dtype=np.int64, count=len(kept))
    depth = int(lengths.max()) if len(kept) else 0
    flat = np.fromiter(itertools.chain.from_iterable(s.stack for s in kept), dtype=np.int64,
                       count=int(lengths.sum()))
    stacks = np.full((len(kept), depth), -1, dtype=np.int32)
    stacks[np.arange(depth) < lengths[:, None]] = remap[flat]
    weights = np.fromiter((s.weight for s in kept), dtype=np.float64, count=len(kept))
    return StackMatrix(unique, stacks, weights)


@dataclass(frozen=True)
class FunctionTotals:
    """Per frame index: self time, total time (recursion counted once) and sample count."""

    self_time: np.ndarray
    total_time: np.ndarray
    samples: np.ndarray


def function_totals(matrix: StackMatrix) -> FunctionTotals:
    """Self and total time of every frame of ``matrix``."""
    count = len(matrix.frames)
    stacks, weights = matrix.stacks, matrix.weights
    if not len(weights):
        zeros = np.zeros(count)
        return FunctionTotals(zeros, zeros.copy(), np.zeros(count, dtype=np.int64))
    lengths = (stacks >= 0).sum(axis=1)
    leaves = stacks[np.arange(len(stacks)), lengths - 1]
    self_time = np.bincount(leaves, weights=weights, minlength=count)
    # A recursive function counts once per sample: keep each row's first copy of a frame.
    ordered = np.sort(stacks, axis=1)
    keep = ordered >= 0
    keep[:, 1:] &= ordered[:, 1:] != ordered[:, :-1]
    rows = np.nonzero(keep)[0]
    frames = ordered[keep]
    total = np.bincount(frames, weights=weights[rows], minlength=count)
    samples = np.bincount(frames, minlength=count)
    return FunctionTotals(self_time, total, samples)


def matching_frames(frames: Sequence[Frame], text: str) -> np.ndarray:
    """Which frames mention ``text`` (case-insensitive) in their name or file."""
    needle = text.strip().lower()
    if not needle:
        return np.zeros(len(frames), dtype=bool)
    return np.fromiter((needle in f.name.lower() or needle in (f.file or "").lower()
                        for f in frames), dtype=bool, count=len(frames))


@dataclass(frozen=True)
class Culled:
    """What one paint draws: whole frames, and runs of merged sub-pixel frames.

    ``merged_*`` arrays describe runs of adjacent pixel columns in one row, each at
    least half filled by frames narrower than a pixel; ``merged_emphasis`` says
    whether any frame in a run is emphasised (a search match, the selection).
    """

    nodes: np.ndarray
    merged_depth: np.ndarray
    merged_start: np.ndarray
    merged_end: np.ndarray
    merged_emphasis: np.ndarray


@dataclass(frozen=True)
class FlameLayout:
    """Rectangles of one view, sorted by (depth, start); x in seconds, y in rows."""

    kind: str
    frames: list[Frame]
    start: np.ndarray
    width: np.ndarray
    depth: np.ndarray
    frame: np.ndarray
    parent: np.ndarray
    self_time: np.ndarray
    total: float
    baseline: np.ndarray | None = None
    baseline_self: np.ndarray | None = None
    row_offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        depths = np.arange(self.min_depth, self.max_depth + 2)
        object.__setattr__(self, "row_offsets", np.searchsorted(self.depth, depths))

    def __len__(self) -> int:
        return len(self.start)

    @property
    def min_depth(self) -> int:
        return int(self.depth[0]) if len(self.depth) else 0

    @property
    def max_depth(self) -> int:
        return int(self.depth[-1]) if len(self.depth) else 0

    @property
    def delta(self) -> np.ndarray | None:
        """Diff view: each frame's total time minus the (scaled) baseline's."""
        return None if self.baseline is None else self.width - self.baseline

    def row(self, depth: int) -> slice:
        """The nodes at ``depth`` as a slice of the arrays."""
        if not len(self) or not self.min_depth <= depth <= self.max_depth:
            return slice(0, 0)
        i = depth - self.min_depth
        return slice(int(self.row_offsets[i]), int(self.row_offsets[i + 1]))

    def node_at(self, x: float, depth: int) -> int:
        """Index of the frame covering ``x`` at ``depth``, or -1."""
        rows = self.row(depth)
        starts = self.start[rows]
        i = int(np.searchsorted(starts, x, side="right")) - 1
        if i < 0:
            return -1
        node = rows.start + i
        return node if x < self.start[node] + self.width[node] else -1

    def nodes_of(self, frame: int) -> np.ndarray:
        """Indices of every rectangle showing ``frame``."""
        return np.flatnonzero(self.frame == frame)

    def cull(self, x0: float, x1: float, unit: float, depth0: float, depth1: float,
             emphasis: np.ndarray | None = None) -> Culled:
        """Frames visible in [x0, x1] x [depth0, depth1] when one pixel is ``unit`` wide."""
        lo = int(self.row_offsets[max(0, min(len(self.row_offsets) - 1,
                                             int(np.floor(depth0)) - self.min_depth))])
        hi = int(self.row_offsets[max(0, min(len(self.row_offsets) - 1,
                                             int(np.floor(depth1)) + 1 - self.min_depth))])
        start, width = self.start[lo:hi], self.width[lo:hi]
        visible = (start < x1) & (start + width > x0) & (width > 0)
        wide = visible & (width >= unit)
        nodes = np.flatnonzero(wide) + lo
        narrow = np.flatnonzero(visible & ~wide) + lo
        if not len(narrow):
            empty = np.zeros(0)
            return Culled(nodes, empty.astype(np.int32), empty, empty, empty.astype(bool))
        # Merge on a (rows x pixel columns) grid, O(frames + pixels) with no sort: a
        # pixel is drawn when the sub-pixel frames starting in it fill half of it.
        columns = int(np.ceil((x1 - x0) / unit)) + 3
        first_row = int(self.depth[narrow[0]])
        rows = int(self.depth[narrow[-1]]) - first_row + 1
        column = np.clip(np.floor((self.start[narrow] - x0) / unit).astype(np.int64) + 1, 0,
                         columns - 1)
        cell = (self.depth[narrow] - first_row) * columns + column
        filled = np.bincount(cell, weights=self.width[narrow], minlength=rows * columns)
        occupied = np.zeros((rows, columns + 2), dtype=np.int8)
        occupied[:, 1:-1] = (filled >= 0.5 * unit).reshape(rows, columns)
        edges = np.diff(occupied, axis=1)
        run_row, run_first = np.nonzero(edges == 1)
        run_end = np.nonzero(edges == -1)[1]
        if emphasis is None:
            emphasised = np.zeros(len(run_first), dtype=bool)
        else:
            marked = np.zeros(rows * columns + 1, dtype=np.int64)
            marked[cell[emphasis[narrow]] + 1] = 1
            marked = np.cumsum(marked)
            base = run_row * columns
            emphasised = marked[base + run_end] > marked[base + run_first]
        return Culled(nodes, (run_row + first_row).astype(np.int32),
                      x0 + (run_first - 1) * unit, x0 + (run_end - 1) * unit, emphasised)


# -- building views -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Runs:
    """Call-tree nodes from consecutive samples sharing a stack prefix (depth-major order)."""

    first: np.ndarray
    end: np.ndarray
    depth: np.ndarray
    frame: np.ndarray
    parent: np.ndarray


def _runs(stacks: np.ndarray) -> _Runs:
    count, depth = stacks.shape
    valid = stacks >= 0
    same = np.zeros_like(valid)
    same[1:] = stacks[1:] == stacks[:-1]
    same = np.logical_and.accumulate(same, axis=1)
    new = (valid & ~same).T
    boundary = np.ones((depth, count + 1), dtype=bool)
    boundary[:, :count] = new | ~valid.T
    ends = np.flatnonzero(boundary)
    level, first = np.nonzero(new)
    # Every node starts at a boundary; its end is the next boundary in the same row.
    starts_here = np.zeros((depth, count + 1), dtype=bool)
    starts_here[:, :count] = new
    end = ends[np.flatnonzero(starts_here.ravel()[ends]) + 1] - level * (count + 1)
    owner = (np.cumsum(new.ravel()) - 1).reshape(depth, count)
    parent = np.where(level > 0, owner[np.maximum(level - 1, 0), first], -1)
    return _Runs(first, end, level.astype(np.int32), stacks[first, level], parent)


def _finish(kind: str, frames: list[Frame], start, width, depth, frame, parent, total,
            baseline=None, keep=None, self_time=None) -> FlameLayout:
    """Sort nodes by (depth, start), renumber parents and compute self times."""
    def children_sum(values):
        has = parent >= 0
        return np.bincount(parent[has], weights=values[has], minlength=len(values))

    if self_time is None:
        self_time = np.maximum(width - children_sum(width), 0.0)
    baseline_self = None
    if baseline is not None:
        baseline_self = np.maximum(baseline - children_sum(baseline), 0.0)
    order = np.lexsort((start, depth))
    if keep is not None:
        order = order[keep[order]]
    renumber = np.full(len(start), -1, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    old_parent = parent[order]
    new_parent = np.where(old_parent >= 0, renumber[np.maximum(old_parent, 0)], -1)

    def pick(values):
        return None if values is None else values[order]

    return FlameLayout(kind, frames, start[order], width[order], depth[order].astype(np.int32),
                       frame[order].astype(np.int32), new_parent, self_time[order], total,
                       pick(baseline), pick(baseline_self))


def _left_heavy_starts(width: np.ndarray, depth: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Place each node's children side by side, heaviest first, from the parent's start."""
    start = np.zeros(len(width))
    bounds = np.searchsorted(depth, np.arange(int(depth.max()) + 2)) if len(depth) else [0]
    for d in range(len(bounds) - 1):
        lo, hi = bounds[d], bounds[d + 1]
        p, w = parent[lo:hi], width[lo:hi]
        order = np.lexsort((-w, p))
        ws, ps = w[order], p[order]
        before = np.cumsum(ws) - ws
        group_first = np.r_[True, ps[1:] != ps[:-1]]
        offset = before - np.maximum.accumulate(np.where(group_first, before, 0.0))
        base = start[ps] if d > 0 else 0.0
        start[lo + order] = base + offset
    return start


def _unique_rows(stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct stacks in lexicographic order, and each input row's position among them."""
    used = np.flatnonzero((stacks >= 0).any(axis=0))
    stacks = stacks[:, :used[-1] + 1] if len(used) else stacks[:, :0]
    order = np.lexsort(stacks.T[::-1]) if stacks.shape[1] else np.arange(len(stacks))
    ordered = stacks[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    inverse = np.empty(len(stacks), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def _aggregate(stacks: np.ndarray, *weights: np.ndarray):
    """Merge identical paths: (runs, widths per weight vector), widths summed per node."""
    unique, inverse = _unique_rows(stacks)
    runs = _runs(unique)
    sums = []
    for w in weights:
        cumulative = np.r_[0.0, np.cumsum(np.bincount(inverse, weights=w,
                                                      minlength=len(unique)))]
        sums.append(cumulative[runs.end] - cumulative[runs.first])
    return runs, sums


def empty_layout(kind: str, frames: list[Frame]) -> FlameLayout:
    """A view with no frames (an empty profile, or a diff without a baseline)."""
    z = np.zeros(0)
    i = np.zeros(0, dtype=np.int32)
    return FlameLayout(kind, frames, z, z, i, i, i.astype(np.int64), z, 0.0)


def time_order(matrix: StackMatrix) -> FlameLayout:
    """Samples in recording order; consecutive samples with a common prefix share frames."""
    if not len(matrix.weights):
        return empty_layout("time", matrix.frames)
    runs = _runs(matrix.stacks)
    cumulative = np.r_[0.0, np.cumsum(matrix.weights)]
    start = cumulative[runs.first]
    width = cumulative[runs.end] - start
    return _finish("time", matrix.frames, start, width, runs.depth, runs.frame, runs.parent,
                   matrix.total)


def left_heavy(matrix: StackMatrix, kind: str = "left-heavy") -> FlameLayout:
    """Identical call paths merged; each frame's callees sorted heaviest first."""
    if not len(matrix.weights):
        return empty_layout(kind, matrix.frames)
    runs, (width,) = _aggregate(matrix.stacks, matrix.weights)
    start = _left_heavy_starts(width, runs.depth, runs.parent)
    return _finish(kind, matrix.frames, start, width, runs.depth, runs.frame, runs.parent,
                   matrix.total)


def sandwich(matrix: StackMatrix, frame: int) -> FlameLayout:
    """``frame`` at depth 0, its callers above (negative depths), its callees below.

    Callees come from the outermost call of ``frame`` in each sample (so its whole
    time is there once); callers from the innermost, nearest caller first.
    """
    stacks = matrix.stacks
    hit = stacks == frame
    rows = hit.any(axis=1)
    if not rows.any():
        return empty_layout("sandwich", matrix.frames)
    stacks, weights, hit = stacks[rows], matrix.weights[rows], hit[rows]
    depth = stacks.shape[1]
    first = hit.argmax(axis=1)
    last = depth - 1 - hit[:, ::-1].argmax(axis=1)
    steps = np.arange(depth)
    cols = first[:, None] + steps
    callees = np.where(cols < depth, np.take_along_axis(stacks, np.minimum(cols, depth - 1),
                                                        axis=1), -1)
    cols = last[:, None] - steps
    callers = np.where(cols >= 0, np.take_along_axis(stacks, np.maximum(cols, 0), axis=1), -1)
    down = left_heavy(StackMatrix(matrix.frames, callees, weights))
    up = left_heavy(StackMatrix(matrix.frames, callers, weights))
    keep = up.depth > 0
    renumber = np.cumsum(keep) - 1 + len(down)
    # Callers one level up hang off the shared root: node 0 of ``down``.
    up_parent = np.where(up.depth[keep] > 1, renumber[up.parent[keep]], 0)
    cat = np.concatenate
    return _finish("sandwich", matrix.frames, cat([down.start, up.start[keep]]),
                   cat([down.width, up.width[keep]]), cat([down.depth, -up.depth[keep]]),
                   cat([down.frame, up.frame[keep]]), cat([down.parent, up_parent]),
                   float(weights.sum()), self_time=cat([down.self_time, up.self_time[keep]]))


def diff(before: StackMatrix, after: StackMatrix, normalise: bool = True) -> FlameLayout:
    """``after`` aggregated left-heavy, each frame carrying ``before``'s time on the same path.

    Frames match by (name, file, line). With ``normalise``, ``before`` is scaled to
    ``after``'s total so profiles of different lengths compare by share of time.
    """
    frames = list(after.frames)
    position = {f: i for i, f in enumerate(frames)}
    remap = np.empty(len(before.frames) + 1, dtype=np.int32)
    remap[-1] = -1
    for i, f in enumerate(before.frames):
        remap[i] = position.setdefault(f, len(frames))
        if remap[i] == len(frames):
            frames.append(f)
    if not len(after.weights):
        return empty_layout("diff", frames)
    depth = max(before.stacks.shape[1], after.stacks.shape[1])

    def widen(stacks: np.ndarray) -> np.ndarray:
        out = np.full((len(stacks), depth), -1, dtype=np.int32)
        out[:, :stacks.shape[1]] = stacks
        return out

    scale = after.total / before.total if normalise and before.total > 0 else 1.0
    stacks = np.vstack([widen(remap[before.stacks]), widen(after.stacks)])
    zeros_b, zeros_a = np.zeros(len(before.weights)), np.zeros(len(after.weights))
    runs, (width, baseline) = _aggregate(stacks, np.r_[zeros_b, after.weights],
                                         np.r_[before.weights * scale, zeros_a])
    start = _left_heavy_starts(width, runs.depth, runs.parent)
    return _finish("diff", frames, start, width, runs.depth, runs.frame, runs.parent,
                   after.total, baseline=baseline, keep=width > 0)
