"""The 楼盘表 model against a hand-built building, the one status rule, the map's layout and the
door-plate tokens."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desktop.services.areas import AreaAdmin
from desktop.services.errors import ServiceError
from desktop.services.floorplan import FloorPlans
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.room_status import RoomFacts, room_status, worst
from desktop.services.store import Actor

TODAY = date.today()  # the plan counts from each household's registration date: today
HOUSE = {"use": "自住", "owner_name": "房主", "area_m2": 80}


@pytest.fixture
def building(store, admin, community):
    """幸福小区3栋: 2 units × 3 floors × 2 rooms, filled by hand with one room of every status."""
    grid = community.grid1["id"]
    made = AreaAdmin(store, admin).create_building(grid, "幸福小区", "3", units=2, floors=3, rooms_per_floor=2)
    ids = dict(zip([f"{u}-{r}" for u in (1, 2) for r in (101, 102, 201, 202, 301, 302)], made["address_ids"], strict=True))
    h, r = Households(store, admin), Records(store, admin)

    def family(room: str, name: str, *, visited: int | None, **member) -> str:
        # complete by the 数据质量 queue's rules (the head's phone, the house's owner and area) unless
        # a member says otherwise
        view = h.register(grid_id=grid, address_id=ids[room], house=HOUSE,
                          members=[{**community.member(name, 40, phone="13800000001"), **member}])
        hid = view["household"]["id"]
        if visited is not None:
            r.create("visit", {"household_id": hid, "visited_on": TODAY - timedelta(days=visited), "visitor": "admin"})
        return hid

    hh = {
        "complete": family("1-101", "张伟", visited=3),
        "overdue": family("1-102", "李娜", visited=100),
        "due": family("1-201", "王芳", visited=85),
        "key": family("1-202", "刘洋", visited=3, marks=",key_person,"),
        "incomplete": family("2-101", "陈静", visited=3, cert_no=None, cert_type="990"),
    }
    r.create("house", {"grid_id": grid, "address_id": ids["2-102"], "use": "3"})
    r.create("house", {"grid_id": grid, "address_id": ids["2-201"], "use": "2"})
    return grid, ids, hh


def test_building_table_is_units_by_floors_with_one_cell_per_room(store, admin, building):
    grid, ids, hh = building
    t = FloorPlans(store, admin).building_table(grid, "幸福小区", "3", today=TODAY)
    assert t.title == "幸福小区3栋" and t.units == ["1", "2"] and t.floors == [3, 2, 1]
    assert t.rooms == 12 and t.width == 2
    assert [c.room for c in t.cells[("1", 1)]] == ["101", "102"]
    by_room = {(c.unit, c.room): c for cells in t.cells.values() for c in cells}
    assert by_room[("1", "101")].status == "complete" and by_room[("1", "101")].text == "张 · 1人"
    assert by_room[("1", "101")].household_id == hh["complete"]
    assert by_room[("1", "102")].status == "overdue" and by_room[("1", "102")].letter == "逾"
    assert by_room[("1", "201")].status == "due"
    assert by_room[("1", "202")].status == "key"
    assert by_room[("2", "101")].status == "incomplete" and "证件号码" in by_room[("2", "101")].tip
    assert (by_room[("2", "102")].status, by_room[("2", "102")].text) == ("vacant", "空置")
    assert (by_room[("2", "201")].status, by_room[("2", "201")].text) == ("unregistered", "出租")
    assert (by_room[("2", "302")].status, by_room[("2", "302")].text) == ("unregistered", "未登记")
    assert by_room[("2", "302")].address_id == ids["2-302"] and by_room[("2", "302")].household_id is None
    assert t.counts == {"overdue": 1, "due": 1, "key": 1, "incomplete": 1, "unregistered": 6,
                        "vacant": 1, "complete": 1}
    # the hover line names the household in one line, never an ID number
    assert "\n" not in by_room[("1", "101")].tip and "张伟" in by_room[("1", "101")].tip


def test_the_rule_orders_statuses_worst_first():
    assert room_status(RoomFacts("h", key_person=True, visit="overdue", problems=("x",))) == "overdue"
    assert room_status(RoomFacts("h", key_person=True, problems=("x",))) == "key"
    assert room_status(RoomFacts("h", problems=("x",))) == "incomplete"
    assert room_status(RoomFacts(None, vacant=True)) == "vacant"
    assert room_status(RoomFacts(None)) == "unregistered"
    assert worst(["complete", "vacant", "due"]) == "due" and worst([]) is None


def test_a_worker_sees_only_their_grids(store, admin, community, building):
    grid, _, _ = building
    worker = Actor("w", "grid_worker", frozenset({community.grid2["id"]}), "dev-1", "网格员")
    with pytest.raises(ServiceError, match="没有负责网格"):
        FloorPlans(store, worker).building_table(grid, "幸福小区", "3", today=TODAY)
    with pytest.raises(ServiceError, match="找不到楼栋"):
        FloorPlans(store, admin).building_table(grid, "幸福小区", "99", today=TODAY)


def test_grid_map_colours_each_building_by_its_worst_room(store, admin, community, building):
    grid, _, _ = building
    AreaAdmin(store, admin).create_building(grid, "幸福小区", "4", units=1, floors=2, rooms_per_floor=2)
    AreaAdmin(store, admin).create_building(grid, "阳光小区", "1", units=1, floors=2, rooms_per_floor=1)
    m = FloorPlans(store, admin).grid_map(grid, today=TODAY)
    status = {(b.estate, b.building): b.status for b in m.buildings}
    assert status == {("幸福小区", "3"): "overdue", ("幸福小区", "4"): "unregistered", ("阳光小区", "1"): "unregistered"}
    # generated layout: rectangles that do not overlap, all inside the outline
    rects = [(min(x for x, _ in b.polygon), min(y for _, y in b.polygon), max(x for x, _ in b.polygon),
              max(y for _, y in b.polygon)) for b in m.buildings]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    ox = [p[0] for p in m.outline]
    oy = [p[1] for p in m.outline]
    assert all(min(ox) < r[0] and r[2] < max(ox) and min(oy) < r[1] and r[3] < max(oy) for r in rects)


def test_door_plate_tokens_are_opaque_and_resolve_to_the_room(store, admin, community, building):
    grid, ids, hh = building
    plans = FloorPlans(store, admin)
    plates = plans.door_plates(grid, "幸福小区", "3")
    assert len(plates) == 12 and plates[0]["text"] == "幸福小区3栋1单元101室"
    token = plates[0]["token"]
    assert token.startswith("GLM1-") and "张" not in token and len(token) == 37
    assert plans.resolve(token)["household_id"] == hh["complete"]
    assert plans.resolve(" " + token.lower() + "\n")["address_id"] == ids["1-101"]
    assert plans.resolve(plans.token(ids["2-302"]))["household_id"] is None
    with pytest.raises(ServiceError, match="不是本程序打印的门牌"):
        plans.resolve("张伟")
    with pytest.raises(ServiceError, match="已不存在"):
        plans.resolve("GLM1-" + "0" * 32)
    worker = Actor("w", "grid_worker", frozenset({community.grid2["id"]}), "dev-1", "网格员")
    with pytest.raises(ServiceError, match="未负责的网格"):
        FloorPlans(store, worker).resolve(token)


def test_the_demo_street_gives_every_grid_a_plausible_layout(store, admin):
    from desktop.services.areas import AreaAdmin as Admin
    from desktop.services.demo import generate

    generate(store, households=120, seed=3)
    plans = FloorPlans(store, admin)
    grids = Admin(store, admin).grids()
    assert grids
    for g in grids:
        m = plans.grid_map(g["id"])
        assert m.buildings and all(b.located for b in m.buildings)
        boxes = [(min(x for x, _ in b.polygon), min(y for _, y in b.polygon), max(x for x, _ in b.polygon),
                  max(y for _, y in b.polygon)) for b in m.buildings]
        for i, a in enumerate(boxes):  # slab blocks side by side, none on top of another
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        width = max(p[0] for p in m.outline) - min(p[0] for p in m.outline)
        assert 50 < width < 1000  # metres: a grid, not a continent
        statuses = {b.status for b in m.buildings}
        assert statuses & {"overdue", "due", "key", "incomplete"}  # something to do on the map


def test_the_quality_queue_and_the_building_table_agree(store, admin, community):
    """One rule for 缺 (信息不全): a household the 数据质量 queue lists under one of
    `quality.ROOM_REASONS` (its record, a member or its house) shows 缺 on the 楼盘表, and a
    household shown 缺 is one the queue lists (desktop/services/quality.py `household_problems`)."""
    from desktop.services.quality import ROOM_REASONS, Quality

    grid = community.grid1["id"]
    made = AreaAdmin(store, admin).create_building(grid, "和平小区", "5", units=1, floors=4, rooms_per_floor=2)
    rooms = iter(made["address_ids"])
    h, r = Households(store, admin), Records(store, admin)

    def family(*members, house=HOUSE) -> dict:
        view = h.register(grid_id=grid, address_id=next(rooms), house=house, members=list(members))
        r.create("visit", {"household_id": view["household"]["id"], "visited_on": TODAY - timedelta(days=3),
                           "visitor": "admin"})
        return view

    def head(name, age=40, **extra):
        return community.member(name, age, phone="13800000002", **extra)

    ok = family(head("赵一"), community.member("赵小", 10, relation="20"))
    no_phone = family(community.member("钱二", 40))
    house_missing = family(head("孙三"), house={"use": "自住"})  # no owner, no area
    child_older = family(head("李四", 30), community.member("李大", 50, relation="20"))
    no_head = family(head("周五"), community.member("周小", 12, relation="20"))
    r.update("household", no_head["household"]["id"], {"head_person_id": None})
    r.update("person", no_head["members"][0]["id"], {"relation": "10"})
    two_heads = family(head("吴六"), community.member("吴七", 38, relation="10"))
    r.update("person", two_heads["members"][1]["id"], {"relation": "02"})
    unlinked = family(head("郑八"))
    r.update("person", unlinked["members"][0]["id"], {"house_id": None})

    # what the queue lists, per household (a member's item, the household's, its house's)
    household_of = {}
    for v in (ok, no_phone, house_missing, child_older, no_head, two_heads, unlinked):
        hid = v["household"]["id"]
        household_of |= {m["id"]: hid for m in v["members"]} | {hid: hid, v["household"]["house_id"]: hid}
    listed: dict[str, set[str]] = {}
    for it in Quality(store, admin).queue(grid_id=grid):
        if it["reason"] in ROOM_REASONS and it["id"] in household_of:
            listed.setdefault(household_of[it["id"]], set()).add(it["reason"])
    t = FloorPlans(store, admin).building_table(grid, "和平小区", "5", today=TODAY)
    cells = [c for row in t.cells.values() for c in row if c.household_id]
    shown = {c.household_id for c in cells if c.status == "incomplete"}
    assert shown == set(listed)
    assert {c.household_id: c.status for c in cells}[ok["household"]["id"]] == "complete"
    assert listed == {
        no_phone["household"]["id"]: {"missing"},
        house_missing["household"]["id"]: {"missing"},
        child_older["household"]["id"]: {"child_older"},
        no_head["household"]["id"]: {"no_head"},
        two_heads["household"]["id"]: {"two_heads"},
        unlinked["household"]["id"]: {"person_no_house", "house_no_resident"},
    }
    # the hover line says what the queue says
    tip = {c.household_id: c.tip for c in cells}
    assert "钱二:人员缺少:联系电话" in tip[no_phone["household"]["id"]]
    assert "该户有两人以上登记为户主" in tip[two_heads["household"]["id"]]
    # and the same households are the ones the map's hook reports
    from desktop.services.room_status import quality_problems

    with store.session() as s:
        found = quality_problems(s.connection(), [c.household_id for c in cells], TODAY)
    assert set(found) == set(listed)
