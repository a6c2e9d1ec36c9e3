"""docs/design/SYNC.md, scenario 3: two pushes commit out of order; no puller skips a row. Run on both databases, with
real concurrent transactions: the first push holds its transaction open after taking its
sequence while the second tries to commit and a puller polls the whole time."""

from __future__ import annotations

import threading
import time

import orjson

from server import merge, service
from server.models import Device, ServerUser
from server.store import Scope, ServerStore


def _change(seq: int, row: str, grid: str) -> dict:
    return {"seq": seq, "table": "vehicle", "id": row, "op": "I", "known": 0, "at": "2026-12-01T08:00:00.000Z",
            "by": "w", "prev": 0, "fields": {"grid_id": [None, grid], "plate_no": [None, f"甘A{seq:05d}"],
                                              "deleted_at": [None, None]}}


def test_late_commit_is_never_skipped(server_db, monkeypatch):
    store = ServerStore(server_db)
    scope = Scope("w", "supervisor", None)
    try:
        with store.transaction() as s:
            s.add(ServerUser(username="w", display_name="w", role="supervisor", password_hash="x", areas="[]"))
            s.add(Device(id="dev-a", user_id=1, file_id="f", sign_public="0" * 64, box_public="0" * 64, epoch="e"))
            s.add(Device(id="dev-b", user_id=1, file_id="g", sign_public="0" * 64, box_public="0" * 64, epoch="e"))
        with store.session() as s:
            who_a = service.Caller(s.get(ServerUser, 1), s.get(Device, "dev-a"), scope)
            who_b = service.Caller(s.get(ServerUser, 1), s.get(Device, "dev-b"), scope)

        hold = threading.Event()
        a_has_seq = threading.Event()
        original_flush = merge.Merger.flush

        def slow_flush(self):
            original_flush(self)
            if self.device_id == "dev-a":
                a_has_seq.set()
                hold.wait(10)  # A's rows are written but not committed

        monkeypatch.setattr(merge.Merger, "flush", slow_flush)
        seen: list[str] = []
        stop = threading.Event()

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
        t_pull = threading.Thread(target=puller)
        t_pull.start()
        t_a = threading.Thread(target=service.push, args=(store, who_a, [_change(1, "row-a", grid)]))
        t_a.start()
        assert a_has_seq.wait(10)
        b_done = threading.Event()

        def push_b():
            service.push(store, who_b, [_change(1, "row-b", grid)])
            b_done.set()

        t_b = threading.Thread(target=push_b)
        t_b.start()
        # B cannot commit ahead of A: its sequence waits for A's commit
        assert not b_done.wait(0.5)
        hold.set()
        t_a.join(10)
        t_b.join(10)
        assert b_done.is_set()
        stop.set()
        t_pull.join(10)
        assert sorted(seen) == ["row-a", "row-b"]  # each seen exactly once, none skipped
    finally:
        store.close()
