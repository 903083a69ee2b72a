"""``python -m logomesh_studio.studio [WORKSPACE]``: the Studio window without the CLI."""

import sys
from pathlib import Path

from logomesh_studio.studio.app import main

raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
