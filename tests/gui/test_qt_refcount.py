"""Guard against PySide6 builds that leak a reference to None per void Qt call.

PySide6 6.12.0 on CPython 3.11 drops one reference to ``None`` per call of a Qt method
returning nothing and aborts (``none_dealloc``) after a few thousand calls; DESIGN.md
pins below it. This fails on such a build instead of crashing the Studio later.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QBrush, QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

CALLS = 20_000


def test_void_qt_calls_keep_the_reference_count_of_none(qtbot, qapp):
    widget = QWidget()
    qtbot.addWidget(widget)
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    brush = QBrush(QColor("red"))
    before = sys.getrefcount(None)
    for i in range(CALLS // 4):
        widget.setToolTip("tip")
        painter.setBrush(brush)
        widget.setEnabled(bool(i & 1))
        qapp.processEvents()
    after = sys.getrefcount(None)
    painter.end()
    # Immortal None (3.12+) reports a huge constant; a leak shows as a steady fall.
    assert after > before - CALLS // 10, f"None lost {before - after} references"
