"""``python -m logomesh_studio``: the ``logomesh-studio`` command."""

from logomesh_studio.cli import main

raise SystemExit(main())
