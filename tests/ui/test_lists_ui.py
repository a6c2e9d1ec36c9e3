"""List pages offscreen: count label, filters, model checks, opening a record, lazy loading, reveal."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop import kinds
from desktop.services.demo import generate
from desktop.services.households import Households
from desktop.services.lists import Lists
from desktop.services.store import Actor, Store
from ui.context import AppContext
from ui.item_models.record_table import ID_ROLE, RecordTableModel
from ui.pages.lists import ListPage
from ui.workers import wait_all


@pytest.fixture
def town(store, admin, community):
    h = Households(store, admin)
    h.register(grid_id=community.grid1["id"], address={"estate": "幸福小区", "building": "3", "room": "501"},
               members=[community.member("张三丰", 61, phone="13812345678"),
                        community.member("李娜", 30, "2", relation="10")])
    h.register(grid_id=community.grid2["id"], address={"estate": "和平家园", "building": "1", "room": "101"},
               members=[community.member("赵流", 30, person_type="流动人口", residence_reason="务工")])
    return community


@pytest.fixture
def big_store(tmp_path):
    store = Store.open(tmp_path / "big.db", create=True)
    generate(store, households=120, seed=1)
    yield store
    store.close()


def loaded(qtbot, page: ListPage, action) -> None:
    """Run `action` and wait until the page's model has taken its new snapshot."""
    with qtbot.waitSignal(page.model.loaded, timeout=10000):
        action()
    wait_all()


def make_page(qtbot, ctx, kind="person") -> ListPage:
    page = ListPage(ctx, kind)
    qtbot.addWidget(page)
    return page


def test_person_page_counts_and_filters(qtbot, ui_ctx, town):
    page = make_page(qtbot, ui_ctx)
    assert page.title == "人口"
    loaded(qtbot, page, page.activate)
    assert page.model.total == 3 and page.model.rowCount() == 3
    assert page.count_label.text() == "共 3 条"
    # a filter widget changes the count (after the debounce)
    with qtbot.waitSignal(page.model.loaded, timeout=10000):
        page.type_combo.setCurrentIndex(page.type_combo.findData("2"))
    assert page.count_label.text() == "共 1 条"
    assert page.model.data(page.model.index(0, 0)) == "赵流"
    # dashboard click-through replaces the filters
    loaded(qtbot, page, lambda: page.activate(grid_id=town.grid1["id"]))
    assert page.model.total == 2 and page.type_combo.currentData() is None
    assert page.grid_combo.currentData() == town.grid1["id"]
    loaded(qtbot, page, lambda: page.activate(care_mark="floating"))
    assert page.model.total == 1 and page.mark_combo.currentData() == "floating"
    loaded(qtbot, page, lambda: page.set_filters({}))
    assert page.count_label.text() == "共 3 条"
    # masked values on screen
    texts = {page.model.data(page.model.index(r, page.model.column_of("phone"))) for r in range(3)}
    assert "138****5678" in texts and "13812345678" not in texts


def test_pages_of_every_kind_load(qtbot, ui_ctx, town):
    for kind, title in ((k.key, k.title) for k in kinds.listed()):
        page = make_page(qtbot, ui_ctx, kind)
        assert page.title == title
        loaded(qtbot, page, page.activate)
        assert page.count_label.text().startswith("共 ")
    event_page = make_page(qtbot, ui_ctx, "grid_event")
    loaded(qtbot, event_page, lambda: event_page.activate(event_state="open", date_from="2020-01-01"))
    assert event_page.state_combo.currentText() == "在办"
    assert event_page.date_from.date().toString("yyyy-MM-dd") == "2020-01-01"
    assert event_page.filters() == {"event_state": "open", "date_from": "2020-01-01"}


def test_model_passes_the_model_tester(qtmodeltester, store, admin, town):
    model = RecordTableModel(Lists(store, admin), "person", background=False, page_size=2)
    model.reload()
    assert model.total == 3 and model.rowCount() == 2 and model.canFetchMore()
    qtmodeltester.check(model)
    assert model.rowCount() == 3  # the tester fetched the rest
    assert model.headerData(4, Qt.Orientation.Horizontal) == "证件号码"
    assert model.data(model.index(0, 0), ID_ROLE) == model.record_id(0)
    # the tester stays connected: resets (sort, filters) and fetches are checked as they happen
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.sort_key == ("name", False) and model.total == 3
    while model.canFetchMore():
        model.fetchMore()
    assert [model.data(model.index(r, 0)) for r in range(3)] == ["赵流", "张三丰", "李娜"]
    model.set_filters({"person_type": "2"})
    assert model.rowCount() == 1 and not model.canFetchMore()
    model.sort(-1, Qt.SortOrder.AscendingOrder)
    assert model.sort_key is None


