"""docs/design/SYNC.md § Scenarios ("must pass"), each against SQLite and PostgreSQL, each ending with every copy
converged (kill -9 with real processes lives in test_processes.py, bundles in test_bundles.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from desktop.services.auth import actor_for
from desktop.services.records import Records
from desktop.sync import replica
from desktop.sync.client import SyncError
from server.models import Conflict, Received, Record
from tests.sync.harness import assert_converged, person_in


def records(store, user):
    return Records(store, actor_for(store, user))


def open_conflicts(world):
    with world.server.store.session() as s:
        return list(s.scalars(select(Conflict).where(Conflict.status == "open").order_by(Conflict.id)))


def test_first_sync_of_a_worker_gets_only_their_grid(world):
    w1 = world.laptop("w1")
    res = world.sync(w1, "w1")
    assert res.pulled["person"] > 100
    with w1.engine.connect() as c:
        grids = {r[0] for r in c.exec_driver_sql("SELECT DISTINCT grid_id FROM person")}
    assert grids == {world.grids[0]}
    # the worker can sign in locally with the server password and sees only the grid
    actor = actor_for(w1, "w1")
    assert actor.grid_ids == frozenset({world.grids[0]})
    assert_converged(world.server, (w1, [world.grids[0]]), (world.admin, None))


def test_nothing_pending_after_a_sync_and_a_second_sync_moves_nothing(world):
    assert replica.pending_count(world.admin) == 0
    again = world.sync(world.admin, "admin")
    assert sum(again.pushed.values()) == 0 and sum(again.pulled.values()) == 0


# --- 1 and 4: idempotent batches ---------------------------------------------------------------

class DropAnswer(httpx.BaseTransport):
    """Forwards requests, but loses the answer of the first push (the server did commit it)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        if request.url.path.endswith("/sync/push") and self.dropped == 0:
            resp.read()
            self.dropped += 1
            raise httpx.ReadError("connection lost before the answer arrived")
        return resp

    def close(self) -> None:
        self.inner.close()


def test_push_committed_but_answer_lost_is_applied_once(world):
    w1 = world.laptop("w1")
    world.sync(w1, "w1")
    pid = person_in(w1, world.grids[0])[0]
    records(w1, "w1").update("person", pid, {"occupation": "快递员"})
    t = DropAnswer()
    with pytest.raises(SyncError) as err:
        world.sync(w1, "w1", transport=t)
    assert "连接中断" in str(err.value)
    assert replica.pending_count(w1) == 1  # not acknowledged: still queued
    res = world.sync(w1, "w1")
    assert res.push_status == {"duplicate": 1}
    with world.server.store.session() as s:
        rec = s.get(Record, ("person", pid))
        assert json.loads(rec.data)["occupation"] == "快递员"
        n = s.scalar(select(func.count()).select_from(Received).where(Received.device_id == w1.meta("sync_device_id")))
    assert n == 1
    assert_converged(world.server, (w1, [world.grids[0]]))


def test_same_batch_three_times_and_a_later_batch_first(world):
    from desktop.sync.client import SyncClient

    w1 = world.laptop("w1")
    world.sync(w1, "w1")
    pid = person_in(w1, world.grids[0])[0]
    r = records(w1, "w1")
    r.update("person", pid, {"occupation": "一"})
    r.update("person", pid, {"occupation": "二"})
    r.update("person", pid, {"phone": "13912345678"})
    batch = replica.read_batch(w1)
    assert [b["prev"] for b in batch] == [0, batch[0]["seq"], batch[1]["seq"]]
    client = SyncClient(w1, world.url, "w1", "demo-pass-1234")
    client.hello(__import__("desktop.sync.client", fromlist=["SyncResult"]).SyncResult())
    # the later batch first: it waits for the earlier one instead of merging out of order
    later = client.conn.json("POST", "/sync/push", {"changes": batch[1:]})["results"]
    assert [x["status"] for x in later] == ["deferred", "deferred"]
    for _ in range(3):
        client.conn.json("POST", "/sync/push", {"changes": batch[:1]})
    again = client.conn.json("POST", "/sync/push", {"changes": batch[:1]})["results"]
    assert again[0]["status"] == "duplicate"
    later = client.conn.json("POST", "/sync/push", {"changes": batch[1:]})["results"]
    assert [x["status"] for x in later] == ["applied", "applied"]
    client.close()
    world.sync(w1, "w1")
    world.sync(world.admin, "admin")
    assert not open_conflicts(world)
    with world.server.store.session() as s:
        data = json.loads(s.get(Record, ("person", pid)).data)
    assert (data["occupation"], data["phone"]) == ("二", "13912345678")
    assert_converged(world.server, (w1, [world.grids[0]]), (world.admin, None))


