"""Alembic at start-up: back the file up (SQLite online backup), then upgrade to head."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import desktop.models
from desktop.paths import backup_dir_for

# Tables the storage layer creates itself (FTS5 and its shadow tables) are not in the models.
_UNMODELLED_PREFIXES = ("search_", "sqlite_")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic filter: compare only the modelled tables."""
    return not (type_ == "table" and name and name.startswith(_UNMODELLED_PREFIXES))


MIGRATIONS_DIR = Path(desktop.models.__file__).resolve().parent / "migrations"
KEEP_BACKUPS = 10


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


def backup_database(db_path: Path, label: str, *, keep: int = KEEP_BACKUPS, key: bytes | None = None) -> Path:
    """Copy a live database with SQLite's online backup (safe with WAL), keeping the last `keep`.
    An encrypted database is copied with sqlcipher_export into a file under the same key."""
    folder = backup_dir_for(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{db_path.stem}-{stamp}-{label}.db"
    if key is not None:
        from desktop.db.keys import export_encrypted

        export_encrypted(db_path, key, target)
        _prune(db_path, keep)
        return target
    online_copy(db_path, target)
    _prune(db_path, keep)
    return target


def online_copy(src_path: Path | str, dst_path: Path | str, *, readonly: bool = False) -> None:
    """SQLite's online backup of one plain file into another (safe while the source is in use)."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True) if readonly else sqlite3.connect(str(src_path))
    try:
        dst = sqlite3.connect(str(dst_path))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _prune(db_path: Path, keep: int) -> None:
    old = sorted(backup_dir_for(db_path).glob(f"{db_path.stem}-*.db"))
    for stale in old[: max(0, len(old) - keep)]:
        stale.unlink(missing_ok=True)


def upgrade_database(engine: Engine, *, db_path: Path | None = None, key: bytes | None = None) -> MigrationReport:
    """Bring the schema to head; an existing file with an older schema is backed up first."""
    before = current_revision(engine)
    head = head_revision()
    backup = None
    if before != head and before is not None and db_path is not None and db_path.exists():
        backup = backup_database(db_path, f"before-{head}", key=key)
    if before != head:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return MigrationReport(before, head, backup)
