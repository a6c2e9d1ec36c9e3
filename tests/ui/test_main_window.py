"""The 'done when' walk: sign in as a grid worker, find a household by pinyin initials, add a
newborn, record a visit with a need, escalate it, and see the dashboard change."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import text

from desktop.services.demo import generate
from desktop.services.store import Store
from tests.factories import id_number
from tests.ui.conftest import type_text


@pytest.fixture
def demo_store(tmp_path):
    store = Store.open(tmp_path / "demo.db", create=True)
    generate(store, households=260, seed=4)
    yield store
    store.close()


def test_sign_in(qtbot, demo_store):
    from ui.signin import SignInDialog

    dlg = SignInDialog(demo_store, "wgy001")
    qtbot.addWidget(dlg)
    assert dlg.user.currentData() == "wgy001" and dlg.user.count() == 4
    dlg.password.setText("wrong")
    dlg.try_sign_in()
    assert dlg.actor is None and "不正确" in dlg.error.text()
    dlg.password.setText("demo1234")
    dlg.try_sign_in()
    assert dlg.actor is not None and dlg.actor.role == "grid_worker" and len(dlg.actor.grid_ids) == 1


def test_a_grid_workers_first_day(qtbot, demo_store, monkeypatch):
    from desktop.services.auth import sign_in
    from ui.context import AppContext
    from ui.forms.dialogs import PersonDialog
    from ui.forms.visit import VisitDialog
    from ui.main_window import MainWindow
    from ui.pages.home import compute_dashboard

    actor = sign_in(demo_store, "wgy001", "demo1234")
    ctx = AppContext(demo_store, actor)
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    assert [win.sidebar.item(i).text() for i in range(win.sidebar.count())][:10] == [
        "今日走访", "首页", "地址与网格", "网格一张图", "人口", "房屋", "车辆", "单位", "走访台账", "网格事件"]
    assert win.current_page() is win.pages["plan"]  # a grid worker's day starts with the plan
    before = compute_dashboard(demo_store, actor, date.today())
    # a household of the worker's grid whose head's initials are unique enough to land on it
    with demo_store.session() as s:
        head_id, initials, hh_id = s.execute(text(
            "SELECT p.id, p.name_initials, p.household_id FROM person p JOIN household h ON h.head_person_id = p.id "
            "WHERE p.grid_id IN (SELECT grid_id FROM user_grid ug JOIN app_user u ON u.id = ug.user_id "
            "WHERE u.username = 'wgy001') AND (SELECT count(*) FROM person q WHERE q.name_initials = p.name_initials) = 1 "
            "LIMIT 1")).one()
    win.search.setFocus()
    type_text(qtbot, win.search, initials)
    qtbot.waitUntil(lambda: win.search.popup.count() > 0 and win.search._shown_seq == win.search._seq, timeout=3000)
    qtbot.keyClick(win.search, Qt.Key.Key_Return)
    page = win.current_page()
    assert page is win.pages["household"] and page.household_id == hh_id
    members_before = page.members.rowCount()

    # add a newborn through the household page's button
    newborn_id = id_number(date(date.today().year, 1, 5), "2")

    def fill_person(self):
        type_text(qtbot, self.form.widgets["name"], "新宝宝")
        type_text(qtbot, self.form.widgets["cert_no"], newborn_id)
        self.form.set_values({"relation": "30"}, as_initial=False)
        assert self.save()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PersonDialog, "exec", fill_person)
    page.buttons["add_member"].click()
    assert page.members.rowCount() == members_before + 1
    assert any(page.members.item(r, 0).text() == "新宝宝" for r in range(page.members.rowCount()))

    # record a visit with a need, then escalate the need to an event
    saved = {}

    def fill_visit(self):
        type_text(qtbot, self.form.widgets["situation"], "新生儿出生,家庭和睦")
        row = self.add_need()
        row.category.setCurrentIndex(row.category.findText("群众诉求"))
        type_text(qtbot, row.content, "希望办理新生儿医保")
        assert self.save()
        saved["visit"] = self.result_record
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(VisitDialog, "exec", fill_visit)
    page.buttons["visit"].click()
    assert "希望办理新生儿医保" in page.visits.item(0).text()
    again = VisitDialog(ctx, saved["visit"]["id"])
    qtbot.addWidget(again)
    event = again.escalate(saved["visit"]["needs"][0]["id"])
    assert event["state"] == "reported"

    # the dashboard follows
    after = compute_dashboard(demo_store, actor, date.today())
    assert after["year"]["people"] == before["year"]["people"] + 1
    assert after["year"]["events_open"] == before["year"]["events_open"] + 1
    assert after["month"]["visits"] == before["month"]["visits"] + 1
    home = win.show_page("home")
    qtbot.waitUntil(lambda: home.data is not None and home.data["year"]["people"] == after["year"]["people"], timeout=5000)
    assert home.cards["events_open"].value.text() == f"{after['year']['events_open']:,}"
    # click-through from the dashboard lands on the filtered list
    home.cards["events_open"].clicked.emit()
    assert win.current_page() is win.pages["grid_event"]
    _ = head_id


def test_sign_in_unlocks_an_encrypted_laptop(qtbot, tmp_path):
    from desktop.services.session import LocalDatabase, encrypt
    from ui.signin import SignInDialog

    path = tmp_path / "enc.db"
    st = Store.open(path, create=True)
    generate(st, households=30, seed=2)
    st.close()
    encrypt(path, "admin", "demo1234", others={"wgy001": "demo1234"})
    dlg = SignInDialog(LocalDatabase(path), "wgy001")
    qtbot.addWidget(dlg)
    assert dlg.user.count() == 2 and dlg.user.currentData() == "wgy001"  # from the keyring
    dlg.password.setText("wrong")
    dlg.try_sign_in()
    assert dlg.store is None and "不正确" in dlg.error.text()
    dlg.password.setText("demo1234")
    dlg.try_sign_in()
    assert dlg.store is not None and dlg.store.key is not None and dlg.actor.role == "grid_worker"
    dlg.store.close()


def test_an_idle_window_locks_and_asks_for_the_password(qtbot, demo_store):
    from desktop.services.auth import actor_for
    from ui.context import AppContext
    from ui.main_window import MainWindow

    ctx = AppContext(demo_store, actor_for(demo_store, "wgy001"))
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    lock = win.idle_lock
    assert lock.timer.isActive() and lock.timer.interval() == 10 * 60_000  # the default: 10 minutes
    lock.timer.setInterval(50)
    lock.timer.start()
    qtbot.waitUntil(lambda: lock.locked, timeout=3000)
    assert not win.centralWidget().isVisible() and "已锁定" in win.windowTitle()
    dlg = lock.dialog
    dlg.password.setText("wrong")
    dlg.try_unlock()
    assert lock.locked and "不正确" in dlg.error.text()
    dlg.password.setText("demo1234")
    dlg.try_unlock()
    assert not lock.locked and win.centralWidget().isVisible() and "已锁定" not in win.windowTitle()
    win.close()


def test_a_plain_laptop_asks_admins_to_encrypt_and_tells_workers(qtbot, demo_store, monkeypatch):
    from desktop.services.auth import actor_for
    from ui.app import offer_encryption
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.pages.settings import SettingsPage

    win = MainWindow(AppContext(demo_store, actor_for(demo_store, "admin")))
    qtbot.addWidget(win)
    win.show()
    box = offer_encryption(win, win.ctx)
    assert box is not None and box.isVisible() and "尚未加密" in box.text()
    asked = []
    monkeypatch.setattr(SettingsPage, "encrypt_database", lambda self: asked.append(1))
    later = next(b for b in box.buttons() if b.text() == "以后再说")
    later.click()
    assert not asked and not box.isVisible()
    box = offer_encryption(win, win.ctx)  # asked again at the next sign-in
    next(b for b in box.buttons() if b.text().startswith("现在加密")).click()
    assert asked == [1] and win.current_page() is win.pages["settings"]
    worker = MainWindow(AppContext(demo_store, actor_for(demo_store, "wgy001")))
    qtbot.addWidget(worker)
    assert offer_encryption(worker, worker.ctx) is None
    assert "未加密" in worker.statusBar().currentMessage()


def test_idle_time_is_set_in_settings_by_admins(qtbot, demo_store):
    from desktop.services.auth import actor_for
    from ui.context import AppContext
    from ui.main_window import MainWindow

    win = MainWindow(AppContext(demo_store, actor_for(demo_store, "admin")))
    qtbot.addWidget(win)
    win.show()
    page = win.show_page("settings")
    assert page.idle.isEnabled() and page.idle.value() == 10
    page.idle.setValue(0)
    assert not win.idle_lock.timer.isActive() and win.ctx.settings.value("security/idle_minutes") in (0, "0")
    page.idle.setValue(5)
    assert win.idle_lock.timer.isActive() and win.idle_lock.timer.interval() == 5 * 60_000
    win.close()
    worker = MainWindow(AppContext(demo_store, actor_for(demo_store, "wgy001")))
    qtbot.addWidget(worker)
    wpage = worker.show_page("settings")
    assert not wpage.idle.isEnabled() and wpage.idle.value() == 5  # the laptop's setting, read-only here
    worker.close()
