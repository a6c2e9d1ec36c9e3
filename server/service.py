"""Server use cases, callable without HTTP (the API, the bundle import and the tests use them)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desktop.policy import ROLES, Ability, allows, denial
from desktop.sync.protocol import (
    AUDIT_DETAIL_CHARS,
    AUDIT_SUMMARY_CHARS,
    COMMUNITY_WIDE,
    MIN_SCHEMA_VERSION,
    SCHEMA_VERSION,
    SYNC_TABLES,
    cut_text,
)
from server.merge import SHA256, Merger
from server.models import (
    AttachmentRef,
    Blob,
    BlobPart,
    Conflict,
    Device,
    FirstSync,
    Record,
    ServerAudit,
    ServerUser,
    SignInLimit,
    utcnow,
)
from server.store import Scope, ServerStore, area_tree, current_seq, scope_for

if TYPE_CHECKING:
    from server.admission import Admission

HASHER = PasswordHasher()
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))  # unknown users cost one real check too
MAX_FAILED = 5  # per client address and user name, then a pause that doubles
MAX_FAILED_PER_ADDRESS = 30  # per client address, whatever the names
LOCK_SECONDS = 30
FAILURE_WINDOW = timedelta(minutes=15)


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def audit(s: Session, actor: str, action: str, device_id: str | None = None, **detail: Any) -> None:
    s.add(ServerAudit(actor=actor, device_id=device_id, action=action,
                      detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None))


# --- users --------------------------------------------------------------------------------


def resolve_areas(s: Session, refs: list[str]) -> list[str]:
    """Area ids from ids or codes (a code must already be known from a synced area record)."""
    tree = area_tree(s)
    by_code = {n.code: aid for aid, n in tree.nodes.items() if n.code}
    out = []
    for ref in refs:
        ref = ref.strip()
        if not ref:
            continue
        aid = ref if ref in tree.nodes else by_code.get(ref)
        node = tree.get(aid)
        if node is not None and node.level == "estate":  # a 小区 holds no grid
            raise ApiError(400, "area_level", f"“{ref}”是小区“{node.name}”,不能分配;请填写网格或社区的代码")
        if aid is not None:
            out.append(aid)
        else:
            raise ApiError(404, "area_unknown",
                           f"服务器上没有编号或代码为“{ref}”的网格/社区。请先在社区管理员的电脑上"
                           "(地址与网格 → 新建 → 新建网格)建好该网格,再同步一次。")
    return out


def add_user(store: ServerStore, username: str, password: str, role: str, *,
             display_name: str | None = None, areas: list[str] | None = None) -> None:
    if role not in ROLES:
        raise ApiError(400, "role", f"未知角色“{role}”,可选:{'、'.join(ROLES)}")
    if len(password) < 8:
        raise ApiError(400, "password", "密码至少需要 8 个字符")
    with store.transaction() as s:
        if s.scalar(select(ServerUser).where(ServerUser.username == username)) is not None:
            raise ApiError(409, "user_exists", f"用户“{username}”已存在")
        ids = resolve_areas(s, areas or [])
        s.add(ServerUser(username=username, display_name=display_name or username, role=role,
                         password_hash=HASHER.hash(password), areas=json.dumps(ids)))
        audit(s, "admin", "add_user", username=username, role=role, areas=ids)


def set_areas(store: ServerStore, username: str, areas: list[str]) -> list[str]:
    with store.transaction() as s:
        user = _user(s, username)
        ids = resolve_areas(s, areas)
        user.areas = json.dumps(ids)
        audit(s, "admin", "set_grids", username=username, areas=ids)
        return ids


def set_active(store: ServerStore, username: str, active: bool) -> None:
    with store.transaction() as s:
        user = _user(s, username)
        user.active = active
        if not active:
            for dev in s.scalars(select(Device).where(Device.user_id == user.id)):
                dev.active = False
        audit(s, "admin", "enable_user" if active else "disable_user", username=username)


def set_password(store: ServerStore, username: str, password: str) -> None:
    if len(password) < 8:
        raise ApiError(400, "password", "密码至少需要 8 个字符")
    with store.transaction() as s:
        _user(s, username).password_hash = HASHER.hash(password)
        audit(s, "admin", "set_password", username=username)


def list_users(store: ServerStore) -> list[dict[str, Any]]:
    """Users with their grids (or communities) by code and name, as the office knows them; an
    area the server has not received yet is shown by its id."""
    with store.session() as s:
        tree = area_tree(s)

        def named(aid: str) -> dict[str, str]:
            node = tree.nodes.get(aid)
            return {"code": node.code, "name": node.name} if node else {"code": aid, "name": "(服务器上尚无该区域)"}

        return [
            {"username": u.username, "display_name": u.display_name, "role": u.role,
             "areas": [named(a) for a in json.loads(u.areas)], "active": u.active}
            for u in s.scalars(select(ServerUser).order_by(ServerUser.username))
        ]


def _user(s: Session, username: str) -> ServerUser:
    user = s.scalar(select(ServerUser).where(ServerUser.username == username))
    if user is None:
        raise ApiError(404, "user_unknown", f"用户“{username}”不存在")
    return user


def _limit_keys(username: str, client: str | None) -> tuple[str, str]:
    where = (client or "local")[:64]
    return f"a:{where}", f"u:{where}|{username[:64]}"


def _blocked(s: Session, keys: tuple[str, str], now: datetime) -> int:
    """Seconds until these keys may try again (0: now)."""
    until = [r.blocked_until for r in s.scalars(select(SignInLimit).where(SignInLimit.key.in_(keys)))
             if r.blocked_until and r.blocked_until > now]
    return int((max(until) - now).total_seconds()) + 1 if until else 0


def _count_failure(store: ServerStore, keys: tuple[str, str], username: str, known: bool) -> None:
    try:
        _count_failure_once(store, keys, username, known)
    except IntegrityError:  # a concurrent first failure of the same key: count on its row
        _count_failure_once(store, keys, username, known)


def _count_failure_once(store: ServerStore, keys: tuple[str, str], username: str, known: bool) -> None:
    now = utcnow()
    with store.transaction() as s:  # short: no password is checked in here
        s.execute(delete(SignInLimit).where(SignInLimit.first_at < now - 4 * FAILURE_WINDOW,
                                            or_(SignInLimit.blocked_until.is_(None), SignInLimit.blocked_until < now)))
        for key, allowed in zip(keys, (MAX_FAILED_PER_ADDRESS, MAX_FAILED), strict=True):
            row = s.get(SignInLimit, key)
            if row is None or now - row.first_at > FAILURE_WINDOW:
                if row is None:
                    row = SignInLimit(key=key, failures=0, first_at=now)
                    s.add(row)
                row.failures, row.first_at, row.blocked_until = 0, now, None
            row.failures += 1
            if row.failures >= allowed:
                wait = min(LOCK_SECONDS * 2 ** (row.failures - allowed), int(FAILURE_WINDOW.total_seconds()))
                row.blocked_until = now + timedelta(seconds=wait)
        if known:
            audit(s, username, "sign_in_failed", address=keys[0][2:])


def authenticate(store: ServerStore, username: str, password: str, client: str | None = None) -> ServerUser:
    """Check a password. Failures are counted per client address and per address and user name,
    and slowed down past a few, with the same answers whether the user exists or not. The
    password is checked outside any transaction (argon2 is slow on purpose; nobody waits on it)."""
    bad = ApiError(401, "bad_credentials", "用户名或密码不正确")
    keys = _limit_keys(username, client)
    with store.session() as s:
        wait = _blocked(s, keys, utcnow())
        user = s.scalar(select(ServerUser).where(ServerUser.username == username))
    if wait:
        raise ApiError(429, "locked", f"登录失败次数过多,请 {wait} 秒后再试")
    try:
        HASHER.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        _count_failure(store, keys, username, user is not None)
        raise bad
    with store.transaction() as s:
        s.execute(delete(SignInLimit).where(SignInLimit.key == keys[1]))
    if not user.active:
        raise ApiError(403, "disabled", f"用户“{username}”已停用,请联系社区管理员")
    return user


# --- devices ------------------------------------------------------------------------------


def enrol(store: ServerStore, user: ServerUser, file_id: str, name: str | None,
          sign_public: str, box_public: str, predecessor: str | None) -> Device:
    for key in (sign_public, box_public):
        try:
            if len(bytes.fromhex(key)) != 32:
                raise ValueError
        except ValueError:
            raise ApiError(422, "bad_key", "设备公钥格式不正确") from None
    with store.transaction() as s:
        pred = None
        if predecessor:
            old = s.get(Device, predecessor)
            # Only a device of the same user can be claimed as the predecessor.
            if old is not None and old.user_id == user.id:
                pred = old.id
        dev = Device(id=str(uuid.uuid4()), user_id=user.id, file_id=file_id[:36], name=(name or "")[:128],
                     predecessor=pred, sign_public=sign_public, box_public=box_public,
                     epoch=secrets.token_hex(16))
        s.add(dev)
        audit(s, user.username, "enrol", dev.id, file_id=file_id, predecessor=pred, name=name)
    return dev


@dataclass(frozen=True)
class Caller:
    user: ServerUser
    device: Device
    scope: Scope


def caller(store: ServerStore, username: str, device_id: str) -> Caller:
    """Who is calling, with the scope from the current assignments (computed on every request)."""
    with store.session() as s:
        user = s.scalar(select(ServerUser).where(ServerUser.username == username))
        if user is None or not user.active:
            raise ApiError(403, "disabled", "该用户已停用或不存在,请联系社区管理员")
        dev = s.get(Device, device_id)
        if dev is None or dev.user_id != user.id:
            raise ApiError(409, "reenrol", "本机尚未在服务器登记或登记已失效,需要重新登记设备")
        if not dev.active:
            raise ApiError(403, "device_disabled", "本设备已被停用,请联系社区管理员")
        return Caller(user, dev, scope_for(s, user))


def reader_scope(store: ServerStore, username: str) -> Scope:
    """The scope of a read-only (script) token: an active user who may read the server's figures
    or its conflicts (desktop.policy); each route still asks for its own ability."""
    with store.session() as s:
        user = s.scalar(select(ServerUser).where(ServerUser.username == username))
        if user is None or not user.active:
            raise ApiError(403, "disabled", "该用户已停用或不存在,请联系社区管理员")
        scope = scope_for(s, user)
    if not (allows(scope, Ability.SERVER_STATS) or allows(scope, Ability.REVIEW_CONFLICTS)):
        raise ApiError(403, "forbidden", denial(Ability.SERVER_STATS, act="用脚本读取服务器统计和同步冲突"))
    return scope


def hello(store: ServerStore, who: Caller, *, file_id: str, epoch: str, schema_version: int,
          cursor: int, pending: int | None = None, admission: Admission | None = None) -> dict[str, Any]:
    """The start of a sync. A first one (cursor 0) needs a place under `admission` (server/admission.py);
    `pending`: the laptop's unsent changes, shown by `server devices`."""
    if schema_version < MIN_SCHEMA_VERSION:
        return {"status": "upgrade_client", "message": "本机网格台账版本过旧,请先升级软件再同步",
                "schema_min": MIN_SCHEMA_VERSION, "schema_max": SCHEMA_VERSION}
    if schema_version > SCHEMA_VERSION:
        return {"status": "upgrade_server", "message": "服务器版本过旧,请联系管理员升级服务器后再同步",
                "schema_min": MIN_SCHEMA_VERSION, "schema_max": SCHEMA_VERSION}
    with store.transaction() as s:
        dev = s.get(Device, who.device.id)
        assert dev is not None
        if dev.file_id != file_id or dev.epoch != epoch:
            audit(s, who.user.username, "copy_detected", dev.id, file_id=file_id)
            return {"status": "reenrol",
                    "message": "检测到本数据库文件是复制或恢复的副本,需要重新登记设备(不会丢失任何修改)"}
        if cursor == 0 and admission is not None:
            admission.admit(s, dev.id, is_sqlite=store.is_sqlite)  # 503 when every place is taken
        dev.epoch = secrets.token_hex(16)
        dev.last_seen = utcnow()
        # for the office's device list (`gridledger server devices`)
        dev.schema_version, dev.last_cursor, dev.pending_changes = schema_version, cursor, pending
        seq = current_seq(s)
        scope = who.scope
        grids = sorted(scope.grids) if scope.grids is not None else None
        audit(s, who.user.username, "sync_hello", dev.id, cursor=cursor)
        return {
            "status": "ok", "epoch": dev.epoch, "server_seq": seq,
            "user": {"username": who.user.username, "display_name": who.user.display_name,
                     "role": who.user.role, "grids": grids},
            "scope_hash": hashlib.sha256(json.dumps(grids).encode()).hexdigest()[:16],
            "schema_min": MIN_SCHEMA_VERSION, "schema_max": SCHEMA_VERSION,
        }


