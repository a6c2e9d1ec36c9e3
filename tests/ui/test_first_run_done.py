"""The first-run issue's "done when", end to end through the widgets: a new user who never saw the
command line sets up a community with two grids and an admin in the assistant, adds a grid worker
(设置 → 本机用户), a building of 3 units × 6 floors × 2 rooms (地址与网格 → 新建 → 楼栋), registers a
household in it (整户登记) and syncs to a real `gridledger serve` process (同步). On a second, empty
laptop the grid worker joins that server through the assistant and finds the household after the
first sync. Only the server's own user administration (the office's side) uses the command line."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from tests.factories import id_number, years_ago
from tests.sync.harness import PASSWORD
from tests.ui.conftest import type_text
from tests.ui.test_first_run import click, finish, open_window

CODE = "620104001007"
GRID1 = CODE + "01"
HEAD = "陈建国"


@pytest.fixture
def server(tmp_path):
    """The office's `gridledger serve` over http on 127.0.0.1, with the admin as its user."""
    from tests.sync.harness import ServeProcess

    srv = ServeProcess(f"sqlite:///{tmp_path / 'server.db'}").start()
    try:
        srv.add_user("zhangli", "community_admin")
        yield srv
    finally:
        srv.kill()


def scripted(monkeypatch, cls, steps):
    """Replace a dialog's exec() with the user's clicks on it (the real dialog, its real buttons)."""
    def fake_exec(self):
        steps(self)
        return self.result()
    monkeypatch.setattr(cls, "exec", fake_exec)


def select(page, *labels):
    """Expand the area tree along labels (prefix match) and select the last one."""
    parent = page.model.invisibleRootItem()
    item = None
    for label in labels:
        found = [parent.child(r) for r in range(parent.rowCount()) if parent.child(r).text().startswith(label)]
        assert found, f"no “{label}” under {[parent.child(r).text() for r in range(parent.rowCount())]}"
        item = found[0]
        page.tree.expand(item.index())
        parent = item
    page.tree.setCurrentIndex(item.index())
    return item


def menu_action(button, text):
    [action] = [a for a in button.menu().actions() if a.text() == text]
    return action


def close_window(qtbot, win):
    """Close a laptop's window and let its jobs end before its database is closed."""
    from ui.workers import wait_all

    if win is not None:
        win.close()
        qtbot.wait(10)
    assert wait_all(10000)


