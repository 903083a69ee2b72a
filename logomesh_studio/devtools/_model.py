"""Plain-data pieces of a profile and the aggregations over them."""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

IDLE_NAME = "[idle]"


@dataclass(frozen=True, slots=True)
class Frame:
    """One function in a profile: the speedscope notion of a frame."""

    name: str
    file: str | None = None
    line: int | None = None

    @property
    def label(self) -> str:
        """``name (file:line)``, the form py-spy uses in folded stacks."""
        if not self.file:
            return self.name
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.name} ({where})"


IDLE_FRAME = Frame(IDLE_NAME)


@dataclass(frozen=True, slots=True)
class Sample:
    """A stack (indices into the profile's frames, outermost first) and its weight.

    ``weight`` is the time the stack stood for: the clock's advance since the
    previous sample. ``plugin`` is the plugin whose code was nearest the top of
    the stack, ``message`` what the ``message_of`` hook reported, if any.
    """

    stack: tuple[int, ...]
    weight: float
    plugin: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionStats:
    """Time spent in one function: on top of the stack (self) and anywhere in it (total).

    ``samples`` counts the samples whose stack contains the function.
    """

    name: str
    file: str | None
    line: int | None
    self_seconds: float
    total_seconds: float
    samples: int


def function_stats(frames: Sequence[Frame], samples: Sequence[Sample]) -> list[FunctionStats]:
    """Aggregate samples per function, hottest self time first.

    A recursive function is counted once per sample in its total time.
    """
    self_time: dict[int, float] = defaultdict(float)
    total_time: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for sample in samples:
        if not sample.stack:
            continue
        self_time[sample.stack[-1]] += sample.weight
        for index in set(sample.stack):
            total_time[index] += sample.weight
            counts[index] += 1
    stats = [
        FunctionStats(
            name=frames[index].name,
            file=frames[index].file,
            line=frames[index].line,
            self_seconds=self_time.get(index, 0.0),
            total_seconds=total,
            samples=counts[index],
        )
        for index, total in total_time.items()
    ]
    stats.sort(key=lambda s: (-s.self_seconds, -s.total_seconds, s.name))
    return stats


def collapsed_stacks(
    frames: Sequence[Frame], samples: Sequence[Sample], *, unit: str = "microseconds"
) -> str:
    """Render Brendan Gregg's folded format: ``outer;inner value`` per distinct stack.

    ``unit="microseconds"`` writes each stack's weight in whole microseconds;
    ``unit="samples"`` writes how many samples had that stack.
    """
    if unit not in ("microseconds", "samples"):
        raise ValueError(f"collapsed unit must be 'microseconds' or 'samples', not {unit!r}")
    labels = [frame.label.replace(";", ":") for frame in frames]
    totals: dict[tuple[int, ...], float] = defaultdict(float)
    for sample in samples:
        if sample.stack:
            totals[sample.stack] += 1 if unit == "samples" else sample.weight * 1e6
    lines = sorted(
        (";".join(labels[i] for i in stack), round(value)) for stack, value in totals.items()
    )
    return "".join(f"{stack} {value}\n" for stack, value in lines if value > 0)


@functools.cache
def _library_roots() -> tuple[str, ...]:
    """Folders whose code is not plugin code: the standard library, installed packages
    and the LogoMesh runtime itself."""
    paths = sysconfig.get_paths()
    folders = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    folders.add(str(Path(__file__).resolve().parents[1]))  # the logomesh_studio package
    return tuple(os.path.normcase(os.path.realpath(f)).rstrip(os.sep) + os.sep for f in folders)


_LIBRARY_MARKERS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}",
                    f"{os.sep}lib{os.sep}python{sys.version_info[0]}")


@functools.lru_cache(maxsize=8192)
def is_library_file(path: str) -> bool:
    """True for source files that are not plugin code: the standard library, installed
    packages, the runtime, and frozen, generated or embedded modules (``<frozen runpy>``,
    relative names). Paths from
    another machine (an imported profile) are recognised by their site-packages or
    ``lib/pythonX`` folder."""
    if not path or path.startswith("<") or not os.path.isabs(path):
        return True  # frozen, generated or embedded (shiboken's "shibokensupport/...")
    normal = os.path.normcase(path)
    if any(marker in normal for marker in _LIBRARY_MARKERS):
        return True
    real = os.path.normcase(os.path.realpath(path))
    return real.startswith(_library_roots())


def is_plugin_code(frame: Frame) -> bool:
    """A frame of code a plugin author wrote: neither an idle wait nor a library frame."""
    return frame.name != IDLE_NAME and frame.file is not None and not is_library_file(frame.file)


def fold_frames(
    frames: Sequence[Frame], samples: Sequence[Sample], keep: Callable[[Frame], bool]
) -> list[Sample]:
    """Samples with every frame that ``keep`` rejects folded away (its time goes to the
    nearest kept caller); samples left with no frame at all are dropped.

    Frame indices stay valid for ``frames``, like pyinstrument's hidden library frames.
    """
    kept = [keep(frame) for frame in frames]
    folded: dict[tuple[int, ...], tuple[int, ...]] = {}
    result: list[Sample] = []
    for sample in samples:
        stack = folded.get(sample.stack)
        if stack is None:
            stack = folded[sample.stack] = tuple(i for i in sample.stack if kept[i])
        if stack == sample.stack:
            result.append(sample)
        elif stack:
            result.append(Sample(stack, sample.weight, sample.plugin, sample.message))
    return result