def push(store: ServerStore, who: Caller, changes: list[dict[str, Any]], *,
         proven: frozenset[str] = frozenset(), admission: Admission | None = None) -> dict[str, Any]:
    """Merge one batch; `proven`: photos whose bytes came with it (a bundle), hash checked."""
    with store.transaction() as s:
        if admission is not None:
            admission.renew(s, who.device.id)
        merger = Merger(s, who.scope, who.device, is_sqlite=store.is_sqlite, proven=proven)
        results = merger.push(changes)
        counts: dict[str, int] = {}
        for r in results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        audit(s, who.user.username, "sync_push", who.device.id, counts=counts, seq=merger.seq)
        s.execute(update(Device).where(Device.id == who.device.id).values(last_push_at=utcnow()))
        return {"results": results, "server_seq": merger.seq}


# --- pull -----------------------------------------------------------------------------------


def _scope_filter(scope: Scope, only_grids: list[str] | None) -> Any:
    if only_grids is not None:
        allowed = [g for g in only_grids if scope.grids is None or g in scope.grids]
        return Record.grid_id.in_(allowed)
    if scope.grids is None:
        return None
    grids = list(scope.grids)
    return or_(Record.table_name.in_(COMMUNITY_WIDE), Record.grid_id.in_(grids), Record.prev_grid_id.in_(grids))


