"""Backup and restore: online backup while the app writes, keep the last N, the daily schedule,
restore round trip (the current file kept first), a restored file re-enrols at the next sync."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta

import pytest

from desktop.services.backup import backup_if_due, backup_now, list_backups, restore
from desktop.services.errors import PermissionDenied
from desktop.services.records import Records
from desktop.services.store import Actor, Store


def _count(path, table="person"):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_backup_while_the_app_writes(store, admin, community):
    r = Records(store, admin)
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set():
            v = r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": f"甘A{i % 100000:05d}",
                                     "plate_type": "02"})
            written.append(v["id"])
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        paths = [backup_now(store, admin) for _ in range(3)]
    finally:
        stop.set()
        t.join(10)
    assert len(written) > 0
    for p in paths:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            n = con.execute("SELECT count(*) FROM vehicle").fetchone()[0]
            # a consistent snapshot: every vehicle's outbox entry is in the same copy
            m = con.execute("SELECT count(*) FROM sync_outbox WHERE table_name = 'vehicle' AND op = 'I'").fetchone()[0]
        finally:
            con.close()
        assert n == m
    assert not list(store.path.parent.glob("backups/*.part"))


def test_keeps_the_last_n_and_lists_them(store, admin):
    for _ in range(4):
        backup_now(store, admin, keep=3)
    rows = list_backups(store.path)
    assert len(rows) == 3 and all(b.label == "manual" for b in rows)
    assert rows[0].taken_at >= rows[-1].taken_at


def test_daily_schedule(store, admin):
    now = datetime(2026, 12, 1, 9, 0)
    assert backup_if_due(store, admin, now=now) is not None
    assert backup_if_due(store, admin, now=now + timedelta(hours=3)) is None
    assert backup_if_due(store, admin, now=now + timedelta(hours=25)) is not None


def test_restore_round_trip_and_safety_copy(db_path, admin, community):
    store = community.store
    r = Records(store, admin)
    before = r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A11111", "plate_type": "02"})
    backup = backup_now(store, admin)
    r.create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A22222", "plate_type": "02"})
    store.set_meta("sync_device_id", "dev-old")
    store.set_meta("sync_epoch", "epoch-old")
    file_id = store.meta("file_id")
    store.close()
    with pytest.raises(PermissionDenied):
        restore(db_path, backup, Actor("w", "grid_worker", frozenset()))
    safety = restore(db_path, backup, admin)
    assert _count(safety, "vehicle") == 2
    st = Store.open(db_path)
    try:
        with st.engine.connect() as c:
            plates = {p for (p,) in c.exec_driver_sql("SELECT plate_no FROM vehicle")}
        assert plates == {"甘A11111"} and before["id"]
        # sync will see a new file and re-enrol; the old device is named as predecessor
        assert st.meta("sync_device_id") is None and st.meta("sync_epoch") is None
        assert st.meta("sync_predecessor") == "dev-old" and st.meta("file_id") != file_id
        with st.engine.connect() as c:
            actions = [a for (a,) in c.exec_driver_sql("SELECT action FROM audit_log ORDER BY seq")]
        assert "restore_backup" in actions
    finally:
        st.close()
    community.store = Store.open(db_path)  # the fixture closes it


def test_restore_refuses_a_broken_backup(db_path, admin, store, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    store.close()
    from desktop.db.engine import StorageError

    with pytest.raises(StorageError, match="无法读取"):
        restore(db_path, bad, admin)


def test_cli_backup_list_restore(db_path, store, capsys):
    from desktop.cli import main

    store.close()
    assert main(["--db", str(db_path), "backup"]) == 0
    assert main(["--db", str(db_path), "backup", "--list"]) == 0
    out = capsys.readouterr().out
    path = out.splitlines()[0].split(":", 1)[1]
    assert main(["--db", str(db_path), "restore", path]) == 2  # needs --yes
    assert main(["--db", str(db_path), "restore", path, "--yes"]) == 0
    assert "已从" in capsys.readouterr().out
