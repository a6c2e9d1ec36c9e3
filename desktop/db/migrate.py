"""Alembic at start-up: back the file up (SQLite online backup), then upgrade to head."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import desktop.models
from desktop.db.copies import backup_database, prune_backups
from desktop.db.engine import StorageError

log = logging.getLogger(__name__)

# Tables the storage layer creates itself (FTS5 and its shadow tables) are not in the models.
_UNMODELLED_PREFIXES = ("search_", "sqlite_")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: compare only the modelled tables."""
    return not (type_ == "table" and name and name.startswith(_UNMODELLED_PREFIXES))


MIGRATIONS_DIR = Path(desktop.models.__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class MigrationReport:
    from_revision: str | None
    to_revision: str
    backup: Path | None


APP_VERSION_KEY = "app_version"  # in local_meta: the newest GridLedger that opened the file


def _recorded_version(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT value FROM local_meta WHERE key = ?", (APP_VERSION_KEY,)).first()
    except Exception:  # no local_meta yet (an old or new file)
        return None
    return row[0] if row else None


def newer_than_this_app(engine: Engine, revision: str | None) -> bool:
    """A schema revision this program's migrations do not know: made by a newer GridLedger."""
    if revision is None:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    return all(revision != rev.revision for rev in script.walk_revisions())


def upgrade_database(engine: Engine, *, db_path: Path | None = None, key: bytes | None = None) -> MigrationReport:
    """Bring the schema to head; an existing file with an older schema is backed up first (and
    the backups pruned only once the upgrade worked). A file from a newer GridLedger is refused
    before anything is written or copied."""
    from desktop import __version__

    before = current_revision(engine)
    head = head_revision()
    if newer_than_this_app(engine, before):
        made_by = _recorded_version(engine)
        raise StorageError(
            f"该数据库由较新版本的网格台账{(' ' + made_by) if made_by else ''}创建(数据库结构 {before}),"
            f"本程序版本 {__version__}(数据库结构 {head})无法打开;数据库未改动,也没有另做备份。"
            "请安装最新版本的网格台账后再打开。")
    backup = None
    if before != head and before is not None and db_path is not None and db_path.exists():
        backup = backup_database(db_path, f"before-{head}", key=key, prune=False)
    if before != head:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        if backup is not None and db_path is not None:
            prune_backups(db_path)
        log.info("database schema upgraded from %s to %s (backup before: %s)", before or "empty", head,
                 backup.name if backup is not None else "none")
    return MigrationReport(before, head, backup)
