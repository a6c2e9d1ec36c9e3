"""The plan and the on-time figures of the hand-built street (tests/plan/street.py), written out
by hand here: D = 2026-06-10 (a Wednesday), default rules."""

from __future__ import annotations

import shutil
import time
from datetime import date, datetime

import pytest

from desktop.services.errors import NotFound, PermissionDenied, ServiceError
from desktop.services.life_events import LifeEvents
from desktop.services.plan import VisitPlan, local_date
from desktop.services.records import Records
from desktop.services.store import Actor, Store
from desktop.services.visit_rules import VisitRules
from tests.plan.street import D, build

ADMIN = Actor("admin", "community_admin", None, "dev-1", "管理员")


@pytest.fixture(scope="module")
def street_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("street") / "street.db"
    store = Store.open(path, create=True)
    street = build(store, ADMIN)
    store.close()
    return path, street


@pytest.fixture
def street(street_file, tmp_path):
    path, street = street_file
    copy = tmp_path / "street.db"
    shutil.copy(path, copy)
    store = Store.open(copy)
    street.store = store
    yield street
    store.close()


def worker(street, name="wgy_a"):
    from desktop.services.auth import actor_for

    return actor_for(street.store, name)


def rows(street, plan):
    names = {v: k for k, v in street.hh.items()}
    return [(names[i.household_id], i.kind, i.reason, i.due_on.isoformat(), i.days_overdue) for i in plan.items]


TODAY_A = [
    # 幸福小区 1栋 1单元: overdue first
    ("H3", "regular", "残障人员 每 30 天一次,已 40 天未访", "2026-05-31", 10),
    ("H1", "regular", "高龄独居或重病老人 每 7 天一次,已 12 天未访", "2026-06-05", 5),
    ("H4", "regular", "常规走访 每 90 天一次,已 90 天未访", "2026-06-10", 0),
    # 1栋 2单元
    ("H8", "regular", "常规走访 每 90 天一次,从未走访", "2026-01-05", 156),
    ("H5", "regular", "出租房屋 每 90 天一次,已 92 天未访", "2026-06-08", 2),
    ("H6", "event", "出院后 1 天内回访(赵丽,6月9日出院)", "2026-06-10", 0),
    # 2栋 1单元 (H9's visit of 06-20 is after D and does not count yet; H10 was visited after moving in)
    ("H11", "event", "亲人去世后 3 天内慰问(何静,6月8日丧偶/亲人去世)", "2026-06-11", 0),
    ("H12", "residence_card", "罗斌 的居住证 2026-06-30 到期,请提醒续签", "2026-06-23", 0),
    # 2栋 2单元 (H14 was visited on D itself)
    ("H15", "regular", "常规走访 每 90 天一次,从未走访", "2026-01-05", 156),
    ("H15", "event", "新迁入 7 天内上门核实(5月25日新迁入)", "2026-06-01", 9),
    ("H13", "regular", "帮扶人员 每 30 天一次,已 30 天未访", "2026-06-10", 0),
]


def test_the_grid_workers_plan_for_today(street):
    plan = VisitPlan(street.store, worker(street)).plan(today=D)
    assert rows(street, plan) == TODAY_A
    assert [(b, [u for u, _ in units]) for b, units in plan.groups()] == [
        ("幸福小区1栋", ["1", "2"]), ("幸福小区2栋", ["1", "2"])]
    h1 = plan.items[1]
    assert h1.last_visit == date(2026, 5, 29) and h1.marks == "独居老人" and h1.head == "王秀英"


def test_this_week_overdue_only_and_by_mark(street):
    vp = VisitPlan(street.store, worker(street))
    week = rows(street, vp.plan(today=D, scope="week"))
    # the week ends on Sunday 2026-06-14: H7 (due 06-12) and H9 (due 06-11) join
    assert week == TODAY_A[:6] + [
        ("H7", "regular", "高龄独居或重病老人 每 7 天一次,已 5 天未访", "2026-06-12", 0),
        ("H9", "regular", "重点人员 每 30 天一次,已 29 天未访", "2026-06-11", 0),
    ] + TODAY_A[6:]
    assert rows(street, vp.plan(today=D, scope="overdue")) == [TODAY_A[i] for i in (0, 1, 3, 4, 8, 9)]
    assert [r[0] for r in rows(street, vp.plan(today=D, mark="残障人员"))] == ["H3"]
    assert [r[0] for r in rows(street, vp.plan(today=D, mark="lone_elderly"))] == ["H1"]


