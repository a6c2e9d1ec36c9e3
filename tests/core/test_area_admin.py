"""Admins build the area tree in the app: grids, 小区, buildings whose rooms are generated in one
step; renaming or moving a building keeps every record attached; deleting what still holds records
is refused with how many of what; a grid worker may do none of it. Every edit is audited and
captured for sync."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from desktop.models import Address, Area, AuditEntry
from desktop.services.areas import AreaAdmin, Areas
from desktop.services.errors import PermissionDenied, ServiceError
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.store import Actor


def _count(store, model, **where):
    with store.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q.where(model.deleted_at.is_(None)))


def _outbox(store, table):
    with store.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM sync_outbox WHERE table_name = :t"), {"t": table}).scalar()


def test_a_building_of_3_units_6_floors_2_rooms_is_36_rooms_in_one_transaction(store, admin, community):
    areas = AreaAdmin(store, admin)
    areas_before = _outbox(store, "area")
    grid = areas.create_grid(community.community["id"], "第3网格")
    assert grid["code"] == "62010400100103" and grid["level"] == "grid"
    areas.create_estate(grid["id"], "幸福小区")
    assert _outbox(store, "area") == areas_before + 2  # synced like any record
    with store.session() as s:
        audited = s.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity == "area",
                                                                AuditEntry.action == "create")).all()
    assert grid["id"] in audited
    before = _outbox(store, "address")
    made = areas.create_building(grid["id"], "幸福小区", "3号楼", units=3, floors=6, rooms_per_floor=2)
    assert made["rooms"] == 36 and made["building"] == "3"
    with store.session() as s:
        rows = s.scalars(select(Address).where(Address.grid_id == grid["id"])).all()
    texts = sorted(a.full_text for a in rows)
    assert len(rows) == 36 and "幸福小区3栋1单元101室" in texts and "幸福小区3栋3单元602室" in texts
    first = [a for a in rows if a.unit == "1"]
    assert sorted(((a.floor, a.room) for a in first), key=lambda t: t[1]) == [
        (f, f"{f}{r:02d}") for f in range(1, 7) for r in (1, 2)]
    assert {a.code for a in rows if a.full_text == "幸福小区3栋2单元501室"} == {"62010400100103" + "03" + "2" + "501"}
    assert _outbox(store, "address") == before + 36  # synced rows like the others
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "address")) >= 36
    # the tree shows it: grid → 小区 → 3栋 → 3 units → 12 rooms each
    tree = Areas(store, admin)
    comm = tree.children(None)[0]
    g = next(n for n in tree.children(comm) if n.key["grid_id"] == grid["id"])
    estate = tree.children(g)
    assert [n.label for n in estate] == ["幸福小区"]
    building = tree.children(estate[0])
    assert [n.label for n in building] == ["3栋"]
    units = tree.children(building[0])
    assert [n.label for n in units] == ["1单元", "2单元", "3单元"]
    assert len(tree.children(units[0])) == 12


def test_a_refused_building_writes_nothing(store, admin, community):
    areas = AreaAdmin(store, admin)
    g = community.grid1["id"]
    areas.create_building(g, "幸福小区", "1", units=1, floors=2, rooms_per_floor=2)
    n = _count(store, Address)
    with pytest.raises(ServiceError, match="已有 4 个户室"):
        areas.create_building(g, "幸福小区", "1栋", units=2, floors=6, rooms_per_floor=2)
    with pytest.raises(ServiceError, match="层数:应为 1 到 99 之间的整数"):
        areas.create_building(g, "幸福小区", "2", units=2, floors=0, rooms_per_floor=2)
    with pytest.raises(ServiceError, match="小区名称:请填写名称"):
        areas.create_building(g, " ", "2", units=2, floors=2, rooms_per_floor=2)
    assert _count(store, Address) == n



def test_the_36th_room_failing_leaves_none_of_the_35_before_it(store, admin, community, monkeypatch):
    areas = AreaAdmin(store, admin)
    real = Records._create
    made = []

    def create(self, s, kind, data, **opts):
        if kind == "address" and made.count("address") == 35:
            raise ServiceError("磁盘已满")
        made.append(kind)
        return real(self, s, kind, data, **opts)

    monkeypatch.setattr(Records, "_create", create)
    with pytest.raises(ServiceError, match="磁盘已满"):
        areas.create_building(community.grid1["id"], "新小区", "9", units=3, floors=6, rooms_per_floor=2)
    assert made.count("address") == 35
    assert _count(store, Address) == 0 and _count(store, Area, level="estate") == 0


def _household_with_visit(store, admin, community, address_id):
    h = Households(store, admin)
    view = h.register(grid_id=community.grid1["id"], address_id=address_id,
                      members=[community.member("陈建国", 52), community.member("李秀英", 50, "2", relation="10")])
    visit = Records(store, admin).create("visit", {
        "household_id": view["household"]["id"], "visited_on": date(2026, 3, 1), "visitor": "admin"})
    return view, visit


def test_renaming_and_moving_a_building_keeps_every_record_attached(store, admin, community):
    areas = AreaAdmin(store, admin)
    g1, g2 = community.grid1["id"], community.grid2["id"]
    made = areas.create_building(g1, "幸福小区", "3", units=2, floors=2, rooms_per_floor=2)
    view, visit = _household_with_visit(store, admin, community, made["address_ids"][0])
    assert view["address"]["full_text"] == "幸福小区3栋1单元101室"
    # rename: same rows, new text
    areas.edit_building(g1, "幸福小区", "3", new_building="5")
    r = Records(store, admin)
    assert r.get("address", made["address_ids"][0])["full_text"] == "幸福小区5栋1单元101室"
    assert r.get("house", view["house"]["id"])["address_id"] == made["address_ids"][0]
    # move to another 小区 of another grid: people, house, household, visit follow to grid 2
    summary = areas.building_summary(g1, "幸福小区", "5")
    assert summary == {"rooms": 8, "records": {"house": 1, "household": 1, "person": 2, "visit": 1}}
    out = areas.edit_building(g1, "幸福小区", "5", to_grid_id=g2, to_estate="和平家园")
    assert out["rooms"] == 8 and out["moved"] == {"house": 1, "household": 1, "person": 2, "visit": 1}
    addr = r.get("address", made["address_ids"][0])
    assert addr["grid_id"] == g2 and addr["full_text"] == "和平家园5栋1单元101室"
    assert addr["code"] == "62010400100102" + "05" + "1" + "101"
    assert r.get("household", view["household"]["id"])["grid_id"] == g2
    assert {r.get("person", m["id"])["grid_id"] for m in view["members"]} == {g2}
    assert r.get("person", view["members"][0]["id"])["household_id"] == view["household"]["id"]
    assert r.get("visit", visit["id"])["grid_id"] == g2
    assert areas.estates(g2) == ["和平家园"] and areas.estates(g1) == ["幸福小区"]
    # a grid worker of grid 2 now finds them there
    worker = Actor("w2", "grid_worker", frozenset({g2}))
    assert Records(store, worker).get("household", view["household"]["id"])["hh_no"]
    # moving onto a building that exists is refused
    areas.create_building(g2, "和平家园", "6", units=1, floors=1, rooms_per_floor=1)
    with pytest.raises(ServiceError, match="和平家园6栋已有 1 个户室"):
        areas.edit_building(g2, "和平家园", "5", new_building="6")


def test_renaming_a_estate_updates_its_addresses(store, admin, community):
    areas = AreaAdmin(store, admin)
    g = community.grid1["id"]
    made = areas.create_building(g, "幸福小区", "1", units=1, floors=1, rooms_per_floor=2)
    assert areas.rename_estate(g, "幸福小区", "幸福家园")["addresses"] == 2
    assert Records(store, admin).get("address", made["address_ids"][1])["full_text"] == "幸福家园1栋1单元102室"
    assert areas.estates(g) == ["幸福家园"]


def test_deleting_what_holds_records_is_refused_with_how_many_of_what(store, admin, community):
    areas = AreaAdmin(store, admin)
    g1 = community.grid1["id"]
    made = areas.create_building(g1, "幸福小区", "3", units=1, floors=2, rooms_per_floor=2)
    _household_with_visit(store, admin, community, made["address_ids"][0])
    with pytest.raises(ServiceError) as exc:
        areas.delete_building(g1, "幸福小区", "3")
    message = str(exc.value)
    assert message.startswith("不能删除幸福小区3栋:其中还有") and message.endswith("请先把这些记录移走或删除,或把整栋楼移到别的小区")
    for part in ("1 个房屋", "2 个人员", "1 个走访记录"):
        assert part in message
    with pytest.raises(ServiceError, match="不能删除网格“第1网格”:其中还有4 个标准地址.*2 个人员"):
        areas.delete_area(g1)
    with pytest.raises(ServiceError, match="不能删除“兰化22街区社区”:其下还有2 个网格"):
        areas.delete_area(community.community["id"])
    estate = next(a for a in areas_rows(store) if a.level == "estate")
    with pytest.raises(ServiceError, match="不能删除小区“幸福小区”:其中还有4 个标准地址"):
        areas.delete_area(estate.id)
    # an empty building and an empty grid go
    empty = areas.create_grid(community.community["id"], "第9网格")
    areas.create_building(empty["id"], "新村", "1", units=1, floors=1, rooms_per_floor=2)
    assert areas.delete_building(empty["id"], "新村", "1") == 2
    areas.delete_area(empty["id"])  # its empty 小区 row goes with it
    assert [g["name"] for g in areas.grids()] == ["第1网格", "第2网格"]


def areas_rows(store):
    with store.session() as s:
        return s.scalars(select(Area).where(Area.deleted_at.is_(None))).all()


def test_grid_workers_may_not_edit_areas_and_names_are_checked(store, admin, community):
    worker = Actor("w1", "grid_worker", frozenset({community.grid1["id"]}))
    with pytest.raises(PermissionDenied, match="只有社区管理员或网格长/督导可以"):
        AreaAdmin(store, worker).create_grid(community.community["id"], "第5网格")
    with pytest.raises(PermissionDenied):
        AreaAdmin(store, worker).create_building(community.grid1["id"], "幸福小区", "1", units=1, floors=1,
                                                 rooms_per_floor=1)
    areas = AreaAdmin(store, admin)
    with pytest.raises(ServiceError, match="网格名称:“第1网格”在兰化22街区社区已存在"):
        areas.create_grid(community.community["id"], "第1网格")
    with pytest.raises(ServiceError, match="代码:“62010400100101”已被其他区域使用"):
        areas.create_grid(community.community["id"], "第7网格", code="62010400100101")
    with pytest.raises(ServiceError, match="不是社区"):
        areas.create_grid(community.grid1["id"], "第7网格")
    renamed = areas.rename_area(community.grid2["id"], "东区网格")
    assert renamed["name"] == "东区网格" and renamed["version"] == 2
    assert _count(store, Area, level="grid") == 2
