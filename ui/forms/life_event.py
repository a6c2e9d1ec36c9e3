"""情况变化: record a life event (住院, 出院, 新迁入 …) on a household or one of its members. Opened
from the household page and from the visit form; desktop.services.life_events does the work."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.visits import EVENT_TYPES
from desktop.services.errors import ServiceError
from desktop.services.households import Households
from desktop.services.life_events import LifeEvents
from ui.context import AppContext
from ui.widgets.buttons import dialog_buttons


class LifeEventDialog(QDialog):
    def __init__(self, ctx: AppContext, household_id: str, *, person_id: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.saved: dict[str, Any] | None = None
        self.setWindowTitle("登记情况变化")
        self.kind = QComboBox()
        for code, et in EVENT_TYPES.items():
            self.kind.addItem(et.label, code)
        self.follow_up = QLabel("")
        self.follow_up.setProperty("role", "hint")
        self.kind.currentIndexChanged.connect(self._hint)
        self.person = QComboBox()
        self.person.addItem("全户", None)
        try:
            view = Households(ctx.store, ctx.actor).view(household_id)
            for m in view["members"]:
                self.person.addItem(m["name"], m["id"])
            caption = Households(ctx.store, ctx.actor).caption(household_id)
        except ServiceError as exc:
            caption = exc.message
        if person_id:
            self.person.setCurrentIndex(max(0, self.person.findData(person_id)))
        self.when = QDateEdit(QDate.currentDate())
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd")
        self.note = QLineEdit()
        self.note.setPlaceholderText("备注(可不填),如 住院医院、迁入来源")
        self.message = QLabel("")
        self.message.setProperty("role", "warning")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("户", QLabel(caption))
        form.addRow("变化类型", self.kind)
        form.addRow("", self.follow_up)
        form.addRow("相关人员", self.person)
        form.addRow("发生日期", self.when)
        form.addRow("备注", self.note)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(dialog_buttons(self.save, self.reject, "保存", "取消"))
        self._hint()

    def _hint(self) -> None:
        et = EVENT_TYPES.get(self.kind.currentData())
        self.follow_up.setText(f"随后:{et.follow_up}" if et else "")

    def choose(self, code: str, *, person_id: str | None = None, on: date | None = None) -> None:
        self.kind.setCurrentIndex(self.kind.findData(code))
        if person_id:
            self.person.setCurrentIndex(max(0, self.person.findData(person_id)))
        if on is not None:
            self.when.setDate(QDate(on.year, on.month, on.day))

    def save(self) -> bool:
        q = self.when.date()
        try:
            self.saved = LifeEvents(self.ctx.store, self.ctx.actor).record(
                self.household_id, self.kind.currentData(), date(q.year(), q.month(), q.day()),
                person_id=self.person.currentData(), note=self.note.text())
        except ServiceError as exc:
            self.message.setText("未保存:" + exc.message)
            return False
        self.accept()
        return True
