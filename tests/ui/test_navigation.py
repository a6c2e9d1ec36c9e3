"""Navigation: a sidebar click always shows its page (back from a household too); 返回 (Alt+← or
the toolbar button) goes to the page shown before; 切换用户 goes back to signing in, 退出登录 ends."""

from __future__ import annotations

import argparse
import io
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.services.households import Households
from tests.factories import id_number, years_ago
from ui import app as app_module


@pytest.fixture
def window(qtbot, ui_ctx, community):
    from ui.main_window import MainWindow

    w = MainWindow(ui_ctx)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    return w


def _sidebar_item(window, key):
    return next(window.sidebar.item(i) for i in range(window.sidebar.count())
                if window.sidebar.item(i).data(Qt.ItemDataRole.UserRole) == key)


def test_sidebar_click_shows_its_page_even_back_from_a_household(window, ui_ctx, community, qtbot):
    hh = Households(ui_ctx.store, ui_ctx.actor).register(
        grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "1", "room": "101"},
        members=[{"name": "刘备", "cert_no": id_number(years_ago(40))}])["household"]["id"]
    window.show_page("person")
    window.open_record("household", hh)
    assert window.current_key() == "household"
    assert window.sidebar.currentRow() == -1  # no sidebar entry pretends to be shown
    item = _sidebar_item(window, "person")
    rect = window.sidebar.visualItemRect(item)
    QTest.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_key() == "person"
    # and the entry that is already selected, clicked again after a household, too
    window.open_record("household", hh)
    window.sidebar.blockSignals(True)
    window.sidebar.setCurrentItem(item)  # as it was before the fix: the row still marked
    window.sidebar.blockSignals(False)
    QTest.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_key() == "person"


def test_back_returns_to_the_household_and_before(window, ui_ctx, community):
    hh = Households(ui_ctx.store, ui_ctx.actor).register(
        grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "1", "room": "102"},
        members=[{"name": "关羽", "cert_no": id_number(years_ago(41))}])["household"]["id"]
    assert not window.back_action.isEnabled()
    window.show_page("areas")
    window.open_record("household", hh)
    window.show_page("visit")
    assert window.back_action.isEnabled() and "返回" in window.back_action.text()
    QTest.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.current_key() == "household" and window.pages["household"].household_id == hh
    window.back_action.trigger()
    assert window.current_key() == "areas"
    window.back_action.trigger()
    assert window.current_key() == "home" and not window.back_action.isEnabled()


def test_sign_out_and_switch_user_close_the_window(window):
    assert [a.text() for a in window.user_menu.actions()] == ["切换用户…", "退出登录"]
    window.switch_action.trigger()
    assert window.signed_out == "switch" and not window.isVisible()


def test_switch_user_signs_in_again_and_sign_out_ends(monkeypatch, tmp_path, qapp):
    from desktop.services.auth import sign_in
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from ui import signin

    db = tmp_path / "a.db"
    store = Store.open(db, create=True)
    generate(store, households=3, seed=2)
    store.close()
    sessions: list[str] = []

    def run_session(app, store, actor, settings, state, args, after):
        sessions.append(actor.username)
        store.close()
        return 0, ("switch" if len(sessions) == 1 else "sign_out")

    class SignIn:  # the next user signs in at the dialog
        DialogCode = signin.SignInDialog.DialogCode

        def __init__(self, source, last_user):
            self.source, self.wants_first_run = source, False
            self.store = source
            self.actor = sign_in(source, "wgy001", "demo1234")

        def exec(self):
            return self.DialogCode.Accepted

    monkeypatch.setattr(app_module, "run_session", run_session)
    monkeypatch.setattr(signin, "SignInDialog", SignIn)
    monkeypatch.setattr(sys, "stdin", io.StringIO("demo1234\n"))
    code = app_module.main(argparse.Namespace(db=str(db), user="admin", password_stdin=True, quit_after=None))
    assert code == 0 and sessions == ["admin", "wgy001"]
