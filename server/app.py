"""The sync server's HTTP API (FastAPI), versioned under /api/v1, with an OpenAPI document."""


import json
import os
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
import orjson
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from desktop import __version__
from desktop.policy import Ability, allows, denial
from desktop.sync.bundle_file import box_public, new_box_key, new_signing_key, signing_public
from desktop.sync.protocol import (
    API,
    BLOB_CHUNK,
    MIN_SCHEMA_VERSION,
    PROTOCOL,
    PULL_PAGE,
    PUSH_BATCH,
    SCHEMA_VERSION,
)
from server import service
from server.http_errors import http_message, validation_message
from server.limits import RequestGuard
from server.logs import RequestLog, note_caller
from server.schema import schema_state
from server.secret_key import DEV_SECRET as DEV_SECRET  # re-exported: tests and tools name it here
from server.secret_key import ConfigError as ConfigError
from server.secret_key import check_secret
from server.secret_key import resolve as resolve_secret
from server.service import ApiError, Caller
from server.store import Scope, ServerStore

TOKEN_SECONDS = 15 * 60
BIG = 2**62  # every integer a client sends must fit a 64-bit column


@dataclass(frozen=True)
class Settings:
    database: str
    secret: str
    development: bool = False
    name: str = "网格台账同步服务器"

    def __post_init__(self) -> None:  # however it is made, only development signs with a weak secret
        if not self.development:
            check_secret(self.secret)

    @classmethod
    def load(cls, database: str, *, secret: str | None = None, development: bool = False,
             host: str | None = None, source: str | None = None) -> "Settings":
        """Only `development` (the `--dev` flag) may use the public development secret, and then
        only on a loopback `host`; otherwise a strong secret is required (server/secret_key.py).
        `source` names where `secret` came from, for the refusal."""
        secret = resolve_secret(secret, development=development, host=host, source=source)
        return cls(database=database, secret=secret, development=development)


# --- request bodies (responses are plain JSON; sync pages are spliced bytes) ----------------

class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class EnrolIn(Credentials):
    file_id: str = Field(min_length=1, max_length=36)
    name: str | None = Field(default=None, max_length=128)
    sign_public: str = Field(min_length=64, max_length=64)
    box_public: str = Field(min_length=64, max_length=64)
    predecessor: str | None = Field(default=None, max_length=36)


class TokenIn(Credentials):
    # without a device: a read-only token for an office script (figures and conflicts only)
    device_id: str | None = Field(default=None, min_length=1, max_length=36)


class HelloIn(BaseModel):
    file_id: str = Field(max_length=36)
    epoch: str = Field(max_length=64)
    schema_version: int = Field(ge=0, le=1_000_000)
    cursor: int = Field(ge=0, le=BIG)
    pending: int | None = Field(default=None, ge=0, le=BIG)  # the laptop's unsent changes (newer laptops)


class Change(BaseModel):
    seq: int = Field(ge=1, le=BIG)
    table: str = Field(max_length=32)
    id: str = Field(max_length=36)
    op: str = Field(max_length=1)
    fields: dict[str, list[Any]]
    known: int = Field(default=0, ge=0, le=BIG)
    at: str | None = Field(default=None, max_length=40)
    by: str | None = Field(default=None, max_length=64)
    prev: int | None = Field(default=None, ge=0, le=BIG)


class PushIn(BaseModel):
    changes: list[Change] = Field(max_length=2000)


class PullIn(BaseModel):
    cursor: int = Field(default=0, ge=0, le=BIG)
    limit: int = Field(default=PULL_PAGE, ge=1, le=5000)
    only_grids: list[str] | None = Field(default=None, max_length=1000)
    until: int | None = Field(default=None, ge=0, le=BIG)


class ShaList(BaseModel):
    sha256: list[str] = Field(max_length=1000)


class AuditEntryIn(BaseModel):
    seq: int = Field(ge=1, le=BIG)
    at: str = Field(max_length=40)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=24)
    entity: str | None = Field(default=None, max_length=32)
    entity_id: str | None = Field(default=None, max_length=36)
    # longer texts are cut to AUDIT_SUMMARY_CHARS / AUDIT_DETAIL_CHARS (service.receive_audit), not
    # refused: one long entry must not stop a laptop's whole trail; the route's body cap bounds them
    summary: str | None = None
    detail: str | None = None


class AuditIn(BaseModel):
    entries: list[AuditEntryIn] = Field(max_length=5000)


class ResolveIn(BaseModel):
    choice: str = Field(max_length=16)
    values: dict[str, Any] | None = None


def _address(request: Request) -> str | None:
    """The client's address, for counting failed sign-ins (the server listens directly; behind a
    proxy every client shares the proxy's address, which then limits them together)."""
    return request.client.host if request.client else None


