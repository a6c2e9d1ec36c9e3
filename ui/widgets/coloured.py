"""A delegate that paints a cell's text in its model's foreground colour (an overdue event in red):
qt-material's style sheet gives every item one text colour, which Qt lets win over the model's."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem


class ForegroundDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        colour = index.data(Qt.ItemDataRole.ForegroundRole)
        if colour is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)  # background, selection
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        painter.save()
        painter.setPen(colour.color() if isinstance(colour, QBrush) else QColor(colour))
        painter.setFont(opt.font)
        shown = opt.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width() - 4)
        painter.drawText(rect.adjusted(2, 0, -2, 0), int(opt.displayAlignment), shown)
        painter.restore()
