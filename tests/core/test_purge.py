"""Erasure on request: nothing of the person left in the database file, the audit text or the
change log; refused to grid workers; the act itself audited."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.services.errors import PermissionDenied, ValidationFailed
from desktop.services.purge import purge_person
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.factories import id_number

NAME = "欧阳清除测"
PHONE = "13987654321"


def _file_bytes(path):
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def victim(store, admin, community):
    r = Records(store, admin)
    cert = id_number(date(1980, 5, 6), "2")
    p = r.create("person", {"grid_id": community.grid1["id"], "name": NAME, "cert_no": cert, "phone": PHONE,
                            "employer": "清除测试单位"})
    r.update("person", p["id"], {"occupation": "清除测试职业"})
    return p | {"cert": cert}


def test_purge_leaves_nothing_in_the_file(store, admin, victim):
    assert NAME.encode() in _file_bytes(store.path)
    purge_person(store, admin, victim["id"], reason="本人申请删除")
    blob = _file_bytes(store.path)
    for value in (NAME, victim["cert"], PHONE, "清除测试单位", "清除测试职业"):
        assert value.encode() not in blob, value
    with store.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM person WHERE id = ?", (victim["id"],)).scalar() == 0
        outbox = c.exec_driver_sql("SELECT op, changes FROM sync_outbox WHERE row_id = ?", (victim["id"],)).all()
        assert outbox == [("D", "{}")]  # only the purge itself travels
        audit = c.exec_driver_sql("SELECT action, summary, detail FROM audit_log WHERE entity_id = ?",
                                  (victim["id"],)).all()
    assert audit[-1][0] == "purge" and "本人申请删除" in audit[-1][2]
    assert not any(NAME in (s or "") + (d or "") for _, s, d in audit)


def test_purge_needs_the_role_and_a_reason(store, community, victim):
    worker = Actor("w", "grid_worker", frozenset({community.grid1["id"]}))
    with pytest.raises(PermissionDenied):
        purge_person(store, worker, victim["id"], reason="本人申请")
    with pytest.raises(ValidationFailed):
        purge_person(store, Actor("a", "community_admin"), victim["id"], reason="")


def test_purge_clears_references(store, admin, community, victim):
    r = Records(store, admin)
    v = r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A54321", "plate_type": "02",
                             "owner_person_id": victim["id"]})
    res = purge_person(store, admin, victim["id"], reason="本人申请删除")
    assert res["references_cleared"]["vehicle"] == 1
    assert r.get("vehicle", v["id"])["owner_person_id"] is None


@pytest.mark.parametrize("encrypted", [False, True])
def test_purge_reaches_the_backups_so_a_restore_cannot_bring_the_person_back(tmp_path, encrypted):
    from desktop.services.auth import actor_for
    from desktop.services.backup import backup_now, list_backups, restore
    from desktop.services.demo import DEMO_PASSWORD, generate
    from desktop.services.session import LocalDatabase, encrypt
    from desktop.services.store import Store

    path = tmp_path / "laptop.db"
    st = Store.open(path, create=True)
    generate(st, households=20, seed=2)
    grid = st.engine.connect().exec_driver_sql("SELECT id FROM area WHERE level = 'grid' LIMIT 1").scalar()
    cert = id_number(date(1980, 5, 6), "2")
    admin = actor_for(st, "admin")
    person = Records(st, admin).create("person", {"grid_id": grid, "name": NAME, "cert_no": cert, "phone": PHONE})
    backup_now(st, admin)
    st.close()
    if encrypted:
        encrypt(path, "admin", DEMO_PASSWORD)  # leaves a plain "before-encryption" backup as well
    st, admin = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    backup_now(st, admin)
    backups = [b.path for b in list_backups(path)]
    assert len(backups) >= (3 if encrypted else 2)
    if not encrypted:
        assert all(NAME.encode() in b.read_bytes() for b in backups)
    res = purge_person(st, admin, person["id"], reason="本人申请删除")
    assert res["backups_scrubbed"] == len(backups) and res["backups_failed"] == []
    key = st.key
    st.close()
    for b in backups:
        blob = b.read_bytes()
        assert NAME.encode() not in blob and cert.encode() not in blob and PHONE.encode() not in blob, b.name
        assert not b.with_name(b.name + "-wal").exists()
    restore(path, backups[0], admin, key=key)  # the newest (encrypted on an encrypted laptop) held the person
    st, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        with st.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM person WHERE id = ?", (person["id"],)).scalar() == 0
            assert c.exec_driver_sql("SELECT count(*) FROM person").scalar() > 0  # the rest is there
            assert c.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE row_id = ?", (person["id"],)).scalar() == 0
    finally:
        st.close()