def pull(store: ServerStore, scope: Scope, cursor: int, limit: int, *,
         only_grids: list[str] | None = None, until: int | None = None,
         device_id: str | None = None, admission: Admission | None = None) -> bytes:
    """A page of records changed after `cursor`, as JSON bytes (record data is spliced in as
    stored, never re-serialised). The page always ends on a whole commit sequence."""
    limit = max(1, min(limit, 5000))
    cols = (Record.table_name, Record.row_id, Record.grid_id, Record.server_seq, Record.data)
    with store.session() as s:
        # Read the committed sequence first: every commit at or below it is visible to the
        # queries that follow (sequences are handed out under a lock held until commit).
        snapshot = current_seq(s)
        top = snapshot if until is None else min(until, snapshot)
        cond = [Record.server_seq > cursor, Record.server_seq <= top]
        flt = _scope_filter(scope, only_grids)
        if flt is not None:
            cond.append(flt)
        # A laptop's own edits are not echoed back to it: it already holds that state (version and
        # time are set when the push is acknowledged). Never on a first pull or a backfill, where the
        # laptop may have evicted rows it once wrote. Left out by the query itself, so that a page
        # is `limit` rows the laptop needs (after its first push of a whole street, the laptop
        # that pushed it reads one page instead of walking every row it sent, a page at a time).
        if device_id is not None and cursor > 0 and only_grids is None:
            cond.append(or_(Record.last_device.is_(None), Record.last_device != device_id,
                            func.coalesce(Record.other_seq, 0) > cursor))
        order = (Record.server_seq, Record.table_name, Record.row_id)
        rows = s.execute(select(*cols).where(*cond).order_by(*order).limit(limit + 1)).all()
        more = len(rows) > limit
        if more:
            last = rows[limit - 1].server_seq
            rows = [r for r in rows[:limit] if r.server_seq != last]
            rows += s.execute(
                select(*cols).where(*cond, Record.server_seq == last).order_by(*order)
            ).all()
            more = s.execute(select(Record.row_id).where(*cond, Record.server_seq > last).limit(1)).first() is not None
            new_cursor = last if more else top
        else:
            new_cursor = max(cursor, top)
        leased = (admission is not None and admission.enabled and device_id is not None
                  and s.get(FirstSync, device_id) is not None)
    if leased and admission is not None and device_id is not None:  # a first sync's page: its
        with store.transaction() as w:  # lease runs on, or ends with its last page
            (admission.renew if more else admission.release)(w, device_id)
    parts: list[bytes] = []
    evict: list[list[str]] = []
    for r in rows:
        if scope.reads(r.table_name, r.grid_id) and (only_grids is None or r.grid_id in only_grids):
            parts.append(b'{"t":"' + r.table_name.encode() + b'","d":' + r.data.encode() + b"}")
        else:
            evict.append([r.table_name, r.row_id])
    return (
        b'{"cursor":' + str(new_cursor).encode() + b',"more":' + (b"true" if more else b"false")
        + b',"evict":' + orjson.dumps(evict) + b',"records":[' + b",".join(parts) + b"]}"
    )