# --- 5, 6, 7: clocks and merges -----------------------------------------------------------------

def _two_laptops(world):
    a, b = world.laptop("a"), world.laptop("b")
    world.sync(a, "w1")
    world.sync(b, "sup")
    return a, b


def test_same_field_on_two_laptops_one_winner_and_a_conflict(world):
    a, b = _two_laptops(world)
    pid, name, phone, occ, _ = person_in(a, world.grids[0])
    records(a, "w1").update("person", pid, {"occupation": "厨师"})
    records(b, "sup").update("person", pid, {"occupation": "司机"})
    world.sync(a, "w1")
    world.sync(b, "sup")  # arrives later: wins
    world.sync(a, "w1")
    conflicts = open_conflicts(world)
    assert len(conflicts) == 1
    c = conflicts[0]
    assert (c.kind, c.row_id, json.loads(c.fields)) == ("field", pid, ["occupation"])
    assert json.loads(c.server_value) == {"occupation": "厨师"} and c.server_by == "w1"
    assert json.loads(c.client_value) == {"occupation": "司机"} and c.client_by == "sup"
    assert json.loads(c.base_value) == {"occupation": occ}
    assert c.server_device == a.meta("sync_device_id") and c.client_device == b.meta("sync_device_id")
    assert records(a, "w1").get("person", pid)["occupation"] == "司机"
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


def test_a_clock_ten_years_off_changes_no_winner(world):
    a, b = _two_laptops(world)
    pid = person_in(a, world.grids[0])[0]
    records(a, "w1").update("person", pid, {"occupation": "厨师"})
    with a.engine.begin() as c:  # laptop a believes it is 2036
        c.exec_driver_sql("UPDATE sync_outbox SET changed_at = '2036-01-01T00:00:00.000Z' WHERE sent = 0")
    records(b, "sup").update("person", pid, {"occupation": "司机"})
    world.sync(b, "sup")
    world.sync(a, "w1")  # arrives later: wins, whatever its clock says
    world.sync(b, "sup")
    assert records(b, "sup").get("person", pid)["occupation"] == "厨师"
    assert len(open_conflicts(world)) == 1
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


def test_different_fields_of_one_person_both_survive(world):
    a, b = _two_laptops(world)
    pid = person_in(a, world.grids[0])[0]
    records(a, "w1").update("person", pid, {"occupation": "教师"})
    records(b, "sup").update("person", pid, {"phone": "13811112222"})
    world.sync(a, "w1")
    res = world.sync(b, "sup")
    assert res.push_status == {"merged": 1}
    world.sync(a, "w1")
    for store, user in ((a, "w1"), (b, "sup")):
        p = records(store, user).get("person", pid)
        assert (p["occupation"], p["phone"]) == ("教师", "13811112222")
    assert not open_conflicts(world)
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


def test_edit_kept_while_unsent_edits_keep_their_local_value(world):
    a, b = _two_laptops(world)
    pid = person_in(a, world.grids[0])[0]
    records(b, "sup").update("person", pid, {"occupation": "医生"})
    world.sync(b, "sup")
    # a's edit is made and queued; a pull arriving before its push must not overwrite it
    records(a, "w1").update("person", pid, {"occupation": "护士"})
    from desktop.sync.client import SyncClient, SyncResult

    client = SyncClient(a, world.url, "w1", "demo-pass-1234")
    client.hello(SyncResult())
    client.pull_all(SyncResult())
    client.close()
    assert records(a, "w1").get("person", pid)["occupation"] == "护士"
    world.sync(a, "w1")
    world.sync(b, "sup")
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


# --- 8: delete vs edit -------------------------------------------------------------------------

def test_delete_vs_edit_delete_wins_and_edit_is_kept(world):
    a, b = _two_laptops(world)
    vid = None
    with a.engine.connect() as c:
        vid = c.exec_driver_sql("SELECT id FROM vehicle WHERE grid_id = ? LIMIT 1", (world.grids[0],)).scalar()
    records(a, "w1").update("vehicle", vid, {"colour": "红"})
    records(b, "sup").delete("vehicle", vid)
    world.sync(b, "sup")
    world.sync(a, "w1")  # the edit arrives after the delete
    world.sync(b, "sup")
    conflicts = open_conflicts(world)
    assert [c.kind for c in conflicts] == ["delete_edit"]
    assert json.loads(conflicts[0].client_value) == {"colour": "红"}
    for store, user in ((a, "w1"), (b, "sup")):
        assert records(store, user).get("vehicle", vid, include_deleted=True)["deleted_at"] is not None
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