def test_admin_sees_each_grid_and_each_worker_and_a_worker_only_their_own(street):
    vp = VisitPlan(street.store, ADMIN)
    grid2 = rows(street, vp.plan(today=D, grid_id=street.community.grid2["id"]))
    assert grid2 == [
        ("G3", "regular", "常规走访 每 90 天一次,已 101 天未访", "2026-05-30", 11),  # its 06-05 visit was deleted
        ("G1", "regular", "高龄独居或重病老人 每 7 天一次,已 9 天未访", "2026-06-08", 2),
        ("G2", "event", "失业 7 天内了解就业需求(孔亮,6月2日失业)", "2026-06-09", 1),
    ]
    assert rows(street, vp.plan(today=D, worker="wgy_b")) == grid2
    assert rows(street, vp.plan(today=D, worker="wgy_a")) == TODAY_A
    a = worker(street)
    with pytest.raises(PermissionDenied):
        VisitPlan(street.store, a).plan(today=D, worker="wgy_b")
    with pytest.raises(PermissionDenied):
        VisitPlan(street.store, a).plan(today=D, grid_id=street.community.grid2["id"])


def test_a_visit_removes_the_item_at_once_and_an_event_needs_a_visit_after_it(street):
    a = worker(street)
    Records(street.store, a).create("visit", {"household_id": street.hh["H3"], "visited_on": D, "visitor": "wgy_a"})
    # a visit on the day before the discharge does not answer it
    Records(street.store, a).create("visit", {"household_id": street.hh["H6"], "visited_on": "2026-06-08",
                                              "visitor": "wgy_a"})
    got = rows(street, VisitPlan(street.store, a).plan(today=D))
    assert [r[0] for r in got] == ["H1", "H4", "H8", "H5", "H6", "H11", "H12", "H15", "H15", "H13"]
    Records(street.store, a).create("visit", {"household_id": street.hh["H6"], "visited_on": D, "visitor": "wgy_a"})
    Records(street.store, a).create("visit", {"household_id": street.hh["H12"], "visited_on": "2026-06-01",
                                              "visitor": "wgy_a"})  # after the notice opened (05-31)
    got = rows(street, VisitPlan(street.store, a).plan(today=D))
    assert [r[0] for r in got] == ["H1", "H4", "H8", "H5", "H11", "H15", "H15", "H13"]


def test_recording_hospital_and_discharge_creates_a_follow_up(street):
    a = worker(street)
    ev = LifeEvents(street.store, a)
    ev.record(street.hh["H2"], "hospitalized", "2026-06-03", person_id=street.people["李桂兰"])
    assert "H2" not in [r[0] for r in rows(street, VisitPlan(street.store, a).plan(today=D))]  # waits for 出院
    ev.record(street.hh["H2"], "discharged", "2026-06-10", person_id=street.people["李桂兰"])
    got = [r for r in rows(street, VisitPlan(street.store, a).plan(today=D)) if r[0] == "H2"]
    assert got == [("H2", "event", "出院后 1 天内回访(李桂兰,6月10日出院)", "2026-06-11", 0)]
    timeline = ev.for_household(street.hh["H2"])
    assert [(e["label"], e["person"]) for e in timeline] == [("出院", "李桂兰"), ("住院", "李桂兰")]


