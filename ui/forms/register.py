"""Register a whole new household (address, house, members) in one keyboard-only flow."""

from __future__ import annotations

import difflib
import uuid
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.kinds import code_fields
from desktop.services.areas import Areas, Node
from desktop.services.errors import DuplicateRecord, ServiceError, ValidationFailed
from desktop.services.households import HEAD, Households
from desktop.services.lists import grid_choices
from desktop.validation import check_id_number, code_table
from ui.context import AppContext
from ui.drafts import remove_draft, save_draft
from ui.forms.guard import CancelOnClose
from ui.widgets.buttons import Std, dialog_buttons
from ui.widgets.code_field import ChoiceField, CodeField

MEMBER_FIELDS = ("name", "cert_no", "relation", "phone", "person_type")
# optional columns per member (person field, caption), shown with 更多项目
EXTRA_FIELDS = (("ethnicity", "民族"), ("education", "文化程度"), ("marital", "婚姻状况"), ("employment", "就业状况"))
# column widths shared by the caption row and every member row, so they line up
COLUMN_WIDTHS = (52, 110, 170, 110, 120, 110)
EXTRA_WIDTH = 100


class MemberRow(QWidget):
    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("")
        self.name = QLineEdit()
        self.name.setPlaceholderText("姓名")
        self.cert_no = QLineEdit()
        self.cert_no.setPlaceholderText("身份证号码")
        self.relation = CodeField("relation", placeholder="如 配偶、子、mq")
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("联系电话")
        self.person_type = QComboBox()
        for code, label in code_table("person_type").items:
            self.person_type.addItem(label, code)
        tables = code_fields("person")
        self.extras = {name: CodeField(tables[name], placeholder=caption) for name, caption in EXTRA_FIELDS}
        self.info = QLabel("")
        self.info.setProperty("role", "hint")
        widgets = (self.title, self.name, self.cert_no, self.relation, self.phone, self.person_type)
        for col, (w, width) in enumerate(zip(widgets, COLUMN_WIDTHS, strict=True)):
            w.setFixedWidth(width)
            lay.addWidget(w, 0, col)
        for col, w in enumerate(self.extras.values(), start=len(widgets)):
            w.setFixedWidth(EXTRA_WIDTH)
            w.hide()
            lay.addWidget(w, 0, col)
        lay.setColumnStretch(len(widgets) + len(self.extras), 1)
        lay.addWidget(self.info, 1, 1, 1, 5 + len(self.extras))
        self.cert_no.textEdited.connect(self._check_id)
        self.set_index(index)

    def fields(self) -> list[QWidget]:
        """The row's inputs in Tab order."""
        return [self.name, self.cert_no, self.relation, self.phone, self.person_type, *self.extras.values()]

    def show_extras(self, shown: bool) -> None:
        for w in self.extras.values():
            w.setVisible(shown)

    def set_index(self, index: int) -> None:
        self.index = index
        self.title.setText("户主" if index == 0 else f"成员{index + 1}")
        self.relation.setEnabled(index != 0)
        if index == 0:
            self.relation.set_code(HEAD)
        elif self.relation.code() == HEAD:
            self.relation.set_code(None)

    def _check_id(self, text: str) -> None:
        raw = text.strip()
        if len([c for c in raw if c.isalnum()]) < 15:
            self.info.setText("")
            return
        r = check_id_number(raw)
        if r.errors:
            self.info.setProperty("role", "error")
            self.info.setText(";".join(e.message for e in r.errors))
        else:
            d = r.details
            self.info.setProperty("role", "hint")
            self.info.setText(f"{d.get('birth_date')} · {d.get('gender_label')} · {d.get('age')} 岁 · {d.get('region_name') or ''}")
        self.info.style().unpolish(self.info)
        self.info.style().polish(self.info)

    def unknown_codes(self) -> list[str]:
        """The captions of code fields holding text that is no entry of their table."""
        named = [("与户主关系", self.relation), *((cap, self.extras[n]) for n, cap in EXTRA_FIELDS)]
        return [f"{cap}“{w.text().strip()}”" for cap, w in named if w.unknown()]

    def value(self) -> dict[str, Any] | None:
        data = {
            "name": self.name.text().strip(), "cert_no": self.cert_no.text().strip() or None,
            "relation": self.relation.code(), "phone": self.phone.text().strip() or None,
            "person_type": self.person_type.currentData(),
        }
        if not data["name"] and not data["cert_no"]:
            return None
        data.update({n: w.code() for n, w in self.extras.items() if w.code()})
        return data

    def set_value(self, data: dict[str, Any]) -> None:
        self.name.setText(data.get("name") or "")
        self.cert_no.setText(data.get("cert_no") or "")
        self.phone.setText(data.get("phone") or "")
        if self.index != 0:
            self.relation.set_code(data.get("relation"))
        idx = self.person_type.findData(data.get("person_type"))
        if idx >= 0:
            self.person_type.setCurrentIndex(idx)
        for n, w in self.extras.items():
            w.set_code(data.get(n))


