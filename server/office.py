"""The office's use cases at the server itself (`gridledger server conflicts|resolve|devices|
revoke-device|backup|restore`): callable without HTTP, each refusing bad input with one Chinese
sentence (an ApiError) before anything is changed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, make_url, select

from desktop import kinds
from desktop.policy import Role
from desktop.sync.protocol import SYNC_TABLES
from server import service
from server.models import Conflict, Device, Received, ServerUser, utcnow
from server.running import serve_running
from server.schema import LEGACY_MARKER, VERSION_TABLE, head_revision, known_revisions, sqlite_path
from server.service import ApiError
from server.store import Scope, ServerStore, area_tree, current_seq

OFFICE = "admin"  # the name the office's commands act and audit under (the server's console)
OFFICE_SCOPE = Scope(OFFICE, Role.SUPERVISOR, None)


# --- conflicts -----------------------------------------------------------------------------


def kind_key(ref: str) -> str:
    """A synced kind by its registry key, an old spelling or its label (人员, vehicle, visits …)."""
    ref = ref.strip()
    key = kinds.canonical(ref)
    by_label = {k.label: k.key for k in kinds.all_kinds()}
    key = key if kinds.find(key) else by_label.get(ref, key)
    if key not in SYNC_TABLES:
        choices = "、".join(f"{t}({kinds.label(t)})" for t in SYNC_TABLES)
        raise ApiError(422, "kind_unknown", f"没有名为“{ref}”的同步数据种类:请写其中之一:{choices}。")
    return key


def grid_id(store: ServerStore, ref: str) -> str:
    with store.session() as s:
        return service.resolve_areas(s, [ref])[0]


def conflicts(store: ServerStore, *, kind: str | None = None, grid: str | None = None,
              status: str = "open") -> list[dict[str, Any]]:
    """The conflicts, newest last, each with its kind's label and its grid's code and name."""
    table = kind_key(kind) if kind else None
    gid = grid_id(store, grid) if grid else None
    rows = service.list_conflicts(store, OFFICE_SCOPE, status, 5000)
    with store.session() as s:
        tree = area_tree(s)
    out = []
    for c in rows:
        if (table and c["table"] != table) or (gid and c["grid_id"] != gid):
            continue
        node = tree.nodes.get(c["grid_id"] or "")
        c["kind_label"] = kinds.label(c["table"])
        c["grid"] = {"code": node.code, "name": node.name} if node else None
        out.append(c)
    return out


def _conflict(store: ServerStore, conflict_id: int) -> Conflict:
    with store.session() as s:
        c = s.get(Conflict, conflict_id)
        if c is None:
            raise ApiError(404, "conflict_unknown", f"找不到编号为 {conflict_id} 的冲突:"
                                                    "请用 gridledger server conflicts 查看现有冲突的编号。")
        return c


def resolve(store: ServerStore, conflict_id: int, *, keep: str | None = None,
            value: str | None = None) -> dict[str, Any]:
    """Settle a conflict from the office: keep the server's or the laptop's side, or (a field
    clash) set a value of its own. Maps onto the API's choices (service.settle_conflict)."""
    c = _conflict(store, conflict_id)
    if c.status != "open":
        raise ApiError(409, "conflict_closed", f"冲突 {conflict_id} 已处理过(由 {c.resolved_by} 处理),无需再处理。")
    values: dict[str, Any] | None = None
    if value is not None:
        if c.kind != "field":
            raise ApiError(422, "choice", f"冲突 {conflict_id} 不是字段冲突,不能填写 --value:请用 --keep server 或 --keep laptop。")
        fields: list[str] = json.loads(c.fields)
        if "=" in value and value.split("=", 1)[0] in fields:
            name, v = value.split("=", 1)
            values = {name: v}
        elif len(fields) == 1:
            values = {fields[0]: value}
        else:
            names = "、".join(kinds.field_label(c.table_name, f) + f"({f})" for f in fields)
            raise ApiError(422, "fields", f"冲突 {conflict_id} 涉及多个字段({names}):请写成 --value 字段=值。")
        choice = "custom"
    elif c.kind == "field":
        choice = {"server": "server", "laptop": "client"}[keep or ""]
    elif c.kind == "delete_edit":
        laptop_deleted = "deleted_at" in json.loads(c.client_value or "{}")
        choice = "delete" if keep == ("laptop" if laptop_deleted else "server") else "restore"
    else:  # a change set aside for review: the laptop's side is the change itself
        choice = "apply" if keep == "laptop" else "discard"
    return service.settle_conflict(store, OFFICE_SCOPE, None, conflict_id, choice, values)


