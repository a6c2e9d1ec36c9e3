"""设置 → 走访规则: the community's visit intervals (desktop.services.visit_rules). Everybody
sees them; only the holders of Ability.EDIT_VISIT_RULES change, add or reset them."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.visits import GROUPS, MAX_INTERVAL, MIN_INTERVAL, REASON_MAX, TARGET_KINDS
from desktop.policy import Ability, allows, holder_labels
from desktop.services.errors import ServiceError
from desktop.services.visit_rules import VisitRules
from desktop.validation import code_table
from ui.context import AppContext

_VALUES = {"mark": "care_mark", "person_type": "person_type", "house_use": "house_use"}


class RulesDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = VisitRules(ctx.store, ctx.actor)
        self.rows: list[dict[str, Any]] = []
        self.setWindowTitle("走访规则")
        self.resize(760, 480)
        editable = allows(ctx.actor, Ability.EDIT_VISIT_RULES)
        self.note = QLabel(
            "一户的走访间隔取所有成员适用规则中最短的一条。默认规则按街道办的通常做法设置,不是国家标准,社区可以修改。"
            + ("" if editable else f"走访规则由社区统一设置,只有{holder_labels(Ability.EDIT_VISIT_RULES)}可以修改。"))
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["对象", "间隔(天)", "说明", "状态"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)
        self.days = QSpinBox()
        self.days.setRange(MIN_INTERVAL, MAX_INTERVAL)
        self.days.setSuffix(" 天")
        self.days.setValue(30)
        self.reason = QLineEdit()
        self.reason.setMaxLength(REASON_MAX)
        self.reason.setPlaceholderText("显示给网格员的说明(不填则用对象名称)")
        self.active = QCheckBox("启用")
        self.active.setChecked(True)
        self.save_button = QPushButton("保存所选规则")
        self.save_button.clicked.connect(lambda: self.save_selected())
        self.kind = QComboBox()
        for k, label in TARGET_KINDS.items():
            self.kind.addItem(label, k)
        self.value = QComboBox()
        self.kind.currentIndexChanged.connect(self._fill_values)
        self.add_button = QPushButton("新增规则")
        self.add_button.clicked.connect(lambda: self.add_rule())
        self.reset_button = QPushButton("全部恢复默认")
        self.reset_button.clicked.connect(lambda: self.reset_all())
        self.message = QLabel("")
        self.message.setProperty("role", "warning")
        self.message.setWordWrap(True)
        edit = QHBoxLayout()
        for w in (QLabel("间隔"), self.days, self.reason, self.active, self.save_button):
            edit.addWidget(w)
        add = QHBoxLayout()
        for widget in (QLabel("新对象"), self.kind, self.value, self.add_button):
            add.addWidget(widget)
        add.addStretch(1)
        add.addWidget(self.reset_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addWidget(self.table, 1)
        editors = QWidget()
        inner = QVBoxLayout(editors)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(edit)
        inner.addLayout(add)
        lay.addWidget(editors)
        lay.addWidget(self.message)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        lay.addWidget(close)
        editors.setVisible(editable)
        self._fill_values()
        self.reload()

    def _fill_values(self) -> None:
        self.value.clear()
        kind = self.kind.currentData()
        if kind in _VALUES:
            for code, label in code_table(_VALUES[kind]).items:
                self.value.addItem(label, code)
        elif kind == "group":
            for code, label in GROUPS.items():
                self.value.addItem(label, code)
        self.value.setEnabled(kind != "all")

    def reload(self) -> None:
        self.rows = self.service.list()
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            state = "默认" if r["is_default"] else ("社区设置" if r["active"] else "已停用")
            for j, text in enumerate([r["target"], str(r["interval_days"]), r["reason"], state]):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _current(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def _selected(self) -> None:
        r = self._current()
        if r is not None:
            self.days.setValue(r["interval_days"])
            self.reason.setText(r["reason"])
            self.active.setChecked(r["active"])

    def _apply(self, kind: str, value: str, row: int | None = None) -> bool:
        try:
            self.service.set(kind, value, self.days.value(), self.reason.text(), active=self.active.isChecked())
        except ServiceError as exc:
            self.message.setText("未保存:" + exc.message)
            return False
        self.message.setText("")
        self.reload()
        if row is not None:
            self.table.selectRow(row)
        return True

    def save_selected(self) -> bool:
        r = self._current()
        if r is None:
            self.message.setText("请先在表中选择一条规则。")
            return False
        return self._apply(r["target_kind"], r["target_value"], self.table.currentRow())

    def add_rule(self) -> bool:
        return self._apply(self.kind.currentData(), self.value.currentData() or "")

    def reset_all(self) -> bool:
        if QMessageBox.question(self, "恢复默认", "把全部走访规则恢复为默认值吗?社区的修改将被撤销。") != QMessageBox.StandardButton.Yes:
            return False
        try:
            self.service.reset()
        except ServiceError as exc:
            self.message.setText(exc.message)
            return False
        self.reload()
        return True
