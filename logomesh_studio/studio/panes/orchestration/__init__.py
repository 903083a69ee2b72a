"""The orchestration editor: a QGraphicsScene view over an OrchestrationDocument, with a
palette, an inspector, a problems list and a run monitor."""

from logomesh_studio.studio.panes.orchestration.pane import OrchestrationPane

__all__ = ["OrchestrationPane"]
