"""Completeness figures and the 数据质量 queue against a small street whose answers are written
out by hand (desktop/services/quality.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desktop.services.errors import ServiceError
from desktop.services.events import Visits
from desktop.services.households import Households
from desktop.services.quality import (
    REASONS,
    Quality,
    formula,
    last_visit_within,
    visit_interval_days,
)
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.factories import id_number, years_ago

TODAY = date.today()
HOUSE = {"use": "自住", "owner_name": "房主", "area_m2": 80}


def _street(store, admin, community):
    """G1: household A (张一 head, 张二 spouse 帮扶, 张三 child, visited today), household B (李四 70,
    head, no phone: lone elderly, not visited), 王五 (same ID number as 张一, no house), a
    vehicle with no owner, type or plate type. G2: household C (赵六 floating head, no 户籍地址,
    no 来本地日期, card expired yesterday), a vacant house not verified (202), a vacant house
    verified today (203), 钱七 (30, no ID number, no reason, no house), 孙八 (30, 无证件 with a
    reason, no house). Verified today: 张一 and house 203."""
    h = Households(store, admin)
    r = Records(store, admin)
    g1, g2 = community.grid1["id"], community.grid2["id"]
    a = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "101"}, house=HOUSE,
                   members=[community.member("张一", 40, phone="13800000001"),
                            community.member("张二", 38, "2", relation="10", marks="帮扶人员"),
                            community.member("张三", 10, relation="20")])
    b = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "102"}, house=HOUSE,
                   members=[community.member("李四", 70, "2")])
    zhang1 = next(p for p in a["members"] if p["name"] == "张一")
    r.create("person", {"grid_id": g1, "name": "王五", "cert_no": zhang1["cert_no"]}, allow_duplicate=True)
    vehicle = r.create("vehicle", {"grid_id": g1, "plate_no": "甘A11111"})
    c = h.register(grid_id=g2, address={"estate": "乙小区", "building": "2", "room": "201"},
                   house={**HOUSE, "use": "出租", "tenant_name": "赵六"},
                   members=[community.member("赵六", 30, person_type="流动人口", residence_reason="务工",
                                             phone="13800000006",
                                             residence_card_until=TODAY - timedelta(days=1))])
    houses = {}
    for room, extra in (("202", {}), ("203", {"verified_on": TODAY})):
        addr = r.create("address", {"grid_id": g2, "estate": "乙小区", "building": "2", "room": room})
        houses[room] = r.create("house", {"grid_id": g2, "address_id": addr["id"], **HOUSE, "use": "空置", **extra})
    qian = r.create("person", {"grid_id": g2, "name": "钱七", "gender": "1", "birth_date": years_ago(30)})
    r.create("person", {"grid_id": g2, "name": "孙八", "gender": "2", "birth_date": years_ago(30),
                        "no_cert_reason": "户口尚未落户"})
    r.update("person", zhang1["id"], {"verified_on": TODAY})
    Visits(store, admin).record({"household_id": a["household"]["id"], "visited_on": TODAY, "situation": "入户"})
    return {"a": a, "b": b, "c": c, "houses": houses, "vehicle": vehicle, "qian": qian, "zhang1": zhang1}


def _names(items, reason):
    return sorted(i["title"] for i in items if i["reason"] == reason)


def test_figures_by_hand(store, admin, community):
    _street(store, admin, community)
    f = Quality(store, admin).figures()
    t = f["total"]
    # houses: A, B, C, 202 count (203 is verified vacant); A, B, C have residents
    assert t["link_houses"] == {"num": 3, "den": 4, "rate": 0.75}
    # people: 8, of whom the 5 registered in households A, B, C have a house
    assert t["link_people"] == {"num": 5, "den": 8, "rate": 0.625}
    # incomplete: 李四 (head without phone), 赵六 (户籍地址, 来本地日期), 钱七 (ID number)
    assert t["complete"]["person"] == {"label": "人员", "records": 8, "complete": 5, "rate": 0.625}
    # the vehicle has no 号牌种类 / 车辆类型
    assert t["complete"]["vehicle"]["records"] == 1 and t["complete"]["vehicle"]["complete"] == 0
    assert t["complete"]["house"] == {"label": "房屋", "records": 5, "complete": 5, "rate": 1.0}
    # key groups: 张二 (帮扶, household visited today) and 李四 (独居老人, not visited); 赵六 is only 流动人口
    assert t["known"] == {"num": 1, "den": 2, "rate": 0.5}
    # 14 people, houses and vehicles; 张一 and house 203 verified today
    assert t["verified"] == {"num": 2, "den": 14, "rate": round(2 / 14, 4)}

    g1, g2 = f["grids"]
    assert (g1["name"], g2["name"]) == ("第1网格", "第2网格")
    assert g1["link_houses"]["rate"] == 1.0 and g2["link_houses"] == {"num": 1, "den": 2, "rate": 0.5}
    assert g1["link_people"] == {"num": 4, "den": 5, "rate": 0.8}
    assert g2["complete"]["person"]["complete"] == 1  # 孙八 only
    assert [c["name"] for c in f["communities"]] == ["兰化22街区社区"]
    assert f["communities"][0]["link_people"] == t["link_people"]
    buildings = {(b["grid"], b["name"]): b for b in f["buildings"]}
    assert set(buildings) == {("第1网格", "甲小区 1"), ("第2网格", "乙小区 2")}
    assert buildings[("第2网格", "乙小区 2")]["link_houses"] == {"num": 1, "den": 2, "rate": 0.5}
    assert buildings[("第1网格", "甲小区 1")]["link_people"] == {"num": 4, "den": 4, "rate": 1.0}
    assert "÷" in f["formulas"]["link_houses"] and formula("verified").startswith("核实率 = ")


def test_queue_by_hand(store, admin, community):
    _street(store, admin, community)
    q = Quality(store, admin)
    items = q.queue()
    assert _names(items, "dup_cert") == sorted(["张一", "王五"])
    assert _names(items, "missing") == sorted(["李四", "赵六", "钱七", "甘A11111"])
    assert _names(items, "person_no_house") == sorted(["孙八", "王五", "钱七"])
    assert len([i for i in items if i["reason"] == "house_no_resident"]) == 1
    assert _names(items, "floating_no_arrival") == sorted(["赵六"])
    assert _names(items, "card_expired") == sorted(["赵六"])
    assert _names(items, "vehicle_no_owner") == sorted(["甘A11111"])
    assert len([i for i in items if i["reason"] == "stale"]) == 12
    zhao = next(i for i in items if i["reason"] == "missing" and i["title"] == "赵六")
    assert zhao["fields"] == ["hukou_address", "arrived_on"] and zhao["field"] == "hukou_address"
    assert zhao["detail"] == "人员缺少:户籍地址、来本地日期" and zhao["grid"] == "兰化22街区社区 第2网格"
    li = next(i for i in items if i["reason"] == "missing" and i["title"] == "李四")
    assert li["fields"] == ["phone"]
    counts = q.counts()
    assert counts["by_group"] == {"duplicate": 2, "missing": 4, "unlinked": 4, "inconsistent": 3, "stale": 12}
    assert counts["total"] == 25
    # one grid
    g2_items = q.queue(grid_id=community.grid2["id"])
    assert {i["grid_id"] for i in g2_items} == {community.grid2["id"]}
    assert _names(g2_items, "missing") == sorted(["赵六", "钱七"])
    assert [i["title"] for i in q.queue(reason="card_expired")] == ["赵六"]
    with pytest.raises(ServiceError, match="没有“nonsense”这一类问题"):
        q.queue(reason="nonsense")


def test_items_leave_the_queue_when_fixed(store, admin, community):
    s = _street(store, admin, community)
    r = Records(store, admin)
    q = Quality(store, admin)
    r.update("person", s["qian"]["id"], {"no_cert_reason": "遗失补办中"})
    r.update("house", s["houses"]["202"]["id"], {"verified_on": TODAY})
    zhao = s["c"]["members"][0]
    r.update("person", zhao["id"], {"arrived_on": TODAY - timedelta(days=100), "hukou_address": "甘肃省天水市",
                                   "residence_card_until": TODAY + timedelta(days=300)})
    items = q.queue()
    assert _names(items, "missing") == sorted(["李四", "甘A11111"])
    assert [i for i in items if i["reason"] in ("house_no_resident", "card_expired", "floating_no_arrival")] == []
    f = q.figures()["total"]
    assert f["link_houses"] == {"num": 3, "den": 3, "rate": 1.0}
    assert f["complete"]["person"]["complete"] == 7


def test_inconsistent_and_duplicates_by_hand(store, admin, community):
    h = Households(store, admin)
    r = Records(store, admin)
    g1 = community.grid1["id"]
    fam = h.register(grid_id=g1, address={"estate": "丙小区", "building": "3", "room": "301"}, house=HOUSE,
                     members=[community.member("周父", 35, phone="13900000001"),
                              community.member("周子", 50, relation="20", phone="13900000009"),
                              community.member("周妻", 15, "2", relation="10")])
    other = h.register(grid_id=g1, address={"estate": "丙小区", "building": "3", "room": "302"}, house=HOUSE,
                       members=[community.member("吴甲", 40, phone="13900000009"),
                                community.member("吴乙", 42, relation="02")])
    birth = years_ago(50)
    r.create("person", {"grid_id": g1, "name": "周子", "cert_no": id_number(birth), "household_id": other["household"]["id"]})
    r.create("person", {"grid_id": g1, "name": "老人", "gender": "1", "birth_date": date(TODAY.year - 111, 1, 1),
                        "no_cert_reason": "无户籍"})
    r.create("vehicle", {"grid_id": g1, "plate_no": "甘A22222", "owner_person_id": fam["members"][0]["id"]})
    r.create("vehicle", {"grid_id": g1, "plate_no": "甘A22222", "owner_person_id": fam["members"][0]["id"]},
             allow_duplicate=True)
    headless = r.create("household", {"grid_id": g1, "hh_no": "X1"})
    items = Quality(store, admin).queue()
    assert _names(items, "child_older") == sorted(["周子"])
    assert _names(items, "spouse_minor") == sorted(["周妻"])
    assert _names(items, "too_old") == sorted(["老人"])
    assert _names(items, "two_heads") == [f"户号 {other['household']['hh_no']}"]
    assert [i["id"] for i in items if i["reason"] == "no_head"] == [headless["id"]]
    assert _names(items, "dup_name_birth") == sorted(["周子", "周子"])
    assert _names(items, "dup_phone") == sorted(["吴甲", "周子"])
    assert _names(items, "dup_plate") == sorted(["甘A22222", "甘A22222"])
    dup = next(i for i in items if i["reason"] == "dup_plate")
    assert len(dup["others"]) == 1 and dup["detail"] == "同一号牌登记了 2 次"


def test_a_grid_worker_sees_their_grid_only(store, admin, community):
    _street(store, admin, community)
    worker = Actor("wg1", "grid_worker", frozenset({community.grid1["id"]}), "dev-1", "网格员")
    q = Quality(store, worker)
    assert {i["grid_id"] for i in q.queue()} == {community.grid1["id"]}
    f = q.figures()
    assert [g["name"] for g in f["grids"]] == ["第1网格"] and f["total"]["link_people"]["den"] == 5
    # 王五 duplicates 张一 within grid 1: both listed; nothing of grid 2 is
    assert _names(q.queue(reason="dup_cert"), "dup_cert") == ["张一", "王五"]


def test_visit_interval_stand_in():
    assert visit_interval_days(",assisted,") == 90 and visit_interval_days(",assisted,key_person,") == 30
    assert last_visit_within(TODAY - timedelta(days=30), 30, TODAY)
    assert not last_visit_within(TODAY - timedelta(days=31), 30, TODAY)
    assert not last_visit_within(None, 30, TODAY)
    assert set(REASONS) >= {"dup_cert", "missing", "stale", "card_expired"}


def test_cli_quality_figures_list_and_errors(store, admin, community, db_path, capsys):
    import json

    from desktop.cli import main

    _street(store, admin, community)
    assert main(["--db", str(db_path), "quality", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["figures"]["total"]["link_houses"]["rate"] == 0.75 and data["queue"]["total"] == 25
    assert main(["--db", str(db_path), "quality", "--grid", "62010400100102", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [g["name"] for g in data["figures"]["grids"]] == ["第2网格"]
    assert data["queue"]["by_reason"]["card_expired"] == 1 and data["queue"]["by_reason"]["dup_cert"] == 0
    assert main(["--db", str(db_path), "quality", "--list", "card_expired"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("居住证已过期:1 条") and "赵六" in out
    assert main(["--db", str(db_path), "quality"]) == 0
    out = capsys.readouterr().out
    assert "人房关联(房屋) 75.0%(3/4)" in out and "人房关联完善率(房屋) = " in out
    assert main(["--db", str(db_path), "quality", "--list", "nope"]) == 2
    assert "没有“nope”这一类问题" in capsys.readouterr().err
    assert main(["--db", str(db_path), "quality", "--grid", "999"]) == 2
    err = capsys.readouterr().err
    assert "找不到代码为 999 的网格" in err and "Traceback" not in err


def test_the_stale_setting(store, admin, community, db_path, capsys):
    from desktop.cli import main
    from desktop.services.errors import PermissionDenied

    s = _street(store, admin, community)
    r = Records(store, admin)
    r.update("person", s["qian"]["id"], {"verified_on": TODAY - timedelta(days=200)})
    q = Quality(store, admin)
    assert q.counts()["by_reason"]["stale"] == 11  # 200 days ago is within 12 months
    q.set_stale_months(6)
    assert q.counts()["by_reason"]["stale"] == 12
    assert "超过 6 个月" in next(i["detail"] for i in q.queue(reason="stale") if i["title"] == "钱七")
    with pytest.raises(ServiceError, match="1 到 120 个月"):
        q.set_stale_months(0)
    with pytest.raises(ServiceError, match="1 到 120 个月"):
        q.set_stale_months(121)
    q.set_stale_months(120)
    assert q.stale_months() == 120
    q.set_stale_months(6)
    worker = Actor("wg1", "grid_worker", frozenset({community.grid1["id"]}), "dev-1", "网格员")
    with pytest.raises(PermissionDenied, match="修改数据质量设置"):
        Quality(store, worker).set_stale_months(24)
    assert main(["--db", str(db_path), "quality", "--stale-months", "12", "--json"]) == 0
    assert json_counts(capsys)["by_reason"]["stale"] == 11


def json_counts(capsys):
    import json

    return json.loads(capsys.readouterr().out)["queue"]