def test_a_stricter_rule_changes_the_plan(street):
    VisitRules(street.store, ADMIN).set("mark", "独居老人", 14, "独居老人两周一次")
    got = rows(street, VisitPlan(street.store, worker(street)).plan(today=D))
    assert ("H2", "regular", "独居老人两周一次 每 14 天一次,已 21 天未访", "2026-06-03", 7) in got
    VisitRules(street.store, ADMIN).set("all", "", 90, active=False)
    got = rows(street, VisitPlan(street.store, worker(street)).plan(today=D))
    assert "H4" not in [r[0] for r in got] and "H8" not in [r[0] for r in got]  # no rule applies to them any more


def test_on_time_figures_for_a_period(street):
    r = VisitPlan(street.store, ADMIN).on_time(date(2026, 6, 1), D, today=D)
    pick = ("due", "on_time", "late", "overdue", "rate")
    # grid 1: H1 06-05 overdue; H5 06-08 overdue; H7 06-05 on time; H14 06-01 late (visited 06-03) and
    # 06-10 on time; H15 新迁入 due 06-01 overdue. H4, H6, H13 fall due on D itself, unvisited: not yet counted.
    assert [r["grids"][0][k] for k in pick] == [6, 2, 1, 3, 0.3333]
    # grid 2: G1 06-01 on time and 06-08 overdue; G2 失业 due 06-09 overdue; G4 due 06-01 visited 06-03 late;
    # G5 registered 06-02, first visit 06-04: late.
    assert [r["grids"][1][k] for k in pick] == [5, 1, 2, 2, 0.2]
    assert [r["total"][k] for k in pick] == [11, 3, 3, 5, 0.2727]
    assert [(w["username"], w["due"], w["on_time"]) for w in r["workers"]] == [("wgy_a", 6, 2), ("wgy_b", 5, 1)]
    late = r["late_or_overdue"][street.community.grid1["id"]]
    assert [(x["due_on"], x["state"]) for x in late][:2] == [("2026-06-01", "late"), ("2026-06-01", "overdue")]
    mine = VisitPlan(street.store, worker(street)).on_time(date(2026, 6, 1), D, today=D)
    assert [g["name"] for g in mine["grids"]] == ["第1网格"] and mine["total"]["due"] == 6


def test_the_plan_is_the_same_for_the_same_day(street):
    vp = VisitPlan(street.store, ADMIN)
    assert vp.plan(today=D).as_json() == vp.plan(today=D).as_json()
    assert vp.plan(today=date(2026, 6, 20)).as_json()["count"] != vp.plan(today=D).as_json()["count"]


def test_registration_dates_are_local_days(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert local_date(datetime(2026, 1, 4, 18, 30)) == date(2026, 1, 5)  # 02:30 in Beijing
        assert local_date("2026-01-04 15:59:00") == date(2026, 1, 4)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("kind", "when", "person", "message"), [
    ("heartbreak", "2026-06-01", None, "情况变化类型“heartbreak”不认识"),
    ("residence_card", "2026-06-01", None, "由居住证有效期自动提醒"),
    ("discharged", "2999-01-01", None, "晚于今天"),
    ("discharged", "六月", None, "不是有效日期"),
    ("discharged", "2026-06-01", "王秀英", "所选人员不是该户的成员"),
])
def test_bad_life_events_are_refused_in_chinese_and_nothing_is_written(street, kind, when, person, message):
    before = len(LifeEvents(street.store, ADMIN).for_household(street.hh["H3"]))
    with pytest.raises(ServiceError) as exc:
        LifeEvents(street.store, ADMIN).record(street.hh["H3"], kind, when,
                                               person_id=street.people[person] if person else None)
    assert message in exc.value.message
    assert len(LifeEvents(street.store, ADMIN).for_household(street.hh["H3"])) == before
    with pytest.raises(NotFound):
        LifeEvents(street.store, ADMIN).record("no-such", "discharged", "2026-06-01")


def test_a_worker_cannot_record_events_in_another_grid_and_events_are_captured_for_sync(street):
    with pytest.raises(PermissionDenied):
        LifeEvents(street.store, worker(street)).record(street.hh["G1"], "discharged", "2026-06-01")
    with street.store.session() as s:
        n = s.connection().exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE table_name = 'life_event'").scalar()
    assert n == 6
