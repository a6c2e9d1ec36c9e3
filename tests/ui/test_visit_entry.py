"""At the door: Enter in the household field lists the households to choose from and never
saves; a visit that says nothing (no 家庭情况, no need) is refused by the service itself."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import func, select

from desktop.models import Visit
from desktop.services.errors import ValidationFailed
from desktop.services.events import Visits
from desktop.services.households import Households
from tests.factories import id_number, years_ago
from tests.ui.conftest import type_text


def _two_zsf(store, admin, community):
    """张三丰 and 张顺发: the same pinyin initials, two households."""
    out = []
    for i, name in enumerate(("张三丰", "张顺发")):
        hh = Households(store, admin).register(
            grid_id=community.grid1["id"], members=[{"name": name, "cert_no": id_number(years_ago(60 + i))}],
            address={"estate": "和平家园", "building": "3", "unit": "1", "room": f"10{i + 1}"})
        out.append(hh["household"]["id"])
    return out


def _visits(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Visit)) or 0


def test_enter_in_the_household_field_lists_households_and_never_saves(qtbot, ui_ctx, store, admin, community):
    from ui.forms.visit import VisitDialog

    first, second = _two_zsf(store, admin, community)
    dlg = VisitDialog(ui_ctx)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.household.setFocus()
    qtbot.keyClicks(dlg.household, "zsf")
    qtbot.keyClick(dlg.household, Qt.Key.Key_Return)
    assert dlg.isVisible() and dlg.result() != QDialog.DialogCode.Accepted
    assert _visits(store) == 0 and dlg.household_id is None  # nothing taken, nothing saved
    choices = dlg.picker.choices
    assert choices.isVisible() and choices.count() == 2
    assert {choices.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)} == {first, second}
    # choose the second with the keyboard; Enter on the list chooses, it does not save either
    qtbot.keyClick(choices, Qt.Key.Key_Down)
    wanted = choices.currentItem().data(Qt.ItemDataRole.UserRole)
    qtbot.keyClick(choices, Qt.Key.Key_Return)
    assert dlg.household_id == wanted and not choices.isVisible()
    assert dlg.isVisible() and _visits(store) == 0
    assert "户号" in dlg.household_label.text()
    # an empty visit is refused, with one sentence, and what was chosen stays
    assert dlg.save() is False
    assert "走访记录没有内容" in dlg.form.errors["situation"].text()  # beside 家庭情况
    assert _visits(store) == 0 and dlg.household_id == wanted and dlg.isVisible()
    type_text(qtbot, dlg.form.widgets["situation"], "老人独居,身体尚好")
    assert dlg.save() is True and _visits(store) == 1
    assert dlg.result_record["household_id"] == wanted


def test_enter_with_nothing_found_says_so(qtbot, ui_ctx, store, admin, community, answers):
    from ui.forms.visit import VisitDialog

    _two_zsf(store, admin, community)
    dlg = VisitDialog(ui_ctx)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.keyClicks(dlg.household, "qqqq")
    qtbot.keyClick(dlg.household, Qt.Key.Key_Return)
    assert dlg.isVisible() and not dlg.picker.choices.isVisible()
    assert "没有找到" in dlg.household_label.text() and _visits(store) == 0
    # what was typed counts: leaving asks first
    answers.question(yes=True)
    dlg.cancel()
    assert not dlg.isVisible() and answers.titles() == ["放弃修改"]


def test_the_service_refuses_an_empty_visit(store, admin, community):
    hid = _two_zsf(store, admin, community)[0]
    visits = Visits(store, admin)
    for situation in (None, "", "   "):
        with pytest.raises(ValidationFailed) as exc:
            visits.record({"household_id": hid, "situation": situation}, [{"category": "01", "content": "  "}])
        assert [i.code for i in exc.value.issues] == ["visit.empty"]
        assert exc.value.issues[0].message == "走访记录没有内容:请填写家庭情况,或至少登记一条群众诉求后再保存"
    with pytest.raises(ValidationFailed):
        visits.create("visit", {"household_id": hid, "visitor": "admin"})
    assert _visits(store) == 0
    only_need = visits.record({"household_id": hid}, [{"category": "01", "content": "楼道灯坏了"}])
    assert only_need["needs"][0]["content"] == "楼道灯坏了"
    made = visits.create("visit", {"household_id": hid, "visitor": "admin", "situation": "电话回访"})
    assert made["situation"] == "电话回访"


def test_an_imported_visit_row_that_says_nothing_is_refused(store, admin, community, tmp_path):
    from datetime import date

    from desktop.exchange import ImportOptions, read_sheet, run_import, suggest_mapping
    from tests.exchange.conftest import write_xlsx

    hid = _two_zsf(store, admin, community)[0]
    with store.session() as s:
        from desktop.models import Household

        hh_no = s.get(Household, hid).hh_no
    path = write_xlsx(tmp_path / "visits.xlsx", [
        ["走访日期", "户号", "走访方式", "家庭情况", "诉求内容"],
        [date(2026, 1, 5), hh_no, "入户", None, None],
        [date(2026, 1, 6), hh_no, "入户", None, "想找工作"],
    ])
    sheet = read_sheet(path, kind="visit")
    report = run_import(store, admin, "visit", sheet, suggest_mapping("visit", sheet.headers),
                        ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["rejected", "imported"]
    assert report.rows[0].messages == ["【家庭情况】走访记录没有内容:请填写家庭情况,或至少登记一条群众诉求后再保存"]
    assert _visits(store) == 1


def test_moving_a_member_needs_a_household_chosen_from_the_list(qtbot, ui_ctx, store, admin, community):
    from ui.pages.household import MoveDialog

    first, second = _two_zsf(store, admin, community)
    dlg = MoveDialog(ui_ctx, "张三丰")
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    qtbot.keyClicks(dlg.query, "zsf")
    qtbot.keyClick(dlg.query, Qt.Key.Key_Return)
    assert dlg.isVisible() and dlg.result() != QDialog.DialogCode.Accepted
    assert dlg.picker.choices.count() == 2 and dlg.target_id() is None
    dlg.confirm()  # 迁移 without a choice: refused with one sentence, never "迁出" by default
    assert dlg.isVisible() and "选定目标户" in dlg.message.text()
    qtbot.keyClick(dlg.picker.choices, Qt.Key.Key_Down)
    wanted = dlg.picker.choices.currentItem().data(Qt.ItemDataRole.UserRole)
    qtbot.keyClick(dlg.picker.choices, Qt.Key.Key_Return)
    assert dlg.target_id() == wanted and wanted in (first, second) and dlg.isVisible()
    dlg.confirm()
    assert dlg.result() == QDialog.DialogCode.Accepted
