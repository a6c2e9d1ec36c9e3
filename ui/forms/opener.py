"""Which dialog opens a record, and reopening the drafts a crash left behind.

This module sits above every record dialog (dialogs, event, visit, register) so that none of them,
nor the drafts store below them, needs to import another to find the right dialog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QMessageBox

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

DIALOGS: dict[str, type[RecordDialog]] = {"person": PersonDialog, "vehicle": VehicleDialog, "house": HouseDialog}


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


def offer_drafts(window: Any, ctx: Any) -> int:
    """Ask about each unsaved draft of the signed-in user; reopen the ones they want back."""
    reopened = 0
    for draft in list_drafts(ctx.actor.username, secret=ctx.draft_secret):
        meta = draft.get("meta", {})
        answer = QMessageBox.question(
            window, "恢复未保存的内容",
            f"发现 {draft.get('saved_at')} 未保存的{meta.get('title', '表单')}。\n是否恢复继续填写?\n"
            "(选“否”将丢弃这份草稿)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            reopen_draft(window, ctx, draft)
            reopened += 1
        else:
            remove_draft(draft["key"])
    return reopened
