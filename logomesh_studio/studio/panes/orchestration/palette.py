"""The palette: the workspace's plugins and capabilities, dragged onto a lane to add a task."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from logomesh_studio.studio.panes.orchestration.scene import TARGET_MIME
from logomesh_studio.studio.resources import icon

TARGET_ROLE = Qt.ItemDataRole.UserRole + 1


class PaletteModel(QStandardItemModel):
    """One row per running plugin and per capability; drags carry the task target."""

    def set_plugins(self, infos: Sequence[object]) -> None:
        """Show the plugins of ``infos`` (PluginInfo) that run, then their capabilities."""
        self.clear()
        running = [i for i in infos if getattr(i, "status", "") == "running"]
        for info in sorted(running, key=lambda i: i.id):  # type: ignore[attr-defined]
            handles = ", ".join(info.handles) or "execute()"  # type: ignore[attr-defined]
            self._row(info.id, info.id, f"{info.id}: handles {handles}", "plugin")  # type: ignore[attr-defined]
        capabilities = sorted({c for i in running for c in i.capabilities})  # type: ignore[attr-defined]
        for name in capabilities:
            self._row(f"capability:{name}", f"capability:{name}",
                      f"the best running provider of {name!r} answers", "layout")

    def _row(self, text: str, target: str, tip: str, icon_name: str) -> None:
        item = QStandardItem(icon(icon_name), text)
        item.setData(target, TARGET_ROLE)
        item.setToolTip(f"{tip}\nDrag onto a phase lane to add a task")
        item.setEditable(False)
        item.setDragEnabled(True)
        self.appendRow(item)

    def mimeTypes(self) -> list[str]:
        return [TARGET_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        if indexes:
            target = str(indexes[0].data(TARGET_ROLE))
            data.setData(TARGET_MIME, target.encode())
            data.setText(target)
        return data


class PaletteView(QListView):
    """The palette list (drag only)."""

    def __init__(self, model: PaletteModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orchestration_palette")
        self.setModel(model)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setToolTip("Plugins and capabilities of the workspace: drag one onto a lane")