# --- conflicts ----------------------------------------------------------------------------


def _conflict_dict(c: Conflict, record: dict | None) -> dict[str, Any]:
    def load(v: str | None) -> Any:
        return None if v is None else json.loads(v)

    return {
        "id": c.id, "kind": c.kind, "table": c.table_name, "row_id": c.row_id, "grid_id": c.grid_id,
        "fields": load(c.fields), "base": load(c.base_value),
        # `by`: the signed-in user who sent the change; `claimed_by`: whom the laptop named instead
        "server": {"value": load(c.server_value), "by": c.server_by, "device": c.server_device, "at": c.server_at,
                   "claimed_by": c.server_claimed_by},
        "client": {"value": load(c.client_value), "by": c.client_by, "device": c.client_device, "at": c.client_at,
                   "claimed_by": c.client_claimed_by},
        "winner": c.winner, "reason": c.reason, "status": c.status,
        "change": load(c.change), "created_seq": c.created_seq,
        "resolved_by": c.resolved_by, "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
        "resolution": load(c.resolution), "record": record,
    }


def _require_reviewer(scope: Scope) -> None:
    if not allows(scope, Ability.REVIEW_CONFLICTS):
        raise ApiError(403, "forbidden", denial(Ability.REVIEW_CONFLICTS, act="查看和处理同步冲突"))


