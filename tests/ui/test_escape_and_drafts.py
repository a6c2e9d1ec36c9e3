"""Escape is 取消 in every entry dialog (it asks when something was typed); drafts are offered
as one list, newest first, with what and when; a form with nothing typed keeps no draft."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from tests.ui.conftest import type_text


def _escape(qtbot, dlg) -> None:
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)


def test_escape_asks_when_something_was_typed(qtbot, ui_ctx, community, answers):
    from ui import drafts
    from ui.forms.dialogs import PersonDialog

    dlg = PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]})
    qtbot.addWidget(dlg)
    dlg.show()
    type_text(qtbot, dlg.form.widgets["name"], "门口登记")
    answers.question(yes=False).question(yes=True)
    _escape(qtbot, dlg)
    assert dlg.isVisible() and dlg.form.widgets["name"].text() == "门口登记"  # "No": nothing lost
    _escape(qtbot, dlg)
    assert not dlg.isVisible() and answers.titles() == ["放弃修改", "放弃修改"]
    assert drafts.list_drafts("admin") == []


def test_escape_closes_an_untouched_dialog_without_asking(qtbot, ui_ctx, community, answers):
    from ui.forms.dialogs import PersonDialog
    from ui.forms.register import RegisterHouseholdDialog
    from ui.forms.visit import VisitDialog

    for dlg in (PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]}), VisitDialog(ui_ctx),
                RegisterHouseholdDialog(ui_ctx)):
        qtbot.addWidget(dlg)
        dlg.show()
        _escape(qtbot, dlg)
        assert not dlg.isVisible(), type(dlg).__name__
    assert answers.asked == []


def test_escape_in_visit_and_register_dialogs_asks_too(qtbot, ui_ctx, community, answers):
    from ui.forms.register import RegisterHouseholdDialog
    from ui.forms.visit import VisitDialog

    visit = VisitDialog(ui_ctx)
    qtbot.addWidget(visit)
    visit.show()
    row = visit.add_need()
    type_text(qtbot, row.content, "楼道灯坏了")
    register = RegisterHouseholdDialog(ui_ctx)
    qtbot.addWidget(register)
    register.show()
    type_text(qtbot, register.estate, "幸福小区")
    answers.question(yes=False, times=2)
    _escape(qtbot, visit)
    _escape(qtbot, register)
    assert visit.isVisible() and register.isVisible()
    assert answers.titles() == ["放弃修改", "放弃登记"]
    visit._draft_timer.stop()  # leave nothing running for the next test
    register._timer.stop()
    visit.hide()
    register.hide()


def test_a_form_with_nothing_typed_keeps_no_draft(qtbot, ui_ctx, community):
    from ui import drafts
    from ui.forms.dialogs import PersonDialog
    from ui.forms.register import RegisterHouseholdDialog
    from ui.forms.visit import VisitDialog

    visit = VisitDialog(ui_ctx)  # defaults only: today's date and 入户
    qtbot.addWidget(visit)
    visit.save_draft()
    register = RegisterHouseholdDialog(ui_ctx)
    qtbot.addWidget(register)
    register.save_draft()
    person = PersonDialog(ui_ctx, preset={"grid_id": community.grid1["id"]})
    qtbot.addWidget(person)
    person.save_draft()
    assert drafts.list_drafts("admin") == []
    # typed, then wiped again: the draft goes too
    type_text(qtbot, person.form.widgets["name"], "临时")
    person.save_draft()
    assert len(drafts.list_drafts("admin")) == 1
    person.form.widgets["name"].clear()
    person.save_draft()
    assert drafts.list_drafts("admin") == []


def test_drafts_are_offered_as_one_list_newest_first(qtbot, ui_ctx, community, monkeypatch, answers):
    from ui import drafts
    from ui.forms import opener

    stamps = iter(["2026-12-01 09:00:00", "2026-12-03 16:20:00", "2026-12-02 10:05:00", "2026-12-04 08:00:00"])
    real_strftime = time.strftime
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: next(stamps) if fmt == "%Y-%m-%d %H:%M:%S" else real_strftime(fmt, *a))
    meta = {"user": "admin", "kind": "person", "record_id": None, "preset": {}, "dialog": "PersonDialog"}
    drafts.save_draft("a", {**meta, "title": "新建人员"}, {"name": "早的"})
    drafts.save_draft("b", {**meta, "title": "新建人员"}, {"name": "最新的"})
    drafts.save_draft("c", {**meta, "kind": "vehicle", "title": "新建车辆"}, {"plate_no": "甘A12345"})
    drafts.save_draft("d", {**meta, "title": "新建人员"}, {"name": "", "phone": None})  # nothing in it
    monkeypatch.setattr(time, "strftime", real_strftime)
    shown = []
    monkeypatch.setattr(opener.DraftsDialog, "exec", lambda self: shown.append(
        [self.list.item(i).text() for i in range(self.list.count())]) or 0)
    assert opener.offer_drafts(None, ui_ctx) == 0
    assert shown == [["2026-12-03 16:20:00  新建人员:最新的", "2026-12-02 10:05:00  新建车辆:甘A12345",
                      "2026-12-01 09:00:00  新建人员:早的"]]
    assert answers.asked == []  # one list, no chain of prompts
    assert sorted(d["key"] for d in drafts.list_drafts("admin")) == ["a", "b", "c"]  # the empty one is gone


def test_discarding_from_the_list(qtbot, ui_ctx, monkeypatch, answers):
    from ui import drafts
    from ui.forms import opener

    meta = {"user": "admin", "kind": "person", "record_id": None, "preset": {}, "dialog": "PersonDialog",
            "title": "新建人员"}
    drafts.save_draft("a", meta, {"name": "甲"})
    drafts.save_draft("b", meta, {"name": "乙"})
    dlg = opener.DraftsDialog(None, ui_ctx, opener.pending_drafts(ui_ctx))
    qtbot.addWidget(dlg)
    dlg.list.selectAll()
    answers.question(yes=True)
    dlg.discard_selected()
    assert drafts.list_drafts("admin") == [] and answers.titles() == ["丢弃草稿"]


def test_escape_in_the_small_entry_dialogs_asks_when_something_was_typed(qtbot, ui_ctx, answers):
    from ui.forms.event import StepDialog
    from ui.forms.users import NewPasswordDialog
    from ui.pages.household import MoveDialog

    step = StepDialog("dispatched", {"responsible_unit": "社区居委会"})
    password = NewPasswordDialog("修改密码", "请输入新密码")
    move = MoveDialog(ui_ctx, "张三")
    dialogs = (step, password, move)
    for dlg in dialogs:
        qtbot.addWidget(dlg)
        dlg.show()
    type_text(qtbot, step.note, "已转交物业")
    qtbot.keyClicks(password.new, "abc")
    move.away.setChecked(True)
    answers.question(yes=False, times=3)
    for dlg in dialogs:
        _escape(qtbot, dlg)
        assert dlg.isVisible(), type(dlg).__name__
    assert answers.titles() == ["放弃填写"] * 3
    answers.question(yes=True, times=3)
    for dlg in dialogs:
        _escape(qtbot, dlg)
        assert not dlg.isVisible(), type(dlg).__name__
    untouched = StepDialog("closed", {})
    qtbot.addWidget(untouched)
    untouched.show()
    _escape(qtbot, untouched)
    assert not untouched.isVisible() and len(answers.asked) == 6
