"""The 同步 page against a real sync server in this process: one-click sync with progress, the
failures a user meets (wrong password, no server, cancel), bundles, and the supervisor's
conflict review (a real clash made by two laptops, settled with one click)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox

from desktop.services.auth import actor_for
from desktop.services.demo import generate
from desktop.services.records import Records
from desktop.services.store import Store
from desktop.sync import replica
from server import service
from server.bundle_import import import_bundle
from server.store import Scope
from tests.sync.harness import PASSWORD, StallingProxy, ThreadServer, free_port, person_in, sync
from tests.ui.conftest import type_text
from ui.workers import wait_all

ROOT = Path(__file__).resolve().parents[2]
JOB_TIMEOUT = 60000


@pytest.fixture
def server(tmp_path):
    srv = ThreadServer(f"sqlite:///{tmp_path / 'server.db'}").start()
    srv.add_user("wgz001", "supervisor")
    yield srv
    wait_all(10000)  # no job may still talk to it
    srv.stop()


@pytest.fixture
def laptop(tmp_path):
    store = Store.open(tmp_path / "laptop.db", create=True)
    generate(store, households=60, seed=2)
    yield store
    wait_all(10000)
    store.close()


def grid_ids(store):
    with store.engine.connect() as c:
        return [r[0] for r in c.exec_driver_sql("SELECT id FROM area WHERE level = 'grid' ORDER BY code")]


def open_page(qtbot, store, username):
    from ui.context import AppContext
    from ui.pages.sync import SyncPage

    page = SyncPage(AppContext(store, actor_for(store, username)))
    qtbot.addWidget(page)
    page.resize(1190, 820)
    page.show()
    return page


def finish(qtbot, page):
    qtbot.waitUntil(lambda: page.job is None, timeout=JOB_TIMEOUT)


def click_sync(qtbot, page):
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    assert (page.job is not None, page.sync_button.isEnabled(), page.cancel_button.isEnabled()) == (True, False, True)
    finish(qtbot, page)


def fill(qtbot, page, url, password=PASSWORD):
    page.url.clear()
    qtbot.keyClicks(page.url, url)
    page.password.clear()
    qtbot.keyClicks(page.password, password)


def test_one_click_sync_sends_everything(qtbot, server, laptop):
    before = replica.pending_count(laptop)
    assert before > 0
    page = open_page(qtbot, laptop, "wgz001")
    assert page.user.text() == "wgz001"  # the signed-in user by default
    assert f"待上传的修改:{before} 条" in page.waiting.text()
    assert "人员" in page.waiting_kinds.text() and "户" in page.waiting_kinds.text()
    assert "还没有与服务器同步过" in page.last.text()
    fill(qtbot, page, server.url)
    stages = []
    page.progressed.connect(lambda _done, _total, stage: stages.append(stage))
    click_sync(qtbot, page)
    assert not page.error.isVisibleTo(page), page.error.text()
    assert page.stage.text().startswith("同步完成")  # still there after the conflict list came back
    assert page.review.review_count.text() == "没有待处理的冲突"  # a supervisor's list is fetched after a sync
    assert any("上传修改" in s for s in stages)  # progress reached the page while it ran
    assert f"已上传 {before} 条修改:已应用 {before}" in page.result.text()
    assert "已下载" in page.result.text() and "人员" not in page.result.text()  # the table beside names the kinds
    rows = {page.result_table.item(r, 0).text(): (page.result_table.item(r, 1).text(), page.result_table.item(r, 2).text())
            for r in range(page.result_table.rowCount())}
    assert rows["人员"][0] == rows["人员"][1] and int(rows["人员"][0]) > 0  # sent, then pulled back
    assert replica.pending_count(laptop) == 0 and "无" in page.waiting.text()
    assert "上次同步:" in page.last.text() and "还没有" not in page.last.text()
    assert laptop.meta("sync_server_url") == server.url  # remembered for next time
    assert (page.password.text(), page.sync_button.isEnabled(), page.cancel_button.isEnabled()) == (PASSWORD, True, False)
    # the password is never stored in plain text, neither in the database nor in the settings
    with laptop.engine.connect() as c:
        assert not [v for (v,) in c.exec_driver_sql("SELECT value FROM local_meta") if v and PASSWORD in v]
    settings = page.ctx.settings
    assert not [k for k in settings.allKeys() if PASSWORD in str(settings.value(k))]
    # a second page on the same file starts with the remembered address
    again = open_page(qtbot, laptop, "wgz001")
    assert again.url.text() == server.url and again.password.text() == ""
    assert "已上传" in again.result.text()


def test_wrong_password_says_so_and_keeps_what_was_typed(qtbot, server, laptop):
    before = replica.pending_count(laptop)
    page = open_page(qtbot, laptop, "wgz001")
    fill(qtbot, page, server.url, "wrong-password")
    click_sync(qtbot, page)
    assert page.error.isVisibleTo(page) and "用户名或密码不正确" in page.error.text()
    assert page.password.text() == "wrong-password"  # retype only what is wrong
    assert page.sync_button.isEnabled() and replica.pending_count(laptop) == before
    # fix the password: the same page now syncs
    page.password.clear()
    qtbot.keyClicks(page.password, PASSWORD)
    click_sync(qtbot, page)
    assert not page.error.isVisibleTo(page) and replica.pending_count(laptop) == 0


def test_unreachable_server_and_missing_input(qtbot, laptop):
    page = open_page(qtbot, laptop, "wgz001")
    page.password.clear()
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    assert page.job is None and "服务器地址" in page.error.text()
    port = free_port()  # nothing listens there
    fill(qtbot, page, f"127.0.0.1:{port}", "")
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    assert page.job is None and "密码" in page.error.text()
    qtbot.keyClicks(page.password, PASSWORD)
    click_sync(qtbot, page)
    assert page.url.text() == f"http://127.0.0.1:{port}"  # a bare address gets its scheme
    assert page.error.isVisibleTo(page) and "无法连接服务器" in page.error.text()
    assert page.sync_button.isEnabled() and page.password.text() == PASSWORD
    assert replica.pending_count(laptop) > 0 and laptop.meta("sync_server_url") is None


def test_cancel_leaves_nothing_half_done(qtbot, server, laptop):
    """The sync is held on its first request (a proxy that lets nothing through until released),
    so the cancel always lands while it runs: no race with a quick sync."""
    before = replica.pending_count(laptop)
    assert before > 0
    page = open_page(qtbot, laptop, "wgz001")
    proxy = StallingProxy(server.port)
    try:
        fill(qtbot, page, proxy.url)
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
        assert proxy.first_seen.wait(60), "the sync never reached the server"
        assert page.cancel_button.isEnabled()
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
        assert page.stage.text() == "正在取消…(已完成的部分会保存)"
        proxy.release()
        finish(qtbot, page)
    finally:
        proxy.close()
    assert page.error.isVisibleTo(page)
    assert "已取消" in page.error.text(), page.error.text()
    assert replica.pending_count(laptop) == before  # nothing was sent
    assert f"待上传的修改:{before} 条" in page.waiting.text(), page.waiting.text()
    assert page.sync_button.isEnabled()
    assert not page.cancel_button.isEnabled()
    assert not page.progress.isVisible()
    fill(qtbot, page, server.url)
    click_sync(qtbot, page)  # the page is usable again, and the next sync finishes the work
    assert not page.error.isVisibleTo(page), page.error.text()
    assert replica.pending_count(laptop) == 0


def test_the_page_and_a_command_line_sync_at_once(qtbot, server, laptop, tmp_path):
    """A `gridledger sync` of the same file is running (a real process, held midway): the page
    says so and changes nothing, neither by sync nor by bundle; afterwards both work and the
    laptop is still the one device it was."""
    import subprocess
    import sys

    proxy = StallingProxy(server.port)
    cli = subprocess.Popen(
        [str(Path(sys.executable).parent / "gridledger"), "--db", str(laptop.path), "sync", "--server", proxy.url,
         "--user", "wgz001", "--password-stdin", "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        cli.stdin.write(PASSWORD + "\n")
        cli.stdin.close()
        assert proxy.first_seen.wait(120)
        before = replica.pending_count(laptop)
        page = open_page(qtbot, laptop, "wgz001")
        fill(qtbot, page, server.url)
        click_sync(qtbot, page)
        assert page.error.isVisibleTo(page)
        assert "正在同步" in page.error.text() and "laptop.db" in page.error.text(), page.error.text()
        assert page.sync_button.isEnabled() and replica.pending_count(laptop) == before
        page.export_bundle(tmp_path / "out.glb")
        finish(qtbot, page)
        assert "未导出同步包" in page.bundle_state.text() and "正在同步" in page.bundle_state.text()
        assert not (tmp_path / "out.glb").exists()
        proxy.release()
        assert cli.wait(300) == 0, cli.stderr.read()
        device = laptop.meta("sync_device_id")
        assert device and replica.pending_count(laptop) == 0
        click_sync(qtbot, page)
        assert not page.error.isVisibleTo(page), page.error.text()
        assert laptop.meta("sync_device_id") == device and laptop.meta("sync_predecessor") is None
    finally:
        proxy.close()
        if cli.poll() is None:
            cli.kill()
            cli.wait(10)
        cli.stderr.close()


def test_bundles_out_and_back(qtbot, server, laptop, tmp_path, answers):
    page = open_page(qtbot, laptop, "wgz001")
    out = tmp_path / "wgz001-1201.glb"
    answers.save_file(out)
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert page.bundle_state.text().startswith("未导出同步包:本机尚未在服务器登记") and not out.exists()  # never synced: refused
    sync(laptop, server.url, "wgz001")  # enrolled once online
    grid = grid_ids(laptop)[0]
    pid = person_in(laptop, grid)[0]
    Records(laptop, actor_for(laptop, "wgz001")).update("person", pid, {"occupation": "快递员"})
    page.refresh_status()
    assert "待上传的修改:1 条" in page.waiting.text()
    answers.save_file(out)
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert answers.titles("save_file") == ["导出同步包", "导出同步包"]
    assert out.exists() and "修改 1 条" in page.bundle_state.text(), page.bundle_state.text()
    reply = tmp_path / "wgz001-1201-回执.glb"
    import_bundle(server.store, out, reply)
    answers.open_file(reply)
    with qtbot.waitSignal(page.synced, timeout=JOB_TIMEOUT):
        qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert "服务器已处理 1 条修改:已应用 1" in page.bundle_state.text(), page.bundle_state.text()
    assert replica.pending_count(laptop) == 0 and "无" in page.waiting.text()
    # the laptop's own bundle is not a reply: refused whole, with the reason
    page.import_reply(out)
    finish(qtbot, page)
    assert page.bundle_state.text().startswith("未导入回执包:签名无效"), page.bundle_state.text()
    assert replica.pending_count(laptop) == 0
    assert page.import_button.isEnabled()


def test_grid_worker_sees_no_conflict_review(qtbot, laptop):
    page = open_page(qtbot, laptop, "wgy001")
    assert page.review is None and page.user.text() == "wgy001"
    assert not [g for g in page.findChildren(QGroupBox) if g.title() == "冲突审核"]
    assert page.refresh_conflicts() is None


@pytest.fixture
def worker(server, laptop, tmp_path):
    """The supervisor's laptop (the demo file) synced once; a grid worker's laptop holding grid 1."""
    sync(laptop, server.url, "wgz001")
    grid = grid_ids(laptop)[0]
    server.add_user("wgy001", "grid_worker", [grid])
    other = Store.open(tmp_path / "worker.db", create=True)
    sync(other, server.url, "wgy001")
    yield grid, other
    wait_all(10000)
    other.close()


@pytest.fixture
def clash(server, laptop, worker):
    """Both laptops edited the same person's occupation and employer; the worker synced first,
    the supervisor later (and so won)."""
    grid, other = worker
    pid, name, _phone, occupation, employer = person_in(laptop, grid)
    Records(other, actor_for(other, "wgy001")).update("person", pid, {"occupation": "厨师", "employer": "兰州饭店"})
    Records(laptop, actor_for(laptop, "wgz001")).update("person", pid, {"occupation": "司机", "employer": "公交公司"})
    sync(other, server.url, "wgy001")
    res = sync(laptop, server.url, "wgz001")
    assert res.push_status.get("conflict") == 1
    return {"pid": pid, "name": name, "occupation": occupation, "employer": employer, "other": other}


def test_supervisor_settles_a_conflict_in_one_click(qtbot, server, laptop, clash, tmp_path):
    page = open_page(qtbot, laptop, "wgz001")
    assert page.review is not None
    page.refresh_conflicts()
    assert page.job is None and "密码" in page.review.review_state.text()  # nothing to sign in with yet
    fill(qtbot, page, server.url)
    qtbot.mouseClick(page.review.refresh_button, Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    t = page.review.conflict_table
    assert t.rowCount() == 2, page.review.review_state.text()
    rows = [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]
    assert {r[3] for r in rows} == {"职业", "工作单位"}
    assert [(r[0], r[1], clash["name"] in r[2]) for r in rows] == [("字段冲突", "人员", True)] * len(rows)
    assert "待处理的冲突:2 条" in page.review.review_count.text()
    occ_row = next(i for i, r in enumerate(rows) if r[3] == "职业")
    t.selectRow(occ_row)
    assert page.current_conflict()["fields"] == ["occupation"]
    v = page.review.values_table
    assert [v.item(0, c).text() for c in range(4)] == ["职业", clash["occupation"] or "(空)", "厨师", "司机"]
    assert "wgy001" in page.review.server_who.text() and "wgz001" in page.review.client_who.text()
    assert "当前生效" in page.review.client_who.text()
    buttons = page.review.choice_buttons
    assert [k for k, b in buttons.items() if b.isVisibleTo(page)] == ["server", "client", "custom"]
    assert page.review.custom_edits["occupation"].text() == "司机"
    if os.environ.get("GL_SCREENSHOTS"):
        save_screenshot(qtbot, page, ROOT / "docs" / "screenshots" / "09-sync.png")

    qtbot.mouseClick(buttons["server"], Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert "已处理:保留服务器值" in page.review.review_state.text() and "同步" in page.review.review_state.text()
    assert t.rowCount() == 1 and page.current_conflict()["fields"] == ["employer"]
    # the other one with a value typed by the supervisor
    edit = page.review.custom_edits["employer"]
    edit.clear()
    type_text(qtbot, edit, "兰州公交集团")
    qtbot.mouseClick(buttons["custom"], Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert t.rowCount() == 0 and "没有待处理的冲突" in page.review.review_count.text()
    assert not page.review.detail.isVisibleTo(page)

    sup = Scope("wgz001", "supervisor", None)
    assert service.list_conflicts(server.store, sup, "open") == []
    done = {tuple(c["fields"]): c for c in service.list_conflicts(server.store, sup, "resolved")}
    assert done[("occupation",)]["resolution"]["choice"] == "server"
    assert done[("employer",)]["resolution"] == {"choice": "custom", "values": {"employer": "兰州公交集团"}}
    assert done[("occupation",)]["resolved_by"] == "wgz001"
    # one sync and the laptop holds the decision; the worker's laptop too
    click_sync(qtbot, page)
    assert not page.error.isVisibleTo(page), page.error.text()
    person = Records(laptop, actor_for(laptop, "wgz001")).get("person", clash["pid"])
    assert (person["occupation"], person["employer"]) == ("厨师", "兰州公交集团")
    other = clash["other"]
    sync(other, server.url, "wgy001")
    person = Records(other, actor_for(other, "wgy001")).get("person", clash["pid"])
    assert (person["occupation"], person["employer"]) == ("厨师", "兰州公交集团")


def test_delete_against_edit_and_a_refused_change(qtbot, server, laptop, worker):
    grid, other = worker
    pid, name = person_in(laptop, grid)[:2]
    Records(laptop, actor_for(laptop, "wgz001")).delete("person", pid)
    sync(laptop, server.url, "wgz001")
    mine = Records(other, actor_for(other, "wgy001"))
    mine.update("person", pid, {"occupation": "厨师"})  # the worker has not heard of the delete
    # areas are the supervisor's: the app refuses this edit to a grid worker, so write it the way an
    # old or altered client would (the change log still captures it); the server refuses it too
    with other.engine.begin() as c:
        c.exec_driver_sql("UPDATE area SET note = '网格员的备注', version = version + 1 WHERE id = ?", (grid,))
    res = sync(other, server.url, "wgy001")
    assert res.push_status == {"conflict": 1, "rejected": 1}
    page = open_page(qtbot, laptop, "wgz001")
    fill(qtbot, page, server.url)
    page.refresh_conflicts()
    finish(qtbot, page)
    t = page.review.conflict_table
    rows = [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]
    assert [r[:2] for r in rows] == [["删除与修改冲突", "人员"], ["被拒绝的修改", "区域"]]
    assert rows[0][2] == f"{name}(已删除)" and rows[0][3] == "职业"
    assert rows[1][2] == "第1网格" and rows[1][3] == "备注"
    t.selectRow(0)
    visible = [k for k, b in page.review.choice_buttons.items() if b.isVisibleTo(page)]
    assert visible == ["delete", "restore"] and not page.review.custom_box.isVisibleTo(page)
    assert "已被删除" in page.review.detail_reason.text()
    assert page.review.values_table.item(0, 3).text() == "厨师" and "wgy001" in page.review.client_who.text()
    qtbot.mouseClick(page.review.choice_buttons["restore"], Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert t.rowCount() == 1, page.review.review_state.text()  # (the message says why, if the server refused)
    assert page.current_conflict()["kind"] == "rejected"
    v = page.review.values_table
    assert [v.horizontalHeaderItem(c).text() for c in range(4)] == ["字段", "修改前", "修改为", "服务器现值"]
    assert [v.item(0, c).text() for c in range(4)] == ["备注", "(空)", "网格员的备注", "(空)"]
    assert [k for k, b in page.review.choice_buttons.items() if b.isVisibleTo(page)] == ["apply", "discard"]
    qtbot.mouseClick(page.review.choice_buttons["apply"], Qt.MouseButton.LeftButton)
    finish(qtbot, page)
    assert t.rowCount() == 0 and "采纳该修改" in page.review.review_state.text()
    click_sync(qtbot, page)
    with laptop.engine.connect() as c:
        assert c.exec_driver_sql("SELECT deleted_at, occupation FROM person WHERE id = ?", (pid,)).one() == (None, "厨师")
        assert c.exec_driver_sql("SELECT note FROM area WHERE id = ?", (grid,)).scalar() == "网格员的备注"


def test_a_typed_value_that_does_not_fit_is_refused_before_sending(qtbot, server, laptop, clash):
    from desktop.sync.conflict_view import field_label, parse_value

    assert field_label("person", "name_py") == "姓名拼音" and field_label("person", "occupation") == "职业"
    assert parse_value("person", "gender", "女") == "2"
    assert parse_value("person", "birth_date", "1990/01/02") == "1990-01-02"
    assert parse_value("house", "area_m2", "") is None
    with pytest.raises(ValueError, match="性别"):
        parse_value("person", "gender", "不知道")
    with pytest.raises(ValueError, match="建筑面积"):
        parse_value("house", "area_m2", "很大")
    page = open_page(qtbot, laptop, "wgz001")
    fill(qtbot, page, server.url)
    page.refresh_conflicts()
    finish(qtbot, page)
    page.review.custom_edits[page.current_conflict()["fields"][0]].setText("x" * 5000)
    assert page.resolve("custom") is None and "格式不正确" in page.review.review_state.text()
    assert page.review.conflict_table.rowCount() == 2


def test_the_main_window_lists_the_page(qtbot, laptop):
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.pages.sync import SyncPage

    win = MainWindow(AppContext(laptop, actor_for(laptop, "wgy001")))
    qtbot.addWidget(win)
    titles = [win.sidebar.item(i).text() for i in range(win.sidebar.count())]
    assert titles.index("同步") == titles.index("设置") - 1
    page = win.show_page("sync")
    assert isinstance(page, SyncPage) and page.review is None


def save_screenshot(qtbot, page, path: Path) -> None:
    """The page as a user sees it (theme and Chinese font), for the docs."""
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    app = QApplication.instance()
    sheet, font = app.styleSheet(), app.font()
    apply_theme(app)
    try:
        page.resize(1190, 820)
        qtbot.wait(50)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert page.grab().save(str(path))
    finally:
        app.setStyleSheet(sheet)
        app.setFont(font)
