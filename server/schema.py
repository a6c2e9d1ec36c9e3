"""The server's schema: its own Alembic chain (server/migrations), run when a server process or an
office command opens the database.

* One migrator at a time. On PostgreSQL the upgrade runs in one transaction under an advisory
  lock, so several server processes starting together migrate once: the others wait, then find
  the schema at head. On SQLite the transaction starts with BEGIN IMMEDIATE (server.store), which
  serialises the same way.
* On SQLite an existing database is copied first (SQLite's online backup, into backups/ beside
  the file); a failed upgrade rolls back and the copy stays.
* A database made before the chain existed (tables from `create_all`, no version table) is
  recognised: the baseline revision only adds what is missing, never recreates, and stamps it.
* A database stamped by a newer server is refused before anything is written.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, make_url, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "srv_alembic_version"
PG_MIGRATION_LOCK = 7432  # pg_advisory_xact_lock key (7431 guards the commit sequence)
LEGACY_MARKER = "srv_counter"  # a table every server database has had since the first release


class SchemaError(Exception):
    """The schema cannot be brought to head; the message is one Chinese sentence for the office."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _script().walk_revisions())


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for memory databases and for PostgreSQL)."""
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:" \
            or u.database.startswith("file:"):
        return None
    return Path(u.database)


@dataclass(frozen=True)
class MigrationReport:
    before: str | None
    after: str
    legacy: bool  # made by a release before the chain (no version table)
    backup: Path | None


def schema_state(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision, this program's head), read only."""
    with engine.connect() as conn:
        return current_revision(conn), head_revision()


def _backup_sqlite(path: Path, head: str) -> Path:
    from desktop.db.copies import backup_database
    from desktop.db.engine import StorageError

    try:
        copy = backup_database(path, f"before-schema-{head}", prune=False)
        if os.name != "nt":
            copy.chmod(0o600)  # like the database itself: it holds the signing keys and password hashes
        return copy
    except (StorageError, OSError) as exc:
        raise SchemaError(f"升级服务器数据库结构前无法备份 {path}:{exc};数据库未改动。"
                          "请检查磁盘空间和 backups 文件夹的写权限后重新启动。") from exc


def upgrade(engine: Engine, url: str) -> MigrationReport:
    """Bring the server's schema to head (see the module's docstring)."""
    from desktop import __version__

    head = head_revision()
    is_sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if not is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        before = current_revision(conn)
        if before == head:
            return MigrationReport(before, head, False, None)
        if before is not None and before not in known_revisions():
            raise SchemaError(
                f"服务器数据库的结构版本 {before} 由较新版本的网格台账服务器写入,本程序 {__version__}"
                f"(结构版本 {head})无法使用它;数据库未改动。请把服务器升级到最新版本后再启动。")
        legacy = before is None and inspect(conn).has_table(LEGACY_MARKER)
        backup = None
        path = sqlite_path(url)
        if path is not None and (before is not None or legacy):
            backup = _backup_sqlite(path, head)
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return MigrationReport(before, head, legacy, backup)
