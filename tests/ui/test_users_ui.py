"""设置 → 本机用户 on an encrypted laptop: the admin adds a grid worker (a mistake is shown in the
form, which keeps what was typed), the new user unlocks with their own password, a user without
a key is opened by resetting the password, a disabled one disappears from sign-in; a grid worker
sees no user management but can change their own password."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop.services.auth import actor_for
from desktop.services.session import LocalDatabase
from tests.factories import encrypted_demo
from tests.ui.conftest import type_text
from ui.context import AppContext
from ui.forms import users as users_ui
from ui.pages.settings import SettingsPage


@pytest.fixture
def laptop(tmp_path):
    path = tmp_path / "laptop.db"
    store, admin = encrypted_demo(path)
    yield path, store, admin
    store.close()


def _answer(monkeypatch, cls, fill):
    """Replace a dialog's exec(): fill its fields, press its OK, report the result."""
    def fake_exec(self):
        fill(self)
        self.save()
        return self.result() or QDialog.DialogCode.Rejected
    monkeypatch.setattr(cls, "exec", fake_exec)


def _row(dialog, username):
    return next(i for i, u in enumerate(dialog.rows) if u["username"] == username)


def test_admin_adds_resets_and_disables_users(qtbot, laptop, monkeypatch, answers):
    path, store, admin = laptop
    ctx = AppContext(store, admin)
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    assert not page.users_button.isHidden()
    dialog = users_ui.UsersDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.rows[_row(dialog, "admin")]["can_unlock"] is True
    assert dialog.table.item(_row(dialog, "wgy001"), 5).text() == "未开通"

    form = users_ui.UserForm(dialog.users, parent=dialog)
    qtbot.addWidget(form)
    type_text(qtbot, form.username, "liming")
    type_text(qtbot, form.display, "李明")
    form.grids.item(0).setCheckState(Qt.CheckState.Checked)
    type_text(qtbot, form.password, "liming-pass-1")
    type_text(qtbot, form.again, "liming-pass-2")
    form.save()
    assert "两次输入的密码不一致" in form.error.text() and form.result() != QDialog.DialogCode.Accepted
    assert form.username.text() == "liming" and form.display.text() == "李明"  # nothing typed is lost
    form.again.clear()
    type_text(qtbot, form.again, "liming-pass-1")
    form.save()
    assert form.result() == QDialog.DialogCode.Accepted
    dialog.refresh(select="liming")
    r = _row(dialog, "liming")
    assert [dialog.table.item(r, c).text() for c in (1, 2, 4, 5)] == ["李明", "网格员", "启用", "已开通"]
    other, worker = LocalDatabase(path).open("liming", "liming-pass-1")
    other.close()
    assert worker.role == "grid_worker" and len(worker.grid_ids) == 1

    # a user without a key (never enabled on this laptop) is opened by resetting the password
    dialog.table.selectRow(_row(dialog, "wgy001"))
    answers.information()
    def fill_reset(d):
        d.new.setText("wgy-new-pass")
        d.again.setText("wgy-new-pass")
    _answer(monkeypatch, users_ui.NewPasswordDialog, fill_reset)
    dialog.reset_password()
    assert answers.titles("information") and dialog.table.item(_row(dialog, "wgy001"), 5).text() == "已开通"
    other, _ = LocalDatabase(path).open("wgy001", "wgy-new-pass")
    other.close()

    # disable: gone from the sign-in list
    dialog.table.selectRow(_row(dialog, "liming"))
    assert dialog.active_button.text() == "停用"
    answers.question(yes=True)
    dialog.toggle_active()
    r = _row(dialog, "liming")
    assert dialog.table.item(r, 4).text() == "已停用"
    assert "liming" not in [u for u, _, _ in LocalDatabase(path).users()]
    dialog.table.selectRow(r)
    assert dialog.active_button.text() == "启用…" and not dialog.reset_button.isEnabled()
    # the admin cannot disable themselves
    dialog.table.selectRow(_row(dialog, "admin"))
    assert not dialog.active_button.isEnabled()


def test_a_refused_user_keeps_the_form_open(qtbot, laptop):
    _, store, admin = laptop
    dialog = users_ui.UsersDialog(AppContext(store, admin))
    qtbot.addWidget(dialog)
    form = users_ui.UserForm(dialog.users, parent=dialog)
    qtbot.addWidget(form)
    type_text(qtbot, form.username, "wangwu")
    type_text(qtbot, form.password, "wangwu-pass")
    type_text(qtbot, form.again, "wangwu-pass")
    form.save()  # a grid worker with no grid
    assert "至少需要分配一个网格" in form.error.text() and form.result() != QDialog.DialogCode.Accepted
    form.role.setCurrentIndex(form.role.findData("supervisor"))
    assert not form.grids.isEnabled()
    form.save()
    assert form.result() == QDialog.DialogCode.Accepted


def test_grid_worker_changes_own_password_but_manages_nobody(qtbot, laptop, monkeypatch, answers):
    path, store, _ = laptop
    from desktop.services.users import Users

    Users(store, actor_for(store, "admin")).reset_password("wgy001", "worker-pass-1")
    ctx = AppContext(store, actor_for(store, "wgy001"))
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    assert page.users_button.isHidden() and not page.password_button.isHidden()
    tries = []
    def fill(d):
        d.old.setText(tries and "worker-pass-1" or "wrong-pass")
        d.new.setText("worker-pass-2")
        d.again.setText("worker-pass-2")
        tries.append(d.error.text())
    def fake_exec(self):
        fill(self)
        self.save()
        if self.result() != QDialog.DialogCode.Accepted:  # the user reads the message and retries
            fill(self)
            self.save()
        return self.result()
    monkeypatch.setattr(users_ui.NewPasswordDialog, "exec", fake_exec)
    answers.information()
    page.change_my_password()
    assert "原密码不正确" in tries[1] and "密码已修改" in answers.texts("information")[0]
    other, _ = LocalDatabase(path).open("wgy001", "worker-pass-2")
    other.close()
