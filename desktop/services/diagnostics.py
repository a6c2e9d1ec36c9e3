"""What the log and the diagnostics package say about this installation: versions, platform and
the database's state, never a record, a name, a user name or a key.

- `environment()`: the program's, Python's, the platform's, Qt's and SQLite/SQLCipher's versions;
- `database_state(store)`: path, size, encrypted or not, schema revision, last sync;
- `log_start(...)`: both, one line in the log at start-up;
- `write_package(dest, ...)`: a zip of the log files and those facts, for the people who maintain
  the software (the home folder is written as ~, so the account name stays on the laptop)."""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import sqlite3
import sys
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.db.migrate import current_revision, head_revision
from desktop.paths import CRASH_LOG, log_dir, redact, tidy_path
from desktop.services.store import Store

log = logging.getLogger(__name__)


def _package(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def sqlcipher_version() -> str | None:
    try:
        import sqlcipher3
    except ImportError:
        return None
    try:
        con = sqlcipher3.connect(":memory:")
        try:
            row = con.execute("PRAGMA cipher_version").fetchone()
        finally:
            con.close()
    except Exception:  # a broken build: say so rather than fail the start-up
        log.warning("sqlcipher3 is installed but does not answer", exc_info=True)
        return "unusable"
    return str(row[0]) if row else None


def basics() -> dict[str, Any]:
    """The cheap facts, for every command's first log line."""
    return {
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "sqlite": sqlite3.sqlite_version,
    }


def environment(qt_version: str | None = None) -> dict[str, Any]:
    """Anonymous facts about this installation (no host name, no user name)."""
    return {
        **basics(),
        "qt": qt_version,
        "pyside6": _package("PySide6", "PySide6_Essentials"),
        "sqlcipher": sqlcipher_version(),
        "schema_head": head_revision(),
    }


@dataclass(frozen=True)
class DatabaseState:
    path: str | None
    size: int  # bytes, the file with its -wal
    encrypted: bool
    revision: str | None
    last_sync: str | None  # UTC, "YYYY-MM-DD HH:MM:SS"; None: never synced


def database_state(store: Store) -> DatabaseState:
    size = 0
    if store.path is not None:
        for p in (store.path, Path(f"{store.path}-wal")):
            with contextlib.suppress(OSError):  # no -wal file
                size += p.stat().st_size
    return DatabaseState(
        path=tidy_path(store.path), size=size, encrypted=store.key is not None,
        revision=current_revision(store.engine), last_sync=store.meta("sync_last_at"),
    )


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def log_start(store: Store | None, *, qt_version: str | None = None, what: str = "app") -> dict[str, Any]:
    """One line at start-up: versions, platform and the database's state. Returns the facts."""
    facts = environment(qt_version)
    if store is not None:
        facts["database"] = asdict(database_state(store))
    log.info("%s start-up: %s", what, json.dumps(facts, ensure_ascii=False, sort_keys=True))
    return facts


def log_files() -> list[Path]:
    """gridledger.log, its rotated copies and crash.log, those that exist."""
    folder = log_dir()
    if not folder.is_dir():
        return []
    names = sorted(p for p in folder.iterdir() if p.is_file() and (p.name.startswith("gridledger.log")
                                                                    or p.name == CRASH_LOG))
    return names


def write_package(dest: Path | str, store: Store | None = None, *, qt_version: str | None = None) -> Path:
    """A zip for a bug report: the log files and environment.json (versions, platform, the
    database's size, revision and state). No database, no record: the logs hold none either (what is
    logged is counts and ids, and ID and phone numbers are masked on the way in). Returns `dest`."""
    dest = Path(dest)
    facts = environment(qt_version)
    if store is not None:
        facts["database"] = asdict(database_state(store))
    facts["written_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    tmp = dest.with_name(dest.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("environment.json", json.dumps(facts, ensure_ascii=False, indent=2, sort_keys=True))
            for path in log_files():
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue  # rotated away meanwhile
                zf.writestr(f"logs/{path.name}", redact(text))
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("diagnostics package written (%d log files)", len(log_files()))
    return dest
