"""The page contract: the main window shows pages in a stack and routes `open_record` requests."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ui.context import AppContext


class Page(QWidget):
    """A sidebar page. Printing and sync pages slot in by subclassing this and calling
    MainWindow.add_page(key, page)."""

    title = ""
    # kind ("person", "household", "house", "vehicle", "org_unit", "visit", "grid_event", ...), record id
    open_record = Signal(str, str)
    # kind, record id, field: open the record's form at that field (the 数据质量 queue)
    open_field = Signal(str, str, str)
    # page key, params: ask the main window to show another page (dashboard click-through)
    navigate = Signal(str, dict)
    # a short message for the status bar
    status = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx

    def activate(self, **params: Any) -> None:
        """Called each time the page is shown; params come from navigation (filters, ids)."""

    def data_changed(self) -> None:
        """Called after any write elsewhere in the app, so the page can refresh what it shows."""
