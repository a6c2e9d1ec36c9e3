"""Quick visit entry, keyboard first: household, method, situation, needs, follow-up date."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.errors import ServiceError
from desktop.services.events import Visits
from desktop.validation import code_table
from ui.context import AppContext
from ui.drafts import remove_draft
from ui.forms.dialogs import RecordDialog
from ui.search_box import HouseholdPicker

NEED_STATUS = {"open": "待办", "resolved": "已解决", "escalated": "已转事件"}


class NeedRow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.category = QComboBox()
        for code, label in code_table("need_category").items:
            self.category.addItem(label, code)
        self.content = QLineEdit()
        self.content.setPlaceholderText("诉求内容")
        self.escalate = QPushButton("转为网格事件")
        self.escalate.setToolTip("保存本次走访,并把这条诉求转为网格事件(状态:上报)")
        self.remove = QPushButton("删除")
        lay.addWidget(self.category)
        lay.addWidget(self.content, 1)
        lay.addWidget(self.escalate)
        lay.addWidget(self.remove)

    def value(self) -> dict[str, Any] | None:
        if not self.content.text().strip():
            return None
        return {"category": self.category.currentData(), "content": self.content.text().strip()}


class VisitDialog(RecordDialog):
    def __init__(self, ctx: AppContext, record_id: str | None = None, **kw: Any) -> None:
        preset = dict(kw.pop("preset", None) or {})
        if not record_id:
            preset.setdefault("visited_on", date.today().isoformat())
            preset.setdefault("method", "1")
        super().__init__(ctx, "visit", record_id, preset=preset, **kw)
        self.visits = Visits(ctx.store, ctx.actor)
        self.household_id = preset.get("household_id") or (self.record or {}).get("household_id")
        self.picker = HouseholdPicker(ctx)
        self.picker.picked.connect(self._picked)
        self.household = self.picker.edit
        self.household_label = self.picker.hint
        top = QHBoxLayout()
        top.addWidget(QLabel("走访户"))
        top.addWidget(self.picker, 1)
        self.extra_top.addLayout(top)
        if self.household_id:
            self.picker.set_household(self.household_id)
            self.household.setEnabled(record_id is None and not preset.get("household_id"))
        # needs
        self.needs_box = QVBoxLayout()
        self.need_rows: list[NeedRow] = []
        add = self.add_button = QPushButton("添加诉求 (Ctrl+N)")
        add.clicked.connect(self.add_need)
        QShortcut(QKeySequence("Ctrl+N"), self).activated.connect(self.add_need)
        self.event_button = QPushButton("登记情况变化…")
        self.event_button.setToolTip("住院、出院、新迁入、亲人去世等:登记后会按时提醒回访")
        self.event_button.clicked.connect(lambda: self.add_life_event())
        head = QHBoxLayout()
        head.addWidget(QLabel("群众诉求"))
        head.addStretch(1)
        head.addWidget(self.event_button)
        head.addWidget(add)
        self.main_layout.insertLayout(2, head)
        self.main_layout.insertLayout(3, self.needs_box)
        self.message.linkActivated.connect(self._open_event)
        if record_id:
            add.setEnabled(False)
            self._existing_needs()
        (self.household if not self.household_id else self.form.widgets["method"]).setFocus()

    def _picked(self, household_id: str) -> None:
        self.household_id = household_id
        self._draft_timer.start()

    def add_life_event(self, dialog: Any = None) -> bool:
        """情况变化 noticed on this visit, recorded on the visit's household at once."""
        from ui.forms.life_event import LifeEventDialog

        if not self.household_id:
            self.show_message("请先选择走访户,再登记情况变化。")
            return False
        dialog = dialog or LifeEventDialog(self.ctx, self.household_id, parent=self)
        ok = dialog.exec() == dialog.DialogCode.Accepted
        if ok:
            self.message.setProperty("role", "hint")
            self.show_message(f"已登记情况变化:{dialog.kind.currentText()}")
        return ok
        self.form.widgets["method"].setFocus()

    def add_need(self) -> NeedRow:
        row = NeedRow()
        row.remove.clicked.connect(lambda: self._remove_need(row))
        row.escalate.clicked.connect(lambda: self.escalate_new(row))
        row.content.textChanged.connect(lambda _t: self._draft_timer.start())
        self.need_rows.append(row)
        self.needs_box.addWidget(row)
        row.content.setFocus()
        return row

    def _remove_need(self, row: NeedRow) -> None:
        self.need_rows.remove(row)
        row.setParent(None)
        row.deleteLater()

    def _existing_needs(self) -> None:
        rec = self.visits.get("visit", self.record_id or "")
        needs = self.visits.needs(rec["id"])
        cats = code_table("need_category")
        self.need_lines: dict[str, QLabel] = {}
        self.need_buttons: dict[str, QPushButton] = {}
        for need in needs:
            line = QHBoxLayout()
            text = QLabel()
            self.need_lines[need["id"]] = text
            line.addWidget(text, 1)
            esc = QPushButton("转为网格事件")
            esc.clicked.connect(lambda _c=False, nid=need["id"]: self.escalate(nid))
            self.need_buttons[need["id"]] = esc
            line.addWidget(esc)
            self.needs_box.addLayout(line)
            self._need_line(need, cats.label(need["category"]))

    def _need_line(self, need: dict[str, Any], category: str) -> None:
        button = self.need_buttons[need["id"]]
        status = NEED_STATUS.get(need["status"], need["status"])
        self.need_lines[need["id"]].setText(f"[{category}] {need['content']} — {status}")
        button.setEnabled(need["status"] == "open")
        if need["status"] == "escalated":
            button.setText("已转为事件")

    def escalate(self, need_id: str) -> dict[str, Any] | None:
        """An open need of a recorded visit becomes a grid event; the need shows 已转事件."""
        try:
            event = self.visits.escalate(need_id)
        except ServiceError as exc:
            QMessageBox.warning(self, "不能转办", exc.message)
            return None
        need = next((n for n in self.visits.needs(self.record_id or "") if n["id"] == need_id), None)
        if need is not None and need_id in self.need_lines:
            self._need_line(need, code_table("need_category").label(need["category"]))
        self.confirm_escalated([event])
        return event

    def escalate_new(self, row: NeedRow) -> bool:
        """转为网格事件 while recording: the visit is saved with its needs and this one becomes an
        event, in one transaction; the dialog then shows the recorded visit, confirmed in green."""
        if not row.value():
            self.show_message("未转办:请先填写这条诉求的内容。")
            row.content.setFocus()
            return False
        if not self.household_id:
            self.show_message("未转办:请先选择走访户(在“走访户”框输入姓名或地址,回车后从列表中选定)。")
            self.household.setFocus()
            return False
        data = {**{k: v for k, v in self.preset.items() if k != "household_id"}, **self.form.values(),
                "household_id": self.household_id}
        needs = [{**v, "escalate": r is row} for v, r in ((r.value(), r) for r in self.need_rows) if v]
        recorded: dict[str, Any] = {}

        def write() -> dict[str, Any]:
            recorded.update(self.visits.record(data, needs))
            return recorded

        self._finish_later = True
        try:
            if not self.save_with(write, verb="转办"):
                return False
        finally:
            self._finish_later = False
        # the visit is recorded: from now on this dialog edits it (保存 updates, never a second visit)
        self.record_id = recorded["id"]
        self.record = self.visits.get("visit", recorded["id"])
        self.form.set_values(self.record)
        for r in list(self.need_rows):
            self._remove_need(r)
        self.add_button.setEnabled(False)
        self._existing_needs()
        self.confirm_escalated(recorded.get("events") or [], visit_saved=True)
        return True

    def confirm_escalated(self, events: list[dict[str, Any]], *, visit_saved: bool = False) -> None:
        """Green, with a link that opens the event."""
        links = "、".join(f'<a href="{e["id"]}">{html.escape(e["title"])}</a>' for e in events)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        done = "已保存走访,并转为网格事件" if visit_saved else "已转为网格事件"
        self.show_message(f"{done}:{links}(状态:上报)。点击标题可查看事件。", role="ok")

    def _open_event(self, event_id: str) -> None:
        self.open_existing.emit("grid_event", event_id)

    def _finish(self, rec: dict[str, Any]) -> None:
        if getattr(self, "_finish_later", False):  # escalating while recording keeps the dialog open
            self._draft_timer.stop()
            remove_draft(self.draft_key)
            self.result_record = rec
            self.saved.emit(rec)
            return
        super()._finish(rec)

    def cancel(self) -> None:
        if self.record_id and self.result_record is not None and not self.payload():
            self.accept()  # recorded here already (a need was escalated): nothing is dropped
            return
        super().cancel()

    def is_dirty(self) -> bool:
        chosen = self.household_id is not None and not self.preset.get("household_id") and not self.record_id
        return (super().is_dirty() or chosen or bool(self.household.text().strip())
                or any(r.value() for r in self.need_rows))

    def draft_meta(self) -> dict[str, Any]:
        meta = super().draft_meta()
        meta["preset"] = {**meta["preset"], "household_id": self.household_id}
        return meta

    def save(self, *, allow_duplicate: bool = False) -> bool:
        if self.record_id:
            return super().save(allow_duplicate=allow_duplicate)
        if not self.household_id:
            self.show_message("未保存:请先选择走访户(在“走访户”框输入姓名或地址,回车后从列表中选定)。")
            self.household.setFocus()
            return False
        data = {**{k: v for k, v in self.preset.items() if k != "household_id"}, **self.form.values(),
                "household_id": self.household_id}
        needs = [v for v in (r.value() for r in self.need_rows) if v]
        return self.save_with(lambda: self.visits.record(data, needs))
