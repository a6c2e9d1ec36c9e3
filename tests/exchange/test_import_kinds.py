"""Households, houses, vehicles, units and visits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from desktop.exchange import ImportOptions, read_sheet, run_import, suggest_mapping
from desktop.models import Address, House, Household, OrgUnit, Person, Vehicle, Visit, VisitNeed
from desktop.services.households import Households
from tests.exchange.conftest import person_ids


def _import(store, actor, path, kind, options=None):
    sheet = read_sheet(path, kind=kind)
    return run_import(store, actor, kind, sheet, suggest_mapping(kind, sheet.headers), options or ImportOptions())


def _registered(store, admin, community):
    ids = person_ids(3, seed=71)
    hh = Households(store, admin).register(grid_id=community.grid1["id"], members=[
        {"name": "张三", "cert_no": ids[0][0]}, {"name": "李四", "cert_no": ids[1][0]}],
        address={"estate": "幸福小区", "building": "1", "unit": "1", "room": "101"}, household={"hh_no": "H100"})
    return hh, ids


def test_households_with_new_and_registered_heads(store, admin, community, make_xlsx):
    ids = person_ids(4, seed=72)
    Households(store, admin).register_house(grid_id=community.grid1["id"],
                                            address={"estate": "阳光小区", "building": "2", "unit": "1", "room": "202"},
                                            house={"use": "3"})
    from desktop.services.records import Records

    loner = Records(store, admin).create("person", {"name": "孤单", "cert_no": ids[3][0], "grid_id": community.grid1["id"]})
    path = make_xlsx([
        ["户号", "户别", "户主姓名", "户主身份证号", "联系电话", "网格", "小区", "楼栋", "单元", "户室"],
        ["HH1", "家庭户", "王一", ids[0][0], "13800000001", "第1网格", "阳光小区", "2", "1", "202"],
        ["HH2", "集体户", "王二", ids[1][0], None, "第1网格", "阳光小区", "2", "1", "203"],
        ["HH1", "家庭户", "王一", ids[0][0], None, "第1网格", None, None, None, None],
        [None, None, "孤单", ids[3][0], None, "第2网格", None, None, None, None],
        ["HH4", "未知户", None, None, None, "第1网格", None, None, None, None],
    ])
    report = _import(store, admin, path, "household", ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["imported", "imported", "skipped", "imported", "rejected"]
    with store.session() as s:
        hh1 = s.scalars(select(Household).where(Household.hh_no == "HH1")).one()
        head = s.get(Person, hh1.head_person_id)
        assert (head.name, head.household_id, head.relation) == ("王一", hh1.id, "02")
        addr = s.get(Address, s.get(House, hh1.house_id).address_id)
        assert addr.full_text == "阳光小区2栋1单元202室"  # the vacant house registered before
        assert s.scalars(select(Household).where(Household.hh_no == "HH2")).one().hh_type == "2"
        moved = s.get(Person, loner["id"])
        assert moved.household_id is not None and moved.relation == "02"
        assert s.get(Household, moved.household_id).head_person_id == moved.id


def test_houses_vehicles_units(store, admin, community, make_xlsx):
    hh, ids = _registered(store, admin, community)
    houses = make_xlsx([
        ["小区", "楼栋", "单元", "户室", "房屋用途", "建筑面积", "房主身份证号", "承租人", "网格"],
        ["幸福小区", 1, 1, 101, "出租", 88.5, ids[0][0], "租户甲", "第1网格"],
        ["幸福小区", 1, 1, 102, "自住", "96", None, None, "第1网格"],
        ["幸福小区", 1, 1, 102, "自住", "96", None, None, "第1网格"],
        ["幸福小区", 1, 1, 103, "别墅", "abc", None, None, "第1网格"],
    ], name="houses.xlsx")
    report = _import(store, admin, houses, "house", ImportOptions(valid_only=True, on_existing="update"))
    assert [r.status for r in report.rows] == ["updated", "imported", "skipped", "rejected"]
    # both of the row's faults, each named once
    assert report.rows[3].messages == ["【房屋用途】房屋用途:“别墅”不在《房屋用途》代码表中",
                                       "【建筑面积】建筑面积:“abc”不是数字"]
    with store.session() as s:
        h = s.get(House, hh["house"]["id"])
        assert (h.use, h.area_m2, h.tenant_name, h.owner_person_id) == ("2", 88.5, "租户甲", hh["members"][0]["id"])
        assert h.owner_name == "张三"
    vehicles = make_xlsx([
        ["车牌号", "号牌种类", "车主", "车主身份证号", "颜色"],
        ["甘A·12345", None, "张三", ids[0][0], "白"],
        ["甘a12345", None, None, None, "黑"],
        ["甘AD12345", "小型新能源汽车", "张三", ids[0][0], None],
        ["甘A1234I", None, "张三", ids[0][0], None],
        ["甘B54321", None, "无名", ids[2][0], None],
    ], name="cars.xlsx")
    report = _import(store, admin, vehicles, "vehicle", ImportOptions(valid_only=True, default_grid_id=community.grid2["id"]))
    assert [r.status for r in report.rows] == ["imported", "skipped", "imported", "rejected", "rejected"]
    with store.session() as s:
        v = s.scalars(select(Vehicle).where(Vehicle.plate_no == "甘A12345")).one()
        assert v.owner_person_id == hh["members"][0]["id"] and v.household_id == hh["household"]["id"]
        assert v.grid_id == community.grid1["id"] and v.plate_type == "02"
    units = make_xlsx([
        ["单位名称", "统一社会信用代码", "法定代表人", "联系电话", "从业人数", "单位地址", "网格"],
        ["便民超市", "91350100M000100Y43", "张三", "13800000000", 3, "幸福小区1栋1单元101室", "第1网格"],
        ["便民超市(重复)", "91350100M000100Y43", None, None, None, None, "第1网格"],
        ["药店", "91350100M000100Y44", None, None, None, None, "第1网格"],
        ["修车铺", None, None, None, "两", "滨河路8号", "第2网格"],
    ], name="units.xlsx")
    report = _import(store, admin, units, "org_unit", ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["imported", "skipped", "rejected", "rejected"]
    with store.session() as s:
        o = s.scalars(select(OrgUnit)).one()
        assert o.address_id == hh["address"]["id"] and o.employees == 3
    # again with an update
    units2 = make_xlsx([["单位名称", "统一社会信用代码", "从业人数", "网格"], ["便民超市", "91350100M000100Y43", 5, "第1网格"]],
                       name="units2.xlsx")
    report = _import(store, admin, units2, "org_unit")
    assert report.rows[0].status == "ask" and [c.text() for c in report.rows[0].changes] == ["从业人数: 3 → 5"]
    report = _import(store, admin, units2, "org_unit", ImportOptions(on_existing="update"))
    assert report.rows[0].status == "updated"


def test_visits_with_needs(store, admin, community, make_xlsx):
    hh, ids = _registered(store, admin, community)
    path = make_xlsx([
        ["走访日期", "户号", "户主身份证号", "走访方式", "走访人", "家庭情况", "诉求类别", "诉求内容", "满意度"],
        [date(2026, 1, 5), "H100", None, "入户", None, "一切正常", "就业、救助", "想找工作；申请低保", "满意"],
        ["2026/1/6", None, ids[0][0], "电话", "管理员", "电话回访", None, None, None],
        [date(2026, 1, 5), "H100", None, "入户", None, "重复", None, None, None],
        ["2026-01-07", "H999", None, "入户", None, None, None, None, None],
        ["2026-01-08", "H100", None, "飞鸽传书", None, None, None, None, None],
    ])
    report = _import(store, admin, path, "visit", ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["imported", "imported", "skipped", "rejected", "rejected"]
    with store.session() as s:
        visits = s.scalars(select(Visit).order_by(Visit.visited_on)).all()
        # blank: the importing user; a name that is no user's stays as typed
        assert [v.visitor for v in visits] == ["admin", "管理员"]
        needs = s.scalars(select(VisitNeed)).all()
        assert sorted((n.category, n.content) for n in needs) == [("07", "想找工作"), ("08", "申请低保")]
        assert all(v.grid_id == community.grid1["id"] and v.household_id == hh["household"]["id"] for v in visits)