def test_edit_then_unseen_delete_and_undelete_converge(world):
    a, b = _two_laptops(world)
    pid = person_in(a, world.grids[0])[0]
    records(a, "w1").update("person", pid, {"occupation": "保安"})
    world.sync(a, "w1")
    records(b, "sup").delete("person", pid)  # b never saw the edit
    world.sync(b, "sup")
    kinds = [c.kind for c in open_conflicts(world)]
    assert kinds == ["delete_edit"]
    world.sync(a, "w1")
    assert records(a, "w1").get("person", pid, include_deleted=True)["deleted_at"] is not None
    # undelete on a; b syncs and sees it back, with the edit still in it
    records(a, "w1").restore("person", pid)
    world.sync(a, "w1")
    world.sync(b, "sup")
    p = records(b, "sup").get("person", pid)
    assert p["deleted_at"] is None and p["occupation"] == "保安"
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


def test_merge_of_duplicates_converges_and_an_offline_edit_of_the_loser_is_kept(world):
    """A duplicate person merged on the office laptop while a grid worker edits the loser
    offline: the loser is a tombstone pointing to the survivor everywhere, what pointed at it
    points at the survivor, and the worker's edit is kept in a conflict record."""
    from desktop.services.merge import Merges

    a, b = _two_laptops(world)
    keep_id, name, *_ = person_in(b, world.grids[0])
    keep = records(b, "sup").get("person", keep_id)
    dup = records(b, "sup").create("person", {"grid_id": world.grids[0], "name": name, "cert_no": keep["cert_no"]},
                                   allow_duplicate=True)
    car = records(b, "sup").create("vehicle", {"grid_id": world.grids[0], "plate_no": "甘A98765",
                                               "owner_person_id": dup["id"]})
    world.sync(b, "sup")
    world.sync(a, "w1")
    records(a, "w1").update("person", dup["id"], {"occupation": "快递员"})  # offline, on the loser
    Merges(b, actor_for(b, "sup")).merge("person", keep_id, dup["id"], reason="同一人重复登记")
    world.sync(b, "sup")
    world.sync(a, "w1")  # the edit of the loser arrives after the merge
    world.sync(b, "sup")
    conflicts = open_conflicts(world)
    assert [c.kind for c in conflicts] == ["delete_edit"]
    assert json.loads(conflicts[0].client_value) == {"occupation": "快递员"}
    assert "已合并到另一条记录" in conflicts[0].reason
    for store, user in ((a, "w1"), (b, "sup")):
        tomb = records(store, user).get("person", dup["id"], include_deleted=True)
        assert tomb["deleted_at"] is not None and tomb["merged_into"] == keep_id
        assert records(store, user).get("vehicle", car["id"])["owner_person_id"] == keep_id
    assert_converged(world.server, (a, [world.grids[0]]), (b, None))


# --- 10: scope changes ---------------------------------------------------------------------------

def test_worker_moved_to_another_grid_while_offline(world):
    g1, g2 = world.grids
    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = person_in(w, g1)[0]
    records(w, "w1").update("person", pid, {"occupation": "离线时修改"})
    world.server.set_grids("w1", [g2])  # reassigned while the laptop was offline
    res = world.sync(w, "w1")
    # the edit is refused (out of scope) but kept on the server for a supervisor, not lost
    assert res.push_status == {"rejected": 1}
    aside = open_conflicts(world)
    assert [c.kind for c in aside] == ["rejected"]
    assert json.loads(aside[0].change)["fields"]["occupation"][1] == "离线时修改"
    with w.engine.connect() as c:
        grids = {r[0] for r in c.exec_driver_sql("SELECT DISTINCT grid_id FROM person")}
    assert grids == {g2}  # old grid evicted, new grid pulled
    assert res.evicted > 100
    # no delete propagated: the old grid is whole on the server and on the admin laptop
    world.sync(world.admin, "admin")
    with world.admin.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM person WHERE deleted_at IS NOT NULL").scalar() == 0
    # the supervisor applies the set-aside edit
    from server import service

    who = service.caller(world.server.store, "admin", world.admin.meta("sync_device_id"))
    service.resolve_conflict(world.server.store, who, aside[0].id, "apply")
    world.sync(world.admin, "admin")
    assert records(world.admin, "admin").get("person", pid)["occupation"] == "离线时修改"
    world.sync(w, "w1")
    assert_converged(world.server, (w, [g2]), (world.admin, None))


