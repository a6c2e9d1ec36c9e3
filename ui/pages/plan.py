"""今日走访: the grid worker's start page. Every household due or overdue and every life-event
follow-up, grouped by building and unit, overdue first (desktop.services.plan computes it; this
page only shows it). One click opens the household; 登记走访 opens the visit form pre-filled, and
saving it removes the item at once (the window tells every page that data changed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.formatting import care_mark_table
from desktop.policy import Ability, allows
from desktop.services.errors import ServiceError
from desktop.services.plan import SCOPES, Item, Plan, VisitPlan
from ui.context import AppContext
from ui.forms.opener import open_record_dialog
from ui.pages.base import Page
from ui.theme import alert_colour
from ui.widgets.coloured import ForegroundDelegate

COLUMNS = ["户室 / 楼栋", "户主", "走访事由", "上次走访", "逾期", "关注标识", ""]
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
OVERDUE_COLUMNS = (2, 4)  # an overdue item's reason and days: bold, in the theme's alert red


class PlanPage(Page):
    title = "今日走访"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = VisitPlan(ctx.store, ctx.actor)
        self.plan: Plan | None = None
        self.today: date | None = None  # None: the real today (tests pin a day)
        heading = QLabel("今日走访")
        heading.setProperty("role", "page-title")
        self.summary = QLabel("")
        self.scope = QComboBox()
        for key, label in SCOPES.items():
            self.scope.addItem(label, key)
        self.mark = QComboBox()
        self.mark.addItem("全部关注标识", None)
        for code, label in care_mark_table():
            self.mark.addItem(label, code)
        self.grid = QComboBox()
        self.worker = QComboBox()
        self.office = allows(ctx.actor, Ability.SEE_ALL_PLANS)
        self.grid.setVisible(self.office)
        self.worker.setVisible(self.office)
        if self.office:
            self._fill_office_choices()
        for combo in (self.scope, self.mark, self.grid, self.worker):
            combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.print_button = QPushButton("打印路线单…")
        self.print_button.clicked.connect(lambda: self.print_route())
        bar = QHBoxLayout()
        for w in (QLabel("范围"), self.scope, self.mark, self.grid, self.worker):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.print_button)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        # qt-material gives every item one text colour, which wins over an item's own: the delegate
        # paints the overdue cells' red itself (ui/widgets/coloured.py)
        self.tree.setItemDelegate(ForegroundDelegate(self.tree))
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._clicked)
        self.empty = QLabel("")
        self.empty.setProperty("role", "hint")
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.summary, 1)
        lay.addLayout(top)
        lay.addLayout(bar)
        lay.addWidget(self.empty)
        lay.addWidget(self.tree, 1)

    def _fill_office_choices(self) -> None:
        from desktop.services.users import Users

        self.grid.addItem("全部网格", None)
        try:
            for gid, label in Users(self.ctx.store, self.ctx.actor).grid_choices():
                self.grid.addItem(label, gid)
            self.worker.addItem("全部网格员", None)
            for u in Users(self.ctx.store, self.ctx.actor).list():
                if u["active"] and not allows(u["role"], Ability.ALL_GRIDS):
                    self.worker.addItem(f"{u['display_name']}({u['username']})", u["username"])
        except ServiceError:
            pass

    # --- loading -------------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        if "scope" in params:
            self.scope.setCurrentIndex(max(0, self.scope.findData(params["scope"])))
        self.reload()

    def data_changed(self) -> None:
        if self.isVisible():  # a hidden plan is recomputed when it is shown again (activate)
            self.reload()

    def reload(self) -> None:
        try:
            self.plan = self.service.plan(today=self.today, scope=self.scope.currentData(),
                                          grid_id=self.grid.currentData() if self.office else None,
                                          worker=self.worker.currentData() if self.office else None,
                                          mark=self.mark.currentData())
        except ServiceError as exc:
            self.plan = None
            self.tree.clear()
            self.empty.setText(exc.message)
            return
        self._show(self.plan)

    def _show(self, plan: Plan) -> None:
        self.tree.clear()
        alert = alert_colour()  # readable on the theme in use (ui/theme.py COLOURS)
        bold = QFont(self.tree.font())
        bold.setBold(True)
        overdue = sum(1 for i in plan.items if i.overdue)
        households = len({i.household_id for i in plan.items})
        self.summary.setText(f"{plan.today.isoformat()} · {households} 户 · {len(plan.items)} 项,其中逾期 {overdue} 项")
        self.empty.setText("" if plan.items else "今天没有到期的走访。")
        self.empty.setVisible(not plan.items)
        for building, units in plan.groups():
            count = sum(len(items) for _, items in units)
            b = QTreeWidgetItem([f"{building}({count} 项)"])
            b.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(b)
            for unit, items in units:
                parent = b
                if unit:
                    parent = QTreeWidgetItem([f"{unit}单元"])
                    b.addChild(parent)
                    parent.setFirstColumnSpanned(True)
                for it in items:
                    row = QTreeWidgetItem([it.room or "—", it.head or "(未定户主)", it.reason,
                                           it.last_visit.isoformat() if it.last_visit else "从未走访",
                                           f"{it.days_overdue} 天" if it.overdue else "今日" if it.due_on <= plan.today
                                           else f"{it.due_on.month}月{it.due_on.day}日前", it.marks, ""])
                    row.setData(0, ITEM_ROLE, it)
                    row.setToolTip(2, it.address)
                    if it.overdue:
                        for col in OVERDUE_COLUMNS:
                            row.setForeground(col, QBrush(alert))
                            row.setFont(col, bold)
                        row.setToolTip(4, f"已逾期 {it.days_overdue} 天(应于 {it.due_on.isoformat()} 前走访)")
                    parent.addChild(row)
                    button = QPushButton("登记走访")
                    button.setProperty("role", "small")
                    button.clicked.connect(lambda _c=False, item=it: self.record_visit(item))
                    self.tree.setItemWidget(row, 6, button)
        self.tree.expandAll()
        for col in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(col)
        self.tree.setColumnWidth(2, min(max(self.tree.columnWidth(2), 260), 420))

    # --- actions -------------------------------------------------------------------------
    def items(self) -> list[Item]:
        return list(self.plan.items) if self.plan else []

    def _item(self, row: QTreeWidgetItem) -> Item | None:
        return row.data(0, ITEM_ROLE)

    def _clicked(self, row: QTreeWidgetItem, column: int) -> None:
        it = self._item(row)
        if it is not None and column in (0, 1):
            self.open_household(it)

    def _activated(self, row: QTreeWidgetItem, _column: int) -> None:
        it = self._item(row)
        if it is not None:
            self.open_household(it)

    def open_household(self, item: Item) -> None:
        self.open_record.emit("household", item.household_id)

    def visit_preset(self, item: Item) -> dict[str, Any]:
        preset: dict[str, Any] = {"household_id": item.household_id, "method": "1",
                                  "visited_on": (self.today or date.today()).isoformat()}
        if item.kind != "regular":
            preset["return_visit"] = item.reason  # the follow-up the visit answers
        return preset

    def record_visit(self, item: Item) -> bool:
        ok = open_record_dialog(self.window(), self.ctx, "visit", None, preset=self.visit_preset(item))
        if ok:
            win = self.window()
            if hasattr(win, "data_changed"):
                win.data_changed()
            else:
                self.reload()
            self.status.emit(f"已登记走访:{item.head or item.address}")
        return ok

    def print_route(self, path: str | None = None) -> bool:
        """Print what the page shows as a route sheet (A4, one page per building)."""
        from desktop.printing import PrintOptions
        from desktop.printing.route import print_route

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "保存走访路线单", str(Path.home() / "走访路线单.pdf"),
                                                  "PDF 文件 (*.pdf)")
            if not path:
                return False
        font = str(self.ctx.settings.value("print/font", "", type=str)) or None
        try:
            res = print_route(self.ctx.store, self.ctx.actor, path, today=self.today, scope=self.scope.currentData(),
                              grid_id=self.grid.currentData() if self.office else None,
                              worker=self.worker.currentData() if self.office else None,
                              mark=self.mark.currentData(), options=PrintOptions(font_path=font))
        except ServiceError as exc:
            QMessageBox.warning(self, "不能打印路线单", exc.message)
            return False
        self.status.emit(f"已生成走访路线单:{res.files[0]}(共 {res.pages} 页)")
        return True
