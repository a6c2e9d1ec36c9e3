"""A grid event: its fields, its workflow steps (who, when), and the next legal steps as buttons."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.services.errors import ServiceError, ValidationFailed
from desktop.services.events import STATES, Events, allowed_transitions, state_label
from desktop.validation import code_table
from ui.context import AppContext
from ui.forms.dialogs import RecordDialog
from ui.forms.guard import AskBeforeDiscard
from ui.widgets.buttons import dialog_buttons

ACTION_TEXT = {
    "accepted": "受理", "dispatched": "派遣", "handling": "处置", "verified": "核查通过",
    "closed": "结案", "evaluated": "评价",
}


class StepDialog(AskBeforeDiscard, QDialog):
    """Asks what a step needs: a note, and the responsible unit / result type / satisfaction."""

    def __init__(self, to_state: str, event: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"事件流转:{state_label(to_state)}")
        form = QFormLayout(self)
        self.note = QLineEdit()
        self.note.setPlaceholderText("办理意见")
        self.unit = QLineEdit(event.get("responsible_unit") or "")
        self.result_type = QComboBox()
        self.satisfaction = QComboBox()
        for box, table in ((self.result_type, "event_result_type"), (self.satisfaction, "satisfaction")):
            box.addItem("", None)
            for code, label in code_table(table).items:
                box.addItem(label, code)
        if to_state == "dispatched":
            form.addRow("责任单位", self.unit)
        if to_state == "closed":
            form.addRow("办结类型", self.result_type)
        if to_state == "evaluated":
            form.addRow("满意度", self.satisfaction)
        form.addRow("意见", self.note)
        buttons = dialog_buttons(self.accept, self.cancel, "确定", "取消")
        form.addRow(buttons)
        self.remember()

    def snapshot(self) -> Any:
        return self.values()

    def values(self) -> dict[str, Any]:
        return {"note": self.note.text() or None, "responsible_unit": self.unit.text() or None,
                "result_type": self.result_type.currentData(), "satisfaction": self.satisfaction.currentData()}


class EventDialog(RecordDialog):
    def __init__(self, ctx: AppContext, record_id: str, **kw: Any) -> None:
        super().__init__(ctx, "grid_event", record_id, **kw)
        self.events = Events(ctx.store, ctx.actor)
        self.state_label = QLabel("")
        self.state_label.setProperty("role", "card-title")
        self.steps = QTableWidget(0, 4)
        self.steps.setHorizontalHeaderLabels(["环节", "办理人", "时间", "意见"])
        self.steps.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.steps.horizontalHeader().setStretchLastSection(True)
        self.steps.setMaximumHeight(200)
        row = QHBoxLayout()
        self.step_buttons: dict[str, QPushButton] = {}
        for state in STATES[1:]:
            btn = QPushButton(ACTION_TEXT[state])
            btn.clicked.connect(lambda _c=False, s=state: self.advance(s))
            row.addWidget(btn)
            self.step_buttons[state] = btn
        back = QPushButton("核查不通过,退回处置")
        back.clicked.connect(lambda: self.advance("handling"))
        self.back_button = back
        row.addWidget(back)
        row.addStretch(1)
        self.extra_top.addWidget(self.state_label)
        self.extra_top.addLayout(row)
        self.extra_top.addWidget(self.steps)
        self.refresh()

    def refresh(self) -> None:
        event = self.events.get("grid_event", self.record_id or "")
        self.record = event
        state = event["state"]
        allowed = allowed_transitions(state)
        self.state_label.setText(f"当前状态:{state_label(state)}")
        for target, btn in self.step_buttons.items():
            ok = target in allowed and not (target == "handling" and state == "verified")
            btn.setEnabled(ok)
            btn.setToolTip("" if ok else f"“{state_label(state)}”之后不能直接{ACTION_TEXT[target]}")
        self.back_button.setEnabled(state == "verified")
        users: dict[str, str] = {}
        steps = self.events.steps(event["id"])
        self.steps.setRowCount(len(steps))
        for i, st in enumerate(steps):
            values = [state_label(st["state"]), users.get(st["actor"], st["actor"]),
                      st["acted_at"].strftime("%Y-%m-%d %H:%M") if st["acted_at"] else "", st["note"] or ""]
            for j, v in enumerate(values):
                self.steps.setItem(i, j, QTableWidgetItem(v))

    def advance(self, to_state: str) -> bool:
        ask = StepDialog(to_state, self.record or {}, self)
        if ask.exec() != QDialog.DialogCode.Accepted:
            return False
        return self.advance_with(to_state, **ask.values())

    def advance_with(self, to_state: str, **values: Any) -> bool:
        try:
            self.events.advance(self.record_id or "", to_state, expected_version=(self.record or {}).get("version"),
                                **values)
        except (ValidationFailed, ServiceError) as exc:
            QMessageBox.warning(self, "不能流转", exc.message)
            return False
        self.refresh()
        self.form.set_values(self.record or {})
        return True