def list_conflicts(store: ServerStore, scope: Scope, status: str = "open", limit: int = 500) -> list[dict]:
    _require_reviewer(scope)
    with store.session() as s:
        q = select(Conflict).order_by(Conflict.id).limit(max(1, min(limit, 5000)))
        if status != "all":
            q = q.where(Conflict.status == status)
        if scope.grids is not None:
            q = q.where(or_(Conflict.grid_id.in_(list(scope.grids)), Conflict.grid_id.is_(None)))
        out = []
        for c in s.scalars(q):
            rec = s.get(Record, (c.table_name, c.row_id))
            out.append(_conflict_dict(c, orjson.loads(rec.data) if rec else None))
        return out


def resolve_conflict(store: ServerStore, who: Caller, conflict_id: int, choice: str,
                     values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settle one conflict. The outcome is written as a new change to the record (so every copy
    pulls it) and the resolution is audited. Choices: field clash: server | client | custom;
    delete vs edit: delete | restore; set-aside change: apply | discard."""
    return settle_conflict(store, who.scope, who.device.id, conflict_id, choice, values)


def settle_conflict(store: ServerStore, scope: Scope, device_id: str | None, conflict_id: int, choice: str,
                    values: dict[str, Any] | None = None) -> dict[str, Any]:
    """resolve_conflict for a reviewer's scope; `device_id` None: at the server (the office's
    command line)."""
    _require_reviewer(scope)
    with store.transaction() as s:
        c = s.get(Conflict, conflict_id)
        if c is None or (scope.grids is not None and c.grid_id not in scope.grids):
            raise ApiError(404, "conflict_unknown", "找不到该冲突记录")
        if c.status != "open":
            raise ApiError(409, "conflict_closed", "该冲突已处理过")
        fields: list[str] = json.loads(c.fields)
        change: dict[str, Any] | None = None
        valid = {"field": ("server", "client", "custom"), "delete_edit": ("delete", "restore"),
                 "rejected": ("apply", "discard")}[c.kind]
        if choice not in valid:
            raise ApiError(422, "choice", f"该冲突只能选择:{'、'.join(valid)}")
        rec = s.get(Record, (c.table_name, c.row_id))
        current = orjson.loads(rec.data) if rec else {}
        seq_now = current_seq(s)
        if c.kind == "field":
            chosen = {"server": json.loads(c.server_value or "{}"), "client": json.loads(c.client_value or "{}"),
                      "custom": values or {}}[choice]
            if choice == "custom":
                if set(chosen) - set(fields):
                    raise ApiError(422, "fields", "只能填写冲突涉及的字段")
                from desktop.sync.protocol import check_value, derive

                chosen = derive(c.table_name, chosen)  # e.g. a typed name brings its pinyin
                for f, v in chosen.items():
                    problem = check_value(c.table_name, f, v)
                    if problem:
                        raise ApiError(422, "value", problem)
            diff = {f: [current.get(f), v] for f, v in chosen.items() if current.get(f) != v}
            if diff:
                change = {"table": c.table_name, "id": c.row_id, "op": "U", "fields": diff}
        elif c.kind == "delete_edit":
            if choice == "restore":
                restore = {"deleted_at": [current.get("deleted_at"), None], "deleted_by": [current.get("deleted_by"), None]}
                if c.client_value and "deleted_at" not in json.loads(c.client_value):
                    restore.update({f: [current.get(f), v] for f, v in json.loads(c.client_value).items()})
                change = {"table": c.table_name, "id": c.row_id, "op": "U", "fields": restore}
        elif choice == "apply":
            change = json.loads(c.change or "{}")
        result = None
        if change:
            change.update(seq=0, known=seq_now, at=utcnow().isoformat(sep=" "), by=scope.username)
            reviewer = Scope(scope.username, scope.role, None)
            merger = Merger(s, reviewer, None, is_sqlite=store.is_sqlite)
            outcome = merger.apply_one(change)
            if outcome.status == "rejected":
                raise ApiError(422, "resolution_rejected", outcome.message or "无法应用该处理结果")
            result = {"status": outcome.status, "version": outcome.version}
        c.status = "resolved"
        c.resolved_by = scope.username
        c.resolved_at = utcnow()
        c.resolution = json.dumps({"choice": choice, "values": values}, ensure_ascii=False)
        audit(s, scope.username, "resolve_conflict", device_id, conflict=conflict_id, choice=choice,
              table=c.table_name, row_id=c.row_id)
        return {"id": conflict_id, "status": "resolved", "result": result}


# --- attachments --------------------------------------------------------------------------


def _blob_allowed(s: Session, scope: Scope, sha: str, *, write: bool = False) -> bool:
    """A photo may be read (or uploaded) by who may read (or write) a live attachment record
    naming exactly this photo (an indexed lookup; merge.Merger._check_photo decides who may name
    a photo the server already knows)."""
    q = select(AttachmentRef.grid_id).where(AttachmentRef.sha256 == sha, AttachmentRef.deleted.is_(False))
    check = scope.writes if write else scope.reads
    return any(check("attachment", g) for (g,) in s.execute(q))


def _check_sha(sha: str) -> None:
    if not SHA256.fullmatch(sha):
        raise ApiError(422, "blob", "附件编号不正确:应为 64 位小写十六进制的 sha256 校验值。")


def missing_blobs(store: ServerStore, scope: Scope, shas: list[str]) -> list[dict[str, Any]]:
    """Which of the caller's photos the server still lacks. A photo the caller may not upload
    (no record of it in their grids) is left out: the answer tells nothing about other grids."""
    wanted = list(dict.fromkeys(sha for sha in shas[:1000] if SHA256.fullmatch(sha)))
    with store.session() as s:
        refs: dict[str, list[str | None]] = {}
        for i in range(0, len(wanted), 500):
            for sha, grid in s.execute(select(AttachmentRef.sha256, AttachmentRef.grid_id).where(
                    AttachmentRef.sha256.in_(wanted[i : i + 500]), AttachmentRef.deleted.is_(False))):
                refs.setdefault(sha, []).append(grid)
        mine = [sha for sha in wanted if any(scope.writes("attachment", g) for g in refs.get(sha, []))]
        have: dict[str, Blob] = {}
        for i in range(0, len(mine), 500):
            have.update({b.sha256: b for b in s.scalars(select(Blob).where(Blob.sha256.in_(mine[i : i + 500])))})
        out = []
        for sha in mine:
            b = have.get(sha)
            if b is None or not b.complete:
                out.append({"sha256": sha, "received": b.received if b else 0})
        return out


def put_blob_chunk(store: ServerStore, scope: Scope, sha: str, offset: int, total: int, chunk: bytes) -> dict:
    _check_sha(sha)
    if total <= 0 or total > 64 * 1024 * 1024:
        raise ApiError(422, "blob", "附件大小不正确:应在 1 字节到 64 MB 之间。")
    with store.transaction() as s:
        if not _blob_allowed(s, scope, sha, write=True):
            raise ApiError(403, "forbidden", "没有与该附件对应的可写记录")
        b = s.get(Blob, sha)
        if b is None:
            b = Blob(sha256=sha, size=total, received=0, complete=False)
            s.add(b)
            s.flush()
        if b.complete:
            return {"received": b.size, "complete": True}
        if offset != b.received:
            return {"received": b.received, "complete": False}  # the client resumes from here
        if offset + len(chunk) > b.size:
            raise ApiError(422, "blob", "附件数据超出声明的大小")
        s.add(BlobPart(sha256=sha, offset=offset, data=chunk))
        b.received = offset + len(chunk)
        if b.received == b.size:
            parts = s.scalars(select(BlobPart.data).where(BlobPart.sha256 == sha).order_by(BlobPart.offset))
            digest = hashlib.sha256(b"".join(parts)).hexdigest()
            if digest != sha:
                s.execute(delete(BlobPart).where(BlobPart.sha256 == sha))
                b.received = 0
                return {"received": 0, "complete": False, "error": "附件校验失败,已重新开始上传"}
            b.complete = True
        return {"received": b.received, "complete": b.complete}


def get_blob(store: ServerStore, scope: Scope, sha: str, offset: int, length: int) -> bytes:
    _check_sha(sha)
    with store.session() as s:
        b = s.get(Blob, sha)
        if b is None or not b.complete or not _blob_allowed(s, scope, sha):
            raise ApiError(404, "blob_unknown", "服务器上没有该附件")
        parts = s.scalars(select(BlobPart.data).where(BlobPart.sha256 == sha).order_by(BlobPart.offset))
        return b"".join(parts)[offset : offset + length]


def stats(store: ServerStore) -> dict[str, Any]:
    """The server's figures: live records per kind (deleted ones counted apart), open conflicts."""
    with store.session() as s:
        counts: dict[tuple[str, bool], int] = {
            (t, bool(d)): n for t, d, n in s.execute(
                select(Record.table_name, Record.deleted, func.count()).group_by(Record.table_name, Record.deleted))}
        return {"seq": current_seq(s), "records": {t: counts.get((t, False), 0) for t in SYNC_TABLES},
                "deleted": {t: counts.get((t, True), 0) for t in SYNC_TABLES},
                "open_conflicts": s.scalar(select(func.count()).select_from(Conflict).where(Conflict.status == "open"))}