class RegisterHouseholdDialog(CancelOnClose, QDialog):
    """Keyboard first: Tab goes from the room straight to the head's name and on through each
    member; Ctrl+N adds a member; Ctrl+S saves everything in one transaction. 小区, 楼栋 and 单元
    complete from what exists, and a new 小区 or 楼栋 is created only after asking."""

    def __init__(self, ctx: AppContext, *, grid_id: str | None = None, address: dict[str, Any] | None = None,
                 draft: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.areas = Areas(ctx.store, ctx.actor)
        self.result_view: dict[str, Any] | None = None
        self.address_id: str | None = None
        self.setWindowTitle("整户登记")
        self.resize(980, 620)
        self.draft_key = (draft or {}).get("key") or f"{ctx.actor.username}-register-{uuid.uuid4().hex[:8]}"
        self.grid = QComboBox()
        for g in grid_choices(ctx.store, ctx.actor):
            self.grid.addItem(g["label"], g["id"])
        if grid_id:
            self.grid.setCurrentIndex(max(0, self.grid.findData(grid_id)))
        self.estate = ChoiceField(provider=self.known_estates)
        self.estate.setPlaceholderText("小区/街路巷(可输拼音首字母)")
        self.building = ChoiceField(provider=self.known_buildings)
        self.building.setPlaceholderText("楼栋")
        self.unit = ChoiceField(provider=self.known_units)
        self.unit.setPlaceholderText("单元")
        self.room = QLineEdit()
        self.room.setPlaceholderText("户室")
        self.use = QComboBox()
        for code, label in code_table("house_use").items:
            self.use.addItem(label, code)
        self.area = QLineEdit()
        self.area.setPlaceholderText("建筑面积(平方米)")
        addr = QGridLayout()
        for col, (label, w) in enumerate((("网格", self.grid), ("小区/街路巷", self.estate), ("楼栋", self.building),
                                          ("单元", self.unit), ("户室", self.room), ("房屋用途", self.use),
                                          ("建筑面积(㎡)", self.area))):
            cap = QLabel(label)
            cap.setProperty("role", "hint")
            cap.setBuddy(w)
            addr.addWidget(cap, 0, col)
            addr.addWidget(w, 1, col)
        addr.setColumnStretch(1, 2)
        self.members_box = QVBoxLayout()
        self.rows: list[MemberRow] = []
        holder = QWidget()
        holder.setLayout(self.members_box)
        self.members_box.addStretch(1)
        self.members_scroll = QScrollArea()
        self.members_scroll.setWidgetResizable(True)
        self.members_scroll.setWidget(holder)
        self.add_button = QPushButton("添加成员 (Ctrl+N)")
        self.add_button.clicked.connect(self.add_member)
        QShortcut(QKeySequence("Ctrl+N"), self, self.add_member)
        QShortcut(QKeySequence("Ctrl+Delete"), self, self.remove_focused_member)
        self.more = QCheckBox("更多项目:民族、文化程度、婚姻、就业 (Ctrl+M)")
        self.more.toggled.connect(self.show_extras)
        QShortcut(QKeySequence("Ctrl+M"), self, self.more.toggle)
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        self.buttons = dialog_buttons(self.save, self.cancel, "登记 (Ctrl+S)", "取消", ok=Std.Save, shortcut="Ctrl+S")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("地址与房屋"))
        lay.addLayout(addr)
        head = QHBoxLayout()
        hint = QLabel("家庭成员(第一位为户主;Tab 逐项填写,Ctrl+N 添加下一位,Ctrl+Delete 删除当前一位)")
        hint.setWordWrap(True)
        head.addWidget(hint, 1)
        head.addWidget(self.more)
        head.addWidget(self.add_button)
        lay.addLayout(head)
        captions = QHBoxLayout()
        captions.setContentsMargins(0, 0, 0, 0)
        for text_, width in zip(("", "姓名", "身份证号码", "与户主关系", "联系电话", "人员类型"), COLUMN_WIDTHS, strict=True):
            captions.addWidget(self._caption(text_, width))
        self.extra_captions = [self._caption(cap, EXTRA_WIDTH) for _n, cap in EXTRA_FIELDS]
        for cap in self.extra_captions:
            cap.hide()
            captions.addWidget(cap)
        captions.addStretch(1)
        lay.addLayout(captions)
        lay.addWidget(self.members_scroll, 1)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(600)
        self._timer.timeout.connect(self.save_draft)
        for w in (self.estate, self.building, self.unit, self.room, self.area):
            w.textChanged.connect(lambda _t: self._timer.start())
        self.add_member()
        if address:
            self.set_address(address)
        if draft:
            self.restore(draft.get("values", {}))
        self.first_field().setFocus()

    @staticmethod
    def _caption(text_: str, width: int) -> QLabel:
        cap = QLabel(text_)
        cap.setProperty("role", "hint")
        cap.setFixedWidth(width)
        return cap

    def first_field(self) -> QWidget:
        """Where typing starts: the 小区, or the head's name when the address is given."""
        return self.rows[0].name if self.address_id else self.estate

    # --- what exists (completions) -------------------------------------------------------------
    def known_estates(self) -> list[str]:
        grid_id = self.grid.currentData()
        if not grid_id:
            return []
        return [n.key["estate"] for n in self.areas.children(Node("grid", "", {"grid_id": grid_id}))]

    def known_buildings(self) -> list[str]:
        grid_id, estate = self.grid.currentData(), self.estate.text().strip()
        if not grid_id or not estate:
            return []
        nodes = self.areas.children(Node("estate", "", {"grid_id": grid_id, "estate": estate}))
        return [str(n.key["building"]) for n in nodes if n.key.get("building")]

    def known_units(self) -> list[str]:
        grid_id, estate, building = self.grid.currentData(), self.estate.text().strip(), self.building.text().strip()
        if not grid_id or not estate or not building:
            return []
        nodes = self.areas.children(Node("building", "", {"grid_id": grid_id, "estate": estate, "building": building}))
        return [str(n.key["unit"]) for n in nodes if n.key.get("unit")]

    # --- members -------------------------------------------------------------------------------
    def add_member(self) -> MemberRow:
        row = MemberRow(len(self.rows))
        row.show_extras(self.more.isChecked())
        for w in (row.name, row.cert_no, row.phone):
            w.textChanged.connect(lambda _t: self._timer.start())
        self.rows.append(row)
        self.members_box.insertWidget(len(self.rows) - 1, row)
        self._retab()
        row.name.setFocus()
        QTimer.singleShot(0, lambda: self.members_scroll.ensureWidgetVisible(row))
        return row

    def remove_member(self, row: MemberRow) -> None:
        if len(self.rows) == 1:
            return
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        for i, r in enumerate(self.rows):
            r.set_index(i)
        self._retab()

    def remove_focused_member(self) -> None:
        focus = QApplication.focusWidget()
        for i, row in enumerate(self.rows):
            if focus is not None and row.isAncestorOf(focus) and i > 0:
                self.remove_member(row)
                self.rows[min(i, len(self.rows) - 1)].name.setFocus()
                return

    def show_extras(self, shown: bool) -> None:
        for row in self.rows:
            row.show_extras(shown)
        for cap in self.extra_captions:
            cap.setVisible(shown)
        self._retab()

    def _retab(self) -> None:
        """Tab order: the address, then each member's fields, then the house's use and area, the
        options and the buttons (the room goes straight to the head's name)."""
        chain: list[QWidget] = [self.grid, self.estate, self.building, self.unit, self.room]
        for row in self.rows:
            chain.extend(row.fields())
        chain.extend([self.use, self.area, self.more, self.add_button, *self.buttons.findChildren(QPushButton)])
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    def set_address(self, a: dict[str, Any]) -> None:
        self.address_id = a.get("id")
        for w in (self.estate, self.building, self.unit, self.room):
            w.setReadOnly(bool(self.address_id))
        self.estate.setText(a.get("estate") or "")
        self.building.setText(str(a.get("building") or ""))
        self.unit.setText(str(a.get("unit") or ""))
        self.room.setText(str(a.get("room") or ""))

    def values(self) -> dict[str, Any]:
        return {
            "grid_id": self.grid.currentData(),
            "address": {"estate": self.estate.text().strip() or None, "building": self.building.text().strip() or None,
                        "unit": self.unit.text().strip() or None, "room": self.room.text().strip() or None},
            "house": {"use": self.use.currentData(), "area_m2": self.area.text().strip() or None},
            "members": [v for v in (r.value() for r in self.rows) if v],
            "address_id": self.address_id,
        }

    def restore(self, values: dict[str, Any]) -> None:
        if values.get("grid_id"):
            self.grid.setCurrentIndex(max(0, self.grid.findData(values["grid_id"])))
        self.set_address({**(values.get("address") or {}), "id": values.get("address_id")})
        self.area.setText(str((values.get("house") or {}).get("area_m2") or ""))
        for i, m in enumerate(values.get("members") or []):
            row = self.rows[i] if i < len(self.rows) else self.add_member()
            row.set_value(m)

    def save_draft(self) -> None:
        v = self.values()
        if not (v["members"] or any(v["address"].values()) or v["house"].get("area_m2")):
            remove_draft(self.draft_key)  # nothing real typed: no draft is kept
            return
        save_draft(self.draft_key, {"user": self.ctx.actor.username, "kind": "household", "title": "整户登记",
                                    "dialog": "RegisterHouseholdDialog"}, self.values(),
                   secret=self.ctx.draft_secret)

    def cancel(self) -> None:
        v = self.values()
        typed = bool(v["members"]) or any(v["address"].values())
        if typed and QMessageBox.question(self, "放弃登记", "已填写的内容还没有保存,确定放弃吗?") != QMessageBox.StandardButton.Yes:
            return
        self._timer.stop()
        remove_draft(self.draft_key)
        self.reject()

    def confirm_new_place(self, address: dict[str, Any]) -> bool:
        """A 小区 or 楼栋 the grid does not have yet is created only when the worker says so: a typo
        must not make a second 小区."""
        estate, building = address.get("estate"), address.get("building")
        if not estate:
            return True
        estates = self.known_estates()
        if estate not in estates:
            near = difflib.get_close_matches(estate, estates, n=3, cutoff=0.5)
            also = f"\n\n本网格已有相近的小区:{'、'.join(near)}。" if near else ""
            if QMessageBox.question(self, "新建小区", f"本网格还没有小区“{estate}”。{also}\n\n确定新建这个小区吗?") \
                    != QMessageBox.StandardButton.Yes:
                self.message.setText("未登记:请从列表中选择已有的小区,或改正后再登记。")
                self.estate.setFocus()
                return False
            return True
        if building and building not in self.known_buildings() and QMessageBox.question(
                self, "新建楼栋", f"小区“{estate}”还没有{building}栋。确定新建这个楼栋吗?") != QMessageBox.StandardButton.Yes:
            self.message.setText("未登记:请从列表中选择已有的楼栋,或改正后再登记。")
            self.building.setFocus()
            return False
        return True

    def save(self, *, allow_duplicate: bool = False) -> bool:
        v = self.values()
        for r in self.rows:
            r.setStyleSheet("")
        if not v["members"]:
            self.message.setText("未登记:请至少填写户主的姓名。")
            return False
        unknown = [f"第{r.index + 1}位成员的{x}" for r in self.rows if r.value() for x in r.unknown_codes()]
        if unknown:
            self.message.setText("未登记:" + "、".join(unknown) + " 不在可选项中,请输入后从列表里选择。")
            return False
        if not allow_duplicate and not v["address_id"] and not self.confirm_new_place(v["address"]):
            return False
        try:
            households = Households(self.ctx.store, self.ctx.actor)
            house_id = households.vacant_house_at(v["address_id"]) if v["address_id"] else None
            view = households.register(
                grid_id=v["grid_id"], address=None if v["address_id"] else v["address"],
                address_id=v["address_id"], house_id=house_id,
                house={k: x for k, x in v["house"].items() if x}, members=v["members"],
                allow_duplicate=allow_duplicate,
            )
        except ValidationFailed as exc:
            self.message.setText("未登记,请修改:\n" + "\n".join(i.message for i in exc.issues))
            for issue in exc.issues:
                if issue.field.startswith("第") and "位成员" in issue.field:
                    try:
                        n = int(issue.field[1:issue.field.index("位")]) - 1
                        self.rows[n].setStyleSheet("QLineEdit { border-bottom: 2px solid #c62828; }")
                    except (ValueError, IndexError):
                        pass
            return False
        except DuplicateRecord as exc:
            answer = QMessageBox.question(self, "可能重复登记", exc.message + "\n\n仍然登记吗?")
            if answer == QMessageBox.StandardButton.Yes:
                return self.save(allow_duplicate=True)
            self.message.setText(exc.message)
            return False
        except ServiceError as exc:
            self.message.setText(f"未登记:{exc.message}")
            return False
        self._timer.stop()
        remove_draft(self.draft_key)
        self.result_view = view
        self.accept()
        return True
