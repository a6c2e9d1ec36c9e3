"""数据质量: the completeness figures per grid (formulas on hover) and the queue of what to fix,
each item with its reason and one click to the record at the field to fix
(desktop/services/quality.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.services.quality import GROUPS, REASONS, Quality, formula
from ui.context import AppContext
from ui.pages.base import Page
from ui.widgets.tables import cell, read_only_table
from ui.workers import JobFailure, run_job

FIGURE_COLUMNS = [("link_houses", "人房关联(房屋)"), ("link_people", "人房关联(人员)"),
                  ("complete", "信息完整率(人员)"), ("known", "重点人群知晓率"), ("verified", "核实率")]
MAX_ROWS = 2000  # the queue shows this many items at once; the filters narrow it


def _pct(fig: dict[str, Any]) -> str:
    rate = fig.get("rate")
    return "—" if rate is None else f"{rate * 100:.1f}%({fig.get('num', fig.get('complete'))}/{fig.get('den', fig.get('records'))})"


def load_quality(store: Any, actor: Any, grid_id: str | None, today: date) -> dict[str, Any]:
    q = Quality(store, actor)
    return {"figures": q.figures(today=today), "items": q.queue(grid_id=grid_id, today=today)}


class QualityPage(Page):
    title = "数据质量"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.data: dict[str, Any] | None = None
        self.items: list[dict[str, Any]] = []
        heading = QLabel("数据质量")
        heading.setProperty("role", "page-title")
        self.state = QLabel("正在检查…")
        self.state.setProperty("role", "hint")
        self.state.setWordWrap(True)
        self.grid = QComboBox()
        self.grid.addItem("全部网格", None)
        self.group = QComboBox()
        self.group.addItem("全部问题", None)
        for key, label in GROUPS.items():
            self.group.addItem(label, key)
        self.reason = QComboBox()
        self.reason.addItem("全部原因", None)
        for key, (_g, label) in REASONS.items():
            self.reason.addItem(label, key)
        self.grid.currentIndexChanged.connect(lambda _i: self.reload())
        self.group.currentIndexChanged.connect(lambda _i: self.show_items())
        self.reason.currentIndexChanged.connect(lambda _i: self.show_items())
        self.open_button = QPushButton("打开并修改")
        self.open_button.clicked.connect(self.open_selected)
        self.merge_button = QPushButton("合并重复…")
        self.merge_button.setToolTip("选中一条“重复”问题:并排比较两条记录,逐项选择要保留的值后合并")
        self.merge_button.clicked.connect(self.merge_selected)
        bar = QHBoxLayout()
        bar.addWidget(heading)
        bar.addStretch(1)
        for w in (QLabel("网格"), self.grid, QLabel("类别"), self.group, QLabel("原因"), self.reason, self.open_button,
                  self.merge_button):
            bar.addWidget(w)
        self.figures = read_only_table(["网格", *(label for _k, label in FIGURE_COLUMNS)])
        for i, (key, _label) in enumerate(FIGURE_COLUMNS, start=1):
            header = self.figures.horizontalHeaderItem(i)
            if header is not None:  # read_only_table sets every header
                header.setToolTip(formula(key))
        self.queue = read_only_table(["网格", "类别", "原因", "记录", "说明"])
        self.queue.doubleClicked.connect(lambda _i: self.open_selected())
        self.queue.setColumnWidth(0, 200)
        self.queue.setColumnWidth(1, 80)
        self.queue.setColumnWidth(2, 200)
        self.queue.setColumnWidth(3, 160)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.figures)
        split.addWidget(self.queue)
        split.setSizes([180, 420])
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.state)
        lay.addWidget(split, 1)
        self._stale = True
        self._loading = False

    # --- loading -----------------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        for combo, key in ((self.group, "group"), (self.reason, "reason")):
            if key in params:
                i = combo.findData(params[key])
                combo.blockSignals(True)
                combo.setCurrentIndex(max(i, 0))
                combo.blockSignals(False)
        if self._stale:
            self.reload()
        else:
            self.show_items()

    def data_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        if self._loading:
            return
        self._loading = True
        self._stale = False
        self.state.setText("正在检查…")
        run_job(load_quality, self.ctx.store, self.ctx.actor, self.grid.currentData(), date.today(),
                on_done=self.show_data, on_error=self._failed, pool=self.ctx.pool)

    def _failed(self, failure: JobFailure) -> None:
        self._loading = False
        self.state.setText(f"检查失败:{failure.message}")

    def show_data(self, data: dict[str, Any]) -> None:
        self._loading = False
        self.data = data
        grids = data["figures"]["grids"]
        if self.grid.count() != len(grids) + 1:
            chosen = self.grid.currentData()
            self.grid.blockSignals(True)
            self.grid.clear()
            self.grid.addItem("全部网格", None)
            for g in grids:
                self.grid.addItem(f"{g['community'] or ''} {g['name']}".strip(), g["id"])
            self.grid.setCurrentIndex(max(self.grid.findData(chosen), 0))
            self.grid.blockSignals(False)
        rows = [*grids, data["figures"]["total"]]
        self.figures.setRowCount(len(rows))
        for r, g in enumerate(rows):
            name = g["name"] if g is data["figures"]["total"] else f"{g['community'] or ''} {g['name']}".strip()
            self.figures.setItem(r, 0, cell(name))
            for c, (key, _label) in enumerate(FIGURE_COLUMNS, start=1):
                fig = g[key]["person"] if key == "complete" else g[key]
                self.figures.setItem(r, c, cell(_pct(fig), tip=formula(key)))
        self.figures.resizeColumnsToContents()
        self.show_items()

    def show_items(self) -> None:
        if self.data is None:
            return
        group, reason = self.group.currentData(), self.reason.currentData()
        items = [i for i in self.data["items"]
                 if (group is None or i["group"] == group) and (reason is None or i["reason"] == reason)]
        self.items = items[:MAX_ROWS]
        self.queue.setRowCount(len(self.items))
        for r, it in enumerate(self.items):
            self.queue.setItem(r, 0, cell(it["grid"]))
            self.queue.setItem(r, 1, cell(GROUPS[it["group"]]))
            self.queue.setItem(r, 2, cell(it["reason_label"]))
            self.queue.setItem(r, 3, cell(str(it["title"])))
            self.queue.setItem(r, 4, cell(it["detail"]))
        by_group: dict[str, int] = {}
        for it in self.data["items"]:
            by_group[it["group"]] = by_group.get(it["group"], 0) + 1
        summary = "、".join(f"{label} {by_group.get(k, 0):,}" for k, label in GROUPS.items())
        more = f";显示前 {MAX_ROWS:,} 条,请用筛选缩小范围" if len(items) > MAX_ROWS else ""
        self.state.setText(f"共 {len(self.data['items']):,} 个问题({summary});当前列出 {len(items):,} 条{more}。"
                           "双击一条(或点“打开并修改”)直接打开该记录并定位到要修改的项;改好后问题自动消失。"
                           "把鼠标停在指标上可看计算公式。")

    def merge_selected(self) -> None:
        from desktop.services.merge import mergeable
        from ui.forms.merge import merge_records

        row = self.queue.currentRow()
        it = self.items[row] if 0 <= row < len(self.items) else None
        if it is None or it["group"] != "duplicate" or not it.get("others") or not mergeable(it["kind"]):
            self.status.emit("请先选中一条“重复”类的问题(人员、房屋或车辆)")
            return
        if merge_records(self.window(), self.ctx, it["kind"], it["id"], it["others"][0]):
            self.status.emit("已合并;当天可由社区管理员撤销")
            window = self.window()
            if hasattr(window, "data_changed"):
                window.data_changed()
            else:
                self.data_changed()

    def open_selected(self) -> None:
        row = self.queue.currentRow()
        if not 0 <= row < len(self.items):
            self.status.emit("请先在列表中选中一个问题")
            return
        it = self.items[row]
        self.open_field.emit(it["kind"], it["id"], it.get("field") or "")
