"""One process at a time uses a database file for writing: an exclusive lock on `<db>.lock`,
held by the desktop app for its lifetime and by every writing command, so that encrypting or
restoring (which replace the file by a rename) can never pull the file from under an open
session whose later saves would then go to a deleted file.

The lock is the operating system's (flock on POSIX, msvcrt's byte lock on Windows, through
portalocker): it goes with the process, so the lock of a killed or crashed program never blocks
anybody (its file may stay behind; the next holder takes it over). On POSIX the holder removes
the file when it is done, and whoever locked a file that was removed meanwhile tries again. The file's text only says who holds it (pid, user, host, program, since), for the message
of whoever is refused. Within one process the lock is taken once and counted (the app's settings
page encrypting the database it has open, a command calling a service that locks again)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import portalocker

from desktop.db.engine import StorageError


class DatabaseInUse(StorageError):
    """Another process holds the database: `holder` is what its lock file says (may be empty)."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@dataclass
class _Held:
    handle: IO[str] | None  # None: the folder cannot be written, so nothing can be replaced there
    count: int


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def _key(db_path: Path) -> str:
    return os.path.normcase(str(db_path.expanduser().absolute()))


def _who(program: str) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (a service account)
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return {"pid": os.getpid(), "user": user, "host": socket.gethostname(), "program": program,
            "since": datetime.now().isoformat(timespec="seconds")}


def holder_of(db_path: Path) -> dict[str, Any]:
    """What the lock file says about its holder ({} when it cannot be read)."""
    try:
        data = json.loads(lock_path(db_path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def in_use_message(db_path: Path, holder: dict[str, Any], doing: str) -> str:
    """“数据库 … 正被 …(用户 …,自 … 起)使用,…” for `doing` ("加密", "恢复备份"...)."""
    if holder.get("program"):
        since = str(holder.get("since", "")).replace("T", " ")
        who = (f"{holder['program']}(用户 {holder.get('user', '?')},电脑 {holder.get('host', '?')},"
               f"进程 {holder.get('pid', '?')},自 {since} 起)")
    else:
        who = "另一个网格台账程序"
    return (f"数据库 {db_path} 正被{who}使用,{doing}没有执行,数据库未改动。"
            f"请先关闭该程序(或等它完成)后重试。")


def acquire(db_path: Path, program: str, *, doing: str = "本次操作", replacing: bool = False) -> None:
    """Take the lock (or count once more if this process has it); DatabaseInUse when another
    live process holds it. A folder where the lock file cannot be made is not locked: nothing
    can be written (or replaced) there either, and that failure is the one reported later."""
    key = _key(db_path)
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.count += 1
            if replacing and held.handle is not None:  # a sync checks this before it writes
                _write_holder(held.handle, {**_who(program), "replacing": doing})
            return
        path = lock_path(db_path)
        for _attempt in range(5):
            try:
                fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lifetime; never truncated unlocked
            except OSError:
                _held[key] = _Held(None, 1)
                return
            try:
                portalocker.lock(fh, portalocker.LOCK_EX | portalocker.LOCK_NB)
            except portalocker.exceptions.LockException:
                fh.close()
                holder = holder_of(db_path)
                raise DatabaseInUse(in_use_message(db_path, holder, doing), holder) from None
            if _same_file(fh, path):
                break
            fh.close()  # the holder removed the file between our open and our lock: take the new one
        else:  # pragma: no cover - five removals in a row
            holder = holder_of(db_path)
            raise DatabaseInUse(in_use_message(db_path, holder, doing), holder)
        _write_holder(fh, {**_who(program), **({"replacing": doing} if replacing else {})})
        _held[key] = _Held(fh, 1)


def _write_holder(fh: IO[str], who: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # who holds it: only for the message of others
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(who, ensure_ascii=False))
        fh.flush()


def _same_file(fh: IO[str], path: Path) -> bool:
    """The file locked is still the one at `path` (POSIX: a releasing holder removes it)."""
    if os.name != "posix":
        return True
    try:
        return os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
    except OSError:
        return False


def release(db_path: Path) -> None:
    key = _key(db_path)
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _held[key]
        if held.handle is not None:
            with contextlib.suppress(OSError):
                held.handle.seek(0)
                held.handle.truncate()
                held.handle.flush()
            if os.name == "posix":  # removed while still locked: nothing stays beside the database
                with contextlib.suppress(OSError):
                    lock_path(db_path).unlink()
            with contextlib.suppress(Exception):
                portalocker.unlock(held.handle)
            held.handle.close()


def refuse_while_syncing(db_path: Path, doing: str) -> None:
    """A sync holds its own lock (`<db>.sync-lock`, desktop.sync.lock: one sync at a time, per
    round of `sync --every`, not the database's lock, so the app can start between rounds).
    Replacing the file under a running sync would lose what it writes: DatabaseInUse while that
    lock is held by anybody (this process's own sync included: the caller that holds it on
    purpose, a new laptop's first sync, does not ask)."""
    for candidate in {db_path, Path(os.path.realpath(db_path))}:
        path = candidate.with_name(candidate.name + ".sync-lock")
        if not path.exists():
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            if not _try_lock(fd):
                raise DatabaseInUse(f"数据库 {db_path} 正在同步(同步窗口或 gridledger sync 命令),{doing}没有执行,"
                                    "数据库未改动。请等同步结束后重试。", {"program": "同步"})
        finally:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    """Whether the sync lock is free (taken and let go at once), with the sync lock's own calls."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def holds(db_path: Path) -> bool:
    """This process holds the lock of `db_path`."""
    return _key(db_path) in _held


def refuse_while_replacing(db_path: Path, doing: str) -> None:
    """For a sync, which does not hold the database's lock: DatabaseInUse while another process
    encrypts or restores the database (its lock says `replacing`), whose rename would lose what
    the sync writes. The app or a command merely holding the database does not stop a sync."""
    if holds(db_path):
        return
    try:
        acquire(db_path, "gridledger sync 命令", doing=doing)
    except DatabaseInUse as exc:
        if exc.holder.get("replacing"):
            raise
        return
    release(db_path)


@contextlib.contextmanager
def locked(db_path: Path, program: str, *, doing: str = "本次操作", replacing: bool = False) -> Iterator[None]:
    acquire(db_path, program, doing=doing, replacing=replacing)
    try:
        yield
    finally:
        release(db_path)
