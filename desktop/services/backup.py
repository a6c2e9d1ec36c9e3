"""Backups of the local database: SQLite's online backup (never a file copy of a live WAL file),
automatic (before every migration, and once a day), manual, and restore.

A restored file is an older copy of this laptop: its device sequence would hand out numbers the
server has already seen. Restore therefore gives it a new file id and sends it to re-enrol with
the server (docs/design/SYNC.md, scenario 11): changes it shares with the original are recognised as
duplicates, new ones travel under the new enrolment, none is lost or applied twice."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.db.copies import KEEP_BACKUPS, backup_folder, online_copy, remove_quietly
from desktop.db.engine import StorageError
from desktop.models import new_id
from desktop.paths import backup_dir_for
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import require
from desktop.services.store import Actor, Store

if TYPE_CHECKING:
    import sqlcipher3

    _Connection = sqlite3.Connection | sqlcipher3.Connection  # the same DB-API, two modules

log = logging.getLogger(__name__)

AUTO_KEY = "backup_auto_last"
AUTO_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    label: str
    taken_at: datetime
    size: int


def _target(db_path: Path, label: str) -> Path:
    folder = backup_folder(db_path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"{db_path.stem}-{stamp}-{label}.db"


def _prune(db_path: Path, keep: int) -> None:
    from desktop.db.copies import prune_backups

    prune_backups(db_path, keep)


def backup_now(store: Store, actor: Actor, *, label: str = "manual", keep: int = KEEP_BACKUPS) -> Path:
    """Copy the open database while it stays in use; keeps the last `keep` backups. A backup that
    cannot be finished (a full disk, a read-only folder) leaves nothing behind and prunes nothing."""
    if store.path is None:
        raise StorageError("内存数据库无法备份")
    target = _target(store.path, label)
    started = time.perf_counter()
    if store.key is not None:  # encrypted: a copy under the same key, never a plain one
        from desktop.db.copies import export_encrypted

        export_encrypted(store.path, store.key, target)
        _keep_keyring(store.path, target)
        return _after_backup(store, actor, target, label, keep, started)
    tmp = target.with_suffix(".part")
    try:
        raw = store.engine.raw_connection()
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                # one step under a read snapshot: in WAL mode writers go on meanwhile (a stepwise
                # backup would restart whenever another connection writes)
                driver = raw.driver_connection
                assert driver is not None  # an open connection has its driver's
                driver.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dst.close()
        finally:
            raw.close()
        tmp.replace(target)
    except BaseException:
        remove_quietly(tmp, Path(f"{tmp}-journal"))
        raise
    return _after_backup(store, actor, target, label, keep, started)


def _after_backup(store: Store, actor: Actor, target: Path, label: str, keep: int, started: float) -> Path:
    assert store.path is not None
    try:
        with store.transaction() as s:
            write_audit(s, actor, "backup", None, None, {"file": target.name, "label": label}, "备份数据库")
    except BaseException:  # not audited: not kept (an unaudited copy of everybody's data)
        remove_quietly(target, Path(f"{target}.keys"))
        raise
    _prune(store.path, keep)
    log.info("backup %s written (%s, %d bytes, encrypted %s, %.2f s)", target.name, label, target.stat().st_size,
             store.key is not None, time.perf_counter() - started)
    return target


def backup_if_due(store: Store, actor: Actor, *, now: datetime | None = None, keep: int = KEEP_BACKUPS) -> Path | None:
    """The scheduled backup: once every AUTO_EVERY (run at start-up and by the daily upkeep)."""
    now = now or datetime.now()
    last = store.meta(AUTO_KEY)
    if last and now - datetime.fromisoformat(last) < AUTO_EVERY:
        return None
    path = backup_now(store, actor, label="auto", keep=keep)
    store.set_meta(AUTO_KEY, now.isoformat(timespec="seconds"))
    return path


def list_backups(db_path: Path) -> list[BackupInfo]:
    out = []
    for p in sorted(backup_dir_for(db_path).glob(f"{db_path.stem}-*.db"), reverse=True):
        parts = p.stem[len(db_path.stem) + 1 :].split("-", 3)
        try:
            taken = datetime.strptime("-".join(parts[:3]), "%Y%m%d-%H%M%S-%f")
        except ValueError:
            continue
        out.append(BackupInfo(p, parts[3] if len(parts) > 3 else "", taken, p.stat().st_size))
    return out


def _connect(path: Path, key: bytes | None) -> _Connection:
    if key is None:
        return sqlite3.connect(str(path))
    import sqlcipher3

    from desktop.db.keys import sqlcipher_key

    con = sqlcipher3.connect(str(path))
    con.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
    return con


def is_plain(path: Path) -> bool:
    """A backup taken before the laptop was encrypted is a plain SQLite file."""
    from desktop.db.keys import SQLITE_HEADER

    with open(path, "rb") as fh:
        return fh.read(16) == SQLITE_HEADER


def check_backup(path: Path, key: bytes | None = None) -> None:
    try:
        con = _connect(path, key)
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.execute("SELECT count(*) FROM local_meta").fetchone()
        finally:
            con.close()
    except Exception as exc:  # sqlite3 or sqlcipher3 DatabaseError
        raise StorageError(f"备份文件 {path.name} 无法读取:{exc}") from exc
    if ok != "ok":
        raise StorageError(f"备份文件 {path.name} 已损坏:{ok}")


RESTORE_PROGRAM = "网格台账(从备份恢复)"


def restore(db_path: Path, backup: Path, actor: Actor, *, key: bytes | None = None) -> Path:
    """Replace the database at `db_path` (closed by everyone: refused while another process holds
    its lock) by `backup`. The current file is copied first (encrypted when it is), so a restore
    can itself be undone; returns that safety copy. The restored file is prepared beside the
    database (`<db>.restoring`: copied, encrypted under `key` when the backup is plain, marked as
    a new file for sync) and renamed over it: a kill at any moment leaves the old database or the
    restored one, never half of either, and the next start removes the leftover."""
    if actor.username != "system":
        require(actor, Ability.RESTORE_BACKUP)
    from desktop.db.keys import backup_keyring_path, encrypt_copy, keyring_path, resume_interrupted
    from desktop.db.lock import locked, refuse_while_syncing

    with locked(db_path, RESTORE_PROGRAM, doing="恢复备份", replacing=True):
        refuse_while_syncing(db_path, "恢复备份")
        resume_interrupted(db_path)
        plain_backup = is_plain(backup)
        if key is None and not plain_backup and backup_keyring_path(backup).exists():
            raise StorageError(f"备份文件 {backup.name} 是加密的,需要能解锁本机的用户登录后恢复"
                               "(或用恢复密钥:gridledger restore 备份文件 --recovery-key --yes)。")
        check_backup(backup, None if plain_backup else key)
        safety = _target(db_path, "before-restore")
        current_device = None
        if db_path.exists():
            current_device = _device_of(db_path, key)
            if key is not None:
                from desktop.db.copies import export_encrypted

                export_encrypted(db_path, key, safety)
                _keep_keyring(db_path, safety)
            else:
                part = safety.with_suffix(".part")
                try:
                    online_copy(db_path, part)
                    part.replace(safety)
                except BaseException:
                    remove_quietly(part, Path(f"{part}-journal"))
                    raise
        tmp = db_path.with_name(db_path.name + ".restoring")
        extras = [Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm")]
        remove_quietly(tmp, *extras)
        try:
            if key is None:
                online_copy(backup, tmp, readonly=True)
            elif plain_backup:  # taken before this laptop was encrypted: restored encrypted, same key
                encrypt_copy(backup, tmp, key, rename=False)
            else:
                shutil.copyfile(backup, tmp)
            con = _connect(tmp, key)
            try:
                _mark_restored(con, backup, current_device)
            finally:
                con.close()
        except BaseException:
            remove_quietly(tmp, *extras)
            raise
        for suffix in ("-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        os.replace(tmp, db_path)
        if key is not None and not keyring_path(db_path).exists() and backup_keyring_path(backup).exists():
            shutil.copyfile(backup_keyring_path(backup), keyring_path(db_path))  # the keyring was lost too
        _audit_restore(db_path, key, actor, backup, safety)
    return safety


def _keep_keyring(db_path: Path, backup: Path) -> None:
    """An encrypted backup keeps the keyring that opens it (X.db.keys: wrapped keys only), so that
    losing the 1 KB keyring beside the database does not lose every backup with it."""
    from desktop.db.copies import keep_keyring_copy

    keep_keyring_copy(db_path, backup)


def _device_of(db_path: Path, key: bytes | None) -> str | None:
    con = _connect(db_path, key)
    try:
        row = con.execute("SELECT value FROM local_meta WHERE key = 'sync_device_id'").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _audit_restore(db_path: Path, key: bytes | None, actor: Actor, backup: Path, safety: Path) -> None:
    store = Store.open(db_path, key=key)
    try:
        with store.transaction() as s:
            write_audit(s, actor, "restore_backup", None, None, {"file": backup.name, "safety": safety.name},
                        "从备份恢复数据库")
    finally:
        store.close()
    log.info("database restored from backup %s (the file before it kept as %s)", backup.name, safety.name)


def _mark_restored(con: _Connection, backup: Path, current_device: str | None) -> None:
    """A restored file is a new file for sync: new file id, no enrolment; the device that used its
    sequence numbers last (the current file's, else the backup's) is named as predecessor."""
    with con:
        row = con.execute("SELECT value FROM local_meta WHERE key = 'sync_device_id'").fetchone()
        prev = current_device or (row[0] if row else None)
        if prev:
            con.execute("INSERT OR REPLACE INTO local_meta(key, value) VALUES ('sync_predecessor', ?)", (prev,))
        con.execute("DELETE FROM local_meta WHERE key IN ('sync_device_id', 'sync_epoch')")
        con.execute("INSERT OR REPLACE INTO local_meta(key, value) VALUES ('file_id', ?)", (new_id(),))
        con.execute("INSERT OR REPLACE INTO local_meta(key, value) VALUES ('restored_from', ?)", (backup.name,))
