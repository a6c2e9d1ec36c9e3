"""The opened local database and the actor using it. Services take both."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from desktop import __version__
from desktop.db.engine import StorageError, make_engine, probe_writable, session_factory
from desktop.db.failures import check_creatable, check_database_file, kind_of
from desktop.db.migrate import APP_VERSION_KEY, MigrationReport, current_revision, upgrade_database
from desktop.models import LocalMeta, new_id
from desktop.paths import tidy_path
from desktop.policy import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting. `grid_ids` None means the whole community (admin, supervisor)."""

    username: str
    role: str = Role.SUPERVISOR
    grid_ids: frozenset[str] | None = None
    device_id: str | None = None
    display_name: str | None = None

    def may_access(self, grid_id: str | None) -> bool:
        return self.grid_ids is None or grid_id in self.grid_ids



def remove_database_files(path: Path) -> None:
    """A database file this program has just created, with its -wal/-shm/-journal files."""
    from desktop.db.copies import remove_quietly

    remove_quietly(path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal")))


def _version_key(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


SYSTEM = Actor("system", Role.SUPERVISOR, None, None, "系统")


@dataclass
class Store:
    engine: Engine
    path: Path | None
    migration: MigrationReport | None = None
    key: bytes | None = field(default=None, repr=False)  # the SQLCipher key, when encrypted
    _sessions: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sessions = session_factory(self.engine)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, key: bytes | None = None) -> Store:
        """Open (and migrate) a database file. With `create` False, a missing file is an error;
        with it, only a missing file is created (never an empty or damaged one). With `key`, the
        file is a SQLCipher database (see desktop.db.keys). Every failure is a StorageError with
        one Chinese sentence, and leaves the file as it was."""
        from desktop.db.keys import is_encrypted, sqlcipher_key

        if str(path) == ":memory:":
            return cls._opened(make_engine(":memory:"), None, None)
        p = Path(path).expanduser()
        if key is None and is_encrypted(p):
            raise StorageError("该数据库已加密,需要用户名和密码才能打开。")
        created = False
        if p.exists() or p.is_symlink() or not create:
            check_database_file(p, plain=key is None)
        else:
            check_creatable(p)
            p.parent.mkdir(parents=True, exist_ok=True)
            created = True
        engine = make_engine(p, key=sqlcipher_key(key) if key is not None else None)
        try:
            if key is not None:
                try:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
                except Exception as exc:
                    if kind_of(exc) not in ("corrupt", "io"):
                        raise
                    raise StorageError("无法解密数据库:密钥不正确,或文件已损坏;文件未改动。"
                                       "请从备份恢复(gridledger restore 备份文件 --yes)。") from exc
            if p.exists():
                probe_writable(engine)
            report_from = None if created else current_revision(engine)
            try:
                report = upgrade_database(engine, db_path=p if p.exists() else None, key=key)
            except StorageError:
                raise
            except Exception as exc:
                if kind_of(exc) is not None:  # locked, read-only, full...: its own sentence
                    raise
                if created or report_from is None:
                    raise StorageError("无法创建数据库(建立数据库结构失败),没有留下任何文件。"
                                       "请把日志文件发给技术支持。") from exc
                raise StorageError("数据库结构升级失败,数据库未改动(升级前已自动备份)。请把日志文件发给技术支持,"
                                   "在此之前可继续使用旧版本的网格台账。") from exc
            store = cls._opened(engine, p, report, key)
            log.info("database %s opened (schema %s, encrypted %s%s)", tidy_path(p), report.to_revision,
                     key is not None, ", created" if created else "")
            return store
        except BaseException:
            engine.dispose()
            if created:  # a new file that could not be set up (a full disk): none is left behind
                remove_database_files(p)
            raise

    @classmethod
    def _opened(cls, engine: Engine, path: Path | None, report: MigrationReport | None,
                key: bytes | None = None) -> Store:
        if report is None:
            report = upgrade_database(engine)
        store = cls(engine, path, report)
        store.key = key
        store._ensure_meta()
        return store

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            yield s

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One use case = one transaction: committed on success, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    # --- file identity (sync notices a copied or restored file by its file id) -----------
    def _ensure_meta(self) -> None:
        with self.transaction() as s:
            have = {m.key for m in s.scalars(select(LocalMeta))}
            if "file_id" not in have:
                s.add(LocalMeta(key="file_id", value=new_id()))
            if "device_id" not in have:
                s.add(LocalMeta(key="device_id", value=new_id()))
            recorded = s.get(LocalMeta, APP_VERSION_KEY)
            if recorded is None or _version_key(recorded.value) < _version_key(__version__):
                s.merge(LocalMeta(key=APP_VERSION_KEY, value=__version__))  # named when an older one refuses it

    def derived_key(self, purpose: str) -> bytes | None:
        """A key for something else kept on this laptop (form drafts...), derived from the database
        key: None on a plain (unencrypted) laptop."""
        if self.key is None:
            return None
        from desktop.db.keys import derived_key

        return derived_key(self.key, purpose)

    def meta(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(LocalMeta, key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as s:
            s.merge(LocalMeta(key=key, value=value))

    def set_metas(self, values: dict[str, str]) -> None:
        """Several values in one transaction: all of them or none."""
        with self.transaction() as s:
            for key, value in values.items():
                s.merge(LocalMeta(key=key, value=value))
