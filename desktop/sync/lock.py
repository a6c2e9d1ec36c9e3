"""One sync at a time per laptop database.

Two syncs of one file at once (two `gridledger sync`, or the app's 同步 page and a command)
would each say hello to the server; the server rolls the device's epoch at every hello, so the
slower one looked like a copied file and enrolled the laptop again as a new device. Every sync
(over the network or through a bundle) therefore holds the file's sync lock: an operating-system
lock on `<database>.sync-lock` beside it, which the system drops when the process ends however it
ends (nothing stale is left to clean up). Within one process the lock is re-entrant for the
thread that holds it (the command takes it before it creates a new laptop file, the sync cycle
takes it again) and refused to every other thread."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from desktop.services.store import Store

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _os_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _os_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class SyncLocked(Exception):
    """The sync could not start; str() is the Chinese message. `code`: "busy" (another sync of
    the same file is running) or "lock_file" (the lock file could not be made)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Held:
    thread: int
    depth: int
    fd: int | None


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".sync-lock")


def _busy(db_path: Path | None) -> SyncLocked:
    name = db_path.name if db_path is not None else "(内存数据库)"
    return SyncLocked(f"本机数据库 {name} 正在同步(另一个同步窗口或命令还没有结束),这次没有同步,"
                      "请等它结束后再试。", "busy")


def _acquire(path: Path, db_path: Path) -> int:
    """The locked file descriptor of `path`, or SyncLocked."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SyncLocked(f"无法建立同步锁文件 {path}:{exc.strerror},这次没有同步,"
                             "请检查数据库所在文件夹能否写入。", "lock_file") from exc
        try:
            if not _os_lock(fd):
                raise _busy(db_path)
            # a failed first sync removes its new file and this lock file: if that happened
            # between open and lock, the lock is on a removed file; take the current one
            mine = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        _release(fd)


def _release(fd: int) -> None:
    try:
        _os_unlock(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def holding(db_path: Path | None, *, key: str | None = None) -> Iterator[None]:
    """Hold the sync lock of the database at `db_path` (None or ":memory:": a database only this
    process sees, locked within the process under `key`). Raises SyncLocked when another sync
    of it is running."""
    memory = db_path is None or str(db_path) == ":memory:"
    name = key or (":memory:" if memory else os.path.realpath(str(db_path)))
    me = threading.get_ident()
    with _guard:
        held = _held.get(name)
        if held is not None:
            if held.thread != me:
                raise _busy(None if memory else db_path)
            held.depth += 1
        else:
            fd = None if memory else _acquire(lock_path(Path(name)), Path(str(db_path)))
            _held[name] = _Held(me, 1, fd)
    try:
        yield
    finally:
        with _guard:
            held = _held[name]
            held.depth -= 1
            if held.depth == 0:
                del _held[name]
                if held.fd is not None:
                    _release(held.fd)


def sync_lock(store: Store) -> AbstractContextManager[None]:
    """The sync lock of `store`'s database."""
    memory = store.path is None or str(store.path) == ":memory:"
    return holding(store.path, key=f":memory:{id(store)}" if memory else None)
