"""The server's HTTP API under attack: bodies, blobs, authorship, storage, sign-in, wording.
Driven in-process through httpx's ASGI transport, which hands the body to the app chunk by chunk
only when the app asks for it: a test sees how much of a body the server really read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from desktop.sync.bundle_file import box_public, new_box_key, new_signing_key, signing_public
from desktop.sync.protocol import API
from server import service
from server.app import Settings, create_app
from server.store import ServerStore
from tests.sync.harness import PASSWORD

CHUNK = 64 * 1024


class Feed:
    """A request body that counts what the server pulled from it."""

    def __init__(self, total: int, *, fill: bytes = b" ") -> None:
        self.total = total
        self.fill = fill
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            n = min(CHUNK, self.total - self.sent)
            self.sent += n
            yield self.fill * n


class Api:
    def __init__(self, url: str) -> None:
        self.store = ServerStore(url)
        self.app = create_app(Settings.load(url, development=True), self.store)

    def call(self, method: str, path: str, *, address: str = "127.0.0.1", **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, API + path, **kw)

        return asyncio.run(go())

    def enrol(self, username: str, role: str = "supervisor", areas: list[str] | None = None,
              file_id: str = "file-1") -> dict[str, Any]:
        service.add_user(self.store, username, PASSWORD, role, areas=areas)
        resp = self.call("POST", "/devices/enrol", json={
            "username": username, "password": PASSWORD, "file_id": file_id,
            "sign_public": signing_public(new_signing_key()).hex(), "box_public": box_public(new_box_key()).hex()})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def api(server_db):
    a = Api(server_db)  # SQLite and PostgreSQL
    yield a
    a.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- 1. bodies: the token first, then a cap per route --------------------------------------------

def test_anonymous_oversize_body_is_refused_unread(api):
    feed = Feed(300 * 1024 * 1024)
    resp = api.call("POST", "/sync/push", content=feed.__aiter__(),
                    headers={"Content-Type": "application/json", "Content-Length": str(feed.total)})
    assert resp.status_code == 401
    assert resp.json()["message"] == "请先登录"
    assert feed.sent <= CHUNK  # at most what a transport pre-reads: the server never asked
    forged = Feed(300 * 1024 * 1024)
    resp = api.call("POST", "/audit", content=forged.__aiter__(),
                    headers={"Authorization": "Bearer not-a-token", "Content-Type": "application/json"})
    assert resp.status_code == 401
    assert forged.sent <= CHUNK


def test_signed_in_oversize_body_gets_413_in_chinese(api):
    token = api.enrol("sup")["access_token"]
    feed = Feed(64 * 1024 * 1024)
    resp = api.call("POST", "/sync/push", content=feed.__aiter__(),
                    headers={**_auth(token), "Content-Type": "application/json", "Content-Length": str(feed.total)})
    assert resp.status_code == 413
    assert "上传的一批修改超过服务器允许的" in resp.json()["message"]
    assert feed.sent <= CHUNK
    # a sign-in request is small; a big one is refused the same way, before any password check
    resp = api.call("POST", "/auth/token", content=b" " * (1024 * 1024), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert "登录请求超过服务器允许的 4 KB 上限" in resp.json()["message"]


def test_chunked_body_is_cut_off_at_the_cap(api):
    token = api.enrol("sup")["access_token"]
    feed = Feed(200 * 1024 * 1024)
    resp = api.call("POST", "/audit", content=feed.__aiter__(),  # no Content-Length: chunked
                    headers={**_auth(token), "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert "审计记录" in resp.json()["message"]
    assert feed.sent <= 8 * 1024 * 1024 + CHUNK
    # within the cap the same route still works
    resp = api.call("POST", "/audit", json={"entries": []}, headers=_auth(token))
    assert resp.status_code == 200, resp.text


# --- 2. photos: exact ownership, scope on every blob route ------------------------------------------

PHOTO = b"\xff\xd8\xff" + bytes(range(256)) * 40  # a small "JPEG" of grid 2


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _photo_change(seq: int, row_id: str, grid: str, sha: str, size: int = len(PHOTO)) -> dict[str, Any]:
    fields = {"grid_id": grid, "owner_kind": "person", "owner_id": "p-" + row_id, "purpose": "photo",
              "caption": None, "mime": "image/jpeg", "width": 10, "height": 10, "byte_size": size, "sha256": sha}
    return {"seq": seq, "table": "attachment", "id": row_id, "op": "I", "known": 0,
            "fields": {k: [None, v] for k, v in fields.items()}}


def _push(api: Api, token: str, *changes: dict[str, Any]) -> list[dict[str, Any]]:
    resp = api.call("POST", "/sync/push", json={"changes": list(changes)}, headers=_auth(token))
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def _upload(api: Api, token: str, data: bytes) -> httpx.Response:
    return api.call("PUT", f"/blobs/{_sha(data)}", params={"offset": 0, "size": len(data)}, content=data,
                    headers={**_auth(token), "Content-Type": "application/octet-stream"})


def _areas(api: Api) -> str:
    """A community with grid-1 and grid-2, pushed by a supervisor; the supervisor's token."""
    sup = api.enrol("sup", file_id="laptop-sup")["access_token"]
    rows = [("community", "c1", "社区", None, "c-1"), ("grid", "g1", "一网格", "community", "grid-1"),
            ("grid", "g2", "二网格", "community", "grid-2")]
    changes = [{"seq": n, "table": "area", "id": rid, "op": "I", "known": 0,
                "fields": {"level": [None, level], "code": [None, code], "name": [None, name],
                           "parent_id": [None, parent]}}
               for n, (level, code, name, parent, rid) in enumerate(
                   [(lv, cd, nm, "c-1" if p else None, rid) for lv, cd, nm, p, rid in rows], start=1)]
    assert {r["status"] for r in _push(api, sup, *changes)} == {"applied"}
    return sup


