"""A form built from a record kind's columns: labels, code-table combos, inline Chinese errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop import kinds
from desktop.domain.formatting import care_mark_table
from desktop.domain.marks import DERIVED_MARKS, marks_list
from desktop.kinds import code_fields, field_label
from desktop.services.errors import ValidationFailed
from desktop.services.lists import grid_choices
from desktop.services.records import column_kinds
from desktop.validation import code_table
from ui.context import AppContext

# Fields a form shows per kind, in order (others are set by the flow that opens the form).
FORM_FIELDS: dict[str, list[str]] = {
    "person": [
        "name", "cert_type", "cert_no", "no_cert_reason", "gender", "birth_date", "ethnicity", "phone",
        "relation", "person_type", "native_region", "hukou_address", "education", "political", "marital",
        "employment", "employer", "occupation", "health", "religion", "residence_reason", "arrived_on",
        "intended_stay", "residence_card_no", "residence_card_until", "verified_on", "marks", "assistance_type", "disability_category",
        "disability_grade", "disability_cert_no", "note",
    ],
    "house": [
        "grid_id", "use", "nature", "area_m2", "layout", "built_year", "title_no", "title_date",
        "owner_name", "owner_cert_no", "owner_phone", "tenant_name", "rent_start", "rent_months",
        "rent_monthly", "rent_rooms", "rent_registered", "security_pledge", "verified_on", "note",
    ],
    "address": ["grid_id", "estate", "building", "unit", "room", "full_text", "code"],
    "vehicle": ["grid_id", "plate_no", "plate_type", "vehicle_type", "brand", "colour", "vin", "parking",
                "verified_on", "note"],
    "org_unit": ["grid_id", "name", "uscc", "kind", "legal_person", "contact_phone", "employees", "note"],
    "dispute": [
        "grid_id", "dispute_type", "occurred_on", "parties", "place", "people_involved", "description",
        "mediator", "result", "agreement_form", "fulfilled", "return_visit_on", "return_visit_note",
    ],
    "household_ledger": [
        "period", "income_total", "income_wage", "income_business", "income_farming", "income_transfer",
        "farming", "breeding", "workers", "work_notes",
    ],
    "grid_event": [
        "grid_id", "title", "category", "subcategory", "source", "place", "description", "handler", "deadline",
    ],
    "visit": [
        "visited_on", "method", "duration_min", "companions", "situation", "actions", "follow_up_on",
        "return_visit", "satisfaction",
    ],
    "household": ["hh_no", "hh_type", "phone", "note"],
}


def form_fields(kind: str) -> list[str]:
    """The fields a form shows: the tuned list above, or for a kind added by one registry entry,
    its grid and every labelled column that is typed (not another record's id, not derived)."""
    if kind in FORM_FIELDS:
        return FORM_FIELDS[kind]
    entry = kinds.get(kind)
    return [c for c in entry.fields
            if c == "grid_id" or (not c.endswith("_id") and c not in entry.derived)]


# Defaults for a new record (the same as the model's column defaults, shown in the form).
FORM_DEFAULTS: dict[str, dict[str, Any]] = {
    "person": {"cert_type": "111", "person_type": "1", "ethnicity": "01"},
    "house": {"use": "1"},
    "household": {"hh_type": "1"},
    "visit": {"method": "1"},
}
# Fields that take a whole row of the form.
WIDE_FIELDS = {"marks", "note", "description", "situation", "actions", "return_visit", "parties",
               "return_visit_note", "hukou_address", "work_notes", "farming", "breeding", "title"}
# The person form groups its many fields.
PERSON_SECTIONS = [
    ("身份信息", ["name", "cert_type", "cert_no", "no_cert_reason", "gender", "birth_date", "ethnicity", "phone", "relation"]),
    ("居住信息", ["person_type", "native_region", "hukou_address", "residence_reason", "arrived_on",
              "intended_stay", "residence_card_no", "residence_card_until", "verified_on"]),
    ("社会信息", ["education", "political", "marital", "employment", "employer", "occupation", "health", "religion"]),
    ("关注与帮扶", ["marks", "assistance_type", "disability_category", "disability_grade", "disability_cert_no", "note"]),
]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class RecordForm(QWidget):
    changed = Signal()

    def __init__(self, ctx: AppContext, kind: str, fields: list[str] | None = None,
                 values: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.fields = fields or form_fields(kind)
        self.column_kinds = column_kinds(kind)
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.hints: dict[str, QLabel] = {}
        self.initial: dict[str, Any] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        sections = PERSON_SECTIONS if kind == "person" and fields is None else [("", self.fields)]
        for title, names in sections:
            if title:
                head = QLabel(title)
                head.setProperty("role", "card-title")
                outer.addWidget(head)
            grid = QGridLayout()
            grid.setHorizontalSpacing(12)
            grid.setVerticalSpacing(2)
            grid.setColumnStretch(1, 1)
            grid.setColumnStretch(3, 1)
            cursor = [0, 0]  # row, column pair (0 or 1)
            for name in (n for n in names if n in self.fields):
                self._add_field(grid, cursor, name)
            outer.addLayout(grid)
        outer.addStretch(1)
        if values:
            self.set_values(values)

    # --- construction --------------------------------------------------------------------
    def _add_field(self, grid: QGridLayout, cursor: list[int], name: str) -> None:
        label = QLabel(field_label(self.kind, name))
        widget = self._widget_for(name)
        widget.setObjectName(f"field_{name}")
        label.setBuddy(widget)
        error = QLabel("")
        error.setProperty("role", "error")
        error.setWordWrap(True)
        error.hide()
        hint = QLabel("")
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        hint.hide()
        wide = name in WIDE_FIELDS
        if wide and cursor[1] == 1:  # a wide field starts on a fresh row
            cursor[0], cursor[1] = cursor[0] + 3, 0
        row, col = cursor[0], cursor[1] * 2
        span = 3 if wide else 1
        valign = Qt.AlignmentFlag.AlignTop if wide else Qt.AlignmentFlag.AlignVCenter
        grid.addWidget(label, row, col, Qt.AlignmentFlag.AlignRight | valign)
        grid.addWidget(widget, row, col + 1, 1, span)
        grid.addWidget(error, row + 1, col + 1, 1, span)
        grid.addWidget(hint, row + 2, col + 1, 1, span)
        if wide or cursor[1] == 1:
            cursor[0], cursor[1] = cursor[0] + 3, 0
        else:
            cursor[1] = 1
        self.widgets[name] = widget
        self.errors[name] = error
        self.hints[name] = hint

    def _widget_for(self, name: str) -> QWidget:
        col_kind = self.column_kinds[name]
        code_name = code_fields(self.kind).get(name)
        if name == "grid_id":
            box = QComboBox()
            for g in grid_choices(self.ctx.store, self.ctx.actor):
                box.addItem(g["label"], g["id"])
            box.currentIndexChanged.connect(lambda _i: self.changed.emit())
            return box
        if name == "marks":
            holder = QWidget()
            lay = QGridLayout(holder)
            lay.setContentsMargins(0, 0, 0, 0)
            i = 0
            for code, lbl in care_mark_table():
                if code in DERIVED_MARKS:
                    continue
                cb = QCheckBox(lbl)
                cb.setProperty("code", code)
                cb.toggled.connect(lambda _c: self.changed.emit())
                lay.addWidget(cb, i // 4, i % 4)
                i += 1
            return holder
        if code_name:
            box = QComboBox()
            box.addItem("", None)
            for code, lbl in code_table(code_name).items:
                box.addItem(lbl, code)
            box.currentIndexChanged.connect(lambda _i: self.changed.emit())
            return box
        if col_kind == "bool":
            box = QComboBox()
            for text_, val in (("", None), ("是", True), ("否", False)):
                box.addItem(text_, val)
            box.currentIndexChanged.connect(lambda _i: self.changed.emit())
            return box
        if col_kind == "longtext":
            long_edit = QPlainTextEdit()
            long_edit.setFixedHeight(56)
            long_edit.setTabChangesFocus(True)
            long_edit.textChanged.connect(self.changed.emit)
            return long_edit
        edit = QLineEdit()
        if col_kind == "datetime":
            edit.setPlaceholderText("YYYY-MM-DD HH:MM")
        elif col_kind == "date":
            edit.setPlaceholderText("YYYY-MM-DD")
        elif col_kind == "number":
            edit.setPlaceholderText("数字")
        edit.textChanged.connect(lambda _t: self.changed.emit())
        return edit

    # --- values --------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.widgets.items():
            if name == "marks":
                out[name] = [cb.property("code") for cb in w.findChildren(QCheckBox) if cb.isChecked()]
            elif isinstance(w, QComboBox):
                out[name] = w.currentData()
            elif isinstance(w, QPlainTextEdit):
                out[name] = w.toPlainText()
            elif isinstance(w, QLineEdit):
                out[name] = w.text()
        return out

    def changed_values(self) -> dict[str, Any]:
        """Only what differs from the loaded record (for updates)."""
        now = self.values()
        return {k: v for k, v in now.items() if self._norm(v) != self._norm(self.initial.get(k))}

    @staticmethod
    def _norm(v: Any) -> Any:
        if isinstance(v, list):
            return ",".join(sorted(v))
        if v is None:
            return ""
        return _fmt(v).strip()

    def set_values(self, values: dict[str, Any], *, as_initial: bool = True) -> None:
        for name, value in values.items():
            w = self.widgets.get(name)
            if w is None:
                continue
            w.blockSignals(True)
            try:
                if name == "marks":
                    codes = value if isinstance(value, list) else marks_list(value)
                    for cb in w.findChildren(QCheckBox):
                        cb.setChecked(cb.property("code") in codes)
                elif isinstance(w, QComboBox):
                    idx = w.findData(value)
                    w.setCurrentIndex(idx if idx >= 0 else 0)
                elif isinstance(w, QPlainTextEdit):
                    w.setPlainText(_fmt(value))
                elif isinstance(w, QLineEdit):
                    w.setText(_fmt(value))
            finally:
                w.blockSignals(False)
        if as_initial:
            self.initial = {**self.initial, **{k: (marks_list(v) if k == "marks" and not isinstance(v, list) else v)
                                               for k, v in values.items() if k in self.widgets}}

    def set_readonly(self, name: str, readonly: bool = True) -> None:
        w = self.widgets.get(name)
        if isinstance(w, QLineEdit):
            w.setReadOnly(readonly)
        elif w is not None:
            w.setEnabled(not readonly)

    # --- errors --------------------------------------------------------------------------
    def clear_errors(self) -> None:
        for name, label in self.errors.items():
            label.hide()
            label.setText("")
            self._mark(name, False)

    def set_error(self, name: str, message: str | None) -> None:
        label = self.errors.get(name)
        if label is None:
            return
        label.setText(message or "")
        label.setVisible(bool(message))
        self._mark(name, bool(message))

    def set_hint(self, name: str, message: str | None) -> None:
        label = self.hints.get(name)
        if label is not None:
            label.setText(message or "")
            label.setVisible(bool(message))

    def _mark(self, name: str, invalid: bool) -> None:
        w = self.widgets.get(name)
        if w is not None:
            w.setProperty("invalid", "true" if invalid else "false")
            w.style().unpolish(w)
            w.style().polish(w)

    def show_validation(self, exc: ValidationFailed) -> list[str]:
        """Put each message beside its field; return the messages that have no field here."""
        self.clear_errors()
        by_label = {field_label(self.kind, n): n for n in self.widgets}
        unplaced = []
        grouped: dict[str, list[str]] = {}
        for issue in exc.issues:
            name = by_label.get(issue.field) or (issue.field if issue.field in self.widgets else None)
            if name is None:
                unplaced.append(issue.message)
            else:
                grouped.setdefault(name, []).append(issue.message)
        for name, msgs in grouped.items():
            self.set_error(name, ";".join(msgs))
        if grouped:
            first = self.widgets[next(iter(grouped))]
            first.setFocus()
        return unplaced


def form_layout() -> QFormLayout:
    lay = QFormLayout()
    lay.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
    return lay
