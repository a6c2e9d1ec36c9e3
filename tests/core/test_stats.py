"""Statistics against a small community counted by hand."""

from __future__ import annotations

from datetime import date

from desktop.services.events import Events, Visits
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.stats import Period, Stats
from desktop.services.store import Actor


def test_stats_by_hand(store, admin, community):
    h = Households(store, admin)
    r = Records(store, admin)
    g1, g2 = community.grid1["id"], community.grid2["id"]
    a = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "101"},
                   members=[community.member("一", 40), community.member("二", 38, "2", relation="10"),
                            community.member("三", 10, relation="20")], house={"use": "自住"})
    b = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "102"},
                   members=[community.member("四", 70, "2")], house={"use": "自住"})
    c = h.register(grid_id=g2, address={"estate": "乙小区", "building": "2", "room": "201"},
                   members=[community.member("五", 30, person_type="流动人口", residence_reason="务工",
                                             employment="失业")], house={"use": "出租", "tenant_name": "五"})
    # a vacant house, and a person not linked to any house
    addr = r.create("address", {"grid_id": g2, "estate": "乙小区", "building": "2", "room": "202"})
    r.create("house", {"grid_id": g2, "address_id": addr["id"], "use": "空置"})
    r.create("person", {"grid_id": g2, "name": "六", "marks": "帮扶人员"})
    r.create("vehicle", {"grid_id": g1, "plate_no": "甘A11111"})
    v = Visits(store, admin)
    v.record({"household_id": a["household"]["id"], "visited_on": date.today(), "situation": "上午入户"})
    v.record({"household_id": a["household"]["id"], "visited_on": date.today(), "situation": "下午回访"})
    v.record({"household_id": c["household"]["id"], "visited_on": date.today(), "situation": "一切正常"})
    ev = Events(store, admin)
    e1 = ev.report({"grid_id": g1, "title": "a", "category": "其他"})
    for st in ("accepted", "handling", "verified"):
        ev.advance(e1["id"], st)
    ev.advance(e1["id"], "closed", result_type="自办自结")
    ev.advance(e1["id"], "evaluated", satisfaction="满意")
    e2 = ev.report({"grid_id": g1, "title": "b", "category": "其他"})
    for st in ("accepted", "handling", "verified"):
        ev.advance(e2["id"], st)
    ev.advance(e2["id"], "closed", result_type="自办自结")
    ev.advance(e2["id"], "evaluated", satisfaction="不满意")
    ev.report({"grid_id": g2, "title": "c", "category": "其他"})
    r.create("dispute", {"grid_id": g1, "dispute_type": "邻里纠纷", "parties": "甲与乙", "occurred_on": date.today(),
                         "result": "调解成功", "agreement_form": "口头"})
    _ = b

    res = Stats(store, admin).compute(period=Period.this_year())
    t = res["total"]
    assert (t["people"], t["households"], t["houses"], t["vehicles"]) == (6, 3, 4, 1)
    assert t["people_by_type"]["1"]["count"] == 5 and t["people_by_type"]["2"]["count"] == 1
    assert t["houses_by_use"] == {"1": {"label": "自住", "count": 2}, "2": {"label": "出租", "count": 1},
                                  "3": {"label": "空置", "count": 1}}
    marks = {k: v["count"] for k, v in t["care_marks"].items()}
    assert marks == {"lone_elderly": 1, "floating": 1, "unemployed": 1, "assisted": 1}
    assert t["person_house_link_rate"] == round(5 / 6, 4)
    assert t["house_occupancy_known_rate"] == 0.75
    assert t["visits"] == 3 and t["households_visited"] == 2 and t["visit_coverage"] == round(2 / 3, 4)
    assert (t["events_received"], t["events_closed"], t["events_open"]) == (3, 2, 1)
    assert t["events_closed_rate"] == round(2 / 3, 4) and t["events_satisfied_rate"] == 0.5
    assert t["disputes"] == 1 and t["disputes_by_result"]["1"]["count"] == 1
    by_code = {g["code"]: g for g in res["grids"]}
    assert by_code["62010400100101"]["people"] == 4 and by_code["62010400100102"]["people"] == 2
    # a grid worker's figures cover their grid only; a community scope works by area id
    worker = Actor("w", "grid_worker", frozenset({g2}))
    assert Stats(store, worker).compute()["total"]["people"] == 2
    assert Stats(store, admin).compute(area_id=g1)["total"]["people"] == 4
    # a period with nothing in it
    empty = Stats(store, admin).compute(period=Period(date(2000, 1, 1), date(2000, 12, 31)))["total"]
    assert empty["visits"] == 0 and empty["visit_coverage"] == 0 and empty["events_closed_rate"] is None
