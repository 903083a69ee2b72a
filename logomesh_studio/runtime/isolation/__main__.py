"""``python -m logomesh_studio.runtime.isolation FD``: an isolated plugin's process."""

import sys

from logomesh_studio.runtime.isolation.child import child_main

raise SystemExit(child_main(sys.argv[1:]))
