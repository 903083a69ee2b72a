"""File > New Plugin...: pick a template, an id, a folder and a capability; scaffold it.

The dialog calls ``devtools.scaffold.scaffold``, which checks everything before it
writes anything: a refused request (bad or taken id, existing folder) is shown in the
dialog and leaves the disk untouched. A created plugin in the open workspace is loaded
by the watcher like any new folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.runtime.manifest import MANIFEST_NAMES, ManifestError, load_manifest
from logomesh_studio.studio import theme


def main_file(folder: Path) -> Path | None:
    """The file that defines a plugin's entry class (from its manifest), if found."""
    for name in MANIFEST_NAMES:
        try:
            entry = load_manifest(folder / name).entry
        except ManifestError:
            continue
        module = entry.partition(":")[0].replace(".", "/")
        for candidate in (folder / module / "__init__.py", folder / f"{module}.py"):
            if candidate.is_file():
                return candidate
    return None


class NewPluginDialog(QDialog):
    """Create a plugin from a template; ``sig_plugin_created(folder)`` on success."""

    sig_plugin_created = Signal(str)  # the new plugin's folder

    def __init__(self, workspace: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from logomesh_studio.devtools.scaffold import TEMPLATES

        self.setObjectName("new_plugin_dialog")
        self.setWindowTitle("New Plugin")
        self.created: Path | None = None
        self.template_combo = QComboBox(self)
        self.template_combo.setObjectName("new_plugin_template")
        for name, description in TEMPLATES.items():
            self.template_combo.addItem(f"{name} — {description}", name)
        self.name_field = QLineEdit(self)
        self.name_field.setObjectName("new_plugin_name")
        self.name_field.setPlaceholderText("my-plugin (lowercase, dots and dashes)")
        self.folder_field = QLineEdit(str(workspace or Path.cwd()), self)
        self.folder_field.setObjectName("new_plugin_folder")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_field, 1)
        folder_row.addWidget(browse)
        self.capability_field = QLineEdit(self)
        self.capability_field.setObjectName("new_plugin_capability")
        self.capability_field.setPlaceholderText("optional: a capability it provides")
        self.error_label = QLabel(self)
        self.error_label.setObjectName("new_plugin_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {theme.color('error').name()};")
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("&Template:", self.template_combo)
        form.addRow("Plugin &id:", self.name_field)
        form.addRow("In &folder:", folder_row)
        form.addRow("&Capability:", self.capability_field)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.create_button = self.buttons.addButton("Create",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.create_plugin)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.name_field.textChanged.connect(self._on_name_field_changed)
        self._on_name_field_changed("")
        self.resize(560, self.sizeHint().height())

    def create_plugin(self) -> bool:  # not create(): that is QWidget's native-window call
        """Scaffold the plugin; on error show it and keep the dialog open."""
        from logomesh_studio.devtools.scaffold import ScaffoldError, scaffold

        template = str(self.template_combo.currentData())
        name = self.name_field.text().strip()
        capability = self.capability_field.text().strip() or None
        try:
            self.created = scaffold(template, name, Path(self.folder_field.text().strip()),
                                    capability)
        except (ScaffoldError, OSError) as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return False
        self.sig_plugin_created.emit(str(self.created))
        self.accept()
        return True

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Create the Plugin In",
                                                  self.folder_field.text())
        if folder:
            self.folder_field.setText(folder)

    def _on_name_field_changed(self, text: str) -> None:
        self.create_button.setEnabled(bool(text.strip()))
        self.error_label.hide()
