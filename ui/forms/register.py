"""Register a whole new household (address, house, members) in one keyboard-only flow."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
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

from desktop.services.errors import DuplicateRecord, ServiceError, ValidationFailed
from desktop.services.households import Households
from desktop.services.lists import grid_choices
from desktop.validation import check_id_number, code_table
from ui.context import AppContext
from ui.drafts import remove_draft, save_draft
from ui.forms.guard import CancelOnClose
from ui.widgets.buttons import Std, dialog_buttons

MEMBER_FIELDS = ("name", "cert_no", "relation", "phone", "person_type")
# column widths shared by the caption row and every member row, so they line up
COLUMN_WIDTHS = (52, 130, 210, 150, 140, 120, 70)


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
        self.relation = QComboBox()
        self.relation.addItem("", None)
        for code, label in code_table("relation").items:
            self.relation.addItem(label, code)
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("联系电话")
        self.person_type = QComboBox()
        for code, label in code_table("person_type").items:
            self.person_type.addItem(label, code)
        self.remove = QPushButton("删除")
        self.info = QLabel("")
        self.info.setProperty("role", "hint")
        widgets = (self.title, self.name, self.cert_no, self.relation, self.phone, self.person_type, self.remove)
        for col, (w, width) in enumerate(zip(widgets, COLUMN_WIDTHS, strict=True)):
            w.setFixedWidth(width)
            lay.addWidget(w, 0, col)
        lay.setColumnStretch(len(widgets), 1)
        lay.addWidget(self.info, 1, 1, 1, 6)
        self.cert_no.textEdited.connect(self._check_id)
        self.set_index(index)

    def set_index(self, index: int) -> None:
        self.index = index
        self.title.setText("户主" if index == 0 else f"成员{index + 1}")
        self.relation.setEnabled(index != 0)
        if index == 0:
            self.relation.setCurrentIndex(self.relation.findData("02"))

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

    def value(self) -> dict[str, Any] | None:
        data = {
            "name": self.name.text().strip(), "cert_no": self.cert_no.text().strip() or None,
            "relation": self.relation.currentData(), "phone": self.phone.text().strip() or None,
            "person_type": self.person_type.currentData(),
        }
        if not data["name"] and not data["cert_no"]:
            return None
        return data

    def set_value(self, data: dict[str, Any]) -> None:
        self.name.setText(data.get("name") or "")
        self.cert_no.setText(data.get("cert_no") or "")
        self.phone.setText(data.get("phone") or "")
        for box, key in ((self.relation, "relation"), (self.person_type, "person_type")):
            idx = box.findData(data.get(key))
            if idx >= 0:
                box.setCurrentIndex(idx)


class RegisterHouseholdDialog(CancelOnClose, QDialog):
    """Tab moves field to field; Ctrl+N adds a member; Ctrl+S saves everything in one transaction."""

    def __init__(self, ctx: AppContext, *, grid_id: str | None = None, address: dict[str, Any] | None = None,
                 draft: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
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
        self.estate = QLineEdit()
        self.estate.setPlaceholderText("小区/街路巷")
        self.building = QLineEdit()
        self.building.setPlaceholderText("楼栋")
        self.unit = QLineEdit()
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
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        add = QPushButton("添加成员 (Ctrl+N)")
        add.clicked.connect(self.add_member)
        QShortcut(QKeySequence("Ctrl+N"), self).activated.connect(self.add_member)
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        buttons = dialog_buttons(self.save, self.cancel, "登记 (Ctrl+S)", "取消", ok=Std.Save, shortcut="Ctrl+S")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("地址与房屋"))
        lay.addLayout(addr)
        head = QHBoxLayout()
        head.addWidget(QLabel("家庭成员(第一位为户主;Tab 逐项填写,Ctrl+N 添加下一位)"))
        head.addStretch(1)
        head.addWidget(add)
        lay.addLayout(head)
        captions = QHBoxLayout()
        captions.setContentsMargins(0, 0, 0, 0)
        for text_, width in zip(("", "姓名", "身份证号码", "与户主关系", "联系电话", "人员类型", ""), COLUMN_WIDTHS, strict=True):
            cap = QLabel(text_)
            cap.setProperty("role", "hint")
            cap.setFixedWidth(width)
            captions.addWidget(cap)
        captions.addStretch(1)
        lay.addLayout(captions)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
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
        self.estate.setFocus()

    def add_member(self) -> MemberRow:
        row = MemberRow(len(self.rows))
        row.remove.clicked.connect(lambda: self.remove_member(row))
        for w in (row.name, row.cert_no, row.phone):
            w.textChanged.connect(lambda _t: self._timer.start())
        self.rows.append(row)
        self.members_box.addWidget(row)
        row.name.setFocus()
        return row

    def remove_member(self, row: MemberRow) -> None:
        if len(self.rows) == 1:
            return
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        for i, r in enumerate(self.rows):
            r.set_index(i)

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

    def save(self, *, allow_duplicate: bool = False) -> bool:
        v = self.values()
        for r in self.rows:
            r.setStyleSheet("")
        if not v["members"]:
            self.message.setText("未登记:请至少填写户主的姓名。")
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
