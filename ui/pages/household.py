"""The household page: members and relations, house, vehicles, visits, ledger, marks, gaps."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.formatting import age, care_mark_labels
from desktop.policy import Ability, allows
from desktop.services.errors import ServiceError
from desktop.services.households import Households
from desktop.services.life_events import LifeEvents, timeline
from desktop.validation import code_table, mask_id, mask_phone
from ui.context import AppContext
from ui.forms.guard import AskBeforeDiscard
from ui.forms.opener import open_record_dialog
from ui.pages.base import Page
from ui.search_box import HouseholdPicker
from ui.widgets.buttons import dialog_buttons

MEMBER_COLUMNS = ["姓名", "与户主关系", "性别", "出生日期", "年龄", "证件号码", "联系电话", "人员类型", "关注标识"]


def _age_text(birth: date | None) -> str:
    years = age(birth)
    return "" if years is None else str(years)


class MoveDialog(AskBeforeDiscard, QDialog):
    """Pick the household a member moves to (or none: moved away). Enter in the search field
    lists the households found; the move needs a household chosen from that list, or 迁出
    ticked: nothing is taken for the user, and Enter never confirms the move from there."""

    def __init__(self, ctx: AppContext, person_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"迁移成员:{person_name}")
        self.picker = HouseholdPicker(ctx)
        self.query = self.picker.edit
        self.query.setPlaceholderText("输入目标户的户主姓名、户号或地址,回车列出候选户")
        self.away = QCheckBox("迁出(不再属于任何户)")
        self.away.toggled.connect(lambda on: self.picker.setEnabled(not on))
        self.relation = QComboBox()
        for code, label in code_table("relation").items:
            if code != "02":
                self.relation.addItem(label, code)
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        buttons = dialog_buttons(self.confirm, self.cancel, "迁移", "取消")
        lay = QVBoxLayout(self)
        lay.addWidget(self.picker)
        lay.addWidget(self.away)
        row = QHBoxLayout()
        row.addWidget(QLabel("在新户中与户主关系"))
        row.addWidget(self.relation, 1)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.remember()

    def snapshot(self) -> Any:
        return (self.query.text().strip(), self.picker.household_id, self.away.isChecked(), self.relation.currentIndex())

    def target_id(self) -> str | None:
        """The chosen household, or None for 迁出."""
        return None if self.away.isChecked() else self.picker.household_id

    def confirm(self) -> None:
        if not self.away.isChecked() and self.picker.household_id is None:
            self.message.setText("未迁移:请在上面输入后回车,从列表中选定目标户;或勾选“迁出”。")
            return
        self.accept()


class HouseholdPage(Page):
    title = "户"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = Households(ctx.store, ctx.actor)
        self.household_id: str | None = None
        self.view: dict[str, Any] | None = None
        self.heading = QLabel("")
        self.heading.setProperty("role", "page-title")
        self.facts = QLabel("")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        actions = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("edit_household", "编辑户信息", self.edit_household), ("add_member", "添加成员", self.add_member),
            ("visit", "登记走访", self.record_visit), ("life_event", "情况变化…", lambda: self.add_life_event()),
            ("ledger", "户情台账", self.add_ledger),
            ("vehicle", "添加车辆", self.add_vehicle), ("house", "编辑房屋", self.edit_house),
            ("print", "打印户档案", self.print_archive),
        ):
            btn = QPushButton(text)
            btn.clicked.connect(slot)
            actions.addWidget(btn)
            self.buttons[key] = btn
        actions.addStretch(1)
        self.members = QTableWidget(0, len(MEMBER_COLUMNS))
        self.members.setHorizontalHeaderLabels(MEMBER_COLUMNS)
        self.members.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.members.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.members.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.members.horizontalHeader().setStretchLastSection(True)
        self.members.verticalHeader().setVisible(False)
        self.members.doubleClicked.connect(lambda _i: self.edit_member())
        self.members.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.members.customContextMenuRequested.connect(self._member_menu)
        member_actions = QHBoxLayout()
        for key, text, slot in (("edit_member", "编辑成员", self.edit_member), ("set_head", "设为户主", self.set_head),
                                ("move", "迁移…", self.move_member), ("remove", "删除成员", self.remove_member)):
            btn = QPushButton(text)
            btn.clicked.connect(slot)
            member_actions.addWidget(btn)
            self.buttons[key] = btn
        member_actions.addStretch(1)
        self.house_box = QLabel("")
        self.house_box.setWordWrap(True)
        self.vehicles = QListWidget()
        self.vehicles.itemActivated.connect(lambda it: self.open_record.emit("vehicle", it.data(Qt.ItemDataRole.UserRole)))
        self.visits = QListWidget()
        self.visits.setWordWrap(True)
        self.visits.itemActivated.connect(self._open_visit)
        self.ledger = QTableWidget(0, 6)
        self.ledger.setHorizontalHeaderLabels(["统计期", "家庭总收入", "工资性", "种养殖", "务工人数", "务工就业情况"])
        self.ledger.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.ledger.horizontalHeader().setStretchLastSection(True)
        self.ledger.doubleClicked.connect(self._edit_ledger)
        self.missing = QLabel("")
        self.missing.setProperty("role", "warning")
        self.missing.setWordWrap(True)
        self.marks = QLabel("")
        self.marks.setWordWrap(True)
        self.photos_holder = QVBoxLayout()

        def group(title: str, *widgets: Any) -> QGroupBox:
            box = QGroupBox(title)
            lay = QVBoxLayout(box)
            for w in widgets:
                lay.addLayout(w) if isinstance(w, QHBoxLayout | QVBoxLayout) else lay.addWidget(w)
            return box

        body = QWidget()
        grid = QGridLayout(body)
        grid.addWidget(self.heading, 0, 0, 1, 2)
        grid.addWidget(self.facts, 1, 0, 1, 2)
        grid.addLayout(actions, 2, 0, 1, 2)
        grid.addWidget(group("家庭成员", self.members, member_actions), 3, 0, 1, 2)
        grid.addWidget(group("房屋", self.house_box, self.photos_holder), 4, 0)
        grid.addWidget(group("关注标识与待补资料", self.marks, self.missing), 4, 1)
        grid.addWidget(group("车辆", self.vehicles), 5, 0)
        grid.addWidget(group("户情台账(收入、种养、务工)", self.ledger), 5, 1)
        grid.addWidget(group("走访记录与情况变化", self.visits), 6, 0, 1, 2)
        grid.setRowStretch(7, 1)
        self.members.setMinimumHeight(190)
        self.visits.setMinimumHeight(160)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # --- loading -------------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        if params.get("household_id"):
            self.household_id = params["household_id"]
        self.reload(focus_person=params.get("focus_person"))

    def data_changed(self) -> None:
        if self.household_id and self.isVisible():
            self.reload()

    def reload(self, focus_person: str | None = None) -> None:
        if not self.household_id:
            return
        try:
            view = self.service.view(self.household_id)
        except ServiceError as exc:
            self.heading.setText("无法打开该户")
            self.facts.setText(exc.message)
            self.view = None
            return
        self.view = view
        hh, members, address, house = view["household"], view["members"], view["address"], view["house"]
        head = next((m for m in members if m["id"] == hh["head_person_id"]), None)
        self.heading.setText(f"{head['name'] if head else '(未定户主)'}户 · {address['full_text'] if address else '未关联房屋'}")
        self.facts.setText(
            f"户号 {hh['hh_no']} · {code_table('household_type').label(hh['hh_type'])} · {len(members)} 人"
            + (f" · 联系电话 {mask_phone(hh['phone'])}" if hh.get("phone") else "")
        )
        rel, gender, ptype = code_table("relation"), code_table("gender"), code_table("person_type")
        self.members.setRowCount(len(members))
        for i, m in enumerate(members):
            cells = [m["name"], rel.label(m["relation"]) if m["relation"] else "(未填)",
                     gender.label(m["gender"]) if m["gender"] else "", m["birth_date"].isoformat() if m["birth_date"] else "",
                     _age_text(m["birth_date"]), mask_id(m["cert_no"]) if m["cert_no"] else "",
                     mask_phone(m["phone"]) if m["phone"] else "", ptype.label(m["person_type"]),
                     care_mark_labels(m["marks"], m["derived_marks"])]
            for j, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, m["id"])
                self.members.setItem(i, j, item)
            if m["id"] == focus_person:
                self.members.selectRow(i)
        self.members.resizeColumnsToContents()
        if house:
            use = code_table("house_use").label(house["use"])
            parts = [f"用途 {use}", f"面积 {house['area_m2']:g} ㎡" if house.get("area_m2") else "",
                     house.get("layout") or "", f"房主 {house['owner_name']}" if house.get("owner_name") else ""]
            if house.get("use") == "2":
                parts.append(f"承租人 {house.get('tenant_name') or '(未填)'},月租 {house.get('rent_monthly') or '—'} 元,"
                             f"{'已' if house.get('rent_registered') else '未'}备案")
            self.house_box.setText(" · ".join(p for p in parts if p))
        else:
            self.house_box.setText("未关联房屋")
        self._photos(house)
        self.vehicles.clear()
        for v in view["vehicles"]:
            vehicle_item = QListWidgetItem(f"{v['plate_no']}  {v.get('brand') or ''} {v.get('colour') or ''}  {v.get('parking') or ''}")
            vehicle_item.setData(Qt.ItemDataRole.UserRole, v["id"])
            self.vehicles.addItem(vehicle_item)
        if not view["vehicles"]:
            self.vehicles.addItem("(无车辆)")
        method, sat, cats = code_table("visit_method"), code_table("satisfaction"), code_table("need_category")
        self.visits.clear()
        events = LifeEvents(self.ctx.store, self.ctx.actor).for_household(self.household_id)
        for entry in timeline(view["visits"], events):
            if entry["kind"] == "life_event":
                e = entry["record"]
                event_item = QListWidgetItem(f"{e['occurred_on'].isoformat()} · 【情况变化】{e['label']}"
                                             f"{' · ' + e['person'] if e['person'] else ''}{' · ' + e['note'] if e['note'] else ''}")
                event_item.setData(Qt.ItemDataRole.UserRole + 1, e["id"])
                self.visits.addItem(event_item)
                continue
            v = entry["record"]
            needs = ";".join(f"[{cats.label(n['category'])}] {n['content']}" for n in v["needs"])
            text = (f"{v['visited_on'].isoformat()} · {method.label(v['method'])} · {v['visitor']}"
                    f"{' · ' + sat.label(v['satisfaction']) if v.get('satisfaction') else ''}\n{v.get('situation') or ''}"
                    + (f"\n诉求:{needs}" if needs else ""))
            visit_item = QListWidgetItem(text)
            visit_item.setData(Qt.ItemDataRole.UserRole, v["id"])
            self.visits.addItem(visit_item)
        if not view["visits"] and not events:
            self.visits.addItem("(还没有走访记录)")
        self.ledger.setRowCount(len(view["ledgers"]))
        for i, led in enumerate(view["ledgers"]):
            money = [led.get("income_total"), led.get("income_wage"), led.get("income_farming")]
            cells = [led["period"], *("" if m is None else f"{float(m):,.0f}" for m in money),
                     "" if led.get("workers") is None else str(led["workers"]), led.get("work_notes") or ""]
            for j, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, led["id"])
                self.ledger.setItem(i, j, item)
        marks = [f"{m['name']}:{care_mark_labels(m['marks'], m['derived_marks'])}" for m in members
                 if m["marks"] or m["derived_marks"]]
        self.marks.setText("\n".join(marks) or "本户无关注标识")
        self.missing.setText(("待补资料:\n" + "\n".join(view["missing"])) if view["missing"] else "资料完整")
        self.status.emit(f"已打开:{self.heading.text()}")

    def _photos(self, house: dict[str, Any] | None) -> None:
        while self.photos_holder.count():
            item = self.photos_holder.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        if not house:
            return
        try:
            from ui.widgets.photos import PhotoStrip
        except ImportError:
            return
        self.photos_holder.addWidget(PhotoStrip(self.ctx, "house", house["id"]))

    # --- member actions ------------------------------------------------------------------
    def selected_member(self) -> str | None:
        rows = self.members.selectionModel().selectedRows() if self.members.selectionModel() else []
        if not rows:
            return None
        item = self.members.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _member_menu(self, pos: Any) -> None:
        if self.selected_member() is None:
            return
        menu = QMenu(self)
        menu.addAction("编辑成员", self.edit_member)
        menu.addAction("设为户主", self.set_head)
        menu.addAction("迁移…", self.move_member)
        menu.addAction("删除成员", self.remove_member)
        if allows(self.ctx.actor, Ability.REVEAL):
            menu.addSeparator()
            menu.addAction("彻底清除个人信息…", self.purge_member)
        menu.exec(self.members.viewport().mapToGlobal(pos))

    def _changed(self) -> None:
        win = self.window()
        if hasattr(win, "data_changed"):
            win.data_changed()
        else:
            self.reload()

    def _dialog(self, kind: str, record_id: str | None = None, **kw: Any) -> bool:
        ok = open_record_dialog(self.window(), self.ctx, kind, record_id, **kw)
        if ok:
            self._changed()
        return ok

    def edit_member(self) -> None:
        pid = self.selected_member()
        if pid:
            self._dialog("person", pid)

    def add_member(self) -> None:
        if not self.view:
            return
        hh = self.view["household"]
        self._dialog("person", preset={"household_id": hh["id"], "grid_id": hh["grid_id"], "house_id": hh["house_id"]})

    def set_head(self) -> None:
        pid = self.selected_member()
        if not pid or not self.household_id:
            return
        try:
            self.service.set_head(self.household_id, pid)
        except ServiceError as exc:
            QMessageBox.warning(self, "不能变更户主", exc.message)
            return
        self.status.emit("已变更户主;请核对其他成员与新户主的关系。")
        self._changed()

    def move_member(self) -> None:
        pid = self.selected_member()
        if not pid:
            return
        name = next(m["name"] for m in (self.view or {}).get("members", []) if m["id"] == pid)
        dialog = MoveDialog(self.ctx, name, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            target = dialog.target_id()
            self.service.move_person(pid, to_household_id=target,
                                     relation=dialog.relation.currentData() if target else None)
        except ServiceError as exc:
            QMessageBox.warning(self, "不能迁移", exc.message)
            return
        self._changed()

    def remove_member(self) -> None:
        pid = self.selected_member()
        if not pid:
            return
        if QMessageBox.question(self, "删除成员", "确定删除该成员吗?(可由管理员恢复)") != QMessageBox.StandardButton.Yes:
            return
        try:
            self.service.delete("person", pid)
        except ServiceError as exc:
            QMessageBox.warning(self, "不能删除", exc.message)
            return
        self._changed()

    def purge_member(self) -> None:
        from ui.forms.purge import purge_with_dialog

        pid = self.selected_member()
        if pid and purge_with_dialog(self, self.ctx, pid):
            self._changed()

    # --- other actions -------------------------------------------------------------------
    def edit_household(self) -> None:
        if self.household_id:
            self._dialog("household", self.household_id)

    def edit_house(self) -> None:
        if self.view and self.view["house"]:
            self._dialog("house", self.view["house"]["id"])

    def record_visit(self) -> None:
        if self.view:
            self._dialog("visit", preset={"household_id": self.household_id})

    def add_life_event(self, dialog: Any = None) -> bool:
        from ui.forms.life_event import LifeEventDialog

        if not self.household_id:
            return False
        dialog = dialog or LifeEventDialog(self.ctx, self.household_id, person_id=self.selected_member(), parent=self)
        ok = dialog.exec() == QDialog.DialogCode.Accepted
        if ok:
            self.status.emit(f"已登记情况变化:{dialog.kind.currentText()}")
            self._changed()
        return ok

    def add_ledger(self) -> None:
        if self.view:
            self._dialog("household_ledger", preset={"household_id": self.household_id, "period": str(date.today().year)})

    def _edit_ledger(self, index: Any) -> None:
        item = self.ledger.item(index.row(), 0)
        if item:
            self._dialog("household_ledger", item.data(Qt.ItemDataRole.UserRole))

    def add_vehicle(self) -> None:
        if not self.view:
            return
        hh = self.view["household"]
        owner = self.selected_member() or hh["head_person_id"]
        self._dialog("vehicle", preset={"household_id": hh["id"], "owner_person_id": owner, "grid_id": hh["grid_id"]})

    def print_archive(self) -> None:
        if self.household_id:
            self.navigate.emit("print", {"household_ids": [self.household_id]})

    def _open_visit(self, item: QListWidgetItem) -> None:
        vid = item.data(Qt.ItemDataRole.UserRole)
        if vid:
            self._dialog("visit", vid)