# --- devices -----------------------------------------------------------------------------


def devices(store: ServerStore) -> list[dict[str, Any]]:
    """Every enrolled laptop: whose, when it last synced and pushed, its schema version, what the
    laptop still had to send at its last sync, what it has yet to pull, its changes set aside."""
    with store.session() as s:
        seq = current_seq(s)
        users = {u.id: u for u in s.scalars(select(ServerUser))}
        set_aside = dict(s.execute(
            select(Conflict.client_device, func.count()).where(Conflict.kind == "rejected", Conflict.status == "open")
            .group_by(Conflict.client_device)).all())
        out = []
        for d in s.scalars(select(Device).order_by(Device.enrolled_at)):
            unsent = None
            if d.pending_changes is not None and d.last_seen is not None:
                sent_since = s.scalar(select(func.count()).select_from(Received).where(
                    Received.device_id == d.id, Received.received_at >= d.last_seen)) or 0
                unsent = max(0, d.pending_changes - sent_since)
            u = users.get(d.user_id)
            out.append({
                "id": d.id, "name": d.name or "", "username": u.username if u else "?",
                "display_name": u.display_name if u else "?",
                "state": "revoked" if d.revoked_at else ("active" if d.active else "disabled"),
                "enrolled_at": _iso(d.enrolled_at), "last_sync": _iso(d.last_seen), "last_push": _iso(d.last_push_at),
                "schema_version": d.schema_version, "unsent_changes": unsent,
                "to_pull": None if d.last_cursor is None else max(0, seq - d.last_cursor),
                "set_aside": set_aside.get(d.id, 0),
                "revoked_at": _iso(d.revoked_at), "revoked_by": d.revoked_by,
            })
        return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(sep=" ", timespec="seconds") if at else None


def revoke_device(store: ServerStore, ref: str) -> dict[str, Any]:
    """Revoke a device (by its id or the first 8 or more characters of it): its token is refused
    from the next request on, and it cannot be enabled again (the laptop enrols anew)."""
    ref = ref.strip().lower()
    with store.transaction() as s:
        found = list(s.scalars(select(Device).where(Device.id.startswith(ref)))) if len(ref) >= 8 else []
        if not found:
            raise ApiError(404, "device_unknown", f"找不到编号为“{ref}”的设备:请用 gridledger server devices "
                                                  "查看设备编号(至少写前 8 位)。")
        if len(found) > 1:
            raise ApiError(409, "device_ambiguous", f"有 {len(found)} 台设备的编号以“{ref}”开头:请多写几位。")
        dev = found[0]
        owner = s.get(ServerUser, dev.user_id)
        result = {"id": dev.id, "name": dev.name or "", "username": owner.username if owner else "?",
                  "already": dev.revoked_at is not None}
        if dev.revoked_at is None:
            dev.active, dev.revoked_at, dev.revoked_by = False, utcnow(), OFFICE
            service.audit(s, OFFICE, "revoke_device", dev.id, username=result["username"], name=dev.name)
        return result


# --- backup and restore ----------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def default_backup(url: str) -> Path:
    path = sqlite_path(url)
    if path is not None:
        return path.parent / "backups" / f"{path.stem}-{_stamp()}-office.db"
    return Path(f"gridledger-server-{make_url(url).database}-{_stamp()}.dump")


def backup(store: ServerStore, out: Path | None) -> Path:
    """SQLite: an online copy (SQLite's backup API; syncs go on), checked before it is kept.
    PostgreSQL: pg_dump's custom format, checked with pg_restore --list."""
    target = out or default_backup(store.url)
    if target.exists():
        raise ApiError(409, "exists", f"备份文件 {target} 已存在:请换一个文件名(备份不会覆盖已有文件)。")
    if not target.parent.exists():
        if out is not None:
            raise ApiError(404, "folder", f"文件夹 {target.parent} 不存在:请先建好该文件夹或换一个位置。")
        target.parent.mkdir(parents=True)
    part = target.with_name(target.name + ".part")
    try:
        _private_file(part)  # a copy holds the signing keys and password hashes: owner only
        if store.is_sqlite:
            from desktop.db.copies import online_copy

            path = sqlite_path(store.url)
            assert path is not None
            online_copy(path, part)
        else:
            _pg_dump(store.url, part)
        check_backup(part, sqlite=store.is_sqlite)
        part.replace(target)
    except OSError as exc:
        raise ApiError(500, "io", f"无法写入备份文件 {target}:{exc.strerror or exc};"
                                  "请检查磁盘空间和写权限。数据库未改动。") from exc
    finally:
        part.unlink(missing_ok=True)
    return target


