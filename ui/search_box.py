"""One search box for every page (Ctrl+F): results as you type, Enter opens the best hit.

Queries run on the thread pool; a sequence number drops answers to keystrokes that have since
been superseded, so the window never waits and never shows stale results."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.services.floorplan import FloorPlans
from desktop.services.search import Search
from ui.context import AppContext
from ui.theme import popup_qss
from ui.workers import run_job

DEBOUNCE_MS = 40


class SearchBox(QLineEdit):
    open_record = Signal(str, str)
    door_plate = Signal(str)  # a door plate's token, scanned (typed, then Enter) or pasted
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
        self.popup.setStyleSheet(popup_qss())
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
            self.popup.setStyleSheet(popup_qss())  # the theme may have been switched meanwhile
            self.popup.show()
        self.results_shown.emit(len(hits))

    def open_best(self) -> None:
        query = self.text().strip()
        if not query:
            return
        if FloorPlans.is_token(query):
            self.timer.stop()
            self.popup.hide()
            self.clear()
            self.door_plate.emit(query)
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
            key = cast(QKeyEvent, event).key()  # PySide6 hands a key press over as its QKeyEvent
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


# --- picking one household inside a form ---------------------------------------------------------

class EnterLineEdit(QLineEdit):
    """A line edit that keeps Enter to itself: `entered` is emitted and the key is never passed
    on, so Enter can never press a dialog's default button (保存) from here."""

    entered = Signal()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.entered.emit()
            return
        super().keyPressEvent(event)


class ChoiceList(QListWidget):
    """A short list to choose from with the keyboard: Enter chooses the current row, Escape
    goes back; neither key reaches the dialog."""

    chosen = Signal(object)
    back = Signal()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            item = self.currentItem()
            if item is not None and item.data(Qt.ItemDataRole.UserRole):
                self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
            return
        if key == Qt.Key.Key_Escape:
            event.accept()
            self.back.emit()
            return
        super().keyPressEvent(event)


PICK_LIMIT = 8  # households offered at once


class HouseholdPicker(QWidget):
    """The household of a form: type a head's name, pinyin initials or an address and press
    Enter; a short list of the households found opens (Up/Down, Enter or a double-click
    chooses). Enter here never submits the form, and nothing is chosen without the user."""

    picked = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from desktop.services.households import Households

        self.ctx = ctx
        self.households = Households(ctx.store, ctx.actor)
        self.service = Search(ctx.store, ctx.actor)
        self.household_id: str | None = None
        self.edit = EnterLineEdit()
        self.edit.setPlaceholderText("输入户主姓名、拼音首字母或地址,回车列出候选户")
        self.edit.entered.connect(self.lookup)
        self.choices = ChoiceList()
        self.choices.setVisible(False)
        self.choices.chosen.connect(self.choose)
        self.choices.back.connect(self._back)
        self.choices.itemDoubleClicked.connect(
            lambda item: self.choose(item.data(Qt.ItemDataRole.UserRole)) if item.data(Qt.ItemDataRole.UserRole) else None)
        self.hint = QLabel("")
        self.hint.setProperty("role", "hint")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit)
        lay.addWidget(self.choices)
        lay.addWidget(self.hint)

    def candidates(self, query: str) -> list[tuple[str, str]]:
        """(household id, caption) of the households the query finds, best first, at most
        PICK_LIMIT of them, each once."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for hit in self.service.search(query, limit=40):
            hid = hit.household_id
            if hid and hid not in seen:
                seen.add(hid)
                out.append((hid, self.households.caption(hid)))
                if len(out) == PICK_LIMIT:
                    break
        return out

    def lookup(self) -> int:
        query = self.edit.text().strip()
        self.choices.clear()
        if not query:
            self.choices.setVisible(False)
            self.hint.setText("请先输入户主姓名、拼音首字母或地址,再按回车")
            return 0
        found = self.candidates(query)
        if not found:
            self.choices.setVisible(False)
            self.hint.setText(f"没有找到与“{query}”有关的户,请换个关键词")
            return 0
        for hid, caption in found:
            item = QListWidgetItem(caption)
            item.setData(Qt.ItemDataRole.UserRole, hid)
            self.choices.addItem(item)
        self.choices.setCurrentRow(0)
        row = max(self.choices.sizeHintForRow(0), 18)
        self.choices.setFixedHeight(row * len(found) + 2 * self.choices.frameWidth() + 4)
        self.choices.setVisible(True)
        self.choices.setFocus()
        self.hint.setText(f"找到 {len(found)} 户:用 ↑↓ 选择,回车确定" + ("(只列出前几户,可输入更多字缩小范围)"
                                                                         if len(found) == PICK_LIMIT else ""))
        return len(found)

    def choose(self, household_id: str) -> None:
        self.household_id = household_id
        self.choices.setVisible(False)
        self.choices.clear()
        self.show_household()
        self.picked.emit(household_id)

    def set_household(self, household_id: str | None) -> None:
        self.household_id = household_id
        self.show_household()

    def show_household(self) -> None:
        self.hint.setText(self.households.caption(self.household_id) if self.household_id else "")

    def _back(self) -> None:
        self.choices.setVisible(False)
        self.edit.setFocus()
