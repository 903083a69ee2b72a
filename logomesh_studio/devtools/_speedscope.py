"""Read and write speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

Writing produces one "sampled" profile. Reading accepts "sampled" and "evented"
profiles (pyinstrument writes evented ones, py-spy and speedscope sampled ones);
an evented profile becomes one sample per interval between events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._model import Frame, Sample

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
EXPORTER = "logomesh-studio"
# Extra, namespaced key on our profile objects: the schema allows additional
# properties, and speedscope ignores them, so plugin attribution survives a save.
EXTENSION_KEY = "logomesh"

_SECONDS_PER_UNIT = {
    "seconds": 1.0,
    "milliseconds": 1e-3,
    "microseconds": 1e-6,
    "nanoseconds": 1e-9,
}
_RAW_UNITS = ("none", "bytes")


@dataclass
class DecodedProfile:
    """What a speedscope profile holds, in our terms (weights in seconds for time units)."""

    name: str
    unit: str
    frames: list[Frame]
    samples: list[Sample]
    duration: float
    extension: dict[str, Any] = field(default_factory=dict)


def encode(
    name: str,
    frames: Sequence[Frame],
    samples: Sequence[Sample],
    *,
    unit: str = "seconds",
    extension: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a speedscope file holding one sampled profile."""
    shared = []
    for frame in frames:
        entry: dict[str, Any] = {"name": frame.name}
        if frame.file:
            entry["file"] = frame.file
        if frame.line is not None:
            entry["line"] = frame.line
        shared.append(entry)
    weights = [sample.weight for sample in samples]
    profile: dict[str, Any] = {
        "type": "sampled",
        "name": name,
        "unit": unit,
        "startValue": 0,
        "endValue": sum(weights),
        "samples": [list(sample.stack) for sample in samples],
        "weights": weights,
    }
    ext = dict(extension or {})
    plugins = sorted({s.plugin for s in samples if s.plugin is not None})
    if plugins:
        ext["plugins"] = plugins
        ext["samplePlugins"] = _indices(plugins, (s.plugin for s in samples))
    messages = sorted({s.message for s in samples if s.message is not None})
    if messages:
        ext["messages"] = messages
        ext["sampleMessages"] = _indices(messages, (s.message for s in samples))
    if ext:
        profile[EXTENSION_KEY] = ext
    return {
        "$schema": SCHEMA_URL,
        "exporter": EXPORTER,
        "name": name,
        "activeProfileIndex": 0,
        "shared": {"frames": shared},
        "profiles": [profile],
    }


def _indices(values: list[str], per_sample: Iterable[str | None]) -> list[int]:
    position = {value: i for i, value in enumerate(values)}
    return [-1 if value is None else position[value] for value in per_sample]


