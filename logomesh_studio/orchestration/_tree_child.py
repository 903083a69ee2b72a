"""Builds a big orchestration's round-trip tree in a child process, for the editor.

    python -m logomesh_studio.orchestration._tree_child < file.orchestration.yaml

reads the YAML text on stdin and writes its ruamel.yaml round-trip tree, pickled, on
stdout. ruamel reads in pure Python (about 1.6 s for a 1,000-task file); done here, on
another core while the file is already shown, the first edit only unpickles it (C
speed) instead of holding the GUI thread for the whole parse. See
:meth:`OrchestrationDocument.prepare_edits`.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from typing import Any

from logomesh_studio._children import child_environment
from logomesh_studio.orchestration import yaml_text


class TreeBuild:
    """One tree being built by a child process; :meth:`tree` waits for it."""

    def __init__(self, text: str) -> None:
        self._pickled: bytes | None = None
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=child_environment())
        self._thread = threading.Thread(target=self._talk, args=(text.encode("utf-8"),),
                                        daemon=True, name="logomesh-tree-build")
        self._thread.start()

    def _talk(self, data: bytes) -> None:
        try:  # communicate() releases the GIL while it waits: the GUI thread keeps it
            out, _ = self._process.communicate(data)
        except OSError:
            return
        if self._process.returncode == 0:
            self._pickled = out

    def tree(self) -> Any | None:
        """The built tree, or None if the child failed (then build it in process)."""
        self._thread.join()
        pickled, self._pickled = self._pickled, None
        return pickle.loads(pickled) if pickled else None  # noqa: S301 (our own child's)

    def cancel(self) -> None:
        """Stop the child if it is still building."""
        if self._process.poll() is None:
            self._process.kill()


def main() -> None:
    text = sys.stdin.buffer.read().decode("utf-8")
    tree = yaml_text.make_yaml(text).load(text)
    sys.stdout.buffer.write(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main()
