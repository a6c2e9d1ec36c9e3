"""合并重复记录: two records side by side, each differing field's value chosen, a reason, one
merge (desktop/services/merge.py). Sensitive numbers are shown masked."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import kinds
from desktop.domain.formatting import day
from desktop.services.merge import Merges
from desktop.validation import code_table
from desktop.validation.masking import mask_id, mask_phone
from ui.context import AppContext
from ui.widgets.buttons import dialog_buttons
from ui.widgets.tables import cell


def shown(kind: str, column: str, value: Any) -> str:
    if value in (None, ""):
        return "(空)"
    entry = kinds.get(kind)
    if column in entry.code_fields:
        return code_table(entry.code_fields[column]).label(str(value)) or str(value)
    if column in entry.sensitive:
        return mask_phone(str(value)) if "phone" in column else mask_id(str(value))
    if hasattr(value, "isoformat"):
        return day(value)
    return str(value)


class MergeDialog(QDialog):
    def __init__(self, ctx: AppContext, kind: str, keep_id: str, drop_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.merges = Merges(ctx.store, ctx.actor)
        self.survivor: dict[str, Any] | None = None
        self.setWindowTitle(f"合并重复的{kinds.label(kind)}")
        self.resize(820, 600)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["项目", "保留的记录", "被合并的记录"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.swap_button = QPushButton("交换(保留另一条)")
        self.swap_button.clicked.connect(self.swap)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("合并原因(必填),例如:同一人重复登记")
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("原因"))
        row.addWidget(self.reason, 1)
        row.addWidget(self.swap_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(dialog_buttons(self.do_merge, self.reject, "合并"))
        self.groups: dict[str, QButtonGroup] = {}
        self.load(keep_id, drop_id)

    def load(self, keep_id: str, drop_id: str) -> None:
        self.keep_id, self.drop_id = keep_id, drop_id
        cmp = self.merges.compare(self.kind, keep_id, drop_id)
        differing = set(cmp.differing)
        rows = [f for f in cmp.fields if f[0] in differing] + [f for f in cmp.fields if f[0] not in differing]
        self.table.setRowCount(len(rows))
        self.groups = {}
        for r, (col, label, a, b) in enumerate(rows):
            self.table.setItem(r, 0, cell(label + (" *" if col in differing else "")))
            if col in differing:
                group = QButtonGroup(self)
                for c, (value, side) in enumerate(((a, "keep"), (b, "drop")), start=1):
                    radio = QRadioButton(shown(self.kind, col, value))
                    radio.setProperty("side", side)
                    radio.setChecked(side == "keep" if a not in (None, "") else side == "drop")
                    group.addButton(radio)
                    self.table.setCellWidget(r, c, radio)
                self.groups[col] = group
            else:
                self.table.setItem(r, 1, cell(shown(self.kind, col, a)))
                self.table.setItem(r, 2, cell(shown(self.kind, col, b)))
        self.table.resizeColumnsToContents()
        self.note.setText(f"标 * 的 {len(differing)} 项两条记录不同:逐项选择要保留的值。合并后,指向被合并记录的户、车辆、"
                          "房屋和照片都改为指向保留的记录;被合并的记录标记为已合并并同步到所有电脑。当天可由社区管理员撤销。")

    def choices(self) -> dict[str, str]:
        return {col: b.property("side") for col, g in self.groups.items() if (b := g.checkedButton()) is not None}

    def swap(self) -> None:
        self.load(self.drop_id, self.keep_id)

    def do_merge(self) -> None:
        try:
            self.survivor = self.merges.merge(self.kind, self.keep_id, self.drop_id, take=self.choices(),
                                              reason=self.reason.text())
        except Exception as exc:  # noqa: BLE001 - every refusal is shown as its sentence
            self.message.setText(getattr(exc, "message", None) or str(exc))
            return
        self.accept()


def merge_records(window: Any, ctx: AppContext, kind: str, keep_id: str, drop_id: str) -> bool:
    dialog = MergeDialog(ctx, kind, keep_id, drop_id, parent=window)
    return dialog.exec() == QDialog.DialogCode.Accepted
