"""Admission of first syncs (server/admission.py) against a real `gridledger serve --first-syncs 1`:
a second first sync is refused with 503, Retry-After and a Chinese sentence while the first holds
the place; the laptop waits (announcing it), tries again and gets in once the first is done;
incremental syncs never wait. Deterministic: the client's wait is a callback, no clock involved."""

from __future__ import annotations

import pytest

from desktop.services.store import Store
from desktop.sync.client import SyncClient, SyncError, SyncResult
from desktop.sync.protocol import API, SCHEMA_VERSION
from tests.sync.harness import PASSWORD, ServeProcess, demo_file, laptop, sync


def _no_wait(seconds: float) -> None:
    raise AssertionError(f"an incremental sync waited {seconds} s")


@pytest.fixture
def busy_server(server_db, tmp_path):
    srv = ServeProcess(server_db, "--first-syncs", "1").start()
    try:
        srv.add_user("admin", "community_admin")
        for name in ("a", "b", "c"):
            srv.add_user(name, "supervisor")
        admin = Store.open(demo_file(tmp_path / "admin.db", 3, 1))  # a community to fetch
        assert sum(sync(admin, srv.url, "admin").pushed.values()) > 0
        admin.close()
        yield srv
    finally:
        srv.kill()


def test_second_first_sync_waits_for_the_place(busy_server, tmp_path):
    srv = busy_server
    a, b = laptop(tmp_path / "a.db"), laptop(tmp_path / "b.db")
    first = SyncClient(a, srv.url, "a", PASSWORD)
    first.hello(SyncResult())  # a's first sync has begun: it holds the only place
    first.close()

    waits: list[float] = []
    stages: list[str] = []

    def wait(seconds: float) -> None:  # while b waits, a finishes its first sync and frees the place
        waits.append(seconds)
        assert sync(a, srv.url, "a", sleep=_no_wait).cursor > 0

    result = sync(b, srv.url, "b", sleep=wait, progress=lambda stage, done, total: stages.append(stage))
    assert len(waits) == 1 and 15 <= waits[0] <= 22.5  # Retry-After 15 s plus up to half of it
    assert f"服务器繁忙,{round(waits[0])} 秒后重试" in stages
    assert result.cursor > 0 and sum(result.pulled.values()) > 0
    # both are past their first sync: syncing again never waits, whoever holds the place
    c = laptop(tmp_path / "c.db")
    holder = SyncClient(c, srv.url, "c", PASSWORD)
    holder.hello(SyncResult())
    try:
        sync(a, srv.url, "a", sleep=_no_wait)
        sync(b, srv.url, "b", sleep=_no_wait)
    finally:
        holder.close()
    for store in (a, b, c):
        store.close()


def test_refusal_is_a_503_in_chinese_and_the_client_gives_up_in_time(busy_server, tmp_path):
    srv = busy_server
    a, b = laptop(tmp_path / "a.db"), laptop(tmp_path / "b.db")
    holder = SyncClient(a, srv.url, "a", PASSWORD)
    holder.hello(SyncResult())
    waits: list[float] = []
    late = SyncClient(b, srv.url, "b", PASSWORD, busy_wait=40, sleep=waits.append)
    try:
        with pytest.raises(SyncError) as refused:
            late.run()
        assert refused.value.code == "server_busy"
        assert "服务器繁忙" in str(refused.value) and "本机数据未受影响" in str(refused.value)
        assert sum(waits) == 40 and len(waits) >= 2  # waits add up to the limit, then it stops
        # the refusal itself, as the server sends it
        resp = late.conn.http.post(API + "/sync/hello", headers={"Authorization": f"Bearer {late.conn.token}"},
                                   json={"file_id": b.meta("file_id"), "epoch": b.meta("sync_epoch") or "",
                                         "schema_version": SCHEMA_VERSION, "cursor": 0})
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "15"
        body = resp.json()
        assert body["code"] == "server_busy"
        assert body["message"].startswith("服务器繁忙:已有 1 台电脑正在首次同步(上限 1 台)")
        assert not b.meta("sync_cursor")  # nothing was pulled
    finally:
        late.close()
        holder.close()
        a.close()
        b.close()
