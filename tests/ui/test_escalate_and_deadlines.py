"""A need becomes a grid event in one action while the visit is being recorded (confirmed in
green, with a link to the event); events have a handler and a deadline, and those past it are red
in the events list and counted on the start page."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from desktop.models import GridEvent, Visit, VisitNeed
from desktop.services.errors import ValidationFailed
from desktop.services.events import Events, Visits
from desktop.services.households import Households
from desktop.services.lists import OVERDUE, Lists
from desktop.services.stats import Period, Stats
from tests.factories import id_number, years_ago


@pytest.fixture
def household(store, admin, community):
    return Households(store, admin).register(
        grid_id=community.grid1["id"], members=[{"name": "张秀兰", "cert_no": id_number(years_ago(72), "2")}],
        address={"estate": "和平家园", "building": "3", "unit": "1", "room": "101"})["household"]["id"]


def ten_days_ago() -> datetime:
    return datetime.now().replace(microsecond=0) - timedelta(days=10)


def _count(store, model) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_escalating_a_need_while_recording_is_one_action(qtbot, ui_ctx, store, household):
    from ui.forms.visit import VisitDialog

    dlg = VisitDialog(ui_ctx, preset={"household_id": household})
    qtbot.addWidget(dlg)
    dlg.show()
    first = dlg.add_need()
    first.content.setText("楼道灯坏了")
    leak = dlg.add_need()
    leak.content.setText("屋顶漏水,需要物业维修")
    opened: list[tuple[str, str]] = []
    dlg.open_existing.connect(lambda k, i: opened.append((k, i)))
    qtbot.mouseClick(leak.escalate, Qt.MouseButton.LeftButton)
    # one visit, both needs, one event: recorded together
    assert (_count(store, Visit), _count(store, VisitNeed), _count(store, GridEvent)) == (1, 2, 1)
    with store.session() as s:
        needs = {n.content: (n.status, n.event_id) for n in s.scalars(select(VisitNeed))}
        event = s.scalars(select(GridEvent)).one()
    assert needs["屋顶漏水,需要物业维修"] == ("escalated", event.id) and needs["楼道灯坏了"] == ("open", None)
    # confirmed in green, with a link to the event, and the need says so
    assert dlg.isVisible() and dlg.message.property("role") == "ok"
    assert "已保存走访,并转为网格事件" in dlg.message.text() and f'href="{event.id}"' in dlg.message.text()
    assert sorted(label.text().rsplit(" — ", 1)[1] for label in dlg.need_lines.values()) == ["已转事件", "待办"]
    dlg.message.linkActivated.emit(event.id)
    assert opened == [("grid_event", event.id)]
    # the other need can be escalated from the same dialog, and 保存 then records no second visit
    other = next(i for i, (st, _e) in ((n_id, needs[lbl.text().split("] ", 1)[1].rsplit(" — ", 1)[0]])
                                       for n_id, lbl in dlg.need_lines.items()) if st == "open")
    assert dlg.escalate(other) is not None
    assert _count(store, GridEvent) == 2 and "已转事件" in dlg.need_lines[other].text()
    assert dlg.save() is True
    assert _count(store, Visit) == 1


def test_escalating_a_need_without_content_or_household_is_refused_in_one_sentence(qtbot, ui_ctx, store):
    from ui.forms.visit import VisitDialog

    dlg = VisitDialog(ui_ctx)
    qtbot.addWidget(dlg)
    row = dlg.add_need()
    assert dlg.escalate_new(row) is False and dlg.message.text() == "未转办:请先填写这条诉求的内容。"
    row.content.setText("屋顶漏水")
    assert dlg.escalate_new(row) is False and dlg.message.text().startswith("未转办:请先选择走访户")
    assert dlg.message.property("role") == "error"
    assert row.content.text() == "屋顶漏水" and _count(store, Visit) == 0


def test_a_bad_need_saves_nothing_even_when_another_is_escalated(store, admin, household):
    with pytest.raises(ValidationFailed):
        Visits(store, admin).record({"household_id": household, "visited_on": date.today(), "method": "1"},
                                    [{"category": "01", "content": "屋顶漏水", "escalate": True},
                                     {"category": "nonsense", "content": "第二条"}])
    assert (_count(store, Visit), _count(store, VisitNeed), _count(store, GridEvent)) == (0, 0, 0)


def test_deadline_and_handler_and_overdue_events_in_red(qtbot, ui_ctx, store, admin, community):
    from ui.item_models.record_table import RecordTableModel
    from ui.theme import alert_colour

    events = Events(store, admin)
    base = {"grid_id": community.grid1["id"], "category": "01", "source": "1"}
    late = events.report({**base, "title": "路灯不亮", "handler": "王师傅", "reported_at": ten_days_ago(),
                          "deadline": date.today() - timedelta(days=1)})
    events.report({**base, "title": "井盖松动", "deadline": date.today() + timedelta(days=3)})
    events.report({**base, "title": "无期限"})
    with pytest.raises(ValidationFailed) as bad:
        events.report({**base, "title": "期限早于上报", "deadline": date.today() - timedelta(days=400)})
    assert "办理期限:不能早于上报日期" in bad.value.issues[0].message
    lists = Lists(store, admin)
    assert "处置人" in [c.title for c in lists.columns("grid_event")]
    rows = {r["title"]: r for r in lists.page("grid_event", {})}
    assert rows["路灯不亮"]["overdue"] and rows["路灯不亮"]["handler"] == "王师傅"
    assert rows["路灯不亮"]["deadline"].endswith("(已超期)")
    assert not rows["井盖松动"]["overdue"] and not rows["无期限"]["overdue"]
    assert [r["title"] for r in lists.page("grid_event", {"event_state": OVERDUE})] == ["路灯不亮"]
    # red in the list, the others in the table's usual colour
    model = RecordTableModel(lists, "grid_event", background=False)
    model.reload()
    reds = {model.data(model.index(r, 0), Qt.ItemDataRole.DisplayRole) and model.row_data(r)["title"]:
            model.data(model.index(r, 1), Qt.ItemDataRole.ForegroundRole) for r in range(model.rowCount())}
    assert reds["路灯不亮"] == alert_colour() and reds["井盖松动"] is None and reds["无期限"] is None
    # settled events are not overdue any more
    for step in ("accepted", "handling", "verified"):
        events.advance(late["id"], step)
    events.advance(late["id"], "closed", result_type="1")
    assert lists.page("grid_event", {"event_state": OVERDUE}) == []
    assert Stats(store, admin).compute(period=Period.this_year())["total"]["events_overdue"] == 0


def test_the_start_page_counts_overdue_events_in_red(qtbot, ui_ctx, store, admin, community):
    from ui.pages.home import HomePage
    from ui.theme import alert_colour

    Events(store, admin).report({"grid_id": community.grid1["id"], "category": "01", "source": "1",
                                 "title": "路灯不亮", "reported_at": ten_days_ago(),
                                 "deadline": date.today() - timedelta(days=2)})
    assert Stats(store, admin).compute(period=Period.this_year())["total"]["events_overdue"] == 1
    page = HomePage(ui_ctx)
    qtbot.addWidget(page)
    navigated: list[tuple[str, dict]] = []
    page.navigate.connect(lambda k, p: navigated.append((k, p)))
    page.activate()
    qtbot.waitUntil(lambda: page.cards["overdue"].value.text() == "1")
    assert alert_colour().name() in page.cards["overdue"].value.styleSheet()
    page.cards["overdue"].clicked.emit()
    assert navigated == [("grid_event", {"event_state": OVERDUE})]
