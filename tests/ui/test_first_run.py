"""The first-run assistant, driven like a user: each way ends signed in on a complete database, and
every failure or cancel is one Chinese sentence and leaves no file behind. The join path runs
against a real `gridledger serve` process over http on 127.0.0.1.

GL_SCREENSHOTS=1 saves each step (1366×768) into docs/screenshots/first-run-*.png."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton

from desktop.services.session import LocalDatabase
from tests.ui.conftest import type_text

ROOT = Path(__file__).resolve().parents[2]


def shot(qtbot, widget, name: str) -> None:
    """The step as a user sees it (theme and Chinese font), for the README."""
    if not os.environ.get("GL_SCREENSHOTS"):
        return
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    app = QApplication.instance()
    sheet, font = app.styleSheet(), app.font()
    apply_theme(app)
    try:
        widget.resize(1366, 768)
        widget.show()
        qtbot.wait(50)
        widget.grab().save(str(ROOT / "docs" / "screenshots" / f"first-run-{name}.png"))
    finally:
        app.setStyleSheet(sheet)
        app.setFont(font)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def opened_files(folder: Path) -> list[str]:
    """The files of a database in use (its -wal and -shm beside it are SQLite's own)."""
    return [n for n in files_in(folder) if not n.endswith(("-wal", "-shm"))]


@pytest.fixture
def wizard(qtbot, tmp_path):
    from ui.first_run import FirstRunDialog

    folder = tmp_path / "laptop"
    folder.mkdir()
    dialog = FirstRunDialog(folder / "gridledger.db")
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    if dialog.store is not None:
        dialog.store.close()


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def finish(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: dialog.job is None, timeout=60000)


# --- 新建社区 ---------------------------------------------------------------------------------------

def test_a_new_community_from_the_division_table_encrypted_with_its_admin(qtbot, wizard):
    from desktop.services.areas import area_tree

    folder = wizard.db_path.parent
    shot(qtbot, wizard, "1-choose")
    click(qtbot, wizard.choice_buttons["create"])
    assert wizard.step == "create"
    # search a county by name, then the street and community typed; the code follows the parts
    wizard._county_chosen(next(t for t in wizard.county_search.completer().model().stringList() if "西固区" in t))
    assert wizard.county.currentData() == "620104" and wizard.province.currentText() == "甘肃省"
    type_text(qtbot, wizard.street_no, "001")
    type_text(qtbot, wizard.street_name, "福利路街道")
    type_text(qtbot, wizard.community_no, "00")
    click(qtbot, wizard.next_button)  # an 11-digit code: said, and the step stays
    assert wizard.step == "create" and "12 位数字" in wizard.errors["create"].text()
    type_text(qtbot, wizard.community_no, "7")
    assert wizard.community_code.text() == "620104001007" and "西固区" in wizard.county_label.text()
    click(qtbot, wizard.next_button)
    assert "社区名称" in wizard.errors["create"].text()
    type_text(qtbot, wizard.community_name, "福利东社区")
    wizard.grid_count.setValue(2)
    assert [wizard.grid_table.item(r, 0).text() for r in range(2)] == ["62010400100701", "62010400100702"]
    wizard.grid_table.item(1, 1).setText("福利东第二网格")
    wizard.grid_count.setValue(3)  # a renamed grid keeps its name when the count changes
    assert [wizard.grid_table.item(r, 1).text() for r in range(3)] == ["第1网格", "福利东第二网格", "第3网格"]
    shot(qtbot, wizard, "2-community")
    click(qtbot, wizard.next_button)
    assert wizard.step == "admin"
    type_text(qtbot, wizard.admin_name, "张丽")
    type_text(qtbot, wizard.admin_user, "zhangli")
    type_text(qtbot, wizard.admin_password, "abc")
    assert "太短" in wizard.strength_word.text()
    type_text(qtbot, wizard.admin_password, "DEF-2026x")
    assert wizard.strength.value() >= 3 and wizard.strength_word.text() in ("较强", "强")
    type_text(qtbot, wizard.admin_password2, "abcDEF-2026")
    click(qtbot, wizard.next_button)
    assert "两次输入的密码不一致" in wizard.errors["admin"].text() and files_in(folder) == []
    wizard.admin_password2.clear()
    type_text(qtbot, wizard.admin_password2, "abcDEF-2026x")
    shot(qtbot, wizard, "3-admin")
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted, wizard.errors["admin"].text()
    assert wizard.actor.username == "zhangli" and wizard.actor.role == "community_admin" and wizard.after == "start"
    assert opened_files(folder) == ["gridledger.db", "gridledger.db.keys"]  # nothing half-made beside it
    assert LocalDatabase(wizard.db_path).encrypted
    assert (wizard.db_path).read_bytes()[:16] != b"SQLite format 3\x00"
    with wizard.store.session() as s:
        tree = area_tree(s)
    assert [(g.code, g.name) for g in tree.grids()] == [
        ("62010400100701", "第1网格"), ("62010400100702", "福利东第二网格"), ("62010400100703", "第3网格")]
    assert tree.community_of(tree.grids()[0].id).name == "福利东社区"


def test_leaving_the_assistant_midway_makes_nothing(qtbot, wizard):
    click(qtbot, wizard.choice_buttons["create"])
    wizard._parts_from_code("620104001007")
    click(qtbot, wizard.back_button)
    assert wizard.step == "choose"
    click(qtbot, wizard.cancel_button)
    assert wizard.result() == QDialog.DialogCode.Rejected and wizard.store is None
    assert files_in(wizard.db_path.parent) == []


# --- 体验演示数据 ------------------------------------------------------------------------------------

def test_the_demo_street_signs_in_as_the_demo_admin(qtbot, wizard):
    from desktop.services.demo import is_demo

    click(qtbot, wizard.choice_buttons["demo"])
    wizard.demo_households.setValue(20)
    shot(qtbot, wizard, "5-demo")
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted, wizard.errors["demo"].text()
    assert wizard.actor.username == "admin" and is_demo(wizard.store)
    assert LocalDatabase(wizard.db_path).encrypted


def test_the_demo_can_be_cancelled_while_it_is_made(qtbot, wizard):
    click(qtbot, wizard.choice_buttons["demo"])
    wizard.demo_households.setValue(2000)
    click(qtbot, wizard.next_button)
    assert wizard.job is not None and wizard.cancel_button.isEnabled()
    click(qtbot, wizard.cancel_button)
    finish(qtbot, wizard)
    assert wizard.result() != QDialog.DialogCode.Accepted and "已取消" in wizard.errors["demo"].text()
    assert files_in(wizard.db_path.parent) == []
    assert wizard.next_button.isEnabled() and wizard.step == "demo"  # and can start again


# --- 从备份恢复 --------------------------------------------------------------------------------------

@pytest.fixture
def encrypted_backup(tmp_path):
    """A backup and its keyring from another laptop (a community made by the same service)."""
    from desktop.services import first_run
    from desktop.services.backup import backup_now

    old = tmp_path / "old" / "gridledger.db"
    first_run.create_community(old, first_run.CommunityPlan(
        "620104001007", "福利东社区", "福利路街道", tuple(first_run.suggested_grids("620104001007", 2))),
        first_run.AdminPlan("zhangli", "张丽", "abcDEF-2026x"))
    store, actor = LocalDatabase(old).open("zhangli", "abcDEF-2026x")
    try:
        backup = backup_now(store, actor)
    finally:
        store.close()
    return backup, old.with_name("gridledger.db.keys")


def test_a_backup_is_restored_verified_and_signed_in(qtbot, wizard, encrypted_backup, answers):
    from desktop.db.keys import backup_keyring_path

    backup, keys = encrypted_backup
    folder = wizard.db_path.parent
    click(qtbot, wizard.choice_buttons["restore"])
    answers.open_file(backup)
    click(qtbot, wizard.pick_backup)
    assert wizard.backup_file.text() == str(backup)
    type_text(qtbot, wizard.restore_user, "zhangli")
    type_text(qtbot, wizard.restore_password, "abcDEF-2026x")
    backup_keyring_path(backup).unlink()  # as if only the .db were copied from the old laptop
    click(qtbot, wizard.next_button)  # no keyring for an encrypted backup: said, nothing made
    finish(qtbot, wizard)
    assert "密钥文件" in wizard.errors["restore"].text() and files_in(folder) == []
    wizard.keyring_file.setText(str(keys))
    wizard.restore_password.clear()
    type_text(qtbot, wizard.restore_password, "wrong-password")
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert "用户名或密码不正确" in wizard.errors["restore"].text() and files_in(folder) == []
    wizard.restore_password.clear()
    type_text(qtbot, wizard.restore_password, "abcDEF-2026x")
    shot(qtbot, wizard, "4-restore")
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted, wizard.errors["restore"].text()
    assert wizard.actor.username == "zhangli"
    assert wizard.store.meta("restored_from") == backup.name
    assert [n for n in opened_files(folder) if n != "backups"] == ["gridledger.db", "gridledger.db.keys"]


# --- 加入社区服务器 (a real server process) ----------------------------------------------------------

@pytest.fixture(scope="module")
def community_server(tmp_path_factory):
    """`gridledger serve` over http on 127.0.0.1 holding a small demo street, with a grid worker."""
    from tests.sync.harness import ServeProcess, demo_file, sync
    from tests.sync.test_processes import gl

    folder = tmp_path_factory.mktemp("server")
    srv = ServeProcess(f"sqlite:///{folder / 'server.db'}").start()
    try:
        srv.add_user("admin", "community_admin")
        office = demo_file(folder / "office.db", 30, 3)
        from desktop.services.store import Store

        store = Store.open(office)
        try:
            sync(store, srv.url, "admin")
            with store.engine.connect() as c:
                grid = c.exec_driver_sql("SELECT code FROM area WHERE level = 'grid' ORDER BY code").scalar()
        finally:
            store.close()
        srv.add_user("wgy101", "grid_worker", grids=grid)
        srv.add_user("left01", "grid_worker", grids=grid)
        gl("server", "--database", srv.db_url, "disable-user", "left01")
        yield srv, grid
    finally:
        srv.kill()


def test_joining_the_community_server_encrypts_first_and_signs_in(qtbot, wizard, community_server):
    from tests.sync.harness import PASSWORD

    srv, grid = community_server
    folder = wizard.db_path.parent
    click(qtbot, wizard.choice_buttons["join"])
    # nothing listens on this port: one sentence with what to do, and no file
    type_text(qtbot, wizard.join_url, "127.0.0.1:9")
    type_text(qtbot, wizard.join_user, "wgy101")
    type_text(qtbot, wizard.join_password, PASSWORD)
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    text = wizard.errors["join"].text()
    assert "无法连接服务器" in text and "检查服务器地址" in text and "Traceback" not in text
    assert files_in(folder) == []
    assert "未加密连接" in wizard.fingerprint.text()  # http: said, with the warning
    # the right server, a wrong password
    wizard.join_url.clear()
    type_text(qtbot, wizard.join_url, srv.url)
    wizard.join_password.clear()
    type_text(qtbot, wizard.join_password, "not-the-password")
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert "用户名或密码不正确" in wizard.errors["join"].text() and files_in(folder) == []
    wizard.join_password.clear()
    type_text(qtbot, wizard.join_password, PASSWORD)
    shot(qtbot, wizard, "6-join")
    seen: list[str] = []
    wizard.progress.valueChanged.connect(lambda _v: seen.append(wizard.stage.text()))
    click(qtbot, wizard.next_button)
    assert wizard.job is not None and wizard.progress.isVisible() and wizard.cancel_button.isEnabled()
    shot(qtbot, wizard, "6c-first-sync")
    finish(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted, wizard.errors["join"].text()
    assert wizard.actor.username == "wgy101" and wizard.actor.role == "grid_worker"
    assert opened_files(folder) == ["gridledger.db", "gridledger.db.keys"]
    assert LocalDatabase(wizard.db_path).encrypted and wizard.db_path.read_bytes()[:6] != b"SQLite"
    with wizard.store.engine.connect() as c:
        people = c.exec_driver_sql("SELECT count(*) FROM person").scalar()
        grids = {r[0] for r in c.exec_driver_sql(
            "SELECT DISTINCT a.code FROM person p JOIN area a ON a.id = p.grid_id")}
    assert people > 0 and grids == {grid}  # their grid arrived, and only theirs
    assert wizard.store.meta("sync_server_url") == srv.url


def test_a_disabled_user_and_a_web_server_that_is_no_sync_server_are_each_one_sentence(tmp_path, community_server):
    import http.server
    import threading

    from desktop.sync.client import SyncError
    from desktop.sync.join import join_server
    from tests.sync.harness import PASSWORD

    srv, _grid = community_server
    db = tmp_path / "laptop" / "gridledger.db"
    with pytest.raises(SyncError) as refused:
        join_server(db, srv.url, "left01", PASSWORD)
    assert str(refused.value) == "服务器拒绝了加入:用户“left01”已停用,请联系社区管理员。本机没有留下任何文件。"
    assert files_in(db.parent) == []
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(SyncError, match="不是网格台账同步服务器"):
            join_server(db, f"http://127.0.0.1:{web.server_address[1]}", "wgy101", PASSWORD)
    finally:
        web.shutdown()
        web.server_close()
    assert files_in(db.parent) == []
    with pytest.raises(SyncError, match="服务器地址不正确"):
        join_server(db, "ftp://sync", "wgy101", PASSWORD)


def test_a_cancelled_first_sync_leaves_nothing(qtbot, wizard, community_server):
    from tests.sync.harness import PASSWORD

    srv, _grid = community_server
    click(qtbot, wizard.choice_buttons["join"])
    type_text(qtbot, wizard.join_url, srv.url)
    type_text(qtbot, wizard.join_user, "wgy101")
    type_text(qtbot, wizard.join_password, PASSWORD)
    wizard.check_server()
    click(qtbot, wizard.next_button)
    assert wizard.job is not None and wizard.cancel_button.isEnabled()
    click(qtbot, wizard.cancel_button)
    finish(qtbot, wizard)
    if wizard.result() == QDialog.DialogCode.Accepted:  # the sync beat the click: it did finish
        pytest.skip("the first sync finished before the cancel arrived")
    assert "已取消" in wizard.errors["join"].text()
    assert files_in(wizard.db_path.parent) == []


# --- the app: an empty laptop opens the assistant, never the sign-in dialog -------------------------

def test_the_app_on_an_empty_laptop_shows_the_assistant_and_makes_nothing_when_left(tmp_path, monkeypatch):
    from ui import app as app_module
    from ui import first_run as wizard_module

    shown: list[Path] = []

    def leave(self) -> int:
        shown.append(self.db_path)
        assert "gridledger" not in " ".join(label.text() for label in self.findChildren(type(self.stage)))
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(wizard_module.FirstRunDialog, "exec", leave)
    db = tmp_path / "new" / "gridledger.db"
    code = app_module.main(argparse.Namespace(db=str(db), user=None, password_stdin=False, quit_after=None))
    assert code == 0 and shown == [db] and not db.parent.exists()


def test_the_sign_in_dialog_without_users_offers_the_assistant(qtbot, store):
    from ui.signin import SignInDialog

    dialog = SignInDialog(store)
    qtbot.addWidget(dialog)
    assert "首次使用向导" in dialog.error.text() and "gridledger" not in dialog.error.text()
    [button] = [b for b in dialog.findChildren(QPushButton) if b.text() == "首次使用向导…"]
    click(qtbot, button)
    assert dialog.wants_first_run and dialog.result() == QDialog.DialogCode.Rejected


# --- after the assistant: the start page's checklist, empty states, the demo banner ------------------

def open_window(qtbot, store, actor):
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.workers import wait_all

    win = MainWindow(AppContext(store, actor))
    qtbot.addWidget(win)
    win.show()
    wait_all()
    qtbot.waitUntil(lambda: win.page("home").data is not None, timeout=20000)
    return win


def test_a_new_communitys_start_page_ticks_its_checklist_from_the_data(qtbot, tmp_path, answers):
    from desktop.services import first_run
    from desktop.services.users import Users

    db = tmp_path / "gridledger.db"
    code = "620104001007"
    first_run.create_community(db, first_run.CommunityPlan(code, "福利东社区", "福利路街道",
                                                           tuple(first_run.suggested_grids(code, 2))),
                               first_run.AdminPlan("zhangli", "张丽", "abcDEF-2026x"))
    store, actor = LocalDatabase(db).open("zhangli", "abcDEF-2026x")
    try:
        win = open_window(qtbot, store, actor)
        home = win.page("home")
        assert home.checklist.isVisible() and "还有 5 项" in home.checklist.title()
        assert win.demo_banner is None and "演示" not in win.windowTitle()
        shot(qtbot, win, "7-start")
        # the encrypted new community's first step: a recovery key, shown once for the office safe
        answers.text("abcDEF-2026x").information()
        click(qtbot, home.checklist.findChild(QPushButton, "step-recovery"))
        shown = answers.texts("information")
        assert len(shown) == 1 and re.search(r"[2-9A-Z]{5}(-[2-9A-Z]{5}){4}", shown[0]), shown
        win.page("home").data_changed()
        win.show_page("home")
        qtbot.waitUntil(lambda: "还有 4 项" in home.checklist.title(), timeout=20000)
        grid = next(iter(Users(store, actor).grid_choices()))[0]
        Users(store, actor).create("wgy101", "李明", "grid_worker", "secret-123", grid_ids=[grid])
        win.data_changed()
        qtbot.waitUntil(lambda: "还有 3 项" in home.checklist.title(), timeout=20000)
        buttons = {b.objectName() for b in home.checklist.findChildren(QPushButton)}
        assert buttons == {"step-buildings", "step-import", "step-server"}
        click(qtbot, home.checklist.findChild(QPushButton, "step-server"))
        assert win.current_page() is win.page("sync")
        sync = win.page("sync")
        assert sync.first_box.isVisible() and "还没有同步过" in sync.first_hint.text()
        click(qtbot, sync.first_button)  # the address is empty: the cursor goes there, said in a sentence
        assert "请先填写服务器地址" in sync.error.text() and sync.job is None
        shot(qtbot, win, "9-sync-never-used")
        people = win.show_page("person")
        qtbot.waitUntil(lambda: people.empty_box.isVisible(), timeout=20000)
        assert "还没有人员记录" in people.empty.text() and people.empty_import.isVisible()
        shot(qtbot, win, "10-empty-list")
    finally:
        from ui.workers import wait_all

        wait_all()
        store.close()


def test_a_start_page_without_grids_says_where_to_make_them(qtbot, store, admin):
    win = open_window(qtbot, store, admin)
    home = win.page("home")
    assert home.empty_box.isVisible() and "还没有网格" in home.empty.text()
    click(qtbot, home.empty_button)
    assert win.current_page() is win.page("areas")


def test_the_demo_street_carries_a_banner(qtbot, tmp_path):
    from desktop.services import first_run
    from desktop.services.auth import actor_for
    from desktop.services.demo import DEMO_MARK
    from desktop.services.store import Store

    db = tmp_path / "demo.db"
    first_run.make_demo(db, households=12, encrypt=False)
    store = Store.open(db)
    try:
        win = open_window(qtbot, store, actor_for(store, "admin"))
        assert win.demo_banner is not None and DEMO_MARK in win.demo_banner.text()
        assert "【演示数据】" in win.windowTitle() and not win.page("home").checklist.isVisible()
        shot(qtbot, win, "8-demo-window")
    finally:
        from ui.workers import wait_all

        wait_all()
        store.close()



@pytest.fixture
def tls_server(tmp_path):
    from tests.sync.test_trust import tls_listener

    with tls_listener(tmp_path) as server:
        yield server


def test_an_https_server_shows_its_fingerprint_to_compare_before_joining(qtbot, wizard, tls_server):
    from desktop.sync import trust

    url, expected = tls_server
    click(qtbot, wizard.choice_buttons["join"])
    type_text(qtbot, wizard.join_url, url)
    type_text(qtbot, wizard.join_user, "wgy101")
    type_text(qtbot, wizard.join_password, "secret-123")
    click(qtbot, wizard.check_button)
    qtbot.waitUntil(lambda: wizard.fingerprint_ok.isVisibleTo(wizard), timeout=10000)
    assert trust.format_fingerprint(expected) in wizard.fingerprint.text()
    shot(qtbot, wizard, "6b-fingerprint")
    click(qtbot, wizard.next_button)  # not compared yet: said, nothing started, nothing made
    assert wizard.job is None and "核对服务器证书指纹" in wizard.errors["join"].text()
    assert files_in(wizard.db_path.parent) == []


# --- the app end to end: the assistant, then the main window -------------------------------------------

def test_the_app_makes_a_community_through_the_assistant_and_offers_the_import(qtbot, tmp_path, monkeypatch):
    from ui import app as app_module
    from ui import first_run as wizard_module

    def drive(self) -> int:  # the user's clicks on the real dialog, as exec() would take them
        self.show()
        click(qtbot, self.choice_buttons["create"])
        self._parts_from_code("620104001007")
        type_text(qtbot, self.community_name, "福利东社区")
        click(qtbot, self.next_button)
        type_text(qtbot, self.admin_name, "张丽")
        type_text(qtbot, self.admin_user, "zhangli")
        type_text(qtbot, self.admin_password, "abcDEF-2026x")
        type_text(qtbot, self.admin_password2, "abcDEF-2026x")
        click(qtbot, self.next_button)
        finish(qtbot, self)
        return self.result()

    offered: list = []
    monkeypatch.setattr(wizard_module.FirstRunDialog, "exec", drive)
    monkeypatch.setattr(app_module, "offer_import", lambda window: offered.append(window))
    db = tmp_path / "new" / "gridledger.db"
    code = app_module.main(argparse.Namespace(db=str(db), user=None, password_stdin=False, quit_after=1500))
    assert code == 0 and len(offered) == 1 and offered[0].ctx.actor.username == "zhangli"
    assert LocalDatabase(db).users() == [("zhangli", "张丽", "community_admin")]


def test_the_import_offer_opens_the_import_wizard(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from ui.app import offer_import

    class Window(QMainWindow):
        imported: list[str] = []

        def import_excel(self, kind: str) -> bool:
            self.imported.append(kind)
            return True

    win = Window()
    qtbot.addWidget(win)
    box = offer_import(win)
    [button] = [b for b in box.buttons() if b.text() == "从 Excel 导入…"]
    click(qtbot, button)
    qtbot.waitUntil(lambda: win.imported == ["person"], timeout=5000)
