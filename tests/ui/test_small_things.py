"""Smaller things: date fields that say YYYY-MM-DD, no SQLCipher or 重建检索索引 for grid workers."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from desktop.policy import Role
from desktop.services.store import Actor


def test_date_fields_say_the_format(qtbot, ui_ctx):
    from ui.forms.record_form import RecordForm

    form = RecordForm(ui_ctx, "visit")
    qtbot.addWidget(form)
    assert form.widgets["visited_on"].placeholderText() == "YYYY-MM-DD"
    assert isinstance(form.widgets["follow_up_on"], QLineEdit)
    assert form.widgets["follow_up_on"].placeholderText() == "YYYY-MM-DD"


def test_grid_workers_see_no_database_jargon(qtbot, store, community):
    from ui.context import AppContext
    from ui.pages.settings import SettingsPage

    worker = Actor("wgy", Role.GRID_WORKER, grid_ids=frozenset({community.grid1["id"]}))
    page = SettingsPage(AppContext(store, worker))
    qtbot.addWidget(page)
    page.show()
    shown = " ".join(w.text() for kind in (QLabel, QPushButton) for w in page.findChildren(kind) if w.isVisible())
    assert "加密" in shown  # the page is there, in plain words
    assert "SQLCipher" not in shown and "重建检索索引" not in shown
    office = SettingsPage(AppContext(store, Actor("admin", Role.COMMUNITY_ADMIN)))
    qtbot.addWidget(office)
    office.show()
    assert office.reindex_button.isVisible()


def test_household_phone_is_the_heads_and_follows_it_when_asked(qtbot, ui_ctx, community, answers):
    from desktop.services.households import Households
    from tests.factories import id_number, years_ago
    from ui.forms.dialogs import PersonDialog

    households = Households(ui_ctx.store, ui_ctx.actor)
    view = households.register(grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "2", "room": "201"},
                               members=[{"name": "赵云", "cert_no": id_number(years_ago(35)), "phone": "13912345678"},
                                        {"name": "孙尚香", "cert_no": id_number(years_ago(33), "2"), "relation": "10",
                                         "phone": "13700000000"}])
    hh_id, head_id = view["household"]["id"], view["household"]["head_person_id"]
    assert households.get("household", hh_id)["phone"] == "13912345678"  # the head's, not the spouse's

    def change_phone(person_id: str, phone: str) -> None:
        dlg = PersonDialog(ui_ctx, person_id)
        qtbot.addWidget(dlg)
        dlg.form.widgets["phone"].setText(phone)
        assert dlg.save()

    answers.question(yes=False)
    change_phone(head_id, "13800000001")
    assert "13800000001" in answers.texts("question")[-1]
    assert households.get("household", hh_id)["phone"] == "13912345678"  # 否: it stays
    change_phone(head_id, "13800000002")  # the household kept its own number: not asked again
    assert len(answers.texts("question")) == 1
    other = households.register(grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "2", "room": "202"},
                                members=[{"name": "马超", "cert_no": id_number(years_ago(36)), "phone": "13600000000"}])
    answers.question(yes=True)
    change_phone(other["household"]["head_person_id"], "13600000001")
    assert households.get("household", other["household"]["id"])["phone"] == "13600000001"
    spouse = next(m["id"] for m in households.view(hh_id)["members"] if m["id"] != head_id)
    change_phone(spouse, "13700000001")  # not the head: nothing asked
    assert len(answers.texts("question")) == 2


def test_the_vehicle_form_has_a_car_owner_among_the_household(qtbot, ui_ctx, community):
    from desktop.services.households import Households
    from desktop.services.records import Records
    from tests.factories import id_number, years_ago
    from ui.forms.dialogs import VehicleDialog

    view = Households(ui_ctx.store, ui_ctx.actor).register(
        grid_id=community.grid1["id"], address={"estate": "和平家园", "building": "5", "room": "501"},
        members=[{"name": "黄忠", "cert_no": id_number(years_ago(60))},
                 {"name": "黄叙", "cert_no": id_number(years_ago(30)), "relation": "20"}])
    hh = view["household"]
    son = next(m["id"] for m in view["members"] if m["name"] == "黄叙")
    dlg = VehicleDialog(ui_ctx, preset={"household_id": hh["id"], "owner_person_id": hh["head_person_id"],
                                        "grid_id": hh["grid_id"]})
    qtbot.addWidget(dlg)
    assert [dlg.owner.itemText(i) for i in range(dlg.owner.count())] == ["(未指定)", "黄忠", "黄叙"]
    assert dlg.owner.currentText() == "黄忠"
    dlg.owner.setCurrentIndex(dlg.owner.findData(son))
    dlg.form.set_values({"plate_no": "甘A12345", "plate_type": "02"}, as_initial=False)
    assert dlg.save(), dlg.message.text()
    car = Records(ui_ctx.store, ui_ctx.actor).get("vehicle", dlg.result_record["id"])
    assert car["owner_person_id"] == son
    again = VehicleDialog(ui_ctx, car["id"])
    qtbot.addWidget(again)
    assert again.owner.currentText() == "黄叙"
    again.owner.setCurrentIndex(again.owner.findData(hh["head_person_id"]))
    assert again.save()
    assert Records(ui_ctx.store, ui_ctx.actor).get("vehicle", car["id"])["owner_person_id"] == hh["head_person_id"]
