"""Orchestrations: multi-plugin workflows described in ``*.orchestration.yaml`` files.

- :mod:`.model`: the document (pydantic) and its problems (``file:line: field: reason``)
- :mod:`.io`: reading and writing the YAML, with the line of every field
- :mod:`.validation`: checks against the file and against the running workspace
  (:mod:`.workspace_view`: a workspace as validation sees it)
- :mod:`.document`: :class:`OrchestrationDocument`, the editor's model: comment-keeping
  round trips (:mod:`.yaml_text`), undoable edits, every problem in one pass
- :mod:`.conditions`: safe task conditions (simpleeval, no ``eval``)
- :mod:`.engine`: :class:`OrchestrationEngine`; :mod:`.run`: one live run
- :mod:`.store`: run history in SQLite; :mod:`.records`: runs as plain data
- :mod:`.events`: what front ends see; :mod:`.commands`: the CLI subcommands

The format is documented in ``docs/orchestration-format.md``. No Qt here.
"""

from logomesh_studio.orchestration.engine import OrchestrationEngine, RunNotResumable
from logomesh_studio.orchestration.io import dump, load, loads
from logomesh_studio.orchestration.model import (
    Orchestration,
    OrchestrationFile,
    OrchestrationInvalid,
    Problem,
)
from logomesh_studio.orchestration.records import RunRecord, RunSummary
from logomesh_studio.orchestration.run import OrchestrationRun
from logomesh_studio.orchestration.store import HistoryUnwritable, RunStore, StoreProblem

__all__ = [
    "HistoryUnwritable",
    "Orchestration",
    "OrchestrationEngine",
    "OrchestrationFile",
    "OrchestrationInvalid",
    "OrchestrationRun",
    "Problem",
    "RunNotResumable",
    "RunRecord",
    "RunStore",
    "RunSummary",
    "StoreProblem",
    "dump",
    "load",
    "loads",
]
