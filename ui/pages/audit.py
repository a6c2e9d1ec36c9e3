"""审计: who created, changed, deleted, revealed, printed, exported or imported what, and when
(for community admins and supervisors)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services.audit import ACTION_LABELS, audit_entries
from ui.context import AppContext
from ui.pages.base import Page

COLUMNS = ["时间", "操作人", "操作", "对象", "说明", "设备"]


class AuditPage(Page):
    title = "审计"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        heading = QLabel("审计记录")
        heading.setProperty("role", "page-title")
        self.who = QLineEdit()
        self.who.setPlaceholderText("操作人用户名")
        self.action = QComboBox()
        self.action.addItem("全部操作", None)
        for key, label in ACTION_LABELS.items():
            self.action.addItem(label, key)
        self.date_from = QDateEdit(QDate.currentDate().addDays(-30))
        self.date_to = QDateEdit(QDate.currentDate())
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        search = QPushButton("查询")
        search.clicked.connect(self.reload)
        self.who.returnPressed.connect(self.reload)
        bar = QHBoxLayout()
        for w in (self.who, self.action, QLabel("从"), self.date_from, QLabel("至"), self.date_to, search):
            bar.addWidget(w)
        bar.addStretch(1)
        self.count = QLabel("")
        self.count.setProperty("role", "hint")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addLayout(bar)
        lay.addWidget(self.count)
        lay.addWidget(self.table, 1)

    def activate(self, **params: Any) -> None:
        self.reload()

    def data_changed(self) -> None:
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        d_from: date = self.date_from.date().toPython()
        d_to: date = self.date_to.date().toPython()
        rows = audit_entries(self.ctx.store, self.ctx.actor, who=self.who.text().strip() or None,
                             action=self.action.currentData(), date_from=d_from, date_to=d_to)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            local = r["at"].replace(tzinfo=UTC).astimezone()  # stored in UTC, shown in local time
            values = [local.strftime("%Y-%m-%d %H:%M:%S"), r["actor"], r["action_label"],
                      r["entity_label"], r["summary"] or "", (r["device_id"] or "")[:8]]
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        self.count.setText(f"共 {len(rows)} 条(最多显示 500 条,最新的在前)")