def new_community(qtbot, wizard):
    """新建社区 in the assistant: the community, two grids, the admin."""
    click(qtbot, wizard.choice_buttons["create"])
    wizard._county_chosen(next(t for t in wizard.county_search.completer().model().stringList() if "西固区" in t))
    type_text(qtbot, wizard.street_no, "001")
    type_text(qtbot, wizard.street_name, "福利路街道")
    type_text(qtbot, wizard.community_no, "007")
    type_text(qtbot, wizard.community_name, "福利东社区")
    wizard.grid_count.setValue(2)
    assert wizard.community_code.text() == CODE
    click(qtbot, wizard.next_button)
    assert wizard.step == "admin", wizard.errors["create"].text()
    type_text(qtbot, wizard.admin_name, "张丽")
    type_text(qtbot, wizard.admin_user, "zhangli")
    type_text(qtbot, wizard.admin_password, PASSWORD)
    type_text(qtbot, wizard.admin_password2, PASSWORD)
    click(qtbot, wizard.next_button)
    finish(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted, wizard.errors["admin"].text()


@pytest.fixture
def closing():
    """The laptops' databases, kept until pytest-qt has closed the windows (this fixture comes
    before qtbot: torn down after it)."""
    stores: list = []
    yield stores
    from ui.workers import wait_all

    wait_all(10000)
    # left open: a page's refresh timer may still start a job while pytest-qt closes the windows,
    # and a job on a closed database would show the crash dialog in whichever test runs next
    stores.clear()


def test_a_new_community_from_the_app_alone_reaches_the_grid_workers_laptop(
        closing, qtbot, tmp_path, server, monkeypatch, answers):
    from desktop.services.users import Users
    from desktop.sync import replica
    from tests.sync.test_processes import gl
    from ui.first_run import FirstRunDialog
    from ui.forms import areas as areas_ui
    from ui.forms import users as users_ui
    from ui.forms.register import RegisterHouseholdDialog
    from ui.workers import wait_all

    # --- (a) the admin's laptop ---------------------------------------------------------------
    (tmp_path / "admin").mkdir()
    first = FirstRunDialog(tmp_path / "admin" / "gridledger.db")
    qtbot.addWidget(first)
    first.show()
    new_community(qtbot, first)
    store, actor = first.store, first.actor
    win = None
    try:
        win = open_window(qtbot, store, actor)

        # 设置 → 本机用户 → 新增用户: 李明, grid worker of 第1网格
        def user_form(form):
            type_text(qtbot, form.username, "liming")
            type_text(qtbot, form.display, "李明")
            labels = [form.grids.item(i).text() for i in range(form.grids.count())]
            assert labels == ["福利东社区 / 第1网格", "福利东社区 / 第2网格"]
            form.grids.item(0).setCheckState(Qt.CheckState.Checked)
            type_text(qtbot, form.password, PASSWORD)
            type_text(qtbot, form.again, PASSWORD)
            form.save()
            assert form.error.text() == ""

        def users_dialog(dialog):
            click(qtbot, dialog.add_button)
            assert "liming" in [u["username"] for u in dialog.rows]
            dialog.accept()

        scripted(monkeypatch, users_ui.UserForm, user_form)
        scripted(monkeypatch, users_ui.UsersDialog, users_dialog)
        settings = win.show_page("settings")
        click(qtbot, settings.users_button)
        [worker] = [u for u in Users(store, actor).list() if u["username"] == "liming"]
        assert worker["role"] == "grid_worker" and [n for _, n in worker["grids"]] == ["第1网格"]

        # 地址与网格 → 新建 → 小区, then 楼栋 of 3 units × 6 floors × 2 rooms
        areas = win.show_page("areas")
        select(areas, "福利东社区", "第1网格")

        def estate(d):
            type_text(qtbot, d.name, "幸福小区")
            d.save()

        def building(d):
            assert d.estate.currentText() == "幸福小区"  # from the selection in the tree
            type_text(qtbot, d.building, "3")
            d.units.setValue(3)
            d.floors.setValue(6)
            d.per_floor.setValue(2)
            assert d.note.text().startswith("将生成 36 个户室")
            d.save()

        scripted(monkeypatch, areas_ui.EstateDialog, estate)
        scripted(monkeypatch, areas_ui.BuildingDialog, building)
        menu_action(areas.new_button, "新建小区…").trigger()
        select(areas, "福利东社区", "第1网格", "幸福小区")
        menu_action(areas.new_button, "新建楼栋(批量生成户室)…").trigger()
        unit = select(areas, "福利东社区", "第1网格", "幸福小区", "3栋", "2单元")
        assert unit.rowCount() == 12

        # 整户登记 from the empty room 2单元301
        select(areas, "福利东社区", "第1网格", "幸福小区", "3栋", "2单元", "301室")

        def register(d):
            assert (d.estate.text(), d.building.text(), d.unit.text(), d.room.text()) == ("幸福小区", "3", "2", "301")
            type_text(qtbot, d.rows[0].name, HEAD)
            type_text(qtbot, d.rows[0].cert_no, id_number(years_ago(50)))
            type_text(qtbot, d.rows[0].phone, "13912345678")
            assert d.save() is True, d.message.text()
            registered.append(d.result_view)

        registered: list = []
        scripted(monkeypatch, RegisterHouseholdDialog, register)
        win.register_action.trigger()
        assert win.current_page() is win.page("household")
        [view] = registered
        assert view["address"]["full_text"] == "幸福小区3栋2单元301室"
        assert [m["name"] for m in view["members"]] == [HEAD]

        # 同步: the admin's laptop to the office's server
        sync = win.show_page("sync")
        assert sync.user.text() == "zhangli"
        type_text(qtbot, sync.url, server.url)
        type_text(qtbot, sync.password, PASSWORD)
        click(qtbot, sync.sync_button)
        qtbot.waitUntil(lambda: sync.job is None, timeout=60000)
        assert not sync.error.isVisibleTo(sync), sync.error.text()
        assert sync.stage.text().startswith("同步完成") and replica.pending_count(store) == 0
    finally:
        close_window(qtbot, win)
        closing.append(store)

    # the office gives 李明 a server account for 第1网格 (server administration, not the laptop)
    server.add_user("liming", "grid_worker")
    gl("server", "--database", server.db_url, "set-grids", "liming", GRID1)

    # --- (b) 李明's laptop: empty, joins through the assistant -----------------------------------
    (tmp_path / "worker").mkdir()
    join = FirstRunDialog(tmp_path / "worker" / "gridledger.db")
    qtbot.addWidget(join)
    join.show()
    click(qtbot, join.choice_buttons["join"])
    type_text(qtbot, join.join_url, server.url)
    type_text(qtbot, join.join_user, "liming")
    type_text(qtbot, join.join_password, PASSWORD)
    click(qtbot, join.next_button)
    finish(qtbot, join)
    assert join.result() == QDialog.DialogCode.Accepted, join.errors["join"].text()
    assert join.actor.username == "liming" and join.actor.role == "grid_worker"
    win = None
    try:
        from ui.context import AppContext
        from ui.main_window import MainWindow

        win = MainWindow(AppContext(join.store, join.actor))  # a grid worker's window opens on the plan
        qtbot.addWidget(win)
        win.show()
        wait_all(10000)
        people = win.show_page("person")
        qtbot.waitUntil(lambda: people.model.total == 1 and people.model.rowCount() == 1, timeout=20000)
        assert people.model.data(people.model.index(0, 0)) == HEAD
        # double-click the row: the household's page, with its room in the new building
        rect = people.view.visualRect(people.model.index(0, 0))
        qtbot.mouseClick(people.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(people.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        household = win.page("household")
        assert win.current_page() is household
        assert household.heading.text() == f"{HEAD}户 · 幸福小区3栋2单元301室"
    finally:
        close_window(qtbot, win)
        closing.append(join.store)