def test_double_click_and_enter_open_the_record(qtbot, ui_ctx, town):
    page = make_page(qtbot, ui_ctx)
    page.show()
    qtbot.waitExposed(page)
    loaded(qtbot, page, page.activate)
    view = page.view
    index = page.model.index(1, 0)
    rect = view.visualRect(index)
    # a real double click is press, release, then the double-click event on the same row
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(page.open_record, timeout=2000) as blocker:
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["person", page.model.record_id(1)]
    view.setCurrentIndex(page.model.index(0, 2))
    with qtbot.waitSignal(page.open_record, timeout=2000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert blocker.args == ["person", page.model.record_id(0)]


def test_lazy_loading_and_server_side_sort(qtbot, big_store):
    ctx = AppContext(big_store, Actor("admin", "community_admin", None, None, "管理员"))
    page = make_page(qtbot, ctx)
    page.resize(900, 600)
    page.show()
    loaded(qtbot, page, page.activate)
    model = page.model
    total = model.total
    assert total > 200 and model.rowCount() == 200 and model.canFetchMore()
    assert page.count_label.text() == f"共 {total:,} 条"
    # scrolling to the end fetches the next page
    page.view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > 200, timeout=5000)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == total
    assert len({model.record_id(r) for r in range(total)}) == total
    # clicking a header sorts in the database; a new snapshot starts again at one page
    col = model.column_of("age")
    with qtbot.waitSignal(model.loaded, timeout=10000):
        page.view.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    wait_all()
    assert model.sort_key == ("age", False) and model.rowCount() == 200
    ages = [int(model.data(model.index(r, col)) or -1) for r in range(200)]
    assert ages == sorted(ages, reverse=True)
    # an unsortable column is refused and the indicator goes back
    page.view.sortByColumn(model.column_of("cert_no"), Qt.SortOrder.AscendingOrder)
    assert model.sort_key == ("age", False)
    assert page.view.horizontalHeader().sortIndicatorSection() == col
    # data_changed on a shown page reloads
    loaded(qtbot, page, page.data_changed)


def test_reveal_from_the_context_menu(qtbot, ui_ctx, town, community):
    page = make_page(qtbot, ui_ctx)
    loaded(qtbot, page, lambda: page.activate(text="张三丰"))
    menu = page.context_menu_for(0)
    open_action, reveal = menu.actions()[:2]
    assert reveal.text() == "显示完整信息" and reveal.isEnabled()
    with qtbot.waitSignal(page.open_record, timeout=2000) as blocker:
        open_action.trigger()
    assert blocker.args == ["person", page.model.record_id(0)]
    reveal.trigger()
    assert page.reveal_box is not None and "13812345678" in page.reveal_box.text()
    page.reveal_box.done(QMessageBox.StandardButton.Ok)
    values = page.reveal_row(0)
    assert values["联系电话"] == "13812345678" and len(values["证件号码"]) == 18
    page.reveal_box.done(QMessageBox.StandardButton.Ok)

    worker = AppContext(ui_ctx.store, Actor("w", "grid_worker", frozenset({community.grid1["id"]})))
    wpage = make_page(qtbot, worker)
    loaded(qtbot, wpage, wpage.activate)
    assert wpage.model.total == 2
    action = [a for a in wpage.context_menu_for(0).actions() if a.text() == "显示完整信息"][0]
    assert not action.isEnabled() and "管理员" in action.toolTip()
    assert wpage.reveal_row(0) == {}
    assert wpage.reveal_box is not None and "没有权限查看完整" in wpage.reveal_box.text()
    # lists without masked columns offer no reveal at all
    house = make_page(qtbot, ui_ctx, "house")
    loaded(qtbot, house, house.activate)
    assert [a.text() for a in house.context_menu_for(0).actions() if a.text()] == [
        "打开", "选为要保留的记录(合并重复)", "合并到选定的记录…"]


def test_purge_from_the_context_menu(qtbot, ui_ctx, town, community, monkeypatch, answers):
    """彻底清除个人信息 (admins and supervisors): the name must be typed again and a reason given;
    afterwards the person is gone from the list, the search and the database."""
    from ui.forms import purge as purge_ui

    page = make_page(qtbot, ui_ctx)
    page.show()
    loaded(qtbot, page, lambda: page.activate(text="李娜"))
    assert page.model.total == 1
    person_id = page.model.record_id(0)
    actions = {a.text(): a for a in page.context_menu_for(0).actions()}
    assert "彻底清除个人信息…" in actions
    seen = []

    def fake_exec(self):
        self.reason.setText("本人申请删除")
        self.confirm.setText("李")
        seen.append(self.ok.isEnabled())  # a wrong name keeps the button disabled
        self.confirm.setText("李娜")
        seen.append(self.ok.isEnabled())
        self.purge()
        qtbot.waitUntil(lambda: self.result() == QDialog.DialogCode.Accepted, timeout=10000)
        return self.result()

    monkeypatch.setattr(purge_ui.PurgeDialog, "exec", fake_exec)
    answers.information()
    loaded(qtbot, page, actions["彻底清除个人信息…"].trigger)
    assert seen == [False, True] and "已彻底清除李娜" in answers.texts("information")[0]
    assert page.model.total == 0
    with ui_ctx.store.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM person WHERE id = ?", (person_id,)).scalar() == 0
        assert c.exec_driver_sql("SELECT count(*) FROM audit_log WHERE action = 'purge'").scalar() == 1
    # a grid worker is not offered it
    worker = AppContext(ui_ctx.store, Actor("w", "grid_worker", frozenset({community.grid1["id"]})))
    wpage = make_page(qtbot, worker)
    loaded(qtbot, wpage, wpage.activate)
    assert "彻底清除个人信息…" not in [a.text() for a in wpage.context_menu_for(0).actions()]
