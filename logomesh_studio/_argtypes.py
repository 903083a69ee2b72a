"""argparse value types shared by the CLI's subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path


def directory(value: str) -> Path:
    """An existing directory, or an argparse error naming the value."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: not a directory")
    return path
