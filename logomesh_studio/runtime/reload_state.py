"""The state a plugin carries across a reload: what it is by default, and its copy.

When a plugin's own hooks are involved the new version gets a copy, so a new version
that fails half-way through restoring cannot corrupt the data the old version keeps
running with (with the default hooks nothing writes to it: see reload.py).
"""

from __future__ import annotations

import copy
import marshal
import pickle
from typing import Any

from logomesh_studio import sdk
from logomesh_studio.runtime.bus import Connection
from logomesh_studio.runtime.plugin_record import LoadedPlugin

SLOW_COPY_S = 0.1
"""Copying a reload state for longer than this is reported to the plugin's log."""


def default_state(loaded: LoadedPlugin, connections: list[Connection]) -> dict[str, Any]:
    """The old instance's ``on_before_reload()``; without hooks of its own, plus its
    configuration and connections (as the seed runtime carried them)."""
    instance = loaded.instance
    hooks = type(instance).on_before_reload is not sdk.Plugin.on_before_reload
    state = instance.on_before_reload()
    if not isinstance(state, dict):
        raise TypeError(f"on_before_reload() must return a dict, not {type(state).__name__}")
    if not hooks:
        state = {**state, "config": dict(loaded.context.config),
                 "connections": [c.to_json() for c in connections]}
    return state


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``state``, fast for large plain data.

    ``marshal`` copies builtin containers and scalars exactly (tuples stay tuples, int
    keys stay ints, shared objects stay shared) in C, about six times faster than
    ``copy.deepcopy`` on a million entries; ``pickle`` covers most other objects (their
    classes are importable); ``deepcopy`` is the last resort (also for instances of
    classes whose module was re-imported since: pickle refuses those).
    """
    try:
        copied: dict[str, Any] = marshal.loads(marshal.dumps(state))
        return copied
    except (ValueError, TypeError, RecursionError):  # not plain data, or nested too deep
        pass
    try:
        copied = pickle.loads(pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
        return copied
    except Exception:  # anything pickle refuses (locks, lambdas, ...) may still deepcopy
        return copy.deepcopy(state)
