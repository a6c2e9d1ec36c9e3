"""docs/design/SYNC.md, scenario 3: two pushes commit out of order; no puller skips a row. Run on both databases, with
real concurrent transactions: the first push holds its transaction open after taking its
sequence while the second tries to commit and a puller polls the whole time."""

from __future__ import annotations

import threading
import time

import orjson
from sqlalchemy import event

from server import merge, service
from server.models import Device, ServerUser
from server.store import Scope, ServerStore


def _change(seq: int, row: str, grid: str) -> dict:
    return {"seq": seq, "table": "vehicle", "id": row, "op": "I", "known": 0, "at": "2026-12-01T08:00:00.000Z",
            "by": "w", "prev": 0, "fields": {"grid_id": [None, grid], "plate_no": [None, f"甘A{seq:05d}"],
                                              "deleted_at": [None, None]}}


def _wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never observed: {what}")
        time.sleep(0.01)


def _b_is_waiting_for_a(store: ServerStore, log: list[str]) -> bool:
    """Positive evidence that B's push is blocked behind A's open transaction: on PostgreSQL, a
    not-granted request for the sequence's advisory lock in pg_locks; on SQLite, B has asked
    for the write lock (BEGIN IMMEDIATE) and the database is write-locked (by A) meanwhile."""
    if not store.is_sqlite:
        with store.engine.connect() as c:
            return bool(c.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7431 AND NOT granted"
            ).scalar())
    if "b:begin" not in log or "b:began" in log:
        return False
    import sqlite3

    probe = sqlite3.connect(store.engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:  # "database is locked": A holds it, B waits for it
        return "locked" in str(exc)
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def test_late_commit_is_never_skipped(server_db, monkeypatch):
    import server.store as server_store

    log: list[str] = []  # what each push did, in order (list.append is atomic)
    original_begin = server_store._sqlite_begin

    def logged_begin(conn):
        who = threading.current_thread().name
        log.append(f"{who}:begin")
        original_begin(conn)
        log.append(f"{who}:began")

    monkeypatch.setattr(server_store, "_sqlite_begin", logged_begin)  # before the engine listens
    store = ServerStore(server_db)
    scope = Scope("w", "supervisor", None)
    hold = threading.Event()
    stop = threading.Event()
    try:
        with store.transaction() as s:
            s.add(ServerUser(username="w", display_name="w", role="supervisor", password_hash="x", areas="[]"))
            s.add(Device(id="dev-a", user_id=1, file_id="f", sign_public="0" * 64, box_public="0" * 64, epoch="e"))
            s.add(Device(id="dev-b", user_id=1, file_id="g", sign_public="0" * 64, box_public="0" * 64, epoch="e"))
        with store.session() as s:
            who_a = service.Caller(s.get(ServerUser, 1), s.get(Device, "dev-a"), scope)
            who_b = service.Caller(s.get(ServerUser, 1), s.get(Device, "dev-b"), scope)
        event.listen(store.engine, "commit", lambda _conn: log.append(f"{threading.current_thread().name}:commit"))

        a_has_seq = threading.Event()
        original_flush = merge.Merger.flush

        def slow_flush(self):
            original_flush(self)
            if self.device_id == "dev-a":
                a_has_seq.set()
                assert hold.wait(60)  # A's rows are written but not committed

        monkeypatch.setattr(merge.Merger, "flush", slow_flush)
        seen: list[str] = []

        def puller():
            cursor = 0
            while not stop.is_set():
                page = orjson.loads(service.pull(store, scope, cursor, 1))
                seen.extend(r["d"]["id"] for r in page["records"])
                cursor = page["cursor"]
                time.sleep(0.005)
            while True:  # drain
                page = orjson.loads(service.pull(store, scope, cursor, 1000))
                seen.extend(r["d"]["id"] for r in page["records"])
                cursor = page["cursor"]
                if not page["more"]:
                    break

        grid = "grid-x"
        results: dict[str, dict] = {}
        t_pull = threading.Thread(target=puller, name="pull")
        t_pull.start()
        t_a = threading.Thread(name="a", target=lambda: results.setdefault(
            "a", service.push(store, who_a, [_change(1, "row-a", grid)])))
        t_a.start()
        assert a_has_seq.wait(30)
        t_b = threading.Thread(name="b", target=lambda: results.setdefault(
            "b", service.push(store, who_b, [_change(1, "row-b", grid)])))
        t_b.start()
        # B cannot take a sequence, let alone commit, while A's transaction is open: seen, not assumed
        _wait_for(lambda: _b_is_waiting_for_a(store, log), "B waiting for A's lock")
        hold.set()
        t_a.join(30)
        t_b.join(30)
        stop.set()
        t_pull.join(30)
        commits = [e for e in log if e in ("a:commit", "b:commit")]
        assert commits == ["a:commit", "b:commit"]
        assert results["a"]["server_seq"] < results["b"]["server_seq"], results
        assert sorted(seen) == ["row-a", "row-b"]  # each seen exactly once, none skipped
    finally:
        hold.set()  # a failed check leaves no thread waiting
        stop.set()
        store.close()