def load(source: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the parsed document from a path or an already-parsed mapping."""
    if isinstance(source, Mapping):
        return source
    with open(source, encoding="utf-8") as stream:
        try:
            data = json.load(stream)
        except json.JSONDecodeError as error:
            raise ValueError(f"{os.fspath(source)}: not a JSON file ({error})") from error
    if not isinstance(data, Mapping):
        raise ValueError(f"{os.fspath(source)}: a speedscope file is a JSON object")
    return data


def decode(data: Mapping[str, Any], index: int | None = None) -> DecodedProfile:
    """Turn profile ``index`` of a speedscope document (default: the active one) into samples."""
    profiles = data.get("profiles")
    shared = data.get("shared") or {}
    raw_frames = shared.get("frames") if isinstance(shared, Mapping) else None
    if not isinstance(profiles, list) or not profiles or not isinstance(raw_frames, list):
        raise ValueError(
            "not a speedscope file: expected 'profiles' (a non-empty list) and "
            "'shared.frames' (a list); see https://www.speedscope.app/file-format-schema.json"
        )
    if index is None:
        index = data.get("activeProfileIndex") or 0
    if not 0 <= index < len(profiles):
        raise ValueError(
            f"speedscope file has {len(profiles)} profiles; index {index} is out of range"
        )
    profile = profiles[index]
    frames, remap = _intern_frames(raw_frames)
    unit = profile.get("unit", "seconds")
    if unit in _SECONDS_PER_UNIT:
        scale, our_unit = _SECONDS_PER_UNIT[unit], "seconds"
    elif unit in _RAW_UNITS:
        scale, our_unit = 1.0, unit
    else:
        raise ValueError(f"profiles[{index}].unit {unit!r} is not a speedscope unit")
    kind = profile.get("type")
    if kind == "sampled":
        samples = _decode_sampled(profile, remap, scale, index)
    elif kind == "evented":
        samples = _decode_evented(profile, remap, scale, index)
    else:
        raise ValueError(f"profiles[{index}].type {kind!r} is neither 'sampled' nor 'evented'")
    start = profile.get("startValue") or 0
    end = profile.get("endValue")
    duration = (end - start) * scale if end is not None else sum(s.weight for s in samples)
    extension = profile.get(EXTENSION_KEY)
    return DecodedProfile(
        name=profile.get("name") or data.get("name") or "profile",
        unit=our_unit,
        frames=frames,
        samples=samples,
        duration=duration,
        extension=dict(extension) if isinstance(extension, Mapping) else {},
    )


def _intern_frames(raw_frames: list[Any]) -> tuple[list[Frame], list[int]]:
    """Deduplicate frames so that identical functions aggregate together."""
    frames: list[Frame] = []
    position: dict[Frame, int] = {}
    remap: list[int] = []
    for i, raw in enumerate(raw_frames):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise ValueError(f"shared.frames[{i}] needs a 'name' string")
        line = raw.get("line")
        frame = Frame(raw["name"], raw.get("file") or None, int(line) if line is not None else None)
        if frame not in position:
            position[frame] = len(frames)
            frames.append(frame)
        remap.append(position[frame])
    return frames, remap


def _frame(remap: list[int], raw_index: Any, where: str) -> int:
    if not isinstance(raw_index, int) or not 0 <= raw_index < len(remap):
        raise ValueError(f"{where} refers to frame {raw_index!r}, not in shared.frames")
    return remap[raw_index]


def _decode_sampled(profile: Mapping[str, Any], remap: list[int], scale: float, index: int
                    ) -> list[Sample]:
    stacks = profile.get("samples") or []
    weights = profile.get("weights")
    if weights is None:
        weights = [1] * len(stacks)
    if len(weights) != len(stacks):
        raise ValueError(f"profiles[{index}] has {len(stacks)} samples but {len(weights)} weights")
    ext: Mapping[str, Any] = profile.get(EXTENSION_KEY) or {}
    if not isinstance(ext, Mapping):
        ext = {}
    plugins = _per_sample(ext, "plugins", "samplePlugins", len(stacks))
    messages = _per_sample(ext, "messages", "sampleMessages", len(stacks))
    samples = []
    for i, (stack, weight) in enumerate(zip(stacks, weights, strict=True)):
        where = f"profiles[{index}].samples[{i}]"
        samples.append(
            Sample(
                tuple(_frame(remap, f, where) for f in stack),
                weight * scale,
                plugins[i],
                messages[i],
            )
        )
    return samples


def _per_sample(ext: Mapping[str, Any], names_key: str, index_key: str, count: int
                ) -> list[str | None]:
    names, indices = ext.get(names_key), ext.get(index_key)
    if not isinstance(names, list) or not isinstance(indices, list) or len(indices) != count:
        return [None] * count
    return [names[i] if isinstance(i, int) and 0 <= i < len(names) else None for i in indices]


def _decode_evented(profile: Mapping[str, Any], remap: list[int], scale: float, index: int
                    ) -> list[Sample]:
    samples: list[Sample] = []
    stack: list[int] = []
    last = profile.get("startValue") or 0
    for i, event in enumerate(profile.get("events") or []):
        where = f"profiles[{index}].events[{i}]"
        at = event.get("at")
        if not isinstance(at, int | float) or at < last:
            raise ValueError(f"{where}: 'at' must be a number not before the previous event")
        if stack and at > last:
            samples.append(Sample(tuple(stack), (at - last) * scale))
        last = at
        frame = _frame(remap, event.get("frame"), where)
        kind = event.get("type")
        if kind == "O":
            stack.append(frame)
        elif kind == "C":
            if not stack or stack[-1] != frame:
                raise ValueError(
                    f"{where} closes frame {event.get('frame')} which is not the open one"
                )
            stack.pop()
        else:
            raise ValueError(f"{where}: type {kind!r} is neither 'O' nor 'C'")
    end = profile.get("endValue")
    if stack and end is not None and end > last:
        samples.append(Sample(tuple(stack), (end - last) * scale))
    return samples