def test_household_moving_grids_leaves_one_laptop_and_joins_the_other(world):
    g1, g2 = world.grids
    w1, w2 = world.laptop("w1"), world.laptop("w2")
    world.sync(w1, "w1")
    world.sync(w2, "w2")
    with world.admin.engine.connect() as c:
        hid = c.exec_driver_sql("SELECT id FROM household WHERE grid_id = ? LIMIT 1", (g1,)).scalar()
        members = [r[0] for r in c.exec_driver_sql("SELECT id FROM person WHERE household_id = ?", (hid,))]
    r = records(world.admin, "admin")
    r.update("household", hid, {"grid_id": g2})
    for m in members:
        r.update("person", m, {"grid_id": g2})
    world.sync(world.admin, "admin")
    res1 = world.sync(w1, "w1")
    world.sync(w2, "w2")
    assert res1.evicted >= 1 + len(members)
    with w2.engine.connect() as c:
        assert c.exec_driver_sql("SELECT grid_id FROM household WHERE id = ?", (hid,)).scalar() == g2
    with w1.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM household WHERE id = ?", (hid,)).scalar() == 0
    assert_converged(world.server, (w1, [g1]), (w2, [g2]), (world.admin, None))


def test_out_of_scope_push_is_refused_one_bad_change_never_blocks(world):
    g1, g2 = world.grids
    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = person_in(w, g1)[0]
    # forge a local row in grid 2 with raw SQL (capture still records it) and a good edit
    with w.engine.begin() as c:
        c.exec_driver_sql("PRAGMA foreign_keys=OFF")
        c.exec_driver_sql(
            "INSERT INTO vehicle (id, version, created_at, updated_at, grid_id, plate_no, plate_type) "
            "VALUES ('forged-1', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', ?, '甘A12345', '02')",
            (g2,))
    records(w, "w1").update("person", pid, {"occupation": "好的修改"})
    res = world.sync(w, "w1")
    assert res.push_status == {"rejected": 1, "applied": 1}
    with world.server.store.session() as s:
        assert s.get(Record, ("vehicle", "forged-1")) is None
        assert json.loads(s.get(Record, ("person", pid)).data)["occupation"] == "好的修改"
    with w.engine.connect() as c:
        assert c.exec_driver_sql("SELECT sent, result FROM sync_outbox WHERE row_id = 'forged-1'").one() == (3, "rejected")


# --- 11: copied database file ------------------------------------------------------------------

def test_copied_database_file_is_noticed_and_reenrolled(world, tmp_path):
    import shutil

    g1 = world.grids[0]
    a = world.laptop("orig")
    world.sync(a, "w1")
    pid = person_in(a, g1)[0]
    records(a, "w1").update("person", pid, {"occupation": "复制前"})
    with a.engine.begin() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    a.close()
    shutil.copy(tmp_path / "orig.db", tmp_path / "copy.db")
    a = world.laptop("orig")
    b = world.laptop("copy")
    old_device = a.meta("sync_device_id")
    records(a, "w1").update("person", pid, {"phone": "13700000001"})
    records(b, "w1").update("person", pid, {"employer": "副本单位"})
    ra = world.sync(a, "w1")
    rb = world.sync(b, "w1")
    assert not ra.reenrolled and rb.reenrolled
    assert b.meta("sync_device_id") != old_device and b.meta("file_id") != a.meta("file_id")
    # the change made before the copy was sent by both: applied once, a duplicate for the copy
    assert rb.push_status.get("duplicate") == 1
    world.sync(a, "w1")
    p = records(a, "w1").get("person", pid)
    assert (p["occupation"], p["phone"], p["employer"]) == ("复制前", "13700000001", "副本单位")
    assert not open_conflicts(world)
    with world.server.store.session() as s:
        seqs = s.scalars(select(Received.device_seq).where(Received.device_id == b.meta("sync_device_id"))).all()
    assert len(seqs) == len(set(seqs))
    assert_converged(world.server, (a, [g1]), (b, [g1]))


