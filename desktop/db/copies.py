"""Copies of a database file: SQLite's online backup of a plain file, sqlcipher_export of an
encrypted one, and the rotation of the backup folder. Below desktop.db.keys (which backs a file up
before encrypting it) and desktop.db.migrate (which backs it up before upgrading it)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from desktop.paths import backup_dir_for

KEEP_BACKUPS = 10


def sqlcipher_key(key: bytes) -> str:
    """The key as SQLCipher's raw-key literal (no key derivation at open: it is random already)."""
    return f"x'{key.hex()}'"


def export_encrypted(db_path: Path, key: bytes, target: Path) -> None:
    """A consistent copy of an encrypted database (read snapshot; writers go on) under the same key."""
    import sqlcipher3  # type: ignore[import-not-found]

    tmp = target.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    con = sqlcipher3.connect(str(db_path))
    try:
        con.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
        con.execute("PRAGMA busy_timeout = 10000")
        con.execute(f"ATTACH DATABASE ? AS bk KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
        con.execute("SELECT sqlcipher_export('bk')")
        con.execute("DETACH DATABASE bk")
    finally:
        con.close()
    tmp.replace(target)


def backup_database(db_path: Path, label: str, *, keep: int = KEEP_BACKUPS, key: bytes | None = None) -> Path:
    """Copy a live database with SQLite's online backup (safe with WAL), keeping the last `keep`.
    An encrypted database is copied with sqlcipher_export into a file under the same key."""
    folder = backup_dir_for(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{db_path.stem}-{stamp}-{label}.db"
    if key is not None:
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
