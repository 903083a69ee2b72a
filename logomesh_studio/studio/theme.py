"""Light and dark palettes on the Fusion style, following the system colour scheme.

``ThemeController`` applies the chosen mode (system, light or dark) and re-applies it
when the system scheme changes; panes read semantic colours through :func:`color`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from logomesh_studio.studio.resources import stylesheet

MODES = ("system", "light", "dark")

_LIGHT = {
    "window": "#f3f4f6", "base": "#ffffff", "alt": "#f6f7f9", "text": "#1f2328",
    "button": "#e9ebef", "mid": "#c9ced6", "dark": "#a0a7b1", "muted": "#6a737d",
    "highlight": "#2f6fb5", "link": "#1f6fd1", "tooltip": "#ffffff",
    "ok": "#1f8a4c", "error": "#c93434", "warning": "#b7791f", "refused": "#c2571a",
    "timeout": "#8250df", "info": "#2f6fb5", "accent": "#2f6fb5", "error_bg": "#fde8e8",
}
_DARK = {
    "window": "#202328", "base": "#17191d", "alt": "#1c1f24", "text": "#d8dbe0",
    "button": "#2b2f36", "mid": "#3a3f47", "dark": "#121417", "muted": "#8b929c",
    "highlight": "#2f6fb5", "link": "#6cb2ff", "tooltip": "#2b2f36",
    "ok": "#4cc38a", "error": "#ff6b6b", "warning": "#e3b341", "refused": "#f0883e",
    "timeout": "#b392f0", "info": "#6cb2ff", "accent": "#6cb2ff", "error_bg": "#3a1f22",
}
_current = _LIGHT


def is_dark() -> bool:
    return _current is _DARK


def color(name: str) -> QColor:
    """A semantic colour of the current theme: ok, error, warning, refused, timeout,
    info, muted, accent, error_bg."""
    return QColor(_current[name])


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, key in ((role.Window, "window"), (role.WindowText, "text"), (role.Base, "base"),
                   (role.AlternateBase, "alt"), (role.Text, "text"), (role.Button, "button"),
                   (role.ButtonText, "text"), (role.Highlight, "highlight"),
                   (role.Link, "link"), (role.ToolTipBase, "tooltip"),
                   (role.ToolTipText, "text"), (role.Mid, "mid"), (role.Dark, "dark"),
                   (role.PlaceholderText, "muted")):
        p.setColor(r, QColor(c[key]))
    p.setColor(role.HighlightedText, QColor("#ffffff"))
    p.setColor(role.BrightText, QColor(c["error"]))
    p.setColor(role.Light, QColor(c["button"]).lighter(120))
    p.setColor(role.Midlight, QColor(c["button"]).lighter(108))
    p.setColor(role.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor(c["muted"]))
    return p


class ThemeController(QObject):
    """Applies light/dark palettes; in ``system`` mode follows QStyleHints.colorScheme."""

    sig_theme_changed = Signal(bool)  # dark?

    def __init__(self, app: QApplication, mode: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._mode = mode if mode in MODES else "system"
        app.setStyle(QStyleFactory.create("Fusion"))
        self._wire_signals()

    def _wire_signals(self) -> None:
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_style_hints_changed)

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        self._mode = mode if mode in MODES else "system"
        self.apply()

    def apply(self) -> None:
        global _current
        if self._mode == "system":
            dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
        else:
            dark = self._mode == "dark"
        _current = _DARK if dark else _LIGHT
        self._app.setPalette(_palette(_current))
        self._app.setStyleSheet(stylesheet())
        self.sig_theme_changed.emit(dark)

    def _on_style_hints_changed(self, scheme: Qt.ColorScheme) -> None:
        if self._mode == "system":
            self.apply()