@pytest.fixture
def two_grids(api):
    _areas(api)
    w1 = api.enrol("w1", "grid_worker", ["grid-1"], file_id="laptop-1")["access_token"]
    w2 = api.enrol("w2", "grid_worker", ["grid-2"], file_id="laptop-2")["access_token"]
    assert _push(api, w2, _photo_change(1, "att-2", "grid-2", _sha(PHOTO)))[0]["status"] == "applied"
    assert _upload(api, w2, PHOTO).json()["complete"] is True
    return w1, w2


def test_another_grids_photo_cannot_be_claimed_or_read(api, two_grids):
    w1, w2 = two_grids
    sha = _sha(PHOTO)
    # w1 names grid 2's photo in an attachment record of their own grid: set aside, not stored
    res = _push(api, w1, _photo_change(1, "att-1", "grid-1", sha))
    assert res[0]["status"] == "rejected"
    assert "无权查看" in res[0]["message"]
    resp = api.call("GET", f"/blobs/{sha}", headers=_auth(w1))
    assert resp.status_code == 404
    assert resp.content != PHOTO
    # /blobs/missing tells nothing about photos of other grids (not even how far an upload got)
    resp = api.call("POST", "/blobs/missing", json={"sha256": [sha, _sha(b"half")]}, headers=_auth(w1))
    assert resp.json() == {"missing": []}
    # nor by pointing a photo record of their own at it afterwards
    own = b"grid one's photo"
    assert _push(api, w1, _photo_change(2, "att-1b", "grid-1", _sha(own), len(own)))[0]["status"] == "applied"
    res = _push(api, w1, {"seq": 3, "table": "attachment", "id": "att-1b", "op": "U", "known": 10**6,
                          "fields": {"sha256": [_sha(own), sha]}})
    assert res[0]["status"] == "rejected"
    assert api.call("GET", f"/blobs/{sha}", headers=_auth(w1)).status_code == 404
    # the owner grid still reads it
    resp = api.call("GET", f"/blobs/{sha}", headers=_auth(w2))
    assert resp.status_code == 200 and resp.content == PHOTO


