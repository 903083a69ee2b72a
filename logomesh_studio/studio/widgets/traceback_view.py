"""Shows an error and its traceback with every ``File "...", line N`` as a link."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QUrl, QUrlQuery, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from logomesh_studio.studio import theme

FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def location_url(path: str, line: int) -> QUrl:
    url = QUrl.fromLocalFile(path)
    query = QUrlQuery()
    query.addQueryItem("line", str(line))
    url.setQuery(query)
    return url


class TracebackView(QTextBrowser):
    """Read-only rich text; clicking a file location emits ``sig_open_file_requested``."""

    sig_open_file_requested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self._wire_signals()

    def _wire_signals(self) -> None:
        self.anchorClicked.connect(self._on_self_anchor_clicked)

    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        line = QUrlQuery(url).queryItemValue("line")
        self.sig_open_file_requested.emit(url.toLocalFile(), int(line or 0))

    def show_error(self, title: str, error: str = "", traceback: str = "", path: str = "",
                   line: int = 0, details: str = "") -> None:
        """Show ``title``, the error line, a link to ``path:line`` and the traceback."""
        parts = [f"<b>{html.escape(title)}</b>"]
        if details:
            parts.append(f"<div>{details}</div>")
        if error:
            parts.append(f'<div style="color:{theme.color("error").name()}">'
                         f"{html.escape(error)}</div>")
        if path:
            href = location_url(path, line).toString()
            parts.append(f'<div><a href="{href}">{html.escape(path)}:{line}</a></div>')
        if traceback:
            parts.append("<pre>" + self._linkify(traceback) + "</pre>")
        self.setHtml("".join(parts))

    @staticmethod
    def _linkify(text: str) -> str:
        out, last = [], 0
        for match in FRAME.finditer(text):
            out.append(html.escape(text[last:match.start()]))
            href = location_url(match.group(1), int(match.group(2))).toString()
            out.append(f'<a href="{href}">{html.escape(match.group(0))}</a>')
            last = match.end()
        out.append(html.escape(text[last:]))
        return "".join(out)