# --- the laptops' audit trails ------------------------------------------------------------------

AUDIT_FIELDS = ("seq", "at", "actor", "action", "entity", "entity_id", "summary", "detail")


def signed_in_users(s: Session, device: Device) -> set[str]:
    """The users who have signed in to this server on the laptop of `device` (its database file;
    each user who syncs there enrols a device of their own for it)."""
    ids = select(Device.user_id).where(or_(Device.id == device.id, Device.file_id == device.file_id))
    return set(s.scalars(select(ServerUser.username).where(ServerUser.id.in_(ids))))


def receive_audit(store: ServerStore, who: Caller, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Store a laptop's audit entries (idempotent on the device and its audit sequence). The
    server stamps what it knows: when it received them, the device and the signed-in user who
    sent them. The laptop's actor and time are kept as claims; an entry names its claimed actor
    only if that user has signed in on this laptop (a laptop has several local users), else the
    sender."""
    rows: list[dict[str, Any]] = []
    received = utcnow()
    with store.session() as s:
        known = signed_in_users(s, who.device)
    for e in entries[:5000]:
        seq = e.get("seq")
        if not isinstance(seq, int) or seq <= 0:
            continue
        claimed = str(e.get("actor") or "")[:64] or None
        rows.append({
            "at": received, "actor": claimed if claimed in known else who.user.username,
            "device_id": who.device.id, "sent_by": who.user.username, "claimed_actor": claimed,
            "claimed_at": str(e.get("at") or "")[:40] or None,
            "action": str(e.get("action") or "?")[:24], "entity": (str(e["entity"])[:32] if e.get("entity") else None),
            "entity_id": (str(e["entity_id"])[:36] if e.get("entity_id") else None),
            "summary": cut_text(str(e["summary"]), AUDIT_SUMMARY_CHARS) if e.get("summary") else None,
            "detail": cut_text(str(e["detail"]), AUDIT_DETAIL_CHARS) if e.get("detail") else None,
            "source_seq": seq,
        })
    if not rows:
        return {"stored": 0, "through": 0}
    with store.transaction() as s:
        have = set(s.scalars(select(ServerAudit.source_seq).where(
            ServerAudit.device_id == who.device.id,
            ServerAudit.source_seq.in_([r["source_seq"] for r in rows]))))
        new = [r for r in rows if r["source_seq"] not in have]
        if new:
            try:
                s.execute(insert(ServerAudit), new)
            except IntegrityError:  # a concurrent resend: the unique index keeps one copy
                raise ApiError(409, "retry", "审计记录正在由另一请求写入,请重试") from None
    return {"stored": len(new), "through": max(r["source_seq"] for r in rows)}


def audit_claims(entry: dict[str, Any]) -> str:
    """What a laptop said about an entry, shown as its claim (empty for the server's own)."""
    if not entry.get("sent_by"):
        return ""
    parts = [f"由 {entry['sent_by']} 上传"]
    if entry.get("claimed_actor") and entry["claimed_actor"] != entry["actor"]:
        parts.append(f"电脑上记为 {entry['claimed_actor']}(未核实)")
    if entry.get("claimed_at"):
        parts.append(f"电脑时钟 {str(entry['claimed_at'])[:19]}(未核实)")
    return "  [" + ";".join(parts) + "]"


def list_audit(store: ServerStore, scope: Scope, *, actor: str | None = None, action: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
    if not allows(scope, Ability.READ_AUDIT):
        raise ApiError(403, "forbidden", denial(Ability.READ_AUDIT))
    with store.session() as s:
        q = select(ServerAudit).order_by(ServerAudit.at.desc(), ServerAudit.id.desc()).limit(max(1, min(limit, 5000)))
        if actor:
            q = q.where(ServerAudit.actor == actor)
        if action:
            q = q.where(ServerAudit.action == action)
        return [
            {"at": a.at.isoformat(sep=" "), "actor": a.actor, "device_id": a.device_id, "action": a.action,
             "entity": a.entity, "entity_id": a.entity_id, "summary": a.summary, "detail": a.detail,
             # from a laptop: who sent it, and what the laptop itself said (unverified)
             "sent_by": a.sent_by, "claimed_actor": a.claimed_actor, "claimed_at": a.claimed_at}
            for a in s.scalars(q)
        ]
