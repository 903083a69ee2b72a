"""Builds a big orchestration's round-trip tree in a child process, for the editor.

    python -m logomesh_studio.orchestration._tree_child < file.orchestration.yaml

reads the YAML text on stdin and writes its ruamel.yaml round-trip tree, pickled, on
stdout. ruamel reads in pure Python (about 1.6 s for a 1,000-task file); done here, on
another core while the file is already shown, the first edit only unpickles it (C
speed) instead of holding the GUI thread for the whole parse. See
:meth:`OrchestrationDocument.prepare_edits`.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
from typing import Any

from logomesh_studio._children import child_environment
from logomesh_studio.orchestration import yaml_text


class TreeBuild:
    """One tree being built by a child process; :meth:`tree` waits for it.

    The child writes the pickle to a temporary file, read in one go once it exits,
    rather than to a pipe: reading megabytes from a pipe in a thread takes the GIL once
    per chunk, and each time the GUI thread has to hand it over (after up to 5 ms) in
    the middle of a frame. The child also runs at a lower priority, so on a busy
    machine the frames come first.
    """

    def __init__(self, text: str) -> None:
        self._pickled: bytes | None = None
        self._out = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=self._out,
            stderr=subprocess.DEVNULL, env=child_environment())
        self._thread = threading.Thread(target=self._talk, args=(text.encode("utf-8"),),
                                        daemon=True, name="logomesh-tree-build")
        self._thread.start()

    def _talk(self, data: bytes) -> None:
        with self._out:
            try:  # communicate() releases the GIL while it waits: the GUI thread keeps it
                self._process.communicate(data)
            except OSError:
                return
            if self._process.returncode == 0:
                self._out.seek(0)
                self._pickled = self._out.read()

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
    if hasattr(os, "nice"):
        os.nice(10)  # a background build: the GUI's frames come first
    text = sys.stdin.buffer.read().decode("utf-8")
    tree = yaml_text.make_yaml(text).load(text)
    sys.stdout.buffer.write(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main()