def _private_file(path: Path) -> None:
    """Create `path` empty, readable and writable by its owner only (the copy is written into it)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "localhost", "-p", str(u.port or 5432), "-U", u.username or "postgres",
            "-d", u.database or ""]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password  # never on the command line (other users could read it there)
    return args, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ApiError(500, "pg_tool", f"找不到 PostgreSQL 的 {name} 程序:请安装与数据库同版本的 PostgreSQL 客户端"
                                       f"(Debian/Ubuntu:apt install postgresql-client),或由数据库管理员用 {name} 操作。")
    return found


def _pg_run(cmd: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["(无输出)"])[-1]
        raise ApiError(500, "pg_tool", f"{what}失败:{first}。数据库未改动。")
    return done.stdout


def _pg_dump(url: str, target: Path) -> None:
    args, env = _pg_env(url)
    _pg_run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "-f", str(target), *args],
            env, "pg_dump 备份")


def check_backup(path: Path, *, sqlite: bool) -> str:
    """Verify a backup file before it is kept or restored: a whole server database of a schema
    this program knows. Returns its schema revision."""
    if not path.is_file():
        raise ApiError(404, "missing", f"找不到备份文件 {path}:请检查文件名和位置。")
    if not sqlite:
        listing = _pg_run([_pg_tool("pg_restore"), "--list", str(path)], dict(os.environ), f"检查备份文件 {path} ")
        if f"TABLE public {LEGACY_MARKER}" not in listing and f"TABLE {LEGACY_MARKER}" not in listing:
            raise ApiError(422, "not_server", f"{path} 不是网格台账服务器的备份:其中没有服务器的数据表。")
        return "?"
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise ApiError(422, "not_sqlite", f"{path} 不是 SQLite 数据库文件,不能作为服务器备份使用。")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problem = con.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = (con.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone() or [None])[0] \
                if VERSION_TABLE in tables else None
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ApiError(422, "damaged", f"备份文件 {path} 已损坏({exc}),不能使用。") from exc
    if problem != "ok":
        raise ApiError(422, "damaged", f"备份文件 {path} 未通过完整性检查({problem}),不能使用。")
    if LEGACY_MARKER not in tables or "srv_record" not in tables:
        raise ApiError(422, "not_server", f"{path} 不是网格台账服务器的数据库(可能是网格员电脑上的数据库),不能恢复到服务器。")
    if revision is not None and revision not in known_revisions():
        raise ApiError(422, "newer", f"备份文件 {path} 由较新版本的服务器写入(结构版本 {revision},本程序 {head_revision()}),"
                                     "请先升级服务器程序。")
    return revision or "(升级前的版本)"


def restore(url: str, source: Path) -> Path | None:
    """Replace the server's database with a backup, after checking it; refused while a server
    process uses the database. SQLite: the current file is backed up first (the copy's path is
    returned), then the backup is copied in with SQLite's backup API. PostgreSQL: pg_restore
    --clean into the database. The restored database is brought to head on the next open."""
    is_sqlite = sqlite_path(url) is not None
    if not source.is_file():
        raise ApiError(404, "missing", f"找不到备份文件 {source}:请检查文件名和位置。数据库未改动。")
    check_backup(source, sqlite=is_sqlite)
    running = serve_running(url)
    if running:
        raise ApiError(409, "running", f"服务器正在使用该数据库({running}):请先停止服务器"
                                       "(systemctl stop gridledger-server 或停止 Windows 服务),再恢复。数据库未改动。")
    if not is_sqlite:
        args, env = _pg_env(url)
        _pg_run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", *args, str(source)], env, "pg_restore 恢复")
        return None
    from desktop.db.copies import backup_database, online_copy

    path = sqlite_path(url)
    assert path is not None
    safety = backup_database(path, "before-restore", prune=False) if path.exists() else None
    if safety is not None and os.name != "nt":
        safety.chmod(0o600)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        staged = Path(tmp) / "restore.db"
        shutil.copyfile(source, staged)  # the backup API reads a file nobody else writes to
        online_copy(staged, path)
    return safety

