"""The server's HTTP API under attack: bodies, blobs, authorship, storage, sign-in, wording.
Driven in-process through httpx's ASGI transport, which hands the body to the app chunk by chunk
only when the app asks for it: a test sees how much of a body the server really read."""

from __future__ import annotations

import asyncio
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
    def __init__(self, tmp_path) -> None:
        url = f"sqlite:///{tmp_path / 'server.db'}"
        self.store = ServerStore(url)
        self.app = create_app(Settings.load(url, development=True), self.store)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
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
def api(tmp_path):
    a = Api(tmp_path)
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
