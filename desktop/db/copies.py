"""Copies of a database file: SQLite's online backup of a plain file, sqlcipher_export of an
encrypted one, and the rotation of the backup folder. Below desktop.db.keys (which backs a file up
before encrypting it) and desktop.db.migrate (which backs it up before upgrading it)."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime
from pathlib import Path

from desktop.db.engine import StorageError, busy_seconds
from desktop.paths import backup_dir_for, private_dir

KEEP_BACKUPS = 10


def sqlcipher_key(key: bytes) -> str:
    """The key as SQLCipher's raw-key literal (no key derivation at open: it is random already)."""
    return f"x'{key.hex()}'"


def export_encrypted(db_path: Path, key: bytes, target: Path) -> None:
    """A consistent copy of an encrypted database (read snapshot; writers go on) under the same key."""
    import sqlcipher3

    tmp = target.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    try:
        con = sqlcipher3.connect(str(db_path))
        try:
            con.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
            con.execute(f"PRAGMA busy_timeout = {int(busy_seconds() * 1000)}")
            con.execute(f"ATTACH DATABASE ? AS bk KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
            con.execute("SELECT sqlcipher_export('bk')")
            con.execute("DETACH DATABASE bk")
        finally:
            con.close()
        tmp.replace(target)
    except BaseException:  # a full disk, a kill: nothing half-written stays behind
        remove_quietly(tmp, Path(f"{tmp}-journal"))
        raise


def remove_quietly(*paths: Path) -> None:
    """Remove what a failed write left behind; a file that cannot be removed is left alone (the
    failure that brought us here is the one to report)."""
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)


def backup_database(db_path: Path, label: str, *, keep: int = KEEP_BACKUPS, key: bytes | None = None,
                    prune: bool = True) -> Path:
    """Copy a live database with SQLite's online backup (safe with WAL), keeping the last `keep`
    (`prune` False: the caller prunes once what it backed up for has worked). An encrypted
    database is copied with sqlcipher_export into a file under the same key. A copy that fails
    leaves nothing behind."""
    folder = backup_folder(db_path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{db_path.stem}-{stamp}-{label}.db"
    if key is not None:
        export_encrypted(db_path, key, target)
        keep_keyring_copy(db_path, target)
    else:
        tmp = target.with_suffix(".part")
        try:
            online_copy(db_path, tmp)
            tmp.replace(target)
        except BaseException:
            remove_quietly(tmp, Path(f"{tmp}-journal"))
            raise
    if prune:
        _prune(db_path, keep)
    return target


def keep_keyring_copy(db_path: Path, target: Path) -> None:
    """The keyring beside an encrypted database (`<db>.keys`: wrapped keys only) kept with its
    backup as `<backup>.keys`, so that the backup can be opened when the keyring is lost
    (docs/design/SECURITY.md § Recovery key). Written aside and renamed; a keyring that cannot be
    copied leaves the backup as it is (the keyring itself is what to repair then)."""
    import shutil

    ring = db_path.with_name(db_path.name + ".keys")
    if not ring.exists():
        return
    copy = target.with_name(target.name + ".keys")
    part = copy.with_name(copy.name + ".part")
    try:
        shutil.copyfile(ring, part)
        part.replace(copy)
    except OSError:
        remove_quietly(part)


def backup_folder(db_path: Path) -> Path:
    """backups/ beside the database, made when missing."""
    folder = backup_dir_for(db_path)
    if folder.exists() and not folder.is_dir():
        raise StorageError(f"无法备份:{folder} 是一个文件,不是备份文件夹;数据库未改动。请移走或改名该文件后重试。")
    return private_dir(folder)


def online_copy(src_path: Path | str, dst_path: Path | str, *, readonly: bool = False) -> None:
    """SQLite's online backup of one plain file into another (safe while the source is in use)."""
    wait = busy_seconds()
    src = (sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=wait) if readonly
           else sqlite3.connect(str(src_path), timeout=wait))
    try:
        dst = sqlite3.connect(str(dst_path), timeout=wait)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def prune_backups(db_path: Path, keep: int = KEEP_BACKUPS) -> None:
    _prune(db_path, keep)


def _prune(db_path: Path, keep: int) -> None:
    old = sorted(backup_dir_for(db_path).glob(f"{db_path.stem}-*.db"))
    for stale in old[: max(0, len(old) - keep)]:
        stale.unlink(missing_ok=True)
        Path(f"{stale}.keys").unlink(missing_ok=True)  # the keyring kept with it
