"""彻底清除个人信息: erasure of one person on request (desktop.services.purge). The dialog says
what will happen, asks for the reason (audited) and for the person's name typed again, because
nothing brings the data back afterwards."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.policy import Ability, allows, denial
from desktop.services.errors import ServiceError
from desktop.services.purge import purge_person
from desktop.validation.masking import mask_id
from ui.context import AppContext
from ui.widgets.buttons import Std, dialog_buttons
from ui.workers import JobFailure, run_job

PURGE_DENIED = denial(Ability.PURGE)


class PurgeDialog(QDialog):
    def __init__(self, ctx: AppContext, person: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person = person
        self.result_info: dict[str, Any] | None = None
        self.setWindowTitle("彻底清除个人信息")
        self.setMinimumWidth(480)
        cert = mask_id(person.get("cert_no")) if person.get("cert_no") else "(无证件号码)"
        explain = QLabel(
            f"将彻底清除 <b>{person['name']}</b>({cert})的全部个人信息和照片。<br>"
            "清除后无法恢复;下次同步后,服务器和其他电脑上的该人员信息也会清除。<br>"
            "所在户、房屋、车辆中对该人员的引用会被清空;操作日志只记录清除这件事和原因。<br>"
            "本机的备份中也会一并清除(拷贝到其他地方的备份文件除外)。")
        explain.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("例如:本人申请删除、已迁出并超过保存期限")
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText(f"请输入“{person['name']}”以确认")
        self.confirm.textChanged.connect(self._update)
        self.reason.textChanged.connect(self._update)
        form = QFormLayout()
        form.addRow("清除原因", self.reason)
        form.addRow("确认姓名", self.confirm)
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.buttons = dialog_buttons(self.purge, self.reject, "彻底清除", "取消")
        self.ok = self.buttons.button(Std.Ok)
        lay = QVBoxLayout(self)
        lay.addWidget(explain)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        self.ok.setEnabled(self.confirm.text().strip() == self.person["name"] and bool(self.reason.text().strip()))

    def purge(self) -> None:
        """Off the GUI thread (the backups are erased too, a few seconds on a big street)."""
        from functools import partial

        if not self.ok.isEnabled():
            return
        for w in (self.ok, self.reason, self.confirm):
            w.setEnabled(False)
        self.error.setText("正在清除(含本机备份)…")

        def done(info: Any) -> None:
            self.result_info = info
            self.accept()

        def failed(failure: JobFailure) -> None:
            self.error.setText(failure.message)
            for w in (self.reason, self.confirm):
                w.setEnabled(True)
            self._update()

        self.job = run_job(partial(purge_person, self.ctx.store, self.ctx.actor, self.person["id"],
                                   reason=self.reason.text()), on_done=done, on_error=failed, pool=self.ctx.pool)

    def reject(self) -> None:
        if self.ok.isEnabled() or self.reason.isEnabled():  # not while the purge runs
            super().reject()


def purge_with_dialog(parent: QWidget, ctx: AppContext, person_id: str) -> bool:
    """Ask and purge; True when the person was erased."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.services.records import Records

    if not allows(ctx.actor, Ability.PURGE):
        QMessageBox.warning(parent, "不能清除", PURGE_DENIED)
        return False
    try:
        person = Records(ctx.store, ctx.actor).get("person", person_id, include_deleted=True)
    except ServiceError as exc:
        QMessageBox.warning(parent, "不能清除", str(exc))
        return False
    dialog = PurgeDialog(ctx, person, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    info = dialog.result_info or {}
    text = (f"已彻底清除{person['name']}的个人信息(照片 {info.get('photos', 0)} 张),"
            f"并从本机 {info.get('backups_scrubbed', 0)} 份备份中清除。下次同步后,服务器和其他电脑上也会清除。")
    if info.get("backups_failed"):
        QMessageBox.warning(parent, "部分备份未能清除", text + "\n\n以下备份无法打开,请删除:\n" + "\n".join(info["backups_failed"]))
    else:
        QMessageBox.information(parent, "已清除", text)
    return True
