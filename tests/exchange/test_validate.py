"""The import validates every row exactly like a form does: one `records.Cleaner` reused for a
whole file (its caches warm) against the core's `records.clean` (a fresh Cleaner per record) on
messy rows of every kind, the address builder against clean('address'), and the bulk insert
against SQLAlchemy's insert()."""

from __future__ import annotations

import itertools
import random
import sqlite3
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from desktop.exchange.places import AddressParts, Places
from desktop.models import Person, utcnow
from desktop.services.errors import PermissionDenied, ValidationFailed
from desktop.services.households import Households
from desktop.services.records import Cleaner, clean
from desktop.services.store import Actor
from tests.factories import id_number, years_ago


def outcome(fn: Any) -> tuple[Any, ...]:
    try:
        d = fn()
    except ValidationFailed as exc:
        return ("invalid", [(i.field, i.code, i.message) for i in exc.issues],
                [(w.field, w.code, w.message) for w in exc.warnings])
    except PermissionDenied as exc:
        return ("denied", exc.message)
    return ("ok", d.values, [(w.field, w.code, w.message) for w in d.warnings])


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)


def person_rows(grid1: str, grid2: str, n: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(5)
    good = id_number(years_ago(40), "1")
    fifteen = id_number(date(1970, 5, 6), "2")
    fifteen = fifteen[:6] + fifteen[8:17]
    choices: dict[str, list[Any]] = {
        "name": ["张三", " 李 四 ", "欧阳•娜娜", "王" * 70, None, ""],
        "cert_no": [good, good.lower(), _fullwidth(good), good[:17] + ("0" if good[17] != "0" else "1"), fifteen,
                    "12345", "62010419851302123X", "ABCDEFGHIJKLMNOPQR", None],
        "cert_type": ["111", "身份证", "414", "护照", "绿卡", "xyz", None],
        "gender": ["男", "女", "1", "2", "M", "x", 1, None],
        "birth_date": ["1985-03-02", "1985/3/2", "1985.3.2", "19850302", "1985年3月2日", date(1985, 3, 2),
                       "2999-01-01", "1985-02-30", "三月", None],
        "ethnicity": ["汉", "汉族", "01", "1", "回族", "维吾尔", "火星族", None],
        "phone": ["13800000001", "138 0000 0001", "0931-8123456", "12345", "电话", None],
        "relation": ["户主", "02", "妻", "子", "儿子", "租客", "路人甲", None],
        "education": ["本科", "大学本科", "20", "初中", "高中", "博士后", None],
        "person_type": ["户籍人口", "流动人口", "流动", "2", "路过", None],
        "employment": ["在业", "失业", "20", "学生", None],
        "marks": ["重点人员", "失业人员、帮扶", "独居老人", "外星人", ["key_person", "veteran"], None],
        "arrived_on": ["2020-01-01", (date.today() + timedelta(days=3)).isoformat(), None],
        "disability_category": ["肢体", "4", None],
        "residence_reason": ["务工", "打工", None],
        "grid_id": [grid1, grid1, grid1, grid2, "no-such-grid", None],
        "employer": ["兰州某公司", "公" * 200, None],
        "foo": ["unknown field"],
    }
    rows = []
    keys = list(choices)
    for _ in range(n):
        row = {}
        for k in keys:
            if k == "foo" and rng.random() > 0.03:
                continue
            if rng.random() < 0.6 or k in ("name", "grid_id"):
                row[k] = rng.choice(choices[k])
        rows.append(row)
    return rows


def test_person_rows_give_what_clean_gives(store, admin, community):
    g1, g2 = community.grid1["id"], community.grid2["id"]
    rows = person_rows(g1, g2)
    worker = Actor("wgy", "grid_worker", frozenset({g1}))
    results = {"ok": 0, "invalid": 0, "denied": 0}
    with store.session() as s:
        for actor in (admin, worker):
            cleaner = Cleaner(s, actor, "person")
            for _round in range(2):  # the second pass answers from the caches
                for row in rows:
                    want = outcome(lambda row=row, actor=actor: clean(s, actor, "person", dict(row), None))
                    got = outcome(lambda row=row, cleaner=cleaner: cleaner.clean(dict(row), None))
                    assert got == want, row
                    results[want[0]] += 1
    assert all(results.values()), results  # every outcome was exercised


def test_updates_give_what_clean_gives(store, admin, community):
    hh = Households(store, admin).register(
        grid_id=community.grid1["id"], members=[community.member("张三", 70), community.member("李四", 8, "2")],
        address={"estate": "幸福小区", "building": "1", "unit": "1", "room": "101"})
    with store.session() as s:
        cleaner = Cleaner(s, admin, "person")
        for member in hh["members"]:
            for changes in ({"phone": "13912345678"}, {"gender": "女"}, {"birth_date": "1900-01-01"},
                            {"relation": "子", "person_type": "流动人口"}, {"marks": "重点人员"}, {"name": ""}):
                want = outcome(lambda member=member, changes=changes: clean(s, admin, "person", dict(changes), member))
                got = outcome(lambda member=member, changes=changes: cleaner.clean(dict(changes), member))
                assert got == want


def _other_rows(community: Any, hh: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    g1 = community.grid1["id"]
    owner = hh["members"][0]["id"]
    house = hh["house"]["id"]
    addr = hh["address"]["id"]
    rows: dict[str, list[dict[str, Any]]] = {
        "vehicle": [
            {"plate_no": p, "plate_type": t, "owner_person_id": o, "grid_id": g}
            for p, t, o, g in itertools.product(["甘A12345", "甘a·12345", "甘AD12345", "甘A1234I", "XYZ"],
                                                 [None, "小型汽车", "02", "路面车"], [owner, None, "nobody"], [g1, None])
        ],
        "org_unit": [
            {"name": n, "uscc": u, "contact_phone": p, "employees": e, "grid_id": g1}
            for n, u, p, e in itertools.product(["便民超市", None], ["91350100M000100Y43", "91350100M000100Y44", None],
                                                ["13800000000", "123"], [3, "3.0", "三", -1])
        ],
        "house": [
            {"grid_id": g1, "address_id": a, "use": u, "area_m2": ar, "built_year": y, "owner_cert_no": oc}
            for a, u, ar, y, oc in itertools.product([addr, "missing"], ["自住", "出租", "2", "别墅"], [89.5, "0", "abc"],
                                                      [2005, 1800], [None, hh["members"][0]["cert_no"], "123"])
        ],
        "household": [
            {"grid_id": g1, "house_id": hid, "hh_no": no, "hh_type": t, "phone": p}
            for hid, no, t, p in itertools.product([house, None], ["H1", "H" * 40], ["家庭户", "集体", "9"], ["13800000000", "1"])
        ],
        "visit": [
            {"household_id": h, "visited_on": d, "visitor": v, "method": m, "duration_min": dur, "satisfaction": sat}
            for h, d, v, m, dur, sat in itertools.product(
                [hh["household"]["id"], "gone"], ["2026-01-05", "2999-01-01", None], ["wgy001", None],
                ["入户", "电话回访", "信鸽"], [30, 0, 2000], ["满意", "一般", "?"])
        ],
        "address": [
            {"grid_id": g1, "estate": e, "building": b, "unit": u, "room": r}
            for e, b, u, r in itertools.product(["幸福小区", None, "园" * 70], ["3", "3栋", None], ["1", None], ["101", "1502", "01", None])
        ],
    }
    return rows


def test_other_kinds_give_what_clean_gives(store, admin, community):
    hh = Households(store, admin).register(
        grid_id=community.grid1["id"], members=[community.member("张三", 45)],
        address={"estate": "幸福小区", "building": "1", "unit": "1", "room": "101"})
    with store.session() as s:
        for kind, rows in _other_rows(community, hh).items():
            cleaner = Cleaner(s, admin, kind)
            seen = set()
            for row in rows * 2:
                want = outcome(lambda row=row, kind=kind: clean(s, admin, kind, dict(row), None))
                got = outcome(lambda row=row, cleaner=cleaner: cleaner.clean(dict(row), None))
                assert got == want, (kind, row)
                seen.add(want[0])
            assert seen == {"ok", "invalid"}, kind


def test_labels_longer_than_their_code_column_are_accepted(store, admin, community):
    """Labels longer than the code column (居民身份证 in a 4-character column) map to their code,
    in the core's clean() and in the importer alike."""
    row = {"name": "张三", "grid_id": community.grid1["id"], "cert_type": "居民身份证", "education": "中等职业教育",
           "political": "中共预备党员", "gender": "女性"}
    with store.session() as s:
        core = clean(s, admin, "person", dict(row), None)
        assert (core.values["cert_type"], core.values["education"], core.values["political"],
                core.values["gender"]) == ("111", "40", "02", "2")
        d = Cleaner(s, admin, "person").clean(dict(row), None)
        assert (d.values["cert_type"], d.values["education"], d.values["political"], d.values["gender"]) == (
            "111", "40", "02", "2")
        with pytest.raises(ValidationFailed, match="不在《学历》代码表中"):
            Cleaner(s, admin, "person").clean({**row, "education": "家里蹲大学肄业"}, None)


def test_new_addresses_are_built_like_clean_builds_them(store, admin, community):
    g1 = community.grid1["id"]
    cases = [AddressParts("幸福小区", "3", "1", "101"), AddressParts("幸福小区", "3栋", "2单元", "1502室"),
             AddressParts("幸福小区", None, None, None), AddressParts("滨河路", "12号楼", None, "01"),
             AddressParts(full="金城花园5栋2单元301室"), AddressParts(full="西固区福利路88号"),
             AddressParts("阳光小区", "1", "1", "202", full="阳光小区一号楼一单元202")]
    with store.session() as s:
        places = Places(s, admin, None)
        for parts in cases:
            aid = places.create_address(g1, parts)
            mine = next(a for a in places.new_addresses if a["id"] == aid)
            given = {k: v for k, v in mine.items() if k in ("estate", "building", "unit", "room", "grid_id")}
            if parts.full:
                given["full_text"] = mine["full_text"]
            core = clean(s, admin, "address", given, None).values
            assert {k: v for k, v in mine.items() if k != "id"} == core


def test_bulk_insert_stores_what_core_insert_stores(store, admin, community, db_path):
    from desktop.exchange.base_importer import BaseImporter
    from desktop.exchange.writer import LocalSink

    cert = id_number(years_ago(30), "2")
    with store.session() as s:
        d = Cleaner(s, admin, "person").clean({
            "name": "王芳", "cert_no": cert, "phone": "13800000009", "grid_id": community.grid1["id"],
            "marks": "重点人员", "employment": "失业", "arrived_on": "2020-02-03", "note": "备注"}, None)
    values = dict(d.values)
    with store.transaction() as s:
        conn = s.connection()
        imp = BaseImporter.__new__(BaseImporter)  # only its writing helpers are used here
        imp.actor, imp.now, imp.progress, imp.cancel = admin, utcnow(), None, None
        imp.sink = LocalSink(conn, s)
        imp.insert_rows("person", [{**values, "id": "a" * 36}], "人员")
        conn.execute(insert(Person), [{**values, "id": "b" * 36, "version": 1, "created_at": imp.now,
                                       "created_by": admin.username, "updated_at": imp.now,
                                       "updated_by": admin.username}])
        imp.update_rows("person", [("a" * 36, 1, {"phone": "13900000009", "birth_date": date(1990, 1, 2)})], "人员")
        conn.execute(update(Person).where(Person.id == "b" * 36).values(
            phone="13900000009", birth_date=date(1990, 1, 2), version=Person.version + 1, updated_at=imp.now,
            updated_by=admin.username))
    raw = sqlite3.connect(db_path)
    a, b = (raw.execute("SELECT * FROM person WHERE id = ?", (x * 36,)).fetchone() for x in "ab")
    cols = [c[1] for c in raw.execute("PRAGMA table_info(person)")]
    diff = {c: (x, y) for c, x, y in zip(cols, a, b, strict=True) if x != y and c != "id"}
    assert diff == {}
    outbox = raw.execute("SELECT op, base_version, new_version, changes FROM sync_outbox WHERE row_id IN (?, ?) "
                         "ORDER BY row_id, rowid", ("a" * 36, "b" * 36)).fetchall()
    assert len(outbox) == 4 and outbox[:2] == outbox[2:]
    raw.close()
