"""审计: who created, changed, deleted, revealed, printed, exported or imported what, and when
(for community admins and supervisors)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any, cast

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
        self.about = QLineEdit()
        self.about.setPlaceholderText("涉及人员:姓名、拼音首字母或证件号")
        self.about.setMinimumWidth(220)
        self.about.setToolTip("只看触及该人员信息的记录:对本人或本户的操作、查看完整信息、"
                              "打印的户档案和本网格台账、覆盖本网格的导出")
        self.about_person: tuple[str, str] | None = None  # (id, caption) chosen for the filter
        search = QPushButton("查询")
        search.clicked.connect(self.query)
        self.who.returnPressed.connect(self.query)
        self.about.returnPressed.connect(self.query)
        bar = QHBoxLayout()
        for w in (self.who, self.about, self.action, QLabel("从"), self.date_from, QLabel("至"), self.date_to, search):
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

    def query(self) -> None:
        """Resolve the person typed in 涉及人员 (asking which one when several match), then reload."""
        text = self.about.text().strip()
        if not text:
            self.about_person = None
        elif self.about_person is None or self.about_person[1] != text:
            from desktop.services.search import Search

            hits = [h for h in Search(self.ctx.store, self.ctx.actor).search(text, limit=20) if h.kind == "person"]
            if not hits:
                self.count.setText(f"找不到与“{text}”相符的人员")
                self.table.setRowCount(0)
                return
            hit = hits[0]
            if len(hits) > 1:
                from PySide6.QtWidgets import QInputDialog

                labels = [f"{h.title}  {h.subtitle}" for h in hits]
                choice, ok = QInputDialog.getItem(self, "选择人员", f"有 {len(hits)} 人与“{text}”相符:", labels, 0, False)
                if not ok:
                    return
                hit = hits[labels.index(choice)]
            self.about_person = (hit.id, hit.title)
            self.about.setText(hit.title)
        self.reload()

    def reload(self) -> None:
        d_from = cast(date, self.date_from.date().toPython())  # a QDate's Python value is a date
        d_to = cast(date, self.date_to.date().toPython())
        rows = audit_entries(self.ctx.store, self.ctx.actor, who=self.who.text().strip() or None,
                             action=self.action.currentData(), date_from=d_from, date_to=d_to,
                             about_person=self.about_person[0] if self.about_person else None)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            local = r["at"].replace(tzinfo=UTC).astimezone()  # stored in UTC, shown in local time
            what = r["entity_label"] + (f":{r['entity_name']}" if r["entity_name"] else "")
            values = [local.strftime("%Y-%m-%d %H:%M:%S"), r["actor"], r["action_label"],
                      what, r["summary"] or "", (r["device_id"] or "")[:8]]
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        about = f"涉及 {self.about_person[1]} 的" if self.about_person else ""
        self.count.setText(f"{about}共 {len(rows)} 条(最多显示 500 条,最新的在前)")