def test_blob_names_are_exact_hashes(api, two_grids):
    w1, _ = two_grids
    own = b"grid one's own photo"
    assert _push(api, w1, _photo_change(1, "att-1", "grid-1", _sha(own), len(own)))[0]["status"] == "applied"
    assert _upload(api, w1, own).json()["complete"] is True
    # a LIKE pattern would match any record's text: "_" and "%" are not hashes
    for name in ("_" * 64, "%" * 64, _sha(PHOTO)[:32] + "_" * 32):
        resp = api.call("PUT", f"/blobs/{name}", params={"offset": 0, "size": 4}, content=b"evil",
                        headers={**_auth(w1), "Content-Type": "application/octet-stream"})
        assert resp.status_code in (403, 404, 422), (name, resp.status_code)
        resp = api.call("GET", f"/blobs/{name}", headers=_auth(w1))
        assert resp.status_code in (403, 404, 422)
    from sqlalchemy import func, select

    from server.models import Blob

    with api.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Blob)) == 2
    assert api.call("GET", f"/blobs/{_sha(own)}", headers=_auth(w1)).content == own


def test_a_photo_of_ones_own_is_named_again_freely(api, two_grids):
    _, w2 = two_grids
    sha = _sha(PHOTO)
    # the same laptop (or its grid) naming the same photo in a second record is fine
    assert _push(api, w2, _photo_change(2, "att-2b", "grid-2", sha))[0]["status"] == "applied"
    resp = api.call("POST", "/blobs/missing", json={"sha256": [sha]}, headers=_auth(w2))
    assert resp.json() == {"missing": []}


# --- 3. authorship: the server stamps the signed-in user and device; the laptop's word is a claim -----

def _vehicle(seq: int, row_id: str, grid: str, *, by: str, op: str = "I", plate: str = "甘A00001",
             known: int = 0) -> dict[str, Any]:
    fields = {"plate_no": [None, plate]} if op == "U" else {"grid_id": [None, grid], "plate_no": [None, plate]}
    return {"seq": seq, "table": "vehicle", "id": row_id, "op": op, "known": known, "by": by,
            "at": "2020-01-01T00:00:00.000Z", "fields": fields}


def _audit_entry(seq: int, actor: str) -> dict[str, Any]:
    return {"seq": seq, "at": "2020-01-01 00:00:00", "actor": actor, "action": "purge",
            "summary": "彻底清除 张三", "detail": None}


def test_pushed_changes_are_stamped_with_the_signed_in_user(api, two_grids):
    w1, _ = two_grids
    assert _push(api, w1, _vehicle(1, "car-1", "grid-1", by="admin"))[0]["status"] == "applied"
    import orjson

    from server.models import Record, load_meta

    with api.store.session() as s:
        rec = s.get(Record, ("vehicle", "car-1"))
        data, meta = orjson.loads(rec.data), load_meta(rec.field_meta)
    assert data["created_by"] == data["updated_by"] == "w1"
    assert meta["plate_no"][3] == "w1" and meta["plate_no"][5] == "admin"  # the claim, beside the author
    # a clash keeps both sides' authors as the server knows them, and the claim as a claim
    sup = api.call("POST", "/auth/token", json={"username": "sup", "password": PASSWORD,
                                                 "device_id": _device_of(api, "sup")}).json()["access_token"]
    assert _push(api, sup, _vehicle(5, "car-1", "grid-1", by="sup", op="U", plate="甘A00002", known=10**6))[0]["status"] == "applied"
    res = _push(api, w1, _vehicle(2, "car-1", "grid-1", by="admin", op="U", plate="甘A00003", known=1))
    assert res[0]["status"] == "conflict"
    conflicts = api.call("GET", "/conflicts", headers=_auth(sup)).json()["conflicts"]
    client = conflicts[-1]["client"]
    assert client["by"] == "w1" and client["claimed_by"] == "admin"
    from desktop.sync.conflict_view import who

    assert who(client).startswith("w1(电脑上记为 admin,未核实)")
    assert "(电脑时间)" in who(client)  # the laptop's clock, shown as such


def _device_of(api: Api, username: str) -> str:
    from sqlalchemy import select

    from server.models import Device, ServerUser

    with api.store.session() as s:
        uid = s.scalar(select(ServerUser.id).where(ServerUser.username == username))
        return s.scalar(select(Device.id).where(Device.user_id == uid).order_by(Device.enrolled_at.desc()))


