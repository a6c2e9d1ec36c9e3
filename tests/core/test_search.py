"""Search: every fragment kind, ranking, one- and two-character Chinese fragments, scope."""

from __future__ import annotations

import pytest

from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.search import Search
from desktop.services.store import Actor


@pytest.fixture
def town(store, admin, community):
    h = Households(store, admin)
    a = h.register(grid_id=community.grid1["id"], address={"estate": "幸福小区", "building": "3", "unit": "2", "room": "501"},
                   members=[community.member("张三丰", 60, phone="13812345678"),
                            community.member("欧阳娜娜", 30, "2", relation="10")])
    b = h.register(grid_id=community.grid2["id"], address={"estate": "和平家园", "building": "1", "unit": "1", "room": "101"},
                   members=[community.member("张三", 40), community.member("单雄信", 41, relation="10")])
    r = Records(store, admin)
    car = r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A12345",
                               "owner_person_id": a["members"][0]["id"]})
    r.create("vehicle", {"grid_id": community.grid2["id"], "plate_no": "甘AD12345"})
    return {"a": a, "b": b, "car": car}


def titles(hits):
    return [(h.kind, h.title) for h in hits]


def test_exact_certificate_first_then_fragments(store, admin, town):
    s = Search(store, admin)
    cert = town["a"]["members"][0]["cert_no"]
    hits = s.search(cert)
    assert hits[0].kind == "person" and hits[0].title == "张三丰" and hits[0].score == 100
    assert cert not in hits[0].subtitle  # masked
    assert s.search(cert[:10])[0].title == "张三丰"  # prefix
    assert s.search(cert[-4:])[0].title == "张三丰"  # suffix
    assert s.search(cert[8:14])[0].title == "张三丰"  # middle (birth date part) via trigram


def test_name_exact_before_prefix_and_fragment(store, admin, town):
    hits = Search(store, admin).search("张三")
    assert titles(hits)[:2] == [("person", "张三"), ("person", "张三丰")]


def test_one_and_two_character_chinese_fragments(store, admin, town):
    s = Search(store, admin)
    assert ("person", "欧阳娜娜") in titles(s.search("娜"))
    assert ("person", "欧阳娜娜") in titles(s.search("阳娜"))
    assert ("person", "单雄信") in titles(s.search("雄"))
    kinds = {h.kind for h in s.search("幸福")}
    assert {"household", "house"} <= kinds


def test_pinyin_initials_and_full_pinyin_with_surname_fix(store, admin, town):
    s = Search(store, admin)
    assert titles(s.search("zsf"))[0] == ("person", "张三丰")
    assert ("person", "单雄信") in titles(s.search("sxx"))  # 单 read as shan, not dan
    assert ("person", "单雄信") in titles(s.search("shanxiong"))
    assert ("person", "欧阳娜娜") in titles(s.search("oynn"))


def test_phone_plate_address(store, admin, town):
    s = Search(store, admin)
    assert s.search("13812345678")[0].title == "张三丰"
    assert s.search("5678")[0].title == "张三丰"
    hits = s.search("甘A12345")
    assert hits[0].kind == "vehicle" and hits[0].title == "甘A12345" and hits[0].score == 100
    assert "车主 张三丰" in hits[0].subtitle
    assert ("vehicle", "甘AD12345") in titles(s.search("D123"))
    assert s.search("甘a 12345")[0].title == "甘A12345"
    addr = s.search("3栋2单元")
    assert addr and addr[0].kind in ("household", "house")
    assert s.search(town["a"]["household"]["hh_no"])[0].kind == "household"


def test_grid_worker_sees_only_their_grids(store, admin, community, town):
    worker = Actor("wgy002", "grid_worker", frozenset({community.grid2["id"]}))
    names = {h.title for h in Search(store, worker).search("张")}
    assert "张三" in names and "张三丰" not in names


def test_deleted_and_edited_records_leave_the_index(store, admin, town):
    r = Records(store, admin)
    s = Search(store, admin)
    car = town["car"]
    r.update("vehicle", car["id"], {"plate_no": "甘A54321"})
    assert not [h for h in s.search("甘A12345") if h.kind == "vehicle" and h.title == "甘A12345"]
    assert s.search("甘A54321")[0].id == car["id"]
    r.delete("vehicle", car["id"])
    assert not [h for h in s.search("甘A54321") if h.id == car["id"]]
    # an address rename follows through to its house and household documents
    addr_id = town["a"]["address"]["id"]
    r.update("address", addr_id, {"full_text": "新名字花园3栋2单元501室"})
    kinds = {h.kind for h in s.search("新名字")}
    assert kinds == {"house", "household"}


def test_empty_and_odd_queries(store, admin, town):
    s = Search(store, admin)
    assert s.search("   ") == []
    assert s.search('"') == []
    assert s.search("*?[") == []
