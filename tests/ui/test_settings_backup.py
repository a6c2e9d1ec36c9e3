"""设置 → 备份: back up now off the GUI thread; restore (admins and supervisors) replaces the file
after a safety copy and closes the app."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QApplication

from desktop.services.backup import list_backups
from desktop.services.records import Records
from desktop.services.store import Actor, Store
from ui.context import AppContext
from ui.pages.settings import SettingsPage


def test_backup_now_and_restore(qtbot, ui_ctx, community, monkeypatch, answers):
    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    assert "未加密" in page.crypto_state.text() and page.restore_button.isEnabled()
    page.backup_now()
    qtbot.waitUntil(lambda: page.backup_button.isEnabled(), timeout=10000)
    assert "已备份到" in page.backup_state.text() and len(list_backups(ui_ctx.store.path)) == 1
    r = Records(ui_ctx.store, ui_ctx.actor)
    r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A99999", "plate_type": "02"})
    answers.item(0).question(yes=True).information()
    quits = []
    monkeypatch.setattr(QApplication.instance(), "quit", lambda: quits.append(1))
    path = ui_ctx.store.path
    page.choose_restore()
    assert quits and "已从备份恢复" in answers.texts("information")[-1]
    assert answers.titles() == ["从备份恢复", "确认恢复", "已恢复"]
    st = Store.open(path)
    try:
        with st.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM vehicle WHERE plate_no = '甘A99999'").scalar() == 0
    finally:
        st.close()


def test_grid_workers_cannot_restore(qtbot, store, community):
    ctx = AppContext(store, Actor("w", "grid_worker", frozenset({community.grid1["id"]})))
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    assert not page.restore_button.isEnabled() and page.backup_button.isEnabled()


def test_encrypt_from_settings(qtbot, tmp_path, monkeypatch, answers):
    from desktop.db.keys import is_encrypted
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.session import LocalDatabase

    path = tmp_path / "laptop.db"
    store = Store.open(path, create=True)
    generate(store, households=20, seed=3)
    ctx = AppContext(store, actor_for(store, "admin"))
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    assert page.encrypt_button.isEnabled() and not page.encrypt_button.isHidden()
    answers.question(yes=True).text("wrong-password").critical()
    monkeypatch.setattr(QApplication.instance(), "quit", lambda: None)
    page.encrypt_database()
    qtbot.waitUntil(lambda: bool(answers.texts("critical")), timeout=20000)  # the conversion runs off the GUI thread
    assert "用户名或密码不正确" in answers.texts("critical")[-1] and not is_encrypted(path)  # nothing changed
    page.ctx.store = Store.open(path)
    answers.question(yes=True).text("demo1234").information(times=2)
    quits = []
    monkeypatch.setattr(QApplication.instance(), "quit", lambda: quits.append(1))
    page.encrypt_database()
    assert page.encrypt_progress.isVisible()  # the window says what it is doing meanwhile
    qtbot.waitUntil(lambda: bool(quits), timeout=30000)
    assert "已加密" in answers.texts("information")[-1] and is_encrypted(path) and not page.encrypt_progress.isVisible()
    assert "恢复密钥" in answers.titles("information")[-2]  # shown once, before the app closes
    assert re.search(r"([2-9A-HJKMNP-Z]{5}-){4}[2-9A-HJKMNP-Z]{5}", answers.texts("information")[-2])
    st, actor = LocalDatabase(path).open("admin", "demo1234")
    st.close()
    assert actor.role == "community_admin"


def test_reindex_runs_in_the_background(qtbot, ui_ctx, community, answers):
    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    answers.information()
    page.reindex_button.click()
    assert not page.reindex_button.isEnabled()  # the window stays usable meanwhile
    qtbot.waitUntil(page.reindex_button.isEnabled, timeout=10000)
    assert answers.texts("information") == ["检索索引已重建。"]
