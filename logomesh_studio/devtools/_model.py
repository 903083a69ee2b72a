"""Plain-data pieces of a profile and the aggregations over them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

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
