"""Server storage: engine set-up for SQLite or PostgreSQL, the commit sequence, scopes."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from desktop.domain.areas import AreaTree
from desktop.policy import Ability, allows, sees_all_grids
from desktop.sync.protocol import COMMUNITY_WIDE, COMMUNITY_WRITERS, GRID_WRITERS
from server.models import AttachmentRef, Counter, Record, ServerKey, ServerUser, load_meta

SEQ = "server_seq"


def _private_sqlite_file(url: str) -> None:
    """Create the server's SQLite file readable and writable by its owner only, and take group
    and other access away from an existing one: it holds the signing keys and the password
    hashes. SQLite gives the -wal and -shm files the database file's mode."""
    if os.name == "nt":
        return
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    if not os.path.exists(name):
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another server process made it first
            pass
        except OSError:  # a missing folder: SQLite says so when it opens the file
            return
    for path in (name, name + "-wal", name + "-shm", name + "-journal"):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
        except OSError:  # not there, or not ours
            continue


def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # checkpoints (the only syncs to disk under NORMAL) every 40 MB of log rather than 4 MB: a
        # first push of a street writes a gigabyte, and each checkpoint waits for the disk twice
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA secure_delete=ON")  # an erased person's values leave the file
    finally:
        cur.close()
    # pysqlite's own transaction handling would start transactions lazily (after our first
    # statement); take it over so BEGIN IMMEDIATE below really starts the write transaction.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # A push writes; take the write lock at BEGIN so two writers never deadlock on an upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class ServerStore:
    """The server's database. Stateless: every fact lives in the database, so several server
    processes can share one PostgreSQL."""

    def __init__(self, url: str, *, create: bool = True, application_name: str = "gridledger") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _private_sqlite_file(url)
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # (the name tells `gridledger server restore` that a server process is connected)
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                        connect_args={"application_name": application_name},
                                        hide_parameters=True)  # no record values in errors or logs
        self.migration = None
        if create:
            from server.schema import upgrade

            try:
                self.migration = upgrade(self.engine, url)
            except BaseException:
                self.engine.dispose()
                raise
            with self.transaction() as s:
                if s.get(Counter, SEQ) is None:
                    s.add(Counter(name=SEQ, value=0))
            # (another process may fill it at the same moment)
            with contextlib.suppress(IntegrityError), self.transaction() as s:
                _index_photos(s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        factory = getattr(self, "_sessions", None) or sessionmaker(self.engine, expire_on_commit=False)
        with factory() as s, s.begin():
            yield s

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            yield s

    # --- keys shared by all processes ---------------------------------------------------
    def key(self, name: str, make: Any) -> str:
        with self.transaction() as s:
            row = s.get(ServerKey, name)
            if row is not None:
                return row.value
        try:
            with self.transaction() as s:
                s.add(ServerKey(name=name, value=make()))
        except Exception:  # another process made it first
            pass
        with self.session() as s:
            row = s.get(ServerKey, name)
            assert row is not None
            return row.value


def _index_photos(s: Session) -> None:
    """Fill the photo index once for a database made before it existed."""
    if s.scalar(select(AttachmentRef.row_id).limit(1)) is not None:
        return
    for data, meta, grid, deleted in s.execute(select(Record.data, Record.field_meta, Record.grid_id, Record.deleted)
                                               .where(Record.table_name == "attachment")):
        d, m = json.loads(data), load_meta(meta)
        if d.get("sha256"):
            s.add(AttachmentRef(row_id=d["id"], sha256=d["sha256"], grid_id=grid, deleted=deleted,
                                device_id=(m.get("sha256") or [None, None])[1]))


def next_seq(s: Session, is_sqlite: bool) -> int:
    """Hand out the next commit sequence. The counter row stays locked until this transaction
    commits, so sequences become visible in order: a puller can never see seq n+1 while n is
    still uncommitted, the failure docs/design/SYNC.md, scenario 3 describes. On PostgreSQL a
    transaction-scoped advisory lock makes that explicit (and cheap to wait on)."""
    if not is_sqlite:
        s.execute(text("SELECT pg_advisory_xact_lock(7431)"))
    value = s.execute(
        update(Counter).where(Counter.name == SEQ).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return int(value)


def current_seq(s: Session) -> int:
    return int(s.execute(select(Counter.value).where(Counter.name == SEQ)).scalar_one())


@dataclass(frozen=True)
class Scope:
    """What one user may read and write, computed from the current assignments on each request."""

    username: str
    role: str
    grids: frozenset[str] | None  # None: the whole server (a supervisor with no community set)
    display_name: str = ""
    areas: tuple[str, ...] = ()  # the assigned areas (grids or communities) `grids` comes from

    def reads(self, table: str, grid_id: str | None) -> bool:
        return table in COMMUNITY_WIDE or self.grids is None or grid_id in self.grids

    def writes(self, table: str, grid_id: str | None) -> bool:
        if table in COMMUNITY_WIDE:
            return allows(self, COMMUNITY_WRITERS[table])
        if table in GRID_WRITERS and not allows(self, GRID_WRITERS[table]):
            return False
        return self.grids is None or grid_id in self.grids

    @property
    def all_grids(self) -> bool:
        return self.grids is None


def area_tree(s: Session) -> AreaTree:
    """The area tree of the synced area records (the rules: desktop.domain.areas)."""
    rows = []
    for (data,) in s.execute(select(Record.data).where(Record.table_name == "area", Record.deleted.is_(False))):
        d = json.loads(data)
        rows.append((d["id"], d.get("parent_id"), d.get("level") or "", d.get("code") or "", d.get("name") or ""))
    return AreaTree(rows)


def scope_for(s: Session, user: ServerUser) -> Scope:
    areas = json.loads(user.areas or "[]")
    if sees_all_grids(user.role) and not areas:
        grids: frozenset[str] | None = None
    else:
        grids = frozenset(area_tree(s).grids_under(*areas, unknown_are_grids=True))
    return Scope(user.username, user.role, grids, user.display_name, tuple(areas))


def widen_scope(scope: Scope, s: Session, rows: Iterable[tuple[str, str | None, str, str, str]]) -> Scope:
    """The scope of a user who may edit areas and is assigned a community (not the whole server),
    with the grids that `rows` (area records arriving in the same push or bundle: id, parent id,
    level, code, name) add under that community: a grid created on the admin's laptop takes its
    rooms and records along in the same sync. Anyone else's scope is returned as it is."""
    if scope.grids is None or not scope.areas or not allows(scope, Ability.EDIT_AREAS):
        return scope
    merged = {aid: (n.id, n.parent_id, n.level, n.code, n.name) for aid, n in area_tree(s).nodes.items()}
    for row in rows:
        merged[row[0]] = row
    grids = frozenset(AreaTree(merged.values()).grids_under(*scope.areas, unknown_are_grids=True))
    return replace(scope, grids=scope.grids | grids)
