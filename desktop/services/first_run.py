"""The first run of a laptop: the only ways a new database is made.

The app's 首次使用向导 and the command line (`gridledger init`, `gridledger demo`) both come
through here:

- `create_community`: a new community from its 12-digit division code, its grids and its first
  administrator; the file is encrypted with the administrator's password from its first byte;
- `restore_first`: a backup (and its keyring) restored onto an empty laptop, verified by the
  password of one of its users;
- `make_demo`: the synthetic demo street, only on an empty laptop;
- joining a community server lives in desktop.sync.join (the sync layer sits above this one) and
  uses `new_database` from here.

Every way builds the new file beside the final one (``.gridledger.db.new``) and renames it into
place only once it is complete: a failure, a cancel or a crash halfway leaves no database behind,
and the laptop is still "new" (the assistant shows again). A file that already holds users or
records is never replaced."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop import kinds
from desktop.db.engine import StorageError
from desktop.db.keys import (
    Keyring,
    KeyringError,
    backup_keyring_path,
    is_encrypted,
    keyring_path,
    new_key,
    normalize_recovery_key,
    recovery_path,
    unwrap_recovery,
)
from desktop.policy import Role
from desktop.services.errors import PermissionDenied, ServiceError, ValidationFailed
from desktop.services.store import Actor, Store, remove_database_files
from desktop.validation.result import Issue

COMMUNITY_CODE = re.compile(r"^\d{12}$")
GRID_DIGITS = 2  # a grid's code is its community's 12 digits and a two-digit number (01…99)
MAX_GRIDS = 99


# --- is this laptop new? --------------------------------------------------------------------------

def content_count(store: Store) -> int:
    """Users and records of every kind held by an open database (0: nothing anybody typed)."""
    total = 0
    with store.engine.connect() as conn:
        for kind in kinds.all_kinds():
            table = kind.model.__tablename__
            total += int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)  # noqa: S608
    return total


def _plain_content(path: Path) -> int | None:
    """Rows in a plain file's kind tables, read without changing it; None if it is no database."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        total = 0
        for kind in kinds.all_kinds():
            table = kind.model.__tablename__
            if table in names:
                total += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        return total
    except sqlite3.Error:
        return None
    finally:
        con.close()


def is_new(path: Path) -> bool:
    """Whether the laptop has no database yet (or only an empty one nobody can sign in to): the
    app then shows the first-run assistant instead of the sign-in dialog."""
    path = Path(path).expanduser()
    if not path.exists():
        return not keyring_path(path).exists()  # a keyring without its file: a lost database, not new
    if is_encrypted(path):
        return False  # what it holds cannot be read: never treated as empty (nor replaced)
    if not path.is_file() or path.stat().st_size == 0:
        return False  # the storage checks explain these on opening
    return _plain_content(path) == 0


def check_free(path: Path) -> None:
    """Refuse (one sentence, nothing changed) to make a database where one with data exists."""
    path = Path(path).expanduser()
    if is_new(path):
        if not path.exists():
            from desktop.db.failures import check_creatable

            check_creatable(path)
        return
    if path.exists() and not is_encrypted(path) and path.is_file() and path.stat().st_size > 0 \
            and _plain_content(path) is None:
        raise StorageError(f"{path} 已存在,但不是网格台账数据库,没有改动它。请换一个数据库路径,或先移走该文件。")
    if not path.exists():
        from desktop.db.failures import missing_database

        raise missing_database(path)
    raise StorageError(f"{path} 中已有数据库(已有用户或记录),不会在其中新建社区、恢复备份或生成演示数据,"
                       "数据未改动。请直接登录;如需从头开始,请先备份并移走该文件。")


def _remove_building(tmp: Path) -> None:
    from desktop.db.copies import remove_quietly

    remove_database_files(tmp)
    remove_quietly(keyring_path(tmp), recovery_path(tmp), tmp.with_name(tmp.name + ".sync-lock"))