def _json(data: Any, status: int = 200) -> Response:
    try:
        body = orjson.dumps(data)
    except TypeError:  # a set-aside change may hold integers beyond 64 bits
        body = json.dumps(data, ensure_ascii=False, default=str).encode()
    return Response(body, status_code=status, media_type="application/json")


def create_app(settings: Settings, store: ServerStore | None = None) -> FastAPI:
    store = store or ServerStore(settings.database)
    sign_key = bytes.fromhex(store.key("sign_private", lambda: new_signing_key().hex()))
    box_key = bytes.fromhex(store.key("box_private", lambda: new_box_key().hex()))
    server_id = store.key("server_id", lambda: os.urandom(16).hex())
    app = FastAPI(title="GridLedger sync", version=__version__, openapi_url=f"{API}/openapi.json",
                  docs_url=f"{API}/docs", redoc_url=None)
    app.state.store = store
    app.state.settings = settings
    app.state.sign_key = sign_key
    app.state.box_key = box_key
    app.state.server_id = server_id

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _json({"code": exc.code, "message": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        return _json({"code": "invalid", "message": validation_message(exc.errors())}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method"}.get(exc.status_code, "http")
        return _json({"code": code, "message": http_message(exc.status_code, request.method, request.url.path)},
                     exc.status_code)

    def issue_token(username: str, device_id: str, *, read_only: bool = False) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"sub": username, "dev": device_id, "iat": now, "exp": now + TOKEN_SECONDS}
        if read_only:
            claims["ro"] = 1
        return jwt.encode(claims, settings.secret, algorithm="HS256")

    def claims_of(authorization: str | None) -> dict[str, Any]:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "no_token", "请先登录")
        try:
            return jwt.decode(authorization[7:], settings.secret, algorithms=["HS256"],
                              options={"require": ["exp", "sub", "dev"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "token_expired", "登录已过期,请重新登录") from None
        except jwt.InvalidTokenError:
            raise ApiError(401, "bad_token", "登录凭据无效,请重新登录") from None

    def token_refusal(authorization: str | None) -> tuple[int, str, str] | None:
        """The guard's check, before any body is read: signature and expiry only (no database)."""
        try:
            claims_of(authorization)
        except ApiError as exc:
            return exc.status, exc.code, exc.message
        return None

    app.add_middleware(RequestGuard, check_token=token_refusal)
    app.add_middleware(RequestLog)  # added last: outermost, so refusals by the guard are logged too

    def current(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
        claims = claims_of(authorization)
        note_caller(request.scope, str(claims["sub"]), str(claims.get("dev", "")))
        if claims.get("ro"):
            raise ApiError(403, "read_only", "该令牌只能读取服务器统计和同步冲突,不能同步或修改数据;"
                                             "同步请用网格台账客户端登录。")
        return service.caller(store, str(claims["sub"]), str(claims["dev"]))

    def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> Scope:
        """The scope of a device's token or of a read-only (script) token, for the read routes."""
        claims = claims_of(authorization)
        note_caller(request.scope, str(claims["sub"]), str(claims.get("dev", "")))
        if claims.get("ro"):
            return service.reader_scope(store, str(claims["sub"]))
        return service.caller(store, str(claims["sub"]), str(claims["dev"])).scope

    Who = Annotated[Caller, Depends(current)]
    Reader = Annotated[Scope, Depends(reader)]

    @app.get("/healthz", operation_id="healthz", include_in_schema=False)
    def healthz() -> Response:
        """The process is alive and answering (no database access)."""
        return _json({"status": "ok"})

    @app.get("/readyz", operation_id="readyz", include_in_schema=False)
    def readyz() -> Response:
        """The database answers and its schema is at this program's head."""
        try:
            revision, head = schema_state(store.engine)
        except Exception as exc:  # any database failure: not ready, said in one sentence
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            return _json({"status": "unavailable", "message": f"无法连接服务器数据库:{reason}"}, 503)
        if revision != head:
            return _json({"status": "unavailable", "schema": revision, "head": head,
                          "message": f"服务器数据库结构为 {revision},本程序需要 {head}:请重新启动服务器完成升级。"}, 503)
        return _json({"status": "ready", "schema": revision})

    @app.get(f"{API}/info", operation_id="info")
    def info() -> Response:
        return _json({
            "name": settings.name, "server_id": server_id, "protocol": PROTOCOL, "version": __version__,
            "schema_min": MIN_SCHEMA_VERSION, "schema_max": SCHEMA_VERSION,
            "sign_public": signing_public(sign_key).hex(), "box_public": box_public(box_key).hex(),
            "limits": {"push_batch": PUSH_BATCH, "pull_page": PULL_PAGE, "blob_chunk": BLOB_CHUNK},
        })

    @app.post(f"{API}/devices/enrol", operation_id="enrol")
    def enrol(body: EnrolIn, request: Request) -> Response:
        user = service.authenticate(store, body.username, body.password, _address(request))
        dev = service.enrol(store, user, body.file_id, body.name, body.sign_public, body.box_public, body.predecessor)
        return _json({"device_id": dev.id, "epoch": dev.epoch, "server_id": server_id,
                      "access_token": issue_token(user.username, dev.id), "expires_in": TOKEN_SECONDS})

    @app.post(f"{API}/auth/token", operation_id="token")
    def token(body: TokenIn, request: Request) -> Response:
        user = service.authenticate(store, body.username, body.password, _address(request))
        if body.device_id is None:  # an office script: read-only figures and conflicts
            service.reader_scope(store, user.username)
            return _json({"access_token": issue_token(user.username, "", read_only=True),
                          "expires_in": TOKEN_SECONDS, "read_only": True,
                          "role": user.role, "display_name": user.display_name})
        service.caller(store, user.username, body.device_id)  # device still valid for this user
        return _json({"access_token": issue_token(user.username, body.device_id), "expires_in": TOKEN_SECONDS,
                      "role": user.role, "display_name": user.display_name})

    @app.post(f"{API}/sync/hello", operation_id="hello")
    def hello(body: HelloIn, who: Who) -> Response:
        return _json(service.hello(store, who, file_id=body.file_id, epoch=body.epoch,
                                   schema_version=body.schema_version, cursor=body.cursor, pending=body.pending))

    @app.post(f"{API}/sync/push", operation_id="push")
    def push(body: PushIn, who: Who) -> Response:
        return _json(service.push(store, who, [c.model_dump() for c in body.changes]))

    @app.post(f"{API}/sync/pull", operation_id="pull")
    def pull(body: PullIn, who: Who) -> Response:
        data = service.pull(store, who.scope, body.cursor, body.limit, only_grids=body.only_grids, until=body.until,
                            device_id=who.device.id)
        return Response(data, media_type="application/json")

    @app.post(f"{API}/blobs/missing", operation_id="blobs_missing")
    def blobs_missing(body: ShaList, who: Who) -> Response:
        return _json({"missing": service.missing_blobs(store, who.scope, body.sha256)})

    @app.put(f"{API}/blobs/{{sha}}", operation_id="blob_put")
    async def blob_put(sha: str, request: Request, who: Who,
                       offset: Annotated[int, Query(ge=0, le=BIG)] = 0,
                       size: Annotated[int, Query(ge=1, le=64 * 1024 * 1024)] = 1) -> Response:
        chunk = await request.body()  # at most the route's cap (server.limits)
        return _json(service.put_blob_chunk(store, who.scope, sha, offset, size, chunk))

    @app.get(f"{API}/blobs/{{sha}}", operation_id="blob_get")
    def blob_get(sha: str, who: Who, offset: Annotated[int, Query(ge=0, le=BIG)] = 0,
                 length: Annotated[int, Query(ge=1, le=4 * BLOB_CHUNK)] = BLOB_CHUNK) -> Response:
        return Response(service.get_blob(store, who.scope, sha, offset, length),
                        media_type="application/octet-stream")

    @app.get(f"{API}/conflicts", operation_id="conflicts")
    def conflicts(who: Reader, status: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
                  limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
        return _json({"conflicts": service.list_conflicts(store, who, status, limit)})

    @app.post(f"{API}/conflicts/{{conflict_id}}/resolve", operation_id="resolve")
    def resolve(conflict_id: Annotated[int, Path(ge=1, le=BIG)], body: ResolveIn, who: Who) -> Response:
        return _json(service.resolve_conflict(store, who, conflict_id, body.choice, body.values))

    @app.post(f"{API}/audit", operation_id="audit_push")
    def audit_push(body: AuditIn, who: Who) -> Response:
        return _json(service.receive_audit(store, who, [e.model_dump() for e in body.entries]))

    @app.get(f"{API}/audit", operation_id="audit_list")
    def audit_list(who: Who, actor: Annotated[str | None, Query(max_length=64)] = None,
                   action: Annotated[str | None, Query(max_length=24)] = None,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
        return _json({"entries": service.list_audit(store, who.scope, actor=actor, action=action, limit=limit)})

    @app.get(f"{API}/stats", operation_id="stats")
    def stats(who: Reader) -> Response:
        if not allows(who, Ability.SERVER_STATS):
            raise ApiError(403, "forbidden", denial(Ability.SERVER_STATS))
        return _json(service.stats(store))

    return app
