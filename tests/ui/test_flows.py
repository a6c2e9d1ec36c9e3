"""A grid worker's day through the widgets (offscreen): register, find, edit, visit, escalate, step."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt

from desktop.services.events import Events
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.factories import id_number, years_ago
from tests.ui.conftest import type_text


def register_via_dialog(qtbot, ctx, grid_id, members, room="501"):
    from ui.forms.register import RegisterHouseholdDialog

    dlg = RegisterHouseholdDialog(ctx, grid_id=grid_id)
    qtbot.addWidget(dlg)
    type_text(qtbot, dlg.estate, "幸福小区")
    type_text(qtbot, dlg.building, "3")
    type_text(qtbot, dlg.unit, "2")
    type_text(qtbot, dlg.room, room)
    for i, m in enumerate(members):
        row = dlg.rows[i] if i < len(dlg.rows) else dlg.add_member()
        type_text(qtbot, row.name, m["name"])
        type_text(qtbot, row.cert_no, m["cert_no"])
        if "relation" in m:
            row.relation.set_code(m["relation"])
        if "phone" in m:
            type_text(qtbot, row.phone, m["phone"])
    return dlg


def test_register_household_of_three_through_the_ui(qtbot, ui_ctx, community, answers):
    members = [
        {"name": "陈建国", "cert_no": id_number(years_ago(50)), "phone": "13912345678"},
        {"name": "李秀英", "cert_no": id_number(years_ago(48), "2"), "relation": "10"},
        {"name": "陈小明", "cert_no": id_number(years_ago(12)), "relation": "20"},
    ]
    dlg = register_via_dialog(qtbot, ui_ctx, community.grid1["id"], members)
    assert "12 岁" in dlg.rows[2].info.text()
    answers.question(yes=True)  # the grid has no 小区 yet: 幸福小区 is created after asking
    assert dlg.save() is True
    assert "幸福小区" in answers.texts("question")[0]
    view = dlg.result_view
    assert [m["name"] for m in view["members"]] == ["陈建国", "李秀英", "陈小明"]
    assert view["address"]["full_text"] == "幸福小区3栋2单元501室"


def test_bad_id_refused_with_message_and_nothing_lost(qtbot, ui_ctx, community):
    from ui.forms.dialogs import PersonDialog

    dlg = PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]})
    qtbot.addWidget(dlg)
    good = id_number(years_ago(30))
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    type_text(qtbot, dlg.form.widgets["name"], "王五")
    type_text(qtbot, dlg.form.widgets["cert_no"], bad)
    assert "校验" in dlg.form.errors["cert_no"].text()  # inline, as typed
    assert dlg.save() is False
    assert "校验" in dlg.form.errors["cert_no"].text()
    assert not dlg.message.isHidden() and "未保存" in dlg.message.text()
    assert dlg.form.widgets["name"].text() == "王五" and dlg.form.widgets["cert_no"].text() == bad
    # fix it: the form fills birth date and gender at once, then saves
    dlg.form.widgets["cert_no"].clear()
    type_text(qtbot, dlg.form.widgets["cert_no"], good)
    assert dlg.form.values()["birth_date"] == years_ago(30).isoformat()
    assert dlg.form.values()["gender"] == "1"
    assert "30 岁" in dlg.form.hints["cert_no"].text() and "甘肃省兰州市西固区" in dlg.form.hints["cert_no"].text()
    assert dlg.save() is True
    assert dlg.result_record["name"] == "王五"


def test_edit_a_phone(qtbot, ui_ctx, store, admin, community):
    from ui.forms.dialogs import PersonDialog

    p = Records(store, admin).create("person", {"grid_id": community.grid1["id"], "name": "赵六",
                                                "cert_no": id_number(years_ago(40))})
    dlg = PersonDialog(ui_ctx, p["id"])
    qtbot.addWidget(dlg)
    phone = dlg.form.widgets["phone"]
    type_text(qtbot, phone, "1381234")
    assert dlg.form.errors["phone"].text() == "联系电话（手机号码）应为11位，实际为7位"
    type_text(qtbot, phone, "5678")
    assert dlg.form.errors["phone"].text() == ""
    assert dlg.save() is True
    after = Records(store, admin).get("person", p["id"])
    assert after["phone"] == "13812345678" and after["version"] == 2


def test_search_box_by_pinyin_initials_and_id_fragment(qtbot, ui_ctx, store, admin, community):
    from ui.search_box import SearchBox

    cert = id_number(years_ago(33), "2")
    Households(store, admin).register(grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "1", "room": "101"},
                                      members=[{"name": "欧阳娜娜", "cert_no": cert}])
    box = SearchBox(ui_ctx)
    qtbot.addWidget(box)
    box.show()
    opened = []
    box.open_record.connect(lambda k, i: opened.append((k, i)))
    type_text(qtbot, box, "oynn")
    qtbot.waitUntil(lambda: box.popup.count() > 0 and "欧阳娜娜" in box.popup.item(0).text(), timeout=3000)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert opened and opened[-1][0] == "person"
    box.clear()
    type_text(qtbot, box, cert[-6:])
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter before the popup: answered synchronously
    assert opened[-1] == opened[0]


def test_visit_with_need_and_escalation(qtbot, ui_ctx, store, admin, community):
    from ui.forms.visit import VisitDialog

    hh = Households(store, admin).register(grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "2", "room": "201"},
                                           members=[{"name": "马明", "cert_no": id_number(years_ago(70))}])
    dlg = VisitDialog(ui_ctx, preset={"household_id": hh["household"]["id"]})
    qtbot.addWidget(dlg)
    assert "马明户" in dlg.household_label.text()
    type_text(qtbot, dlg.form.widgets["situation"], "老人独居,腿脚不便")
    row = dlg.add_need()
    row.category.setCurrentIndex(row.category.findText("群众诉求"))
    type_text(qtbot, row.content, "楼道灯损坏")
    assert dlg.save() is True
    visit = dlg.result_record
    assert visit["needs"][0]["content"] == "楼道灯损坏"
    again = VisitDialog(ui_ctx, visit["id"])
    qtbot.addWidget(again)
    event = again.escalate(visit["needs"][0]["id"])
    assert event["state"] == "reported" and "已转为网格事件" in again.message.text()


def test_event_workflow_buttons(qtbot, ui_ctx, store, admin, community):
    from ui.forms.event import EventDialog

    e = Events(store, admin).report({"grid_id": community.grid1["id"], "title": "占道经营", "category": "市容环境"})
    dlg = EventDialog(ui_ctx, e["id"])
    qtbot.addWidget(dlg)
    enabled = {s for s, b in dlg.step_buttons.items() if b.isEnabled()}
    assert enabled == {"accepted"}
    assert dlg.advance_with("accepted", note="已受理")
    assert {s for s, b in dlg.step_buttons.items() if b.isEnabled()} == {"dispatched", "handling"}
    assert dlg.advance_with("dispatched", responsible_unit="街道城管科")
    assert dlg.advance_with("handling")
    assert dlg.advance_with("verified")
    assert dlg.back_button.isEnabled()
    assert dlg.advance_with("closed", result_type="2")
    assert dlg.advance_with("evaluated", satisfaction="1")
    assert not any(b.isEnabled() for b in dlg.step_buttons.values())
    assert dlg.steps.rowCount() == 7 and dlg.steps.item(2, 0).text() == "派遣"


def test_grid_worker_sees_only_their_grid(qtbot, store, admin, community):
    from ui.context import AppContext
    from ui.pages.areas import AreasPage
    from ui.search_box import SearchBox

    h = Households(store, admin)
    h.register(grid_id=community.grid1["id"], address={"estate": "甲小区", "building": "1", "room": "101"},
               members=[{"name": "张一", "cert_no": id_number(years_ago(40))}])
    h.register(grid_id=community.grid2["id"], address={"estate": "乙小区", "building": "1", "room": "101"},
               members=[{"name": "张二", "cert_no": id_number(years_ago(41))}])
    worker = Actor("wgy002", "grid_worker", frozenset({community.grid2["id"]}))
    ctx = AppContext(store, worker)
    page = AreasPage(ctx)
    qtbot.addWidget(page)
    page.activate()
    community_item = page.model.item(0)
    page.tree.expand(community_item.index())
    grids = [community_item.child(i).text() for i in range(community_item.rowCount())]
    assert len(grids) == 1 and grids[0].startswith("第2网格")
    box = SearchBox(ctx)
    qtbot.addWidget(box)
    names = {h.title for h in box.search_now("张")}
    assert names == {"张二"}


def test_draft_offered_back_after_a_crash(qtbot, ui_ctx, community, monkeypatch, answers):
    from ui import drafts
    from ui.forms import opener
    from ui.forms.dialogs import PersonDialog

    dlg = PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]})
    qtbot.addWidget(dlg)
    type_text(qtbot, dlg.form.widgets["name"], "草稿人")
    type_text(qtbot, dlg.form.widgets["employer"], "社区超市")
    qtbot.waitUntil(lambda: len(drafts.list_drafts("admin")) == 1, timeout=3000)
    # the app dies here: the dialog is never closed or saved
    dlg.hide()
    reopened = []

    def fake_exec(self):
        reopened.append({**self.preset, **self.form.values()})
        return 0

    monkeypatch.setattr(PersonDialog, "exec", fake_exec)
    offered = []

    def choose_first(self):  # the drafts list: the user picks the first one and 恢复所选
        offered.append([self.list.item(i).text() for i in range(self.list.count())])
        self.reopen_selected()
        return 0

    monkeypatch.setattr(opener.DraftsDialog, "exec", choose_first)
    assert opener.offer_drafts(None, ui_ctx) == 1
    assert len(offered[0]) == 1 and "新建人员:草稿人" in offered[0][0]
    assert reopened[0]["name"] == "草稿人" and reopened[0]["employer"] == "社区超市"
    assert reopened[0]["grid_id"] == community.grid1["id"]


def test_household_page_shows_everything(qtbot, ui_ctx, store, admin, community):
    from desktop.services.events import Visits
    from ui.pages.household import HouseholdPage

    view = Households(store, admin).register(
        grid_id=community.grid1["id"], address={"estate": "丙小区", "building": "5", "unit": "1", "room": "301"},
        members=[{"name": "孙大", "cert_no": id_number(years_ago(66))},
                 {"name": "孙二", "cert_no": id_number(years_ago(30), "2"), "relation": "30", "employment": "失业"}],
        house={"use": "自住", "area_m2": 72})
    Records(store, admin).create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A8B123",
                                             "household_id": view["household"]["id"]})
    Visits(store, admin).record({"household_id": view["household"]["id"], "visited_on": date.today(),
                                 "situation": "家庭和睦"}, needs=[{"category": "就业", "content": "想找工作"}])
    Records(store, admin).create("household_ledger", {"household_id": view["household"]["id"], "period": "2026",
                                                      "income_total": 36000, "workers": 1})
    page = HouseholdPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_id=view["household"]["id"])
    assert page.heading.text().startswith("孙大户")
    assert page.members.rowCount() == 2 and page.members.item(1, 1).text() == "女"
    assert "失业人员" in page.members.item(1, 8).text()
    assert "******" in page.members.item(0, 5).text()
    assert "甘A8B123" in page.vehicles.item(0).text()
    assert "想找工作" in page.visits.item(0).text()
    assert page.ledger.item(0, 0).text() == "2026" and page.ledger.item(0, 1).text() == "36,000"
    assert "72" in page.house_box.text()
    assert "缺少联系电话" in page.missing.text()


def test_list_pages_create_records(qtbot, ui_ctx, store, admin, community, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from ui.forms.dialogs import HouseDialog, ReportEventDialog
    from ui.pages.lists import ListPage

    def report(self):
        type_text(qtbot, self.form.widgets["title"], "井盖缺失")
        self.form.set_values({"category": "01"}, as_initial=False)
        assert self.save(), (self.message.text(), {k: v.text() for k, v in self.form.errors.items() if v.text()})
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ReportEventDialog, "exec", report)
    page = ListPage(ui_ctx, "grid_event")
    qtbot.addWidget(page)
    assert page.new_record()
    ev = Events(store, admin)
    with store.session() as s:
        from sqlalchemy import select

        from desktop.models import GridEvent

        event_id = s.scalar(select(GridEvent.id).where(GridEvent.title == "井盖缺失"))
    assert [st["state"] for st in ev.steps(event_id)] == ["reported"]

    def vacant(self):
        type_text(qtbot, self.address_form.widgets["estate"], "丁小区")
        type_text(qtbot, self.address_form.widgets["building"], "9")
        type_text(qtbot, self.address_form.widgets["room"], "101")
        self.form.set_values({"use": "3"}, as_initial=False)
        assert self.save()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(HouseDialog, "exec", vacant)
    houses = ListPage(ui_ctx, "house")
    qtbot.addWidget(houses)
    assert houses.new_record()
    from desktop.services.search import Search

    hits = [h for h in Search(store, admin).search("丁小区") if h.kind == "house"]
    assert hits, "no hit"
    assert (hits[0].title, "空置" in hits[0].subtitle) == ("丁小区9栋101室", True), hits[0]


def test_house_registration_is_one_transaction(store, admin, community):
    from desktop.services.errors import ValidationFailed
    from desktop.services.records import Records as R

    with pytest.raises(ValidationFailed, match="建筑面积"):
        Households(store, admin).register_house(grid_id=community.grid1["id"], address={"estate": "戊小区", "room": "1"},
                                                house={"area_m2": "-5"})
    from sqlalchemy import func, select

    from desktop.models import Address

    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Address)) == 0
    _ = R


def test_closing_a_dirty_form_asks_first(qtbot, ui_ctx, community, answers):
    from ui import drafts
    from ui.forms.dialogs import PersonDialog

    answers.question(yes=False).question(yes=True)
    dlg = PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]})
    qtbot.addWidget(dlg)
    dlg.show()
    type_text(qtbot, dlg.form.widgets["name"], "还没保存")
    dlg.save_draft()
    dlg.close()
    assert dlg.isVisible() and dlg.form.widgets["name"].text() == "还没保存"  # "No": nothing lost
    dlg.close()
    assert not dlg.isVisible() and drafts.list_drafts("admin") == []  # "Yes": discarded on purpose


def test_drafts_on_an_encrypted_laptop_are_encrypted(qtbot, tmp_path, monkeypatch, answers):
    """What is being typed (a name, an ID number) is on disk only encrypted, comes back after a
    crash for the same laptop, and is not shown to another database."""
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from tests.factories import encrypted_demo
    from ui import drafts
    from ui.context import AppContext
    from ui.forms import opener
    from ui.forms.dialogs import PersonDialog

    store, admin = encrypted_demo(tmp_path / "enc.db", households=10, seed=3)
    try:
        ctx = AppContext(store, admin)
        grid = store.engine.connect().exec_driver_sql("SELECT id FROM area WHERE level = 'grid' LIMIT 1").scalar()
        dlg = PersonDialog(ctx, preset={"grid_id": grid})
        qtbot.addWidget(dlg)
        cert = id_number(date(1990, 1, 2), "1")
        type_text(qtbot, dlg.form.widgets["name"], "密草稿")
        type_text(qtbot, dlg.form.widgets["cert_no"], cert)
        qtbot.waitUntil(lambda: len(drafts.list_drafts("admin", secret=ctx.draft_secret)) == 1, timeout=3000)
        dlg._draft_timer.stop()
        dlg.hide()
        files = list(drafts.drafts_dir().iterdir())
        assert [f.suffix for f in files] == [".gld"]
        blob = files[0].read_bytes()
        assert "密草稿".encode() not in blob and cert.encode() not in blob
        assert drafts.list_drafts("admin") == []  # without the key: nothing
        reopened = []
        monkeypatch.setattr(PersonDialog, "exec", lambda self: reopened.append(self.form.values()) or 0)
        monkeypatch.setattr(opener.DraftsDialog, "exec", lambda self: self.reopen_selected() or 0)
        assert opener.offer_drafts(None, ctx) == 1
        assert reopened[0]["name"] == "密草稿" and reopened[0]["cert_no"] == cert
        other = Store.open(tmp_path / "other.db", create=True)
        generate(other, households=5, seed=4)
        try:
            assert opener.offer_drafts(None, AppContext(other, actor_for(other, "admin"))) == 0
        finally:
            other.close()
    finally:
        store.close()
