"""One way to make an action: icon, name, shortcut and a tooltip that shows the shortcut;
and one way to lay actions out in a menu or a toolbar."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from logomesh_studio.studio.resources import icon


def make_action(parent: QObject, text: str, icon_name: str, tip: str,
                shortcut: str | QKeySequence.StandardKey = "", *, name: str = "",
                context: Qt.ShortcutContext | None = None) -> QAction:
    """An action with an icon from resources/, an object name, an optional shortcut (in
    ``context``) and a tooltip/status tip that names the shortcut."""
    action = QAction(icon(icon_name), text, parent)
    if name:
        action.setObjectName(name)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        if context is not None:
            action.setShortcutContext(context)
        tip = f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    return action


def add_actions(target: QMenu | QToolBar, actions: Iterable[QAction | None]) -> None:
    """Add ``actions`` to a menu or toolbar in order; None adds a separator."""
    for action in actions:
        if action is None:
            target.addSeparator()
        else:
            target.addAction(action)
