"""Generic write path: validation, version bump, audit entry and sync change log in one transaction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from desktop.models import AuditEntry, OutboxEntry, Person
from desktop.services.errors import (
    DuplicateRecord,
    NotFound,
    PermissionDenied,
    ServiceError,
    StaleRecord,
    ValidationFailed,
)
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.factories import id_number, years_ago


def outbox(store, table=None):
    with store.session() as s:
        q = select(OutboxEntry).order_by(OutboxEntry.seq)
        if table:
            q = q.where(OutboxEntry.table_name == table)
        return [(o.op, o.row_id, o.base_version, o.new_version, json.loads(o.changes)) for o in s.scalars(q)]


def audit(store):
    with store.session() as s:
        return [(a.action, a.entity, a.entity_id) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_person_create_derives_birth_gender_pinyin_and_logs(store, admin, community):
    r = Records(store, admin)
    cert = id_number(years_ago(40), "2")
    p = r.create("person", {"grid_id": community.grid1["id"], "name": " 单 丽 ", "cert_no": cert.lower(),
                            "phone": "138 0000 1234", "ethnicity": "汉族"})
    assert p["name"] == "单丽"
    assert (p["name_py"], p["name_initials"]) == ("shanli", "sl")
    assert p["gender"] == "2" and p["birth_date"] == years_ago(40)
    assert p["ethnicity"] == "01" and p["phone"] == "13800001234"
    assert p["cert_no_rev"] == cert[::-1] and p["version"] == 1
    assert p["native_region"] == "620104"
    ops = outbox(store, "person")
    assert ops[-1][0] == "I" and ops[-1][2] == 0 and ops[-1][4]["name"] == [None, "单丽"]
    assert ("create", "person", p["id"]) in audit(store)


def test_update_logs_only_changed_fields_with_base_version(store, admin, community):
    r = Records(store, admin)
    p = r.create("person", {"grid_id": community.grid1["id"], "name": "王伟", "cert_no": id_number(years_ago(30))})
    p2 = r.update("person", p["id"], {"phone": "13912345678", "name": "王伟"}, expected_version=1)
    assert p2["version"] == 2 and p2["updated_by"] == "admin"
    op, row_id, base, new, changes = outbox(store, "person")[-1]
    assert (op, row_id, base, new) == ("U", p["id"], 1, 2)
    assert set(changes) == {"phone", "phone_rev"}
    assert changes["phone"] == [None, "13912345678"]
    with pytest.raises(StaleRecord, match="已被他人修改"):
        r.update("person", p["id"], {"phone": "13912345679"}, expected_version=1)
    # an update that changes nothing writes nothing
    n = len(outbox(store))
    r.update("person", p["id"], {"phone": "139 1234 5678"})
    assert len(outbox(store)) == n


def test_validation_failure_writes_nothing_and_names_the_field(store, admin, community):
    r = Records(store, admin)
    before = (len(outbox(store)), len(audit(store)))
    cert = id_number(years_ago(30))
    bad = cert[:17] + ("0" if cert[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        r.create("person", {"grid_id": community.grid1["id"], "name": "", "cert_no": bad,
                            "phone": "12345", "birth_date": "2001-02-30", "ethnicity": "火星族"})
    fields = exc.value.by_field()
    assert "证件号码" in fields and "校验" in fields["证件号码"][0]
    assert "联系电话" in fields
    assert "出生日期" in fields and "不是存在的日期" in fields["出生日期"][0]
    assert any("不在" in m for m in fields["民族"])
    assert "姓名" in fields and fields["姓名"] == ["姓名不能为空"]
    assert (len(outbox(store)), len(audit(store))) == before


def test_typed_birth_date_must_agree_with_id(store, admin, community):
    r = Records(store, admin)
    with pytest.raises(ValidationFailed, match="出生日期"):
        r.create("person", {"grid_id": community.grid1["id"], "name": "李四",
                            "cert_no": id_number(years_ago(30)), "birth_date": "1990-01-01"})


def test_unknown_field_and_grid_check(store, admin, community):
    r = Records(store, admin)
    with pytest.raises(ValidationFailed, match="不是人员的可填写项"):
        r.create("person", {"grid_id": community.grid1["id"], "name": "张三", "version": 9})
    with pytest.raises(ValidationFailed, match="不是网格"):
        r.create("person", {"grid_id": community.community["id"], "name": "张三"})


def test_duplicate_certificate_is_flagged_with_existing_person(store, admin, community):
    r = Records(store, admin)
    cert = id_number(years_ago(50))
    first = r.create("person", {"grid_id": community.grid1["id"], "name": "赵六", "cert_no": cert})
    with pytest.raises(DuplicateRecord) as exc:
        r.create("person", {"grid_id": community.grid2["id"], "name": "赵六", "cert_no": cert})
    assert exc.value.existing["id"] == first["id"] and exc.value.existing["name"] == "赵六"
    assert "已登记为“赵六”" in exc.value.message
    # a 15-digit legacy form of the same number is the same person
    legacy = cert[:6] + cert[8:17]
    with pytest.raises(DuplicateRecord):
        r.create("person", {"grid_id": community.grid1["id"], "name": "赵六", "cert_no": legacy})
    r.create("person", {"grid_id": community.grid1["id"], "name": "赵六", "cert_no": cert}, allow_duplicate=True)


def test_soft_delete_and_restore(store, admin, community):
    r = Records(store, admin)
    v = r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘a·12345"})
    assert v["plate_no"] == "甘A12345" and v["plate_type"] == "02"
    d = r.delete("vehicle", v["id"])
    assert d["deleted_at"] is not None and d["deleted_by"] == "admin" and d["version"] == 2
    with pytest.raises(NotFound):
        r.get("vehicle", v["id"])
    assert r.get("vehicle", v["id"], include_deleted=True)["id"] == v["id"]
    changes = outbox(store, "vehicle")[-1][4]
    assert set(changes) == {"deleted_at", "deleted_by"}
    back = r.restore("vehicle", v["id"])
    assert back["deleted_at"] is None and back["version"] == 3
    assert [a[0] for a in audit(store) if a[2] == v["id"]] == ["create", "delete", "restore"]


def test_grid_worker_cannot_write_outside_their_grid(store, admin, community):
    worker = Actor("wgy001", "grid_worker", frozenset({community.grid1["id"]}))
    r = Records(store, worker)
    r.create("person", {"grid_id": community.grid1["id"], "name": "孙七"})
    with pytest.raises(PermissionDenied):
        r.create("person", {"grid_id": community.grid2["id"], "name": "周八"})
    other = Records(store, admin).create("person", {"grid_id": community.grid2["id"], "name": "周八"})
    with pytest.raises(PermissionDenied):
        r.get("person", other["id"])
    with pytest.raises(PermissionDenied):
        r.update("person", other["id"], {"name": "周九"})


def test_audit_trail_is_append_only(store, admin, community):
    from sqlalchemy import text

    with pytest.raises(Exception, match="只能追加"), store.transaction() as s:
        s.execute(text("UPDATE audit_log SET actor = 'x'"))
    with pytest.raises(Exception, match="只能追加"), store.transaction() as s:
        s.execute(text("DELETE FROM audit_log"))


def test_delete_rules_protect_heads_and_nonempty_households(store, admin, community):
    h = Households(store, admin)
    view = h.register(grid_id=community.grid1["id"], address={"estate": "幸福小区", "building": "1", "unit": "1", "room": "101"},
                      members=[community.member("钱一", 45), community.member("钱二", 15, "2", relation="30")])
    head_id = view["household"]["head_person_id"]
    with pytest.raises(ServiceError, match="户主"):
        h.delete("person", head_id)
    with pytest.raises(ServiceError, match="还有 2 名成员"):
        h.delete("household", view["household"]["id"])


def test_capture_cannot_be_skipped_by_raw_sql(store, admin, community):
    from sqlalchemy import text

    r = Records(store, admin)
    p = r.create("person", {"grid_id": community.grid1["id"], "name": "吴九"})
    with store.transaction() as s:
        s.execute(text("UPDATE person SET note = '手工改' , version = version + 1 WHERE id = :i"), {"i": p["id"]})
    assert outbox(store, "person")[-1][4] == {"note": [None, "手工改"]}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1


def test_capture_suspended_for_applying_pulled_changes(store, admin, community):
    from sqlalchemy import text

    from desktop.db import capture_suspended

    r = Records(store, admin)
    p = r.create("person", {"grid_id": community.grid1["id"], "name": "郑十"})
    n = len(outbox(store))
    with store.transaction() as s, capture_suspended(s):
        s.execute(text("UPDATE person SET note = 'pulled' WHERE id = :i"), {"i": p["id"]})
    assert len(outbox(store)) == n
    r.update("person", p["id"], {"note": "local"})
    assert len(outbox(store)) == n + 1


def test_code_fields_accept_long_labels(store, admin, community):
    r = Records(store, admin)
    p = r.create("person", {"grid_id": community.grid1["id"], "name": "长标签", "cert_type": "居民身份证",
                            "education": "中等职业教育", "political": "中共预备党员", "gender": "女"})
    assert (p["cert_type"], p["education"], p["political"], p["gender"]) == ("111", "40", "02", "2")