def test_audit_entries_name_only_users_signed_in_on_that_laptop(api, two_grids):
    w1, _ = two_grids
    resp = api.call("POST", "/audit", json={"entries": [_audit_entry(1, "admin"), _audit_entry(2, "w1")]},
                    headers=_auth(w1))
    assert resp.status_code == 200, resp.text
    sup = api.call("POST", "/auth/token", json={"username": "sup", "password": PASSWORD,
                                                 "device_id": _device_of(api, "sup")}).json()["access_token"]
    entries = {e["claimed_actor"]: e for e in api.call("GET", "/audit", params={"action": "purge"},
                                                        headers=_auth(sup)).json()["entries"]}
    forged = entries["admin"]
    assert forged["actor"] == "w1" and forged["sent_by"] == "w1"  # not "admin purged …"
    assert forged["claimed_at"] == "2020-01-01 00:00:00" and not forged["at"].startswith("2020")
    assert entries["w1"]["actor"] == "w1"
    assert "电脑上记为 admin(未核实)" in service.audit_claims(forged)
    # a laptop shared by two users who both signed in there: each may be named
    api.enrol("w1b", "grid_worker", ["grid-1"], file_id="laptop-1")
    resp = api.call("POST", "/audit", json={"entries": [_audit_entry(3, "w1b")]}, headers=_auth(w1))
    entries = api.call("GET", "/audit", params={"action": "purge"}, headers=_auth(sup)).json()["entries"]
    assert [e["actor"] for e in entries if e["claimed_actor"] == "w1b"] == ["w1b"]


def test_a_server_database_from_before_gains_the_new_columns(tmp_path):
    from sqlalchemy import inspect, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = ServerStore(url)
    with store.engine.begin() as c:  # as an older server made it: no version table (server/schema.py)
        for table, col in (("srv_audit", "sent_by"), ("srv_audit", "claimed_actor"), ("srv_audit", "claimed_at"),
                           ("srv_conflict", "client_claimed_by"), ("srv_conflict", "server_claimed_by"),
                           *(("srv_device", name) for name in ("schema_version", "last_cursor", "pending_changes",
                                                               "last_push_at", "revoked_at", "revoked_by"))):
            c.execute(text(f"ALTER TABLE {table} DROP COLUMN {col}"))
        c.execute(text("DROP TABLE srv_alembic_version"))
    store.close()
    store = ServerStore(url)
    try:
        cols = {c["name"] for c in inspect(store.engine).get_columns("srv_audit")}
        assert {"sent_by", "claimed_actor", "claimed_at"} <= cols
        assert inspect(store.engine).has_table("srv_first_sync")
    finally:
        store.close()


# --- 4. storage: set-aside changes per device, audit entry size -----------------------------------

def _open_set_aside(api: Api) -> list[Any]:
    from sqlalchemy import select

    from server.models import Conflict

    with api.store.session() as s:
        return list(s.scalars(select(Conflict).where(Conflict.kind == "rejected", Conflict.status == "open")))


def test_set_aside_storage_is_capped_per_device(api, two_grids, monkeypatch):
    from server import merge

    w1, w2 = two_grids
    monkeypatch.setattr(merge, "ASIDE_MAX_CHANGES", 3)
    # five changes to the other grid: refused; three kept for review, two deferred (not stored)
    res = _push(api, w1, *[_vehicle(n, f"car-x{n}", "grid-2", by="w1", plate=f"甘A0000{n}") for n in range(1, 6)])
    assert [r["status"] for r in res] == ["rejected"] * 3 + ["deferred"] * 2
    assert "待审核的修改已达 3 条" in res[-1]["message"] and "自动重发" in res[-1]["message"]
    assert len(_open_set_aside(api)) == 3
    from desktop.sync.summary import status_text

    assert "待审核的修改已满" in status_text({"deferred": 2})  # what the laptop's sync page says
    # the deferred ones were not recorded as received: sent again, they are answered afresh
    res = _push(api, w1, _vehicle(4, "car-x4", "grid-2", by="w1", plate="甘A00004"))
    assert res[0]["status"] == "deferred"
    # another device has its own room
    assert _push(api, w2, _vehicle(9, "car-y", "grid-1", by="w2"))[0]["status"] == "rejected"


