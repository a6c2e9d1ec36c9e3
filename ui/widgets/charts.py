"""Small painted charts (QtCharts is not part of PySide6-Essentials)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui.theme import colours

PALETTE = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#e53935", "#00897b", "#6d4c41", "#3949ab"]


class BarChart(QWidget):
    """Horizontal bars with labels and counts; clicking a bar emits its key."""

    clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, str, int]] = []  # key, label, value
        self.order: list[str] = []
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_items(self, items: list[tuple[str, str, int]], order: list[str] | None = None) -> None:
        """`order`: every key the chart can show (a code table's codes), so that each category
        keeps its colour whatever is shown and however it is sorted."""
        self.items = items
        self.order = order or [k for k, _l, _v in items]
        self.setMinimumHeight(max(60, 26 * len(items) + 8))
        self.update()

    def _bar_rects(self) -> list[QRectF]:
        label_w = 110
        value_w = 60
        width = max(10, self.width() - label_w - value_w - 12)
        top = max((v for _, _, v in self.items), default=0) or 1
        return [QRectF(label_w, 6 + i * 26, width * v / top, 18) for i, (_, _, v) in enumerate(self.items)]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fg = QColor(colours()["text"])  # the theme's text colour (qt-material leaves the palette light)
        for (key, label, value), rect in zip(self.items, self._bar_rects(), strict=True):
            p.setPen(fg)
            p.drawText(QRectF(0, rect.top() - 2, 104, 22), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), label)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(self.colour_of(key)))
            p.drawRoundedRect(QRectF(rect.left(), rect.top(), max(2.0, rect.width()), rect.height()), 3, 3)
            p.setPen(fg)
            p.drawText(QRectF(rect.right() + 6, rect.top() - 2, 60, 22), int(Qt.AlignmentFlag.AlignVCenter), f"{value:,}")
        p.end()

    def colour_of(self, key: str) -> str:
        index = self.order.index(key) if key in self.order else len(self.order)
        return PALETTE[index % len(PALETTE)]

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        y = event.position().y()
        for (key, _, _), rect in zip(self.items, self._bar_rects(), strict=True):
            if rect.top() - 4 <= y <= rect.bottom() + 4:
                self.clicked.emit(key)
                return


class StatCard(QFrame):
    """A figure with a title; the whole card clicks through to the list behind it."""

    clicked = Signal()

    def __init__(self, title: str, parent: QWidget | None = None, on_click: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumWidth(150)
        self.title = QLabel(title)
        self.title.setProperty("role", "card-title")
        self.value = QLabel("…")
        self.value.setProperty("role", "card-value")
        self.sub = QLabel("")
        self.sub.setProperty("role", "hint")
        self.sub.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.value)
        lay.addWidget(self.sub)
        if on_click:
            self.clicked.connect(on_click)

    def set(self, value: str, sub: str = "") -> None:
        self.value.setText(value)
        self.sub.setText(sub)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.clicked.emit()
