"""Merging duplicates: side by side, chosen fields, references moved, tombstone, audit, scope, undo."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from desktop.models import AuditEntry
from desktop.services.errors import PermissionDenied, ServiceError
from desktop.services.households import Households
from desktop.services.merge import Merges, references
from desktop.services.quality import Quality
from desktop.services.records import Records
from desktop.services.store import Actor


@pytest.fixture
def twins(store, admin, community):
    """张一 registered twice in grid 1: once as head of household A (with a car), once alone
    with the same ID number and a phone; and 李四 in grid 2."""
    h = Households(store, admin)
    r = Records(store, admin)
    g1 = community.grid1["id"]
    a = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "101"},
                   house={"use": "自住"}, members=[community.member("张一", 40)])
    keep = a["members"][0]
    drop = r.create("person", {"grid_id": g1, "name": "张一", "cert_no": keep["cert_no"], "phone": "13800000001",
                               "occupation": "司机"}, allow_duplicate=True)
    car = r.create("vehicle", {"grid_id": g1, "plate_no": "甘A12345", "owner_person_id": drop["id"]})
    other = r.create("person", {"grid_id": community.grid2["id"], "name": "李四", "gender": "1",
                                "birth_date": "1980-01-01", "no_cert_reason": "无户籍"})
    return {"keep": keep, "drop": drop, "car": car, "household": a["household"], "other": other}


def test_references_come_from_the_registry():
    refs = set(references("person"))
    assert {("household", "head_person_id"), ("house", "owner_person_id"), ("vehicle", "owner_person_id")} <= refs
    assert ("household", "house_id") in set(references("house")) and ("person", "house_id") in set(references("house"))


def test_merge_moves_everything_and_leaves_a_tombstone(store, admin, twins):
    m = Merges(store, admin)
    cmp = m.compare("person", twins["keep"]["id"], twins["drop"]["id"])
    assert {"phone", "occupation", "household_id", "house_id"} <= set(cmp.differing)
    assert "cert_no" not in cmp.differing
    assert ("phone", "联系电话", None, "13800000001") in cmp.fields
    assert Quality(store, admin).counts()["by_reason"]["dup_cert"] == 2
    survivor = m.merge("person", twins["keep"]["id"], twins["drop"]["id"], take={"phone": "drop"},
                       reason="同一人重复登记")
    assert survivor["phone"] == "13800000001" and survivor["occupation"] is None
    r = Records(store, admin)
    assert r.get("vehicle", twins["car"]["id"])["owner_person_id"] == twins["keep"]["id"]
    tomb = r.get("person", twins["drop"]["id"], include_deleted=True)
    assert tomb["deleted_at"] is not None and tomb["merged_into"] == twins["keep"]["id"]
    assert Quality(store, admin).counts()["by_reason"]["dup_cert"] == 0
    with store.session() as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).one()
    detail = json.loads(e.detail)
    assert (e.actor, e.entity_id, detail["reason"]) == ("admin", twins["keep"]["id"], "同一人重复登记")
    assert detail["fields"]["phone"] == "drop" and detail["fields"]["occupation"] == "keep"
    assert detail["moved"] == [["vehicle", twins["car"]["id"], "owner_person_id"]]


def test_merge_refusals_are_sentences_and_write_nothing(store, admin, community, twins):
    m = Merges(store, admin)
    with pytest.raises(ServiceError, match="请填写合并原因"):
        m.merge("person", twins["keep"]["id"], twins["drop"]["id"], reason=" ")
    with pytest.raises(ServiceError, match="只能取 keep"):
        m.merge("person", twins["keep"]["id"], twins["drop"]["id"], take={"phone": "both"}, reason="重复")
    with pytest.raises(ServiceError, match="户不能合并"):
        m.merge("household", twins["household"]["id"], twins["household"]["id"], reason="重复")
    worker = Actor("wg", "grid_worker", frozenset({community.grid1["id"], community.grid2["id"]}), "d", "网格员")
    with pytest.raises(PermissionDenied, match="两条记录属于不同的网格"):
        Merges(store, worker).merge("person", twins["keep"]["id"], twins["other"]["id"], reason="重复")
    # a grid worker merges within their grid; nothing was written by the refusals
    assert Records(store, admin).get("person", twins["drop"]["id"])["deleted_at"] is None
    Merges(store, worker).merge("person", twins["keep"]["id"], twins["drop"]["id"], reason="重复")
    with pytest.raises(PermissionDenied, match="撤销合并"):
        Merges(store, worker).undo("person", twins["keep"]["id"])


def test_undo_on_the_same_day_puts_everything_back(store, admin, twins):
    m = Merges(store, admin)
    m.merge("person", twins["keep"]["id"], twins["drop"]["id"], take={"phone": "drop"}, reason="重复")
    back = m.undo("person", twins["keep"]["id"])
    assert back["deleted_at"] is None and back["merged_into"] is None
    r = Records(store, admin)
    assert r.get("person", twins["keep"]["id"])["phone"] is None
    assert r.get("vehicle", twins["car"]["id"])["owner_person_id"] == twins["drop"]["id"]
    with pytest.raises(ServiceError, match="没有可撤销的合并"):
        m.undo("person", twins["keep"]["id"])
    # a merge of yesterday cannot be undone
    m.merge("person", twins["keep"]["id"], twins["drop"]["id"], reason="重复")
    with pytest.raises(ServiceError, match="只能撤销当天的合并"):
        m.undo("person", twins["keep"]["id"], today=date.today() + timedelta(days=1))
    assert Records(store, admin).get("person", twins["drop"]["id"], include_deleted=True)["deleted_at"] is not None


def test_cli_merge_and_undo(store, admin, twins, db_path, capsys):
    from desktop.cli import main

    base = ["--db", str(db_path), "merge", "person", twins["keep"]["id"]]
    assert main([*base, twins["drop"]["id"], "--field", "phone", "--reason", "重复"]) == 2
    assert "--field 的写法是" in capsys.readouterr().err
    assert main([*base, twins["drop"]["id"]]) == 2
    assert "请用 --reason 写明合并原因" in capsys.readouterr().err
    assert main(["--db", str(db_path), "merge", "household", "x", "y", "--reason", "r"]) == 2
    assert "不能合并“household”" in capsys.readouterr().err
    assert main([*base, twins["drop"]["id"], "--field", "phone=drop", "--reason", "重复", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fields_from_drop"] == ["phone"]
    assert Records(store, admin).get("person", twins["keep"]["id"])["phone"] == "13800000001"
    assert main([*base, "--undo"]) == 0
    assert "已撤销合并" in capsys.readouterr().out
    assert Records(store, admin).get("person", twins["drop"]["id"])["deleted_at"] is None
    assert main([*base, "--undo"]) == 2
    err = capsys.readouterr().err
    assert "没有可撤销的合并" in err and "Traceback" not in err


def test_merging_two_houses_moves_people_and_households(store, admin, community):
    h = Households(store, admin)
    r = Records(store, admin)
    g1 = community.grid1["id"]
    a = h.register(grid_id=g1, address={"estate": "甲小区", "building": "1", "room": "101"},
                   house={"use": "自住", "area_m2": 80}, members=[community.member("张一", 40)])
    addr = r.create("address", {"grid_id": g1, "estate": "甲小区", "building": "1", "unit": "1", "room": "101"})
    dup = r.create("house", {"grid_id": g1, "address_id": addr["id"], "use": "自住", "owner_name": "张一"})
    lodger = r.create("person", {"grid_id": g1, "name": "租客", "gender": "1", "birth_date": "1990-01-01",
                                 "house_id": dup["id"], "no_cert_reason": "外籍"})
    survivor = Merges(store, admin).merge("house", a["house"]["id"], dup["id"], take={"owner_name": "drop"},
                                          reason="同一套房登记两次")
    assert survivor["owner_name"] == "张一" and survivor["area_m2"] == 80
    assert r.get("person", lodger["id"])["house_id"] == a["house"]["id"]
    assert r.get("house", dup["id"], include_deleted=True)["merged_into"] == a["house"]["id"]
    assert [i for i in Quality(store, admin).queue(reason="house_no_resident")] == []
