"""Python syntax colouring for read-only code views, readable on light and dark palettes.

Keywords, builtins, strings (triple-quoted ones across lines), comments, numbers,
decorators and the names that ``def``/``class`` introduce. The colour set follows the
document's palette: call :meth:`PythonHighlighter.set_dark` when it changes.
"""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

_TOKEN = re.compile(
    r"""
    (?P<comment>\#.*)
    | (?P<triple>(?<!\w)[rRbBuUfF]{0,2}(?:'''|\"\"\"))
    | (?P<string>(?<!\w)[rRbBuUfF]{0,2}(?:'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?))
    | (?P<decorator>^\s*@[\w.]+)
    | (?P<number>\b(?:0[xXoObB][\da-fA-F_]+|\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?[jJ]?)\b)
    | (?P<word>\b[A-Za-z_]\w*\b)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) - {"_"}
_CONSTANTS = frozenset({"True", "False", "None"})
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_")) - _CONSTANTS
_SELF = frozenset({"self", "cls"})
_DEFINERS = frozenset({"def", "class"})

# (light, dark) colours and whether the style is bold/italic.
_STYLES = {
    "keyword": ("#a626a4", "#d197f0", True, False),
    "constant": ("#986801", "#e5c07b", False, False),
    "builtin": ("#0e7490", "#56b6c2", False, False),
    "self": ("#986801", "#e5c07b", False, True),
    "definition": ("#2156b8", "#6cb2ff", True, False),
    "decorator": ("#8a6d00", "#e3b341", False, False),
    "string": ("#2f7d32", "#98c379", False, False),
    "number": ("#b5481f", "#f0a070", False, False),
    "comment": ("#6a737d", "#7f8894", False, True),
}
# Block states: inside a triple-quoted string that began on an earlier line.
_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE = 1, 2


class PythonHighlighter(QSyntaxHighlighter):
    """Colours Python source in ``document``."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark, rehighlight=False)

    def set_dark(self, dark: bool, rehighlight: bool = True) -> None:
        """Use the colour set for a dark (or light) background."""
        self._formats = {}
        for name, (light_color, dark_color, bold, italic) in _STYLES.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(dark_color if dark else light_color))
            if bold:
                fmt.setFontWeight(QFont.Weight.DemiBold)
            fmt.setFontItalic(italic)
            self._formats[name] = fmt
        if rehighlight:
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        position = self._continue_string(text)
        if position is None:
            return  # the whole line is inside a triple-quoted string
        self.setCurrentBlockState(0)
        previous_word = ""
        while position < len(text):
            match = _TOKEN.search(text, position)
            if match is None:
                break
            kind, start, end = match.lastgroup, match.start(), match.end()
            if kind == "triple":
                delimiter = match.group()[-3:]
                close = text.find(delimiter, end)
                if close == -1:
                    self.setFormat(start, len(text) - start, self._formats["string"])
                    self.setCurrentBlockState(
                        _IN_SINGLE_TRIPLE if delimiter == "'''" else _IN_DOUBLE_TRIPLE
                    )
                    return
                end = close + 3
                kind = "string"
            elif kind == "word":
                kind = self._word_kind(match.group(), previous_word)
                previous_word = match.group()
            if kind is not None:
                self.setFormat(start, end - start, self._formats[kind])
            position = max(end, position + 1)

    def _continue_string(self, text: str) -> int | None:
        state = self.previousBlockState()
        if state not in (_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE):
            return 0
        delimiter = "'''" if state == _IN_SINGLE_TRIPLE else '"""'
        close = text.find(delimiter)
        if close == -1:
            self.setFormat(0, len(text), self._formats["string"])
            self.setCurrentBlockState(state)
            return None
        self.setFormat(0, close + 3, self._formats["string"])
        return close + 3

    @staticmethod
    def _word_kind(word: str, previous_word: str) -> str | None:
        if previous_word in _DEFINERS:
            return "definition"
        if word in _CONSTANTS:
            return "constant"
        if word in _KEYWORDS:
            return "keyword"
        if word in _SELF:
            return "self"
        if word in _BUILTINS:
            return "builtin"
        return None
