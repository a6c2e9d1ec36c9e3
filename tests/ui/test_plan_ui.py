"""今日走访 through the widgets (offscreen) on the hand-built street, pinned to D = 2026-06-10:
a grid worker's window opens on the plan; a visit recorded from the plan removes its item; 住院
then 出院 recorded on the household page (and a change recorded from the visit form) create a
follow-up; a grid worker cannot edit the rules, an admin can."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from desktop.services.auth import actor_for
from desktop.services.store import Actor, Store
from tests.plan.street import D, build

ADMIN = Actor("admin", "community_admin", None, "dev-1", "管理员")


@pytest.fixture(scope="module")
def street_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ui-street") / "street.db"
    store = Store.open(path, create=True)
    street = build(store, ADMIN)
    store.close()
    return path, street


@pytest.fixture
def street(street_file, tmp_path):
    path, street = street_file
    shutil.copy(path, tmp_path / "s.db")
    street.store = Store.open(tmp_path / "s.db")
    yield street
    street.store.close()


@pytest.fixture
def window(qtbot, street):
    from ui.context import AppContext
    from ui.main_window import MainWindow

    win = MainWindow(AppContext(street.store, actor_for(street.store, "wgy_a")))
    qtbot.addWidget(win)
    win.show()
    page = win.pages["plan"]
    page.today = D
    page.reload()
    return win


def heads(page):
    return [(i.head, i.kind) for i in page.items()]


def test_a_grid_worker_starts_on_the_plan_grouped_by_building(window):
    from ui.pages.plan import PlanPage

    page = window.current_page()
    assert isinstance(page, PlanPage) and window.sidebar.item(0).text() == "今日走访"
    assert heads(page)[:3] == [("张建国", "regular"), ("王秀英", "regular"), ("刘洋", "regular")]
    assert len(page.items()) == 11 and "10 户 · 11 项,其中逾期 6 项" in page.summary.text()
    tree = page.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == ["幸福小区1栋(6 项)", "幸福小区2栋(5 项)"]
    unit1 = tree.topLevelItem(0).child(0)
    assert unit1.text(0) == "1单元" and unit1.child(0).text(2) == "残障人员 每 30 天一次,已 40 天未访"
    assert unit1.child(0).text(4) == "10 天" and unit1.child(2).text(4) == "今日"
    page.scope.setCurrentIndex(page.scope.findData("overdue"))
    assert len(page.items()) == 6
    page.scope.setCurrentIndex(page.scope.findData("today"))
    page.mark.setCurrentIndex(page.mark.findText("残障人员"))
    assert heads(page) == [("张建国", "regular")]


def test_one_click_opens_the_household_and_a_visit_from_the_plan_removes_the_item(window, monkeypatch):
    from ui.forms.visit import VisitDialog
    from ui.pages.household import HouseholdPage

    page = window.pages["plan"]
    row = page.tree.topLevelItem(0).child(0).child(1)  # 王秀英
    page._clicked(row, 1)
    assert isinstance(window.current_page(), HouseholdPage) and "王秀英户" in window.current_page().heading.text()
    window.show_page("plan")
    seen = {}

    def fill_and_save(dialog):
        seen["household"] = dialog.household_label.text()
        seen["date"] = dialog.form.values().get("visited_on")
        dialog.form.widgets["situation"].setPlainText("老人身体尚可,已提醒按时服药")
        return 1 if dialog.save() else 0

    monkeypatch.setattr(VisitDialog, "exec", fill_and_save)
    item = page.items()[1]
    assert page.record_visit(item) is True
    assert "王秀英户" in seen["household"] and str(seen["date"]) == "2026-06-10"
    assert ("王秀英", "regular") not in heads(page) and len(page.items()) == 10


def test_hospital_and_discharge_recorded_on_the_household_page_create_a_follow_up(window, street, monkeypatch):
    from ui.forms.life_event import LifeEventDialog
    from ui.forms.visit import VisitDialog

    window.open_record("household", street.hh["H2"])
    hh_page = window.current_page()
    monkeypatch.setattr(LifeEventDialog, "exec", lambda self: 1 if self.save() else 0)
    stay = LifeEventDialog(window.ctx, street.hh["H2"])
    stay.choose("hospitalized", person_id=street.people["李桂兰"], on=D.replace(day=3))
    assert "出院后 1 天内回访" in stay.follow_up.text()
    assert hh_page.add_life_event(stay) is True
    plan = window.pages["plan"]
    assert "李桂兰" not in [h for h, _ in heads(plan)]  # waits for the discharge
    home = LifeEventDialog(window.ctx, street.hh["H2"])
    home.choose("discharged", person_id=street.people["李桂兰"], on=D)
    assert hh_page.add_life_event(home) is True
    texts = [hh_page.visits.item(i).text() for i in range(hh_page.visits.count())]
    assert texts[0] == "2026-06-10 · 【情况变化】出院 · 李桂兰" and texts[1] == "2026-06-03 · 【情况变化】住院 · 李桂兰"
    window.show_page("plan")
    got = [i for i in plan.items() if i.head == "李桂兰"]
    assert [(i.kind, i.reason) for i in got] == [("event", "出院后 1 天内回访(李桂兰,6月10日出院)")]
    # a change noticed on a visit is recorded from the visit form
    visit = VisitDialog(window.ctx, preset={"household_id": street.hh["H4"]})
    moved = LifeEventDialog(window.ctx, street.hh["H4"], parent=visit)
    moved.choose("newborn", on=D)
    assert visit.add_life_event(moved) is True and "已登记情况变化:新生儿" in visit.message.text()
    window.show_page("plan")
    assert ("刘洋", "event") in heads(plan)
    bad = LifeEventDialog(window.ctx, street.hh["H4"])
    bad.choose("discharged", on=date(2999, 1, 1))
    assert bad.save() is False and bad.message.text().startswith("未保存:发生日期 2999-01-01 晚于今天")
    assert bad.person.findData(street.people["李桂兰"]) == -1  # only the household's members are offered


def test_rules_dialog_is_read_only_for_a_worker_and_editable_for_an_admin(qtbot, street, answers):
    from ui.context import AppContext
    from ui.forms.visit_rules import RulesDialog

    mine = RulesDialog(AppContext(street.store, actor_for(street.store, "wgy_a")))
    qtbot.addWidget(mine)
    assert not mine.save_button.isVisible() and "只有社区管理员或网格长/督导可以修改" in mine.note.text()
    dlg = RulesDialog(AppContext(street.store, ADMIN))
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 7 and dlg.table.item(1, 0).text() == "关注标识:独居老人"
    dlg.table.selectRow(1)
    dlg.days.setValue(14)
    assert dlg.save_selected() is True
    assert dlg.table.item(1, 1).text() == "14" and dlg.table.item(1, 3).text() == "社区设置"
    dlg.kind.setCurrentIndex(dlg.kind.findData("mark"))
    dlg.value.setCurrentIndex(dlg.value.findText("留守儿童"))
    dlg.days.setValue(60)
    dlg.reason.setText("")
    assert dlg.add_rule() is True and dlg.table.rowCount() == 8
    assert [dlg.table.item(7, c).text() for c in range(4)] == ["关注标识:留守儿童", "60", "留守儿童", "社区设置"]
    answers.question(yes=True)
    assert dlg.reset_all() is True and dlg.table.item(1, 1).text() == "30" and dlg.table.rowCount() == 7
