"""The 数据质量 page offscreen: figures with their formulas on hover, the queue filtered, one click
to the record with the field focused, the item gone once fixed; the dashboard's click-through."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtWidgets import QApplication, QDialog

from desktop.services.households import Households
from desktop.services.records import Records
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.pages.quality import QualityPage
from ui.workers import wait_all


def _shown(qtbot, page: QualityPage) -> None:
    qtbot.waitUntil(lambda: page.data is not None and not page._loading, timeout=10000)
    wait_all()


def _street(store, admin, community):
    h = Households(store, admin)
    h.register(grid_id=community.grid2["id"], address={"estate": "乙小区", "building": "2", "room": "201"},
               house={"use": "出租", "owner_name": "房主", "area_m2": 60},
               members=[community.member("赵六", 30, person_type="流动人口", residence_reason="务工",
                                         phone="13800000006", hukou_address="甘肃省天水市",
                                         residence_card_until=date.today() - timedelta(days=1))])


def test_queue_opens_the_record_at_the_field_and_the_item_goes(qtbot, store, admin, community, monkeypatch):
    _street(store, admin, community)
    window = MainWindow(AppContext(store, admin))
    qtbot.addWidget(window)
    page = window.show_page("quality", reason="card_expired")
    assert isinstance(page, QualityPage)
    _shown(qtbot, page)
    assert page.queue.rowCount() == 1
    assert page.queue.item(0, 2).text() == "居住证已过期" and page.queue.item(0, 3).text() == "赵六"
    assert "人房关联完善率(房屋) = " in page.figures.horizontalHeaderItem(1).toolTip()
    assert page.figures.item(page.figures.rowCount() - 1, 0).text() == "合计"

    opened = {}

    def fake_exec(dialog):
        opened["focus"] = dialog.focus_field
        opened["focused"] = dialog.form.widgets[dialog.focus_field]
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr("ui.forms.dialogs.RecordDialog.exec", fake_exec)
    page.queue.selectRow(0)
    page.open_selected()
    assert opened["focus"] == "residence_card_until"

    zhao = next(i for i in page.items)
    Records(store, admin).update("person", zhao["id"], {"residence_card_until": date.today() + timedelta(days=200)})
    window.data_changed()
    window.show_page("quality", reason="card_expired")
    _shown(qtbot, page)
    assert page.queue.rowCount() == 0


def test_dashboard_counts_click_through(qtbot, store, admin, community):
    _street(store, admin, community)

    window = MainWindow(AppContext(store, admin))
    qtbot.addWidget(window)
    home = window.pages["home"]
    qtbot.waitUntil(lambda: home.data is not None, timeout=10000)
    wait_all()
    q = home.data["quality"]
    assert home.cards["quality"].value.text() == str(q["total"])
    assert "信息完整率 = " in home.cards["complete"].toolTip()
    home.cards["verified"].clicked.emit()
    page = window.current_page()
    assert isinstance(page, QualityPage)
    _shown(qtbot, page)
    assert {page.queue.item(r, 1).text() for r in range(page.queue.rowCount())} == {"久未核实"}
    QApplication.processEvents()


def test_merge_from_the_queue_side_by_side(qtbot, store, admin, community):
    from desktop.services.quality import Quality
    from ui.forms.merge import MergeDialog

    h = Households(store, admin)
    a = h.register(grid_id=community.grid1["id"], address={"estate": "甲小区", "building": "1", "room": "101"},
                   house={"use": "自住"}, members=[community.member("张一", 40)])
    keep = a["members"][0]
    drop = Records(store, admin).create("person", {"grid_id": community.grid1["id"], "name": "张一",
                                                   "cert_no": keep["cert_no"], "phone": "13800000001"},
                                        allow_duplicate=True)
    item = next(i for i in Quality(store, admin).queue(reason="dup_cert") if i["id"] == keep["id"])
    dialog = MergeDialog(AppContext(store, admin), "person", item["id"], item["others"][0])
    qtbot.addWidget(dialog)
    assert dialog.choices()["phone"] == "drop"  # the survivor has none: the other's value is offered
    assert dialog.groups["phone"].checkedButton().text() == "138****0001"  # masked
    dialog.do_merge()
    assert "请填写合并原因" in dialog.message.text() and dialog.survivor is None
    dialog.reason.setText("同一人重复登记")
    dialog.do_merge()
    assert dialog.survivor["phone"] == "13800000001"
    assert Records(store, admin).get("person", drop["id"], include_deleted=True)["merged_into"] == keep["id"]
    assert Quality(store, admin).queue(reason="dup_cert") == []


def test_pick_two_records_on_a_list_and_merge(qtbot, store, admin, community, monkeypatch, answers):
    from ui.forms.merge import MergeDialog
    from ui.pages.lists import ListPage

    r = Records(store, admin)
    g1 = community.grid1["id"]
    keep = r.create("vehicle", {"grid_id": g1, "plate_no": "甘A12345", "brand": "五菱宏光"})
    drop = r.create("vehicle", {"grid_id": g1, "plate_no": "甘A12345", "colour": "白"}, allow_duplicate=True)
    page = ListPage(AppContext(store, admin), "vehicle")
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.model.loaded, timeout=10000):
        page.activate()
    wait_all()
    rows = {page.model.record_id(i): i for i in range(page.model.total)}
    menu = page.context_menu_for(rows[drop["id"]])
    into = next(a for a in menu.actions() if a.text() == "合并到选定的记录…")
    assert not into.isEnabled()  # nothing chosen to keep yet
    next(a for a in page.context_menu_for(rows[keep["id"]]).actions() if a.text().startswith("选为要保留")).trigger()
    assert page.keep_id == keep["id"]

    def fake_exec(dialog):
        assert dialog.choices()["colour"] == "drop"  # the survivor has none
        dialog.reason.setText("同一辆车登记两次")
        dialog.do_merge()
        return QDialog.DialogCode.Accepted if dialog.survivor else QDialog.DialogCode.Rejected

    monkeypatch.setattr(MergeDialog, "exec", fake_exec)
    into = next(a for a in page.context_menu_for(rows[drop["id"]]).actions() if a.text() == "合并到选定的记录…")
    assert into.isEnabled()
    into.trigger()
    wait_all()
    assert r.get("vehicle", keep["id"])["colour"] == "白"
    assert r.get("vehicle", drop["id"], include_deleted=True)["merged_into"] == keep["id"]
    assert page.keep_id is None
    # the admin undoes it the same day from the survivor's row
    with qtbot.waitSignal(page.model.loaded, timeout=10000):
        page.reload()
    wait_all()
    rows = {page.model.record_id(i): i for i in range(page.model.total)}
    undo = next(a for a in page.context_menu_for(rows[keep["id"]]).actions() if a.text() == "撤销今天的合并…")
    answers.question(True)
    undo.trigger()
    assert answers.titles("question") == ["撤销合并"]
    assert r.get("vehicle", drop["id"])["deleted_at"] is None
    assert r.get("vehicle", keep["id"])["colour"] is None
