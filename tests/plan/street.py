"""A hand-built street of 30 households whose plan and on-time figures tests/plan/test_plan.py
writes out by hand (D = 2026-06-10, a Wednesday; every household registered on 2026-01-05 unless
said otherwise). Grid 1 (worker wgy_a) is 幸福小区 buildings 1 and 2; grid 2 (worker wgy_b) is
安康小区 building 1.

Rules: the defaults (高龄独居或重病 7, 独居/残障/帮扶/重点 30, 出租 90, everyone 90)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from desktop.services.households import Households
from desktop.services.life_events import LifeEvents
from desktop.services.records import Records
from desktop.services.store import Actor, Store
from desktop.services.users import Users
from tests.factories import Community, id_number, years_ago

D = date(2026, 6, 10)
REGISTERED = "2026-01-05 02:00:00.000000"
PASSWORD = "street-pass-2026"


@dataclass
class Street:
    store: Store
    admin: Actor
    community: Community
    hh: dict[str, str] = field(default_factory=dict)  # label -> household id
    people: dict[str, str] = field(default_factory=dict)  # name -> person id


def _m(name: str, age: int, gender: str = "1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "cert_no": id_number(years_ago(age), gender), **extra}


# label, grid, estate, building, unit, room, members, house, visits (ISO days)
GRID1 = [
    ("H1", "幸福小区", "1", "1", "101", [_m("王秀英", 85, "2")], {}, ["2026-05-29"]),
    ("H2", "幸福小区", "1", "1", "102", [_m("李桂兰", 70, "2")], {}, ["2026-05-20"]),
    ("H3", "幸福小区", "1", "1", "201", [_m("张建国", 45), _m("张伟", 20, marks="disabled")], {}, ["2026-05-01"]),
    ("H4", "幸福小区", "1", "1", "202", [_m("刘洋", 35), _m("刘妻", 34, "2"), _m("刘子", 8)], {}, ["2026-03-12"]),
    ("H5", "幸福小区", "1", "2", "101", [_m("陈明", 50)], {"use": "2", "tenant_name": "陈明"}, ["2026-03-10"]),
    ("H6", "幸福小区", "1", "2", "102", [_m("赵丽", 40, "2"), _m("孙强", 42)], {}, ["2026-04-01"]),
    ("H7", "幸福小区", "1", "2", "201", [_m("周芳", 65, "2", health="重病卧床"), _m("周杰", 38)], {},
     ["2026-05-22", "2026-05-29", "2026-06-05"]),
    ("H8", "幸福小区", "1", "2", "202", [_m("吴刚", 30)], {}, []),
    ("H9", "幸福小区", "2", "1", "101", [_m("郑华", 55, marks="key_person")], {}, ["2026-05-12", "2026-06-20"]),
    ("H10", "幸福小区", "2", "1", "102", [_m("冯军", 40), _m("冯妻", 39, "2")], {}, ["2026-06-06"]),
    ("H11", "幸福小区", "2", "1", "201", [_m("何静", 33, "2"), _m("何子", 6)], {}, ["2026-04-20"]),
    ("H12", "幸福小区", "2", "1", "202",
     [_m("罗斌", 28, person_type="2", residence_card_no="620100000001", residence_card_until="2026-06-30")],
     {}, ["2026-05-15"]),
    ("H13", "幸福小区", "2", "2", "101", [_m("高伟", 36, marks="assisted"), _m("高妻", 35, "2")], {},
     ["2026-04-11", "2026-05-11"]),
    ("H14", "幸福小区", "2", "2", "102", [_m("林芳", 82, "2")], {}, ["2026-05-25", "2026-06-03", "2026-06-10"]),
    ("H15", "幸福小区", "2", "2", "201", [_m("唐军", 45), _m("唐妻", 44, "2")], {}, []),
]
GRID2 = [
    ("G1", "安康小区", "1", "1", "101", [_m("钱老汉", 88)], {}, ["2026-05-18", "2026-05-25", "2026-06-01"]),
    ("G2", "安康小区", "1", "1", "102", [_m("孔亮", 39), _m("孔妻", 37, "2")], {}, ["2026-05-01"]),
    ("G3", "安康小区", "1", "1", "201", [_m("曹敏", 47), _m("曹妻", 45, "2")], {}, ["2026-03-01"]),
    ("G4", "安康小区", "1", "2", "101", [_m("严峰", 41), _m("严妻", 40, "2")], {}, ["2026-03-03", "2026-06-03"]),
    ("G5", "安康小区", "1", "2", "102", [_m("华强", 29), _m("华妻", 28, "2")], {}, ["2026-06-04"]),
] + [
    (f"G{6 + i}", "安康小区", "1", "3", f"{101 + i}", [_m(f"住户{i}甲", 40 + i), _m(f"住户{i}乙", 38 + i, "2")], {},
     ["2026-05-01"])
    for i in range(10)
]


def build(store: Store, admin: Actor) -> Street:
    c = Community.build(store, admin)
    st = Street(store, admin, c)
    h = Households(store, admin)
    for grid, rows in ((c.grid1["id"], GRID1), (c.grid2["id"], GRID2)):
        for label, estate, building, unit, room, members, house, _visits in rows:
            view = h.register(grid_id=grid, address={"estate": estate, "building": building, "unit": unit, "room": room},
                              house=house, members=[dict(m) for m in members])
            st.hh[label] = view["household"]["id"]
            for m in view["members"]:
                st.people[m["name"]] = m["id"]
    with store.transaction() as s:
        s.connection().exec_driver_sql("UPDATE household SET created_at = ?", (REGISTERED,))
        s.connection().exec_driver_sql("UPDATE household SET created_at = '2026-06-02 03:00:00.000000' WHERE id = ?",
                                       (st.hh["G5"],))
    r = Records(store, admin)
    for rows in (GRID1, GRID2):
        for label, *_rest, visits in rows:
            for day in visits:
                r.create("visit", {"household_id": st.hh[label], "visited_on": day, "visitor": "wgy", "method": "1"})
    gone = r.create("visit", {"household_id": st.hh["G3"], "visited_on": "2026-06-05", "visitor": "wgy", "method": "1"})
    r.delete("visit", gone["id"])
    ev = LifeEvents(store, admin)
    ev.record(st.hh["H6"], "hospitalized", "2026-06-01", person_id=st.people["赵丽"])
    ev.record(st.hh["H6"], "discharged", "2026-06-09", person_id=st.people["赵丽"])
    ev.record(st.hh["H10"], "moved_in", "2026-06-05")
    ev.record(st.hh["H11"], "bereaved", "2026-06-08", person_id=st.people["何静"])
    ev.record(st.hh["H15"], "moved_in", "2026-05-25")
    ev.record(st.hh["G2"], "unemployed", "2026-06-02", person_id=st.people["孔亮"])
    users = Users(store, admin)
    users.create("wgy_a", "王网格", "grid_worker", PASSWORD, grid_ids=[c.grid1["id"]])
    users.create("wgy_b", "白网格", "grid_worker", PASSWORD, grid_ids=[c.grid2["id"]])
    return st
