"""Which dialog opens a record, and reopening the drafts a crash left behind.

This module sits above every record dialog (dialogs, event, visit, register) so that none of them,
nor the drafts store below them, needs to import another to find the right dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from ui.context import AppContext
from ui.drafts import list_drafts, remove_draft
from ui.forms.dialogs import (
    HouseDialog,
    PersonDialog,
    RecordDialog,
    ReportEventDialog,
    VehicleDialog,
)
from ui.forms.event import EventDialog
from ui.forms.register import RegisterHouseholdDialog
from ui.forms.visit import VisitDialog

DIALOGS: dict[str, Callable[..., RecordDialog]] = {"person": PersonDialog, "vehicle": VehicleDialog, "house": HouseDialog}


def record_dialog(ctx: AppContext, kind: str, record_id: str | None = None, **kw: Any) -> RecordDialog:
    cls = DIALOGS.get(kind)
    if cls is not None:
        return cls(ctx, record_id, **kw)
    if kind == "grid_event":
        if not record_id:
            return ReportEventDialog(ctx, None, **kw)
        return EventDialog(ctx, record_id, **kw)
    if kind == "visit":
        return VisitDialog(ctx, record_id, **kw)
    return RecordDialog(ctx, kind, record_id, **kw)


def open_record_dialog(window: Any, ctx: AppContext, kind: str, record_id: str | None = None, **kw: Any) -> bool:
    dialog = record_dialog(ctx, kind, record_id, parent=window, **kw)
    if hasattr(dialog, "open_existing") and hasattr(window, "open_record"):
        dialog.open_existing.connect(lambda k, i: QTimer.singleShot(0, lambda: window.open_record(k, i)))
    return dialog.exec() == QDialog.DialogCode.Accepted


def reopen_draft(window: Any, ctx: AppContext, draft: dict[str, Any]) -> bool:
    meta = draft.get("meta", {})
    kind = meta.get("kind")
    if meta.get("dialog") == "RegisterHouseholdDialog":
        dialog: QDialog = RegisterHouseholdDialog(ctx, draft=draft, parent=window)
    else:
        dialog = record_dialog(ctx, kind, meta.get("record_id"), preset=meta.get("preset"),
                               values=draft.get("values"), draft_key=draft.get("key"), parent=window)
    ok = dialog.exec() == QDialog.DialogCode.Accepted
    if ok and hasattr(window, "data_changed"):
        window.data_changed()
    return ok


def _real(values: Any) -> bool:
    """Whether a draft holds anything typed (not only empty fields)."""
    if isinstance(values, dict):
        return any(_real(v) for v in values.values())
    if isinstance(values, list):
        return any(_real(v) for v in values)
    return values not in (None, "", False)


def pending_drafts(ctx: Any) -> list[dict[str, Any]]:
    """The signed-in user's drafts worth offering, newest first; drafts with nothing typed in
    them (left by an older version) are removed instead."""
    out = []
    for draft in list_drafts(ctx.actor.username, secret=ctx.draft_secret):
        if _real(draft.get("values")):
            out.append(draft)
        else:
            remove_draft(draft["key"])
    out.sort(key=lambda d: str(d.get("saved_at") or ""), reverse=True)
    return out


def _describe(draft: dict[str, Any]) -> str:
    meta = draft.get("meta", {})
    values = draft.get("values") or {}
    what = meta.get("title") or "表单"
    name = values.get("name") or values.get("title") or values.get("plate_no") or values.get("situation")
    if not name and isinstance(values.get("members"), list) and values["members"]:
        name = (values["members"][0] or {}).get("name")
    detail = f":{str(name)[:20]}" if name else ""
    return f"{draft.get('saved_at') or '时间不详'}  {what}{detail}"


class DraftsDialog(QDialog):
    """Every unsaved draft of the user in one list, newest first, with what and when: reopen
    one, discard the chosen ones, or leave them all for later."""

    def __init__(self, window: Any, ctx: Any, drafts: list[dict[str, Any]]) -> None:
        super().__init__(window)
        self.window_ = window
        self.ctx = ctx
        self.reopened = 0
        self.setWindowTitle("恢复未保存的内容")
        self.resize(560, 360)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemDoubleClicked.connect(lambda _i: self.reopen_selected())
        note = QLabel("上次有未保存就关闭的表单。选中一项后点“恢复”继续填写;不需要的可以“丢弃”。")
        note.setWordWrap(True)
        self.reopen_button = QPushButton("恢复所选")
        self.reopen_button.clicked.connect(self.reopen_selected)
        self.discard_button = QPushButton("丢弃所选")
        self.discard_button.clicked.connect(self.discard_selected)
        later = QPushButton("以后再说")
        later.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.reopen_button)
        row.addWidget(self.discard_button)
        row.addStretch(1)
        row.addWidget(later)
        lay = QVBoxLayout(self)
        lay.addWidget(note)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        self.fill(drafts)

    def fill(self, drafts: list[dict[str, Any]]) -> None:
        self.list.clear()
        for draft in drafts:
            item = QListWidgetItem(_describe(draft))
            item.setData(Qt.ItemDataRole.UserRole, draft)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _selected(self) -> list[dict[str, Any]]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems()]

    def reopen_selected(self) -> None:
        chosen = self._selected()[:1]
        if not chosen:
            return
        self.hide()
        reopen_draft(self.window_, self.ctx, chosen[0])
        self.reopened += 1
        left = pending_drafts(self.ctx)
        if not left:
            self.accept()
            return
        self.fill(left)
        self.show()

    def discard_selected(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        answer = QMessageBox.question(self, "丢弃草稿", f"确定丢弃选中的 {len(chosen)} 份草稿吗?丢弃后不能恢复。")
        if answer != QMessageBox.StandardButton.Yes:
            return
        for draft in chosen:
            remove_draft(draft["key"])
        left = pending_drafts(self.ctx)
        if not left:
            self.accept()
            return
        self.fill(left)


def offer_drafts(window: Any, ctx: Any) -> int:
    """Offer the user's unsaved drafts as one list (never a prompt per draft); return how many
    were reopened."""
    drafts = pending_drafts(ctx)
    if not drafts:
        return 0
    dialog = DraftsDialog(window, ctx, drafts)
    dialog.exec()
    return dialog.reopened