def test_a_huge_refused_change_is_not_kept_whole(api, two_grids):
    w1, _ = two_grids
    change = _vehicle(1, "car-big", "grid-2", by="w1")
    change["fields"]["note" * 5000] = [None, "x" * 300_000]  # an unknown field of 20,000 characters
    res = _push(api, w1, change)
    assert res[0]["status"] == "rejected"
    assert len(res[0]["message"]) <= 300
    [kept] = _open_set_aside(api)
    assert kept.change is None and "修改内容过大" in kept.reason
    assert len(kept.fields) < 1000


def test_audit_entries_are_capped_not_refused(api, two_grids):
    from desktop.sync.protocol import AUDIT_DETAIL_CHARS, AUDIT_SUMMARY_CHARS

    w1, _ = two_grids
    big = {**_audit_entry(1, "w1"), "summary": "长" * 5000, "detail": "{" + "x" * 100_000 + "}"}
    resp = api.call("POST", "/audit", json={"entries": [big, _audit_entry(2, "w1")]}, headers=_auth(w1))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"stored": 2, "through": 2}
    from sqlalchemy import select

    from server.models import ServerAudit

    with api.store.session() as s:
        row = s.scalar(select(ServerAudit).where(ServerAudit.source_seq == 1))
    assert len(row.detail) <= AUDIT_DETAIL_CHARS and row.detail.endswith("(已截断,原有 100002 字)")
    assert len(row.summary) <= AUDIT_SUMMARY_CHARS


def test_a_laptop_sends_its_audit_trail_in_requests_the_server_accepts(tmp_path, monkeypatch):
    """A trail of long entries goes up cut to the server's sizes and in requests under the cap."""
    from desktop.sync import client as client_mod
    from desktop.sync.client import SyncClient, SyncResult
    from tests.sync.harness import laptop

    store = laptop(tmp_path / "w.db")
    try:
        with store.engine.begin() as c:
            for _n in range(40):
                c.exec_driver_sql(
                    "INSERT INTO audit_log (at, actor, action, summary, detail) VALUES "
                    "('2026-01-01 00:00:00', 'w1', 'print', ?, ?)", ("打印", "{" + "户" * 60_000 + "}"))
        bodies: list[bytes] = []

        def handler(request: httpx.Request) -> httpx.Response:
            bodies.append(request.content)
            return httpx.Response(200, json={"stored": 0, "through": 0})

        monkeypatch.setattr(client_mod, "AUDIT_BATCH_BYTES", 200_000)
        client = SyncClient(store, "http://localhost", "w1", PASSWORD, transport=httpx.MockTransport(handler))
        client.conn.token = "t"
        result = SyncResult()
        client.audit_up(result)
        client.close()
    finally:
        store.close()
    assert result.audit_up == 40 and len(bodies) > 1
    import orjson

    assert all(len(b) <= 200_000 + 30_000 for b in bodies)
    sent = [e for b in bodies for e in orjson.loads(b)["entries"]]
    assert len(sent) == 40 and all(len(e["detail"]) <= 8000 for e in sent)


# --- 6. sign-in: limited per address and name, the same for every name, argon2 outside the lock -------

def _sign_in(api: Api, username: str, password: str, client: str) -> httpx.Response:
    return api.call("POST", "/auth/token", address=client,
                    json={"username": username, "password": password, "device_id": "whatever"})


def test_failed_sign_ins_slow_the_guesser_not_the_owner_and_tell_no_names(api, two_grids):
    answers = {}
    for name in ("w1", "ghost"):  # a real user and a name nobody has
        for _ in range(service.MAX_FAILED):
            assert _sign_in(api, name, "guess-guess", "10.0.0.66").status_code == 401
        resp = _sign_in(api, name, "guess-guess", "10.0.0.66")
        answers[name] = (resp.status_code, resp.json()["code"], resp.json()["message"][:8])
    assert answers["w1"] == answers["ghost"] == (429, "locked", "登录失败次数过多")
    # even the right password waits at that address...
    assert _sign_in(api, "w1", PASSWORD, "10.0.0.66").status_code == 429
    # ...but the owner at their own laptop is not locked out by someone else's guessing
    resp = api.call("POST", "/auth/token", address="10.0.0.7",
                    json={"username": "w1", "password": PASSWORD, "device_id": _device_of(api, "w1")})
    assert resp.status_code == 200, resp.text


