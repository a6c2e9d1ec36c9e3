"""Request guard in front of every route: the sign-in token is checked before a byte of the body
is read, and every body is capped per route while it streams in (a declared Content-Length over
the cap is refused at once; a chunked body is cut off as soon as it passes the cap). Only a body
within its cap ever reaches the JSON decoder."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from desktop.sync.protocol import API, BLOB_CHUNK, PUSH_REQUEST_MAX

KIB = 1024
MIB = 1024 * KIB

# (method, path pattern under /api/v1, cap in bytes, what the body is, in Chinese)
ROUTES: tuple[tuple[str, str, int, str], ...] = (
    ("POST", "/devices/enrol", 4 * KIB, "设备登记请求"),
    ("POST", "/auth/token", 4 * KIB, "登录请求"),
    ("POST", "/sync/hello", 4 * KIB, "同步握手请求"),
    # a laptop sends pages of at most PUSH_MAX_BYTES; a single change may be larger on its own
    ("POST", "/sync/push", PUSH_REQUEST_MAX, "上传的一批修改"),
    ("POST", "/sync/pull", 64 * KIB, "下载请求"),
    ("POST", "/blobs/missing", 128 * KIB, "附件清单"),
    ("PUT", "/blobs/[^/]+", 4 * BLOB_CHUNK, "附件分块"),
    ("POST", "/conflicts/[^/]+/resolve", 256 * KIB, "冲突处理结果"),
    ("POST", "/audit", 8 * MIB, "上传的一批审计记录"),
)
DEFAULT_CAP = 16 * KIB  # every other request (GETs, unknown paths) carries no real body
# Routes that are used before signing in (everything else needs a token first).
PUBLIC = frozenset({f"{API}/info", f"{API}/openapi.json", f"{API}/docs", f"{API}/docs/oauth2-redirect",
                    f"{API}/devices/enrol", f"{API}/auth/token"})

_COMPILED = [(m, re.compile(re.escape(API) + p + "$"), cap, what) for m, p, cap, what in ROUTES]


def body_cap(method: str, path: str) -> tuple[int, str]:
    """The largest body the route accepts, and what that body is called."""
    for m, pattern, cap, what in _COMPILED:
        if m == method and pattern.match(path):
            return cap, what
    return DEFAULT_CAP, "请求内容"


def too_large_message(what: str, cap: int) -> str:
    size = f"{cap // MIB} MB" if cap >= MIB else f"{cap // KIB} KB"
    return f"{what}超过服务器允许的 {size} 上限,已拒收,请分批发送或升级软件后重试。"


TokenCheck = Callable[[str | None], "tuple[int, str, str] | None"]
ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


class RequestGuard:
    """Pure ASGI middleware (nothing is buffered beyond the route's cap)."""

    def __init__(self, app: ASGIApp, check_token: TokenCheck) -> None:
        self.app = app
        self.check_token = check_token

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if path.startswith(API + "/") and path not in PUBLIC:
            auth = headers.get(b"authorization")
            refused = self.check_token(auth.decode("latin-1") if auth is not None else None)
            if refused is not None:
                await _answer(send, *refused)  # the body is never read
                return
        cap, what = body_cap(method, path)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _answer(send, 400, "bad_length", "请求头 Content-Length 不是数字,请检查发送请求的程序。")
                return
            if length > cap:
                await _answer(send, 413, "too_large", too_large_message(what, cap))
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:  # a chunked body (or one longer than it said) stops here
                await _answer(send, 413, "too_large", too_large_message(what, cap))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(send: Callable[[dict], Awaitable[None]], status: int, code: str, message: str) -> None:
    payload = orjson.dumps({"code": code, "message": message})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})
