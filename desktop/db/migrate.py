"""Alembic at start-up: back the file up (SQLite online backup), then upgrade to head."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import desktop.models
from desktop.db.copies import backup_database

# Tables the storage layer creates itself (FTS5 and its shadow tables) are not in the models.
_UNMODELLED_PREFIXES = ("search_", "sqlite_")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
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
