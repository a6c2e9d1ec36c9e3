"""One search box for every page (Ctrl+F): results as you type, Enter opens the best hit.

Queries run on the thread pool; a sequence number drops answers to keystrokes that have since
been superseded, so the window never waits and never shows stale results."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QWidget

from desktop.services.search import Search
from ui.context import AppContext
from ui.workers import run_job

DEBOUNCE_MS = 40


class SearchBox(QLineEdit):
    open_record = Signal(str, str)
    results_shown = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = Search(ctx.store, ctx.actor)
        self.setPlaceholderText("搜索 姓名 / 拼音首字母 / 证件号 / 电话 / 车牌 / 地址  (Ctrl+F)")
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(420)
        self._seq = 0
        self._shown_seq = -1
        self._hits: list = []
        self.popup = QListWidget()
        self.popup.setWindowFlags(Qt.WindowType.ToolTip)
        self.popup.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.popup.setMouseTracking(True)
        self.popup.setAutoFillBackground(True)
        self.popup.setStyleSheet(
            "QListWidget { background-color: palette(base); border: 1px solid palette(mid); }"
            "QListWidget::item { padding: 4px; }"
        )
        self.popup.itemClicked.connect(self._open_item)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self._run)
        self.textEdited.connect(lambda _t: self.timer.start())
        self.returnPressed.connect(self.open_best)
        self.installEventFilter(self)

    def install_shortcut(self, window: QWidget) -> None:
        sc = QShortcut(QKeySequence.StandardKey.Find, window)
        sc.activated.connect(self.focus_search)

    def focus_search(self) -> None:
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()

    def _run(self) -> None:
        query = self.text().strip()
        self._seq += 1
        seq = self._seq
        if not query:
            self._hits = []
            self.popup.hide()
            return
        run_job(self.service.search, query, on_done=lambda hits: self._show(seq, hits),
                on_error=lambda _failure: None, pool=self.ctx.pool)

    def search_now(self, query: str) -> list:
        """Synchronous search (used by Enter before the debounce fires, and by tests)."""
        self._hits = self.service.search(query)
        return self._hits

    def _show(self, seq: int, hits: list) -> None:
        if seq != self._seq:
            return  # an older keystroke's answer
        self._hits = hits
        self._shown_seq = seq
        self.popup.clear()
        if not hits:
            item = QListWidgetItem(f"没有找到“{self.text().strip()}”")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.popup.addItem(item)
        for hit in hits:
            item = QListWidgetItem(f"[{hit.to_dict()['kind_label']}] {hit.title}    {hit.subtitle}")
            item.setData(Qt.ItemDataRole.UserRole, (hit.kind, hit.id))
            self.popup.addItem(item)
        self.popup.setCurrentRow(0)
        pos = self.mapToGlobal(self.rect().bottomLeft())
        self.popup.setFixedWidth(max(self.width(), 560))
        self.popup.setFixedHeight(min(420, 28 * max(1, len(hits)) + 8))
        self.popup.move(pos)
        if self.isVisible():
            self.popup.show()
        self.results_shown.emit(len(hits))

    def open_best(self) -> None:
        query = self.text().strip()
        if not query:
            return
        if self.timer.isActive():
            self.timer.stop()
            self._seq += 1  # the pending keystroke is answered synchronously below
        current = self.popup.currentItem() if self.popup.isVisible() else None
        target = current.data(Qt.ItemDataRole.UserRole) if current else None
        if target is None:
            fresh = self._shown_seq == self._seq
            hits = self._hits if fresh else self.search_now(query)
            if not hits:
                return
            target = (hits[0].kind, hits[0].id)
        self.popup.hide()
        self.open_record.emit(*target)

    def _open_item(self, item: QListWidgetItem) -> None:
        target = item.data(Qt.ItemDataRole.UserRole)
        if target:
            self.popup.hide()
            self.open_record.emit(*target)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self and event.type() == QEvent.Type.KeyPress and self.popup.isVisible():
            key = event.key()  # type: ignore[attr-defined]
            row = self.popup.currentRow()
            if key == Qt.Key.Key_Down:
                self.popup.setCurrentRow(min(row + 1, self.popup.count() - 1))
                return True
            if key == Qt.Key.Key_Up:
                self.popup.setCurrentRow(max(row - 1, 0))
                return True
            if key == Qt.Key.Key_Escape:
                self.popup.hide()
                return True
        if obj is self and event.type() == QEvent.Type.FocusOut:
            QTimer.singleShot(150, self.popup.hide)
        return super().eventFilter(obj, event)