def test_restored_backup_reenrols_and_reuses_no_sequence(world, tmp_path):
    from desktop.services.backup import backup_now, restore
    from desktop.services.store import Store

    g1 = world.grids[0]
    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = person_in(w, g1)[0]
    actor = actor_for(w, "w1")
    backup = backup_now(w, actor)
    records(w, "w1").update("person", pid, {"occupation": "备份之后"})
    world.sync(w, "w1")  # pushed with the next device sequence
    w.close()
    admin_actor = actor_for(world.admin, "admin")
    restore(tmp_path / "w1.db", backup, admin_actor)
    w = Store.open(tmp_path / "w1.db")
    records(w, "w1").update("person", pid, {"phone": "13588889999"})  # the same sequence number again
    res = world.sync(w, "w1")
    assert res.reenrolled
    # not mistaken for the earlier change, and merged with it (the restored file never saw it)
    assert res.push_status == {"merged": 1}
    p = records(w, "w1").get("person", pid)
    assert (p["occupation"], p["phone"]) == ("备份之后", "13588889999")  # nothing went backwards
    assert not open_conflicts(world)
    assert_converged(world.server, (w, [g1]))
    w.close()


def test_purge_travels_and_leaves_nothing_anywhere(world, tmp_path):
    from desktop.services.purge import purge_person

    g1 = world.grids[0]
    sup = world.laptop("sup")
    world.sync(sup, "sup")
    pid, name, phone, _, _ = person_in(world.admin, g1)
    records(sup, "sup").update("person", pid, {"employer": "清除前未同步的修改"})  # not yet sent
    purge_person(world.admin, actor_for(world.admin, "admin"), pid, reason="本人申请删除")
    world.sync(world.admin, "admin")
    res = world.sync(sup, "sup")  # its late edit is dropped, the erasure arrives
    assert res.purged == 1
    with world.server.store.session() as s:
        data = json.loads(s.get(Record, ("person", pid)).data)
    assert data["_purged"] and data["name"] == "(已清除)" and data["cert_no"] is None
    for store in (world.admin, sup):
        with store.engine.connect() as c:
            row = c.exec_driver_sql("SELECT name, phone, deleted_at FROM person WHERE id = ?", (pid,)).one()
            assert row[0] == "(已清除)" and row[1] is None and row[2] is not None
            assert c.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE row_id = ? AND op != 'D'",
                                     (pid,)).scalar() == 0
    for path in (tmp_path / "sup.db",):
        blob = path.read_bytes()
        assert "清除前未同步的修改".encode() not in blob
    if world.server.store.is_sqlite:
        import sqlite3
        from pathlib import Path

        path = Path(world.server.store.url.removeprefix("sqlite:///"))
        world.server.store.engine.dispose()
        con = sqlite3.connect(path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        wal = path.with_name(path.name + "-wal")
        blob = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert name.encode() not in blob and phone.encode() not in blob
    assert_converged(world.server, (world.admin, None), (sup, None))


def test_an_encrypted_laptop_syncs_and_its_user_can_unlock_it(world, tmp_path):
    from desktop.services.session import LocalDatabase, encrypt
    from desktop.services.store import Store

    path = tmp_path / "enc.db"
    st = Store.open(path, create=True)
    from desktop.services.auth import hash_password
    from desktop.sync.replica import set_local_user

    set_local_user(st, {"username": "w1", "role": "grid_worker", "grids": [world.grids[0]]},
                   hash_password("demo-pass-1234"))
    st.close()
    encrypt(path, "w1", "demo-pass-1234")
    store, _ = LocalDatabase(path).open("w1", "demo-pass-1234")
    try:
        world.sync(store, "w1")
        assert_converged(world.server, (store, [world.grids[0]]))
        raw = path.read_bytes()
        name = person_in(store, world.grids[0])[1]
        assert name.encode() not in raw
    finally:
        store.close()


def test_two_server_processes_on_one_database(world, server_db):
    """Stateless: a second server on the same database serves the same community (PostgreSQL is
    the deployment for this; SQLite works the same way on one machine)."""
    from tests.sync.harness import ThreadServer

    second = ThreadServer(server_db).start()
    try:
        g1 = world.grids[0]
        a, b = world.laptop("a"), world.laptop("b")
        world.sync(a, "w1")
        from tests.sync.harness import sync as sync_to

        sync_to(b, second.url, "w1")  # enrols through the other process: same accounts, same keys
        pid = person_in(a, g1)[0]
        records(a, "w1").update("person", pid, {"occupation": "第一台服务器"})
        records(b, "w1").update("person", pid, {"phone": "13600006666"})
        world.sync(a, "w1")
        sync_to(b, second.url, "w1")
        world.sync(a, "w1")
        p = records(a, "w1").get("person", pid)
        assert (p["occupation"], p["phone"]) == ("第一台服务器", "13600006666")
        assert_converged(world.server, (a, [g1]), (b, [g1]))
    finally:
        second.stop()