@contextmanager
def new_database(path: Path) -> Iterator[Path]:
    """Yield the path to build a new database at (beside `path`); on success it is renamed to
    `path` with its keyring, on any failure or cancel it is removed. Every store opened on it must
    be closed before the block ends."""
    path = Path(path).expanduser()
    check_free(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    _remove_building(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise StorageError("新数据库没有建成,没有留下任何文件。请重试。")
        if path.exists():  # an empty file nobody could sign in to (checked above)
            remove_database_files(path)
        ring = keyring_path(tmp)
        if ring.exists():
            os.replace(ring, keyring_path(path))
        if recovery_path(tmp).exists():  # the recovery entry on its own, beside the keyring
            os.replace(recovery_path(tmp), recovery_path(path))
        os.replace(tmp, path)  # last: the database appears only when it is complete
    except BaseException:
        _remove_building(tmp)
        raise
    finally:
        _remove_building(tmp)


# --- a new community ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridPlan:
    code: str
    name: str


@dataclass(frozen=True)
class CommunityPlan:
    code: str  # 12 digits: county (6), street (3), community (3)
    name: str
    street_name: str = ""
    grids: tuple[GridPlan, ...] = ()


@dataclass(frozen=True)
class AdminPlan:
    username: str
    display_name: str
    password: str = field(repr=False)


def suggested_grids(community_code: str, count: int) -> list[GridPlan]:
    """The grids of a new community by the rule the area tree uses: community code + 01, 02…,
    named 第1网格, 第2网格…"""
    count = max(0, min(int(count), MAX_GRIDS))
    return [GridPlan(f"{community_code}{i:0{GRID_DIGITS}d}", f"第{i}网格") for i in range(1, count + 1)]


def county_of(code: str) -> tuple[str, str] | None:
    """(6-digit code, name) of the county a community code lies in, from the shipped table."""
    from desktop.validation.regions import region

    county = (code or "").strip()[:6]
    r = region(county)
    return (county, r.name) if r is not None else None


def check_community(plan: CommunityPlan) -> list[Issue]:
    """Every problem with a community plan, each one sentence: what, where, what to do."""
    issues: list[Issue] = []
    code = (plan.code or "").strip()
    if not COMMUNITY_CODE.match(code):
        issues.append(Issue("社区代码", "first_run.community_code",
                            "社区代码:应为 12 位数字(区县 6 位 + 街道 3 位 + 社区 3 位),请在列表中选择或照统计用区划代码填写"))
    elif county_of(code) is None:
        issues.append(Issue("社区代码", "first_run.community_code",
                            f"社区代码:前 6 位 {code[:6]} 不是已知的区县代码,请核对后重新填写"))
    if not (plan.name or "").strip():
        issues.append(Issue("社区名称", "first_run.community_name", "社区名称:请填写社区(村)的名称,例如 兰化22街区社区"))
    if not plan.grids:
        issues.append(Issue("网格", "first_run.grids", "网格:至少需要 1 个网格,请填写网格数量"))
    if len(plan.grids) > MAX_GRIDS:
        issues.append(Issue("网格", "first_run.grids", f"网格:一个社区最多 {MAX_GRIDS} 个网格"))
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for i, g in enumerate(plan.grids, 1):
        gcode, gname = (g.code or "").strip(), (g.name or "").strip()
        if not re.fullmatch(rf"{re.escape(code)}\d{{{GRID_DIGITS}}}", gcode) or gcode.endswith("00"):
            issues.append(Issue("网格代码", "first_run.grid_code",
                                f"第 {i} 个网格的代码 {gcode or '(空)'}:应为社区代码后加两位序号(01–99),例如 {code}{i:02d}"))
        elif gcode in seen_codes:
            issues.append(Issue("网格代码", "first_run.grid_code", f"第 {i} 个网格的代码 {gcode} 与前面的网格重复,请改为不同的序号"))
        if not gname:
            issues.append(Issue("网格名称", "first_run.grid_name", f"第 {i} 个网格:请填写名称,例如 第{i}网格"))
        elif gname in seen_names:
            issues.append(Issue("网格名称", "first_run.grid_name", f"第 {i} 个网格的名称“{gname}”与前面的网格重复,请改名"))
        seen_codes.add(gcode)
        seen_names.add(gname)
    return issues


def check_admin(admin: AdminPlan) -> list[Issue]:
    from desktop.services.users import MIN_PASSWORD, USERNAME

    issues: list[Issue] = []
    if not USERNAME.match((admin.username or "").strip()):
        issues.append(Issue("用户名", "user.username",
                            "用户名:2–32 个英文字母、数字或 _ . -,以字母或数字开头(例如 wangyi)"))
    if not (admin.display_name or "").strip():
        issues.append(Issue("姓名", "user.display_name", "姓名:请填写管理员的姓名"))
    if len(admin.password or "") < MIN_PASSWORD:
        issues.append(Issue("密码", "user.password", f"密码:至少需要 {MIN_PASSWORD} 个字符"))
    return issues


def password_strength(password: str) -> tuple[int, str]:
    """0–4 and its word (弱 / 一般 / 较强 / 强), for the bar under a new password."""
    from desktop.services.users import MIN_PASSWORD

    pw = password or ""
    if len(pw) < MIN_PASSWORD:
        return 0, f"太短(至少 {MIN_PASSWORD} 位)"
    classes = sum(bool(re.search(p, pw)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    score = 1 + (classes >= 2) + (classes >= 3) + (len(pw) >= 12 and classes >= 2)
    if len(set(pw)) <= 2:
        score = 1
    return score, {1: "弱", 2: "一般", 3: "较强", 4: "强"}[score]


def create_community(path: Path, plan: CommunityPlan, admin: AdminPlan, *, encrypt: bool = True) -> Path:
    """A new laptop database for a new community: its county and street, the community, its grids
    and the first administrator, in one transaction (audited as theirs). With `encrypt` the file is
    SQLCipher from its first byte and the administrator's password unlocks it. Returns the path."""
    from desktop.services.areas import AreaAdmin
    from desktop.services.audit import write_audit
    from desktop.services.auth import hash_password
    from desktop.services.key_grants import grant
    from desktop.services.records import Records

    plan = CommunityPlan(plan.code.strip(), plan.name.strip(), (plan.street_name or "").strip(),
                         tuple(GridPlan(g.code.strip(), g.name.strip()) for g in plan.grids))
    admin = AdminPlan(admin.username.strip(), admin.display_name.strip(), admin.password)
    issues = check_community(plan) + check_admin(admin)
    if issues:
        raise ValidationFailed(issues)
    county = county_of(plan.code)
    assert county is not None
    actor = Actor(admin.username, Role.COMMUNITY_ADMIN, None, None, admin.display_name)
    with new_database(path) as tmp:
        key = new_key() if encrypt else None
        store = Store.open(tmp, create=True, key=key)
        try:
            records = Records(store, actor)
            areas = AreaAdmin(store, actor)  # the community and its grids as 地址与网格 makes them
            with store.transaction() as s:
                def area(level: str, code: str, name: str, parent: str | None) -> str:
                    return str(records._create(s, "area", {"level": level, "code": code, "name": name,
                                                            "parent_id": parent}).id)

                district = area("district", county[0], county[1], None)
                street = area("street", plan.code[:9], plan.street_name or f"街道 {plan.code[:9]}", district)
                community = areas._create_community(s, plan.name, code=plan.code, parent_id=street).id
                for g in plan.grids:
                    areas._create_grid(s, community, g.name, code=g.code)
                records._create(s, "app_user", {
                    "username": admin.username, "display_name": admin.display_name,
                    "role": Role.COMMUNITY_ADMIN.value, "active": True,
                    "password_hash": hash_password(admin.password)})
                write_audit(s, actor, "first_run", None, None,
                            {"community": plan.code, "grids": len(plan.grids), "encrypted": encrypt},
                            f"新建社区 {plan.name}({len(plan.grids)} 个网格)")
            grant(store, admin.username, admin.password, display=admin.display_name,
                  role=Role.COMMUNITY_ADMIN.value)
        finally:
            store.close()
    return Path(path).expanduser()


# --- a backup onto a new laptop ----------------------------------------------------------------------

def _ring_from(keyring_file: Path) -> Keyring:
    try:
        data = json.loads(Path(keyring_file).read_text(encoding="utf-8"))
        recovery = data.get("recovery")
        return Keyring(Path(keyring_file), dict(data["users"]), recovery if isinstance(recovery, dict) else None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"{Path(keyring_file).name} 不是网格台账的密钥文件或已损坏,请选择与备份同一台电脑上的"
                           "“数据库名.keys”文件。") from exc


def restore_first(path: Path, backup: Path, username: str, password: str, *,
                  keyring_file: Path | None = None, recovery_key: str | None = None) -> None:
    """Restore `backup` onto a laptop with no database: checked whole, given a new file id (it
    enrols as a new device at the next sync), opened with the password of `username`, one of its
    users. An encrypted backup needs a keyring: the one kept beside it (`X.db.keys`, written with
    every encrypted backup) unless another is chosen. The keyring is unlocked by that user's
    password, or, when `recovery_key` is given (the password's keyring entry is lost or the
    password forgotten by every other user), by the recovery key: the user's password is then
    checked against the database itself and wrapped for them again."""
    from desktop.services.backup import is_plain, restore
    from desktop.services.session import LocalDatabase
    from desktop.services.store import SYSTEM

    backup = Path(backup).expanduser()
    if not backup.is_file():
        raise StorageError(f"找不到备份文件 {backup},请重新选择。")
    if not username.strip() or not password:
        raise PermissionDenied("请填写备份中一位用户的用户名和密码。")
    try:
        plain = is_plain(backup)
    except OSError as exc:
        raise StorageError(f"无法读取备份文件 {backup.name}:{exc.strerror or exc},请换一个文件。") from exc
    key = None
    ring = None
    if not plain:
        if keyring_file is None and backup_keyring_path(backup).exists():
            keyring_file = backup_keyring_path(backup)  # kept beside every encrypted backup
        if keyring_file is None:
            raise StorageError(f"备份 {backup.name} 是加密的,旁边没有随备份保存的密钥文件 {backup.name}.keys:"
                               "请同时选择原电脑上的密钥文件(与数据库同名、以 .keys 结尾,例如 gridledger.db.keys)。")
        ring = _ring_from(keyring_file)
        if recovery_key:
            if ring.recovery is None:
                raise PermissionDenied(f"密钥文件 {Path(keyring_file).name} 中没有恢复密钥的记录(该数据库加密时还没有"
                                       "恢复密钥):请不填恢复密钥,改用备份中一位用户的密码。")
            try:
                key = unwrap_recovery(ring.recovery, normalize_recovery_key(recovery_key))
            except KeyringError as exc:
                raise PermissionDenied(str(exc)) from exc
        else:
            try:
                key = ring.unlock(username.strip(), password)
            except KeyringError as exc:
                raise PermissionDenied(f"{exc}(用备份中的用户和密码解锁)") from exc
    with new_database(path) as tmp:
        if ring is not None:
            Keyring(keyring_path(tmp), ring.users, ring.recovery).save()
            shutil.copyfile(backup, tmp)  # restore() replaces an existing file under the same key
        safety = restore(tmp, backup, SYSTEM, key=key)
        safety.unlink(missing_ok=True)  # a copy of the same backup, of no use on a new laptop
        if recovery_key and key is not None:
            from desktop.services.auth import sign_in

            store = Store.open(tmp, key=key)
            try:
                sign_in(store, username.strip(), password)  # the password as the database knows it
            finally:
                store.close()
            Keyring.load(tmp).add(username.strip(), password, key)  # their way in again
        store, _ = LocalDatabase(tmp).open(username.strip(), password)  # the password is one of its users'
        store.close()


# --- the demo street --------------------------------------------------------------------------------

def refuse_demo_into(store: Store) -> None:
    """The synthetic street never mixes with real data: refused on a database with users or records."""
    n = content_count(store)
    if n:
        raise StorageError(f"数据库 {store.path} 中已有用户或记录({n} 条),演示数据只能生成到空数据库,数据未改动。"
                           "请换一个数据库文件体验演示数据。")


class DemoCancelled(ServiceError):
    def __init__(self) -> None:
        super().__init__("已取消生成演示数据,本机没有留下任何文件。")


def make_demo(path: Path, *, households: int = 300, seed: int = 1, encrypt: bool = True,
              progress: Callable[[str, int], Any] | None = None, cancel: threading.Event | None = None) -> Any:
    """The demo street on a new laptop; every demo user unlocks it with the demo password. A
    `cancel` set while its tables are written rolls everything back and leaves no file."""
    from desktop.services.demo import DEMO_PASSWORD, generate
    from desktop.services.key_grants import grant
    from desktop.services.session import users_of

    def step(table: str, rows: int) -> None:
        if cancel is not None and cancel.is_set():
            raise DemoCancelled
        if progress is not None:
            progress(table, rows)

    with new_database(path) as tmp:
        store = Store.open(tmp, create=True, key=new_key() if encrypt else None)
        try:
            if cancel is not None and cancel.is_set():
                raise DemoCancelled
            report = generate(store, households=households, seed=seed, progress=step)
            for username, display, role in users_of(store):
                grant(store, username, DEMO_PASSWORD, display=display, role=role)
        finally:
            store.close()
    return report


# --- the start page's checklist ------------------------------------------------------------------------

@dataclass(frozen=True)
class StartStep:
    key: str  # recovery, grids, workers, buildings, import, server
    label: str
    done: bool
    hint: str


def start_steps(store: Store, actor: Actor) -> list[StartStep]:
    """What a new community still has to set up, each ticked from the data itself (nothing to
    tick by hand): grids, grid workers, buildings, the ledgers imported, the sync server. Only for
    those who manage the community (empty for the others, and on the demo street)."""
    from desktop.policy import Ability, allows, sees_all_grids
    from desktop.services.demo import is_demo

    if not allows(actor, Ability.MANAGE_USERS) or is_demo(store):
        return []
    with store.engine.connect() as c:
        def count(sql: str) -> int:
            return int(c.exec_driver_sql(sql).scalar() or 0)

        grids = count("SELECT count(*) FROM area WHERE level = 'grid' AND deleted_at IS NULL")
        # a grid worker: a user whose role works assigned grids only (the policy says which)
        workers = sum(1 for (role,) in c.exec_driver_sql("SELECT role FROM app_user WHERE deleted_at IS NULL")
                      if not sees_all_grids(role))
        buildings = count("SELECT count(*) FROM address WHERE deleted_at IS NULL")
        people = count("SELECT count(*) FROM person WHERE deleted_at IS NULL")
    server = bool(store.meta("sync_server_url"))
    steps = []
    if store.key is not None and store.path is not None:  # encrypted: the way back in when every password is lost (kept off the laptop)
        from desktop.db.keys import recovery_entries

        steps.append(StartStep("recovery", "保存恢复密钥", bool(recovery_entries(store.path)),
                               "在 设置 中生成恢复密钥,抄写后锁在办公室保险柜(忘记所有密码时用它恢复)"))
    return steps + [
        StartStep("grids", "划分网格", grids > 0, "在 地址与网格 中添加社区的网格"),
        StartStep("workers", "添加网格员", workers > 0, "在 设置 → 本机用户 中为每位网格员建账号并分配网格"),
        StartStep("buildings", "添加楼栋和房屋", buildings > 0, "在 地址与网格 中添加小区、楼栋和户室"),
        StartStep("import", "导入已有台账", people > 0, "从 Excel 导入以前的人员台账,或逐户录入"),
        StartStep("server", "设置同步服务器", server, "在 同步 中填写社区服务器地址并同步一次"),
    ]
