"""冲突审核: the list of conflicts the server recorded and the detail of the one selected, with a
button per decision. The widget only shows; the 同步 page fetches and resolves (it holds the
connection) when the widget asks through `refresh_requested` and `choice_made`. The text of every
value comes from desktop.sync.conflict_view."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.sync.conflict_view import (
    CHOICE_LABELS,
    CHOICES,
    conflict_cells,
    conflict_detail,
    parse_custom,
)
from ui.widgets.tables import cell, read_only_table, set_role


class ConflictReview(QGroupBox):
    refresh_requested = Signal()
    choice_made = Signal(str)  # a key of CHOICE_LABELS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("冲突审核", parent)
        self.conflicts: list[dict[str, Any]] = []
        self.grids: dict[str, str] = {}  # grid id → name, for grid_id values
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        self.review_count = QLabel("点“刷新”从服务器取回待处理的冲突(使用上方的服务器地址和密码)")
        self.review_count.setProperty("role", "hint")
        self.review_count.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.review_count, 1)
        self.conflict_table = read_only_table(["类型", "记录类别", "记录", "字段", "时间"])
        header = self.conflict_table.horizontalHeader()
        header.setStretchLastSection(False)
        for i in range(5):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch if i == 2 else
                                        QHeaderView.ResizeMode.ResizeToContents)
        self.conflict_table.currentCellChanged.connect(lambda row, *_: self._show_conflict(row))

        self.detail_title = QLabel("")
        self.detail_title.setStyleSheet("font-weight: bold;")
        self.detail_title.setWordWrap(True)
        self.detail_reason = QLabel("")
        self.detail_reason.setProperty("role", "hint")
        self.detail_reason.setWordWrap(True)
        self.server_who = QLabel("")
        self.server_who.setWordWrap(True)
        self.client_who = QLabel("")
        self.client_who.setWordWrap(True)
        self.values_table = read_only_table(["字段", "原值", "服务器值", "本机值"])
        self.values_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for i in range(4):
            self.values_table.horizontalHeader().setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.values_table.setMinimumHeight(90)
        self.custom_form = QFormLayout()
        self.custom_box = QWidget()
        self.custom_box.setLayout(self.custom_form)
        self.custom_edits: dict[str, QLineEdit] = {}
        self.choice_buttons: dict[str, QPushButton] = {}
        choices = QHBoxLayout()
        for choice in CHOICES:
            b = QPushButton(CHOICE_LABELS[choice])
            b.clicked.connect(lambda _=False, c=choice: self.choice_made.emit(c))
            b.setVisible(False)
            self.choice_buttons[choice] = b
            choices.addWidget(b)
        choices.addStretch(1)
        self.review_state = QLabel("")
        self.review_state.setProperty("role", "hint")
        self.review_state.setWordWrap(True)
        self.review_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.detail = QWidget()
        d = QVBoxLayout(self.detail)
        d.setContentsMargins(0, 0, 0, 0)
        for w in (self.detail_title, self.detail_reason, self.server_who, self.client_who):
            d.addWidget(w)
        d.addWidget(self.values_table, 1)
        d.addWidget(self.custom_box)
        d.addLayout(choices)
        self.detail.setVisible(False)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.conflict_table)
        split.addWidget(self.detail)
        split.setSizes([260, 360])
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.review_state)

    # --- what the page tells it ----------------------------------------------------------------
    def say(self, text: str, role: str = "hint") -> None:
        set_role(self.review_state, role)
        self.review_state.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)
        for b in self.choice_buttons.values():
            b.setEnabled(not busy)

    def fetching(self) -> None:
        self.say("")
        self.review_count.setText("正在从服务器取回冲突…")

    def failed(self, message: str) -> None:
        self.say(message, "error")
        if not self.conflicts:
            self.review_count.setText("")

    def show_conflicts(self, conflicts: list[dict[str, Any]]) -> None:
        keep = self.current_conflict()
        self.conflicts = list(conflicts)
        n = len(self.conflicts)
        self.review_count.setText(f"待处理的冲突:{n} 条" if n else "没有待处理的冲突")
        t = self.conflict_table
        t.blockSignals(True)
        t.setRowCount(n)
        select = -1
        for r, c in enumerate(self.conflicts):
            for col, text in enumerate(conflict_cells(c)):
                t.setItem(r, col, cell(text))
            if keep is not None and c.get("id") == keep.get("id"):
                select = r
        t.blockSignals(False)
        if n:
            t.selectRow(select if select >= 0 else 0)
            self._show_conflict(t.currentRow())
        else:
            self._show_conflict(-1)

    # --- what the page asks ----------------------------------------------------------------------
    def current_conflict(self) -> dict[str, Any] | None:
        row = self.conflict_table.currentRow()
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def custom_values(self) -> dict[str, Any]:
        """The values typed for 填写新值 (ValueError with a Chinese reason if one does not fit)."""
        c = self.current_conflict() or {}
        return parse_custom(c, {f: e.text() for f, e in self.custom_edits.items()})

    # --- the detail ------------------------------------------------------------------------------
    def _show_conflict(self, row: int) -> None:
        c = self.conflicts[row] if 0 <= row < len(self.conflicts) else None
        self.detail.setVisible(c is not None)
        for b in self.choice_buttons.values():
            b.setVisible(False)
        while self.custom_form.rowCount():
            self.custom_form.removeRow(0)
        self.custom_edits = {}
        if c is None:
            return
        view = conflict_detail(c, self.grids)
        self.detail_title.setText(view.title)
        self.detail_reason.setText(view.reason)
        self.server_who.setText(view.server_who)
        self.client_who.setText(view.client_who)
        for f, (label, start) in view.custom.items():
            edit = QLineEdit(start)
            edit.setPlaceholderText("留空表示清空该字段")
            self.custom_edits[f] = edit
            self.custom_form.addRow(label, edit)
        self.values_table.setHorizontalHeaderLabels(view.headers)
        self.values_table.setRowCount(len(view.rows))
        for r, cells in enumerate(view.rows):
            for col, text in enumerate(cells):
                self.values_table.setItem(r, col, cell(text))
        self.custom_box.setVisible(bool(self.custom_edits))
        for choice in view.choices:
            self.choice_buttons[choice].setVisible(True)
