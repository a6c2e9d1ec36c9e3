"""首页: the core's statistics for the user's scope, with click-through to the lists."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.formatting import care_mark_table
from desktop.policy import Ability, allows
from desktop.services.first_run import StartStep, start_steps
from desktop.services.lists import OVERDUE
from desktop.services.plan import VisitPlan, rate_text
from desktop.services.quality import GROUPS, Quality, formula
from desktop.services.stats import Period, Stats
from desktop.validation import code_table
from ui.context import AppContext
from ui.pages.base import Page
from ui.theme import alert_colour
from ui.widgets.charts import BarChart, StatCard
from ui.workers import JobFailure, run_job


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def compute_dashboard(store: Any, actor: Any, today: date) -> dict[str, Any]:
    stats = Stats(store, actor)
    year = stats.compute(period=Period(date(today.year, 1, 1), today))
    month = stats.compute(period=Period(today.replace(day=1), today))
    ontime = VisitPlan(store, actor).on_time(today.replace(day=1), today, today=today)
    quality = Quality(store, actor)
    return {"year": year["total"], "month": month["total"], "grids": year["grids"], "ontime": ontime,
            "steps": start_steps(store, actor), "quality": quality.counts(today=today),
            "quality_figures": quality.figures(today=today)["total"]}


class HomePage(Page):
    title = "首页"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.data: dict[str, Any] | None = None
        self.heading = QLabel("首页")
        self.heading.setProperty("role", "page-title")
        nav = self.navigate.emit
        self.cards = {
            "people": StatCard("实有人口", on_click=lambda: nav("person", {})),
            "households": StatCard("户数", on_click=lambda: nav("areas", {})),
            "houses": StatCard("实有房屋", on_click=lambda: nav("house", {})),
            "vehicles": StatCard("实有车辆", on_click=lambda: nav("vehicle", {})),
            "link": StatCard("人房关联完善率", on_click=lambda: nav("person", {})),
            "visits": StatCard("本月走访覆盖率", on_click=lambda: nav("visit", {"date_from": date.today().replace(day=1).isoformat()})),
            "events_open": StatCard("在办事件", on_click=lambda: nav("grid_event", {"event_state": "open"})),
            "closed_rate": StatCard("事件办结率(今年)", on_click=lambda: nav("grid_event", {"date_from": f"{date.today().year}-01-01"})),
            "satisfied": StatCard("满意率(今年)", on_click=lambda: nav("grid_event", {"event_state": "evaluated"})),
            # the households behind the figure: those still overdue, in 今日走访
            "ontime": StatCard("按时走访率(本月)", on_click=lambda: nav("plan", {"scope": "overdue"})),
            "overdue": StatCard("超期事件", on_click=lambda: nav("grid_event", {"event_state": OVERDUE})),
            "quality": StatCard("数据质量问题", on_click=lambda: nav("quality", {"group": None})),
            "complete": StatCard("信息完整率(人员)", on_click=lambda: nav("quality", {"group": "missing"})),
            "known": StatCard("重点人群知晓率", on_click=lambda: nav("quality", {})),
            "verified": StatCard("核实率", on_click=lambda: nav("quality", {"group": "stale"})),
        }
        self.cards["link"].setToolTip(formula("link_houses") + "\n" + formula("link_people"))
        self.cards["complete"].setToolTip(formula("complete"))
        self.cards["known"].setToolTip(formula("known"))
        self.cards["verified"].setToolTip(formula("verified"))
        self.cards["quality"].setToolTip("点击打开“数据质量”页:逐条列出重复、缺项、未关联、不一致和久未核实的记录")
        grid = QGridLayout()
        for i, card in enumerate(self.cards.values()):
            grid.addWidget(card, i // 5, i % 5)
        self.types = BarChart()
        self.types.clicked.connect(lambda key: nav("person", {"person_type": key}))
        self.marks = BarChart()
        self.marks.clicked.connect(lambda key: nav("person", {"care_mark": key}))
        self.uses = BarChart()
        self.uses.clicked.connect(lambda key: nav("house", {"house_use": key}))
        charts = QHBoxLayout()
        for title, chart in (("人口类型", self.types), ("关注人员", self.marks), ("房屋用途", self.uses)):
            box = QGroupBox(title)
            lay = QVBoxLayout(box)
            lay.addWidget(chart)
            lay.addStretch(1)
            charts.addWidget(box, 1)
        self.grid_table = QLabel("")
        self.grid_table.setProperty("role", "hint")
        self.grid_table.setWordWrap(True)
        self.state = QLabel("正在统计…")
        self.state.setProperty("role", "hint")
        # no grids yet: one sentence and the button that does the next thing
        self.empty = QLabel("")
        self.empty.setWordWrap(True)
        self.empty_button = QPushButton("")
        self.empty_button.clicked.connect(self._empty_action)
        empty_row = QHBoxLayout()
        empty_row.addWidget(self.empty, 1)
        empty_row.addWidget(self.empty_button)
        self.empty_box = QWidget()
        self.empty_box.setLayout(empty_row)
        self.empty_box.setVisible(False)
        # a new community's checklist, ticked from the data
        self.checklist = QGroupBox("开始使用")
        self.check_rows = QGridLayout(self.checklist)
        self.checklist.setVisible(False)
        tools = QHBoxLayout()
        tools.addWidget(self.heading)
        tools.addStretch(1)
        for text_, slot in (("从 Excel 导入…", self._import), ("导出台账…", self._export), ("打印…", self._print)):
            btn = QPushButton(text_)
            btn.clicked.connect(slot)
            tools.addWidget(btn)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addLayout(tools)
        lay.addWidget(self.state)
        lay.addWidget(self.empty_box)
        lay.addWidget(self.checklist)
        lay.addLayout(grid)
        lay.addLayout(charts)
        lay.addWidget(self.grid_table)
        self.ontime_table = QLabel("")
        self.ontime_table.setProperty("role", "hint")
        self.ontime_table.setWordWrap(True)
        lay.addWidget(self.ontime_table)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._loading = False
        self._stale = True

    def _import(self) -> None:
        win: Any = self.window()
        if hasattr(win, "import_excel"):
            win.import_excel("person")

    def _export(self) -> None:
        win: Any = self.window()
        if hasattr(win, "export_excel"):
            win.export_excel("person")

    def _print(self) -> None:
        self.navigate.emit("print", {})

    def _empty_action(self) -> None:
        self.navigate.emit("areas" if allows(self.ctx.actor, Ability.EDIT_AREAS) else "sync", {})

    def do_step(self, key: str) -> None:
        """The button beside a checklist step: the page or dialog where it is done."""
        win: Any = self.window()
        if key == "import":
            self._import()
        elif key == "workers" and hasattr(win, "show_page"):
            win.show_page("settings").manage_users()
        elif key == "recovery" and hasattr(win, "show_page"):
            win.show_page("settings").new_recovery_key()
        else:
            self.navigate.emit({"grids": "areas", "buildings": "areas", "server": "sync"}[key], {})

    def show_steps(self, steps: list[StartStep]) -> None:
        while self.check_rows.count():
            item = self.check_rows.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.hide()
                old.setParent(None)  # gone from the box now, freed later
                old.deleteLater()
        left = [s for s in steps if not s.done]
        self.checklist.setVisible(bool(left))
        if not left:
            return
        self.checklist.setTitle(f"开始使用:还有 {len(left)} 项(完成后自动打勾)")
        for row, step in enumerate(steps):
            mark = QLabel("✔" if step.done else "○")
            name = QLabel(step.label)
            hint = QLabel("已完成" if step.done else step.hint)
            hint.setProperty("role", "hint")
            self.check_rows.addWidget(mark, row, 0)
            self.check_rows.addWidget(name, row, 1)
            self.check_rows.addWidget(hint, row, 2)
            if not step.done:
                button = QPushButton("去完成")
                button.setObjectName(f"step-{step.key}")
                button.clicked.connect(lambda _=False, k=step.key: self.do_step(k))
                self.check_rows.addWidget(button, row, 3)
        self.check_rows.setColumnStretch(2, 1)

    def activate(self, **params: Any) -> None:
        if self._stale:
            self.reload()

    def data_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        if self._loading:
            return
        self._loading = True
        self._stale = False
        self.state.setText("正在统计…")
        run_job(compute_dashboard, self.ctx.store, self.ctx.actor, date.today(), on_done=self.show_data,
                on_error=self._failed, pool=self.ctx.pool)

    def _failed(self, failure: JobFailure) -> None:
        self._loading = False
        self.state.setText(f"统计失败:{failure.message}")

    def show_data(self, data: dict[str, Any]) -> None:
        self._loading = False
        self.data = data
        y, m = data["year"], data["month"]
        scope = "全部网格" if self.ctx.actor.grid_ids is None else f"{len(data['grids'])} 个网格"
        self.heading.setText(f"首页 · {scope}")
        self.state.setText(f"统计范围:{scope};截至 {date.today().isoformat()}。点击数字或图形查看明细。")
        self.show_steps(data.get("steps") or [])
        self.empty_box.setVisible(not data["grids"])
        if not data["grids"]:
            if allows(self.ctx.actor, Ability.EDIT_AREAS):
                self.empty.setText("还没有网格:请先在 地址与网格 中划分社区的网格,之后才能登记人员和房屋。")
                self.empty_button.setText("打开 地址与网格")
            else:
                self.empty.setText("您还没有负责的网格:请社区管理员为您分配网格,然后在 同步 中同步一次。")
                self.empty_button.setText("打开 同步")
        types = "、".join(f"{v['label']} {v['count']:,}" for v in y["people_by_type"].values())
        self.cards["people"].set(f"{y['people']:,}", types)
        self.cards["households"].set(f"{y['households']:,}", f"{len(data['grids'])} 个网格")
        self.cards["houses"].set(f"{y['houses']:,}", "、".join(f"{v['label']} {v['count']:,}" for v in y["houses_by_use"].values()))
        self.cards["vehicles"].set(f"{y['vehicles']:,}", f"单位 {y['units']:,} 家")
        self.cards["link"].set(pct(y["person_house_link_rate"]), f"房屋住户知晓率 {pct(y['house_occupancy_known_rate'])}")
        self.cards["visits"].set(pct(m["visit_coverage"]), f"本月走访 {m['visits']:,} 次,覆盖 {m['households_visited']:,} 户")
        self.cards["events_open"].set(f"{y['events_open']:,}", f"今年受理 {y['events_received']:,} 件")
        self.cards["closed_rate"].set(pct(y["events_closed_rate"]), f"办结 {y['events_closed']:,} 件")
        self.cards["satisfied"].set(pct(y["events_satisfied_rate"]), f"已评价 {y['events_evaluated']:,} 件")
        t = data["ontime"]["total"]
        self.cards["ontime"].set(rate_text(t["rate"]), f"应访 {t['due']:,},按时 {t['on_time']:,},迟访 {t['late']:,},"
                                                        f"仍逾期 {t['overdue']:,}")
        workers = [w for w in data["ontime"]["workers"] if w["due"]]
        self.ontime_table.setText("按时走访率(本月):" + ";".join(
            f"{w['name']} {rate_text(w['rate'])}(应访 {w['due']},仍逾期 {w['overdue']})" for w in workers[:30])
            if len(workers) > 1 else "")
        late = y["events_overdue"]
        self.cards["overdue"].set(f"{late:,}", "在办且已过办理期限" if late else "没有超过办理期限的事件")
        self.cards["overdue"].value.setStyleSheet(f"color: {alert_colour().name()};" if late else "")
        q, qf = data["quality"], data["quality_figures"]
        self.cards["quality"].set(f"{q['total']:,}", "、".join(f"{label} {q['by_group'][k]:,}" for k, label in GROUPS.items()))
        self.cards["complete"].set(pct(qf["complete"]["person"]["rate"]),
                                   f"房屋 {pct(qf['complete']['house']['rate'])},车辆 {pct(qf['complete']['vehicle']['rate'])}")
        self.cards["known"].set(pct(qf["known"]["rate"]), f"重点人群 {qf['known']['den']:,} 人")
        self.cards["verified"].set(pct(qf["verified"]["rate"]), f"人房关联(房屋) {pct(qf['link_houses']['rate'])}")
        # each category keeps its colour (its place in its code table), whoever looks and whatever the counts
        self.types.set_items([(k, v["label"], v["count"]) for k, v in y["people_by_type"].items()],
                             code_table("person_type").codes())
        self.marks.set_items(sorted(((k, v["label"], v["count"]) for k, v in y["care_marks"].items()), key=lambda t: -t[2]),
                             [code for code, _label in care_mark_table()])
        self.uses.set_items([(k, v["label"], v["count"]) for k, v in y["houses_by_use"].items()],
                            code_table("house_use").codes())
        if len(data["grids"]) <= 30:
            lines = [f"{g['community']} {g['name']}:户 {g['households']},人 {g['people']},"
                     f"走访覆盖 {pct(g['visit_coverage'])},办结率 {pct(g['events_closed_rate'])}" for g in data["grids"]]
            self.grid_table.setText("\n".join(lines))
        else:
            self.grid_table.setText("")