def test_one_address_guessing_many_names_is_slowed_down(api, monkeypatch):
    monkeypatch.setattr(service, "MAX_FAILED_PER_ADDRESS", 4)
    for n in range(4):
        assert _sign_in(api, f"name{n}", "guess-guess", "10.0.0.9").status_code == 401
    assert _sign_in(api, "name-new", "guess-guess", "10.0.0.9").status_code == 429
    assert _sign_in(api, "name-new", "guess-guess", "10.0.0.10").status_code == 401


def test_the_password_is_checked_outside_any_transaction(api, monkeypatch):
    """argon2 is slow on purpose: while it runs, the sign-in holds no transaction (on SQLite
    every transaction takes the one write lock a pull or push waits for)."""
    import sqlite3

    from sqlalchemy import create_engine, text

    service.add_user(api.store, "w9", PASSWORD, "grid_worker")
    real = service.HASHER
    free: list[bool] = []
    if api.store.is_sqlite:
        path = api.store.url.removeprefix("sqlite:///")

        def nobody_in_a_transaction() -> bool:
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails at once if a write transaction is open
                other.execute("ROLLBACK")
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                other.close()
    else:
        watcher = create_engine(api.store.url)

        def nobody_in_a_transaction() -> bool:
            with watcher.connect() as c:
                return not c.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")).scalar()

    class Probe:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hashed: str, password: str) -> bool:
            free.append(nobody_in_a_transaction())
            return real.verify(hashed, password)

    monkeypatch.setattr(service, "HASHER", Probe())
    try:
        for password in (PASSWORD, "wrong-password"):
            with contextlib.suppress(service.ApiError):  # the wrong one is refused, as it should be
                service.authenticate(api.store, "w9", password)
    finally:
        if not api.store.is_sqlite:
            watcher.dispose()
    assert free == [True, True]


# --- 23. the HTTP layer's own refusals say what happened, in Chinese ---------------------------------

def _no_english(message: str) -> None:
    import re

    words = re.findall(r"[A-Za-z]{3,}", message)
    assert set(words) <= {"JSON", "UTF", "POST", "GET", "PUT", "DELETE", "HTTP", "api", "sync", "push", "info",
                          "nope", "changes", "seq", "audit", "limit", "body"}, message


def test_parse_errors_are_explained_in_chinese(api, two_grids):
    w1, _ = two_grids
    cases = [
        (b'{"changes": [', "请求内容不是有效的 JSON"),
        (b'{"changes": [{"seq": "x", "table": "person", "id": "a", "op": "U", "fields": {}}]}',
         "请求内容中的“changes.0.seq”应为整数"),
        (b"{}", "缺少请求内容中的“changes”"),
        (b"", "缺少请求内容"),
    ]
    for body, expected in cases:
        resp = api.call("POST", "/sync/push", content=body, headers={**_auth(w1), "Content-Type": "application/json"})
        assert resp.status_code == 422, body
        message = resp.json()["message"]
        assert expected in message, message
        _no_english(message)
    resp = api.call("POST", "/sync/push", content=b'\xff\xfe{"changes": []}',
                    headers={**_auth(w1), "Content-Type": "application/json"})
    assert resp.status_code in (400, 422) and "请求内容" in resp.json()["message"]
    _no_english(resp.json()["message"])
    resp = api.call("GET", "/audit", params={"limit": "many"}, headers=_auth(w1))
    assert "查询参数中的“limit”应为整数" in resp.json()["message"]


def test_unknown_paths_and_methods_are_answered_in_chinese(api, two_grids):
    w1, _ = two_grids
    resp = api.call("GET", "/nope", headers=_auth(w1))
    assert resp.status_code == 404 and resp.json()["message"].startswith("服务器上没有接口 /api/v1/nope")
    resp = api.call("DELETE", "/info")
    assert resp.status_code == 405 and "不接受 DELETE 请求" in resp.json()["message"]


def test_the_audit_refusal_speaks_of_the_audit_trail(api, two_grids):
    w1, _ = two_grids
    message = api.call("GET", "/audit", headers=_auth(w1)).json()["message"]
    assert "查看审计记录" in message and "冲突" not in message
    message = api.call("GET", "/conflicts", headers=_auth(w1)).json()["message"]
    assert "同步冲突" in message
