"""Storage and file failures in words: one Chinese sentence for the user (what happened, that the
data is intact, what to do) for any error SQLite, SQLCipher, SQLAlchemy or the operating system
raises while a command or the app works on the database or on a file.

Every caller that talks to the user (the command line's one handler in desktop/cli/main.py, the
app's start-up) asks `describe`; the exception itself, with its SQL and parameters, goes to the
log file only."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from desktop.db.engine import StorageError, busy_seconds
from desktop.db.keys import SQLITE_HEADER, KeyringError, keyring_path, recovery_path
from desktop.paths import backup_dir_for

# SQLite's primary result codes (https://www.sqlite.org/rescode.html)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

INTACT = "数据未改动"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what SQLAlchemy wrapped (`orig`), and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def _is_db_error(e: BaseException) -> bool:
    """sqlite3's or sqlcipher3's error classes (the two modules do not share a base class)."""
    return any(c.__name__ == "Error" and c.__module__ in ("sqlite3", "sqlcipher3.dbapi2", "sqlcipher3")
               for c in type(e).__mro__)


def kind_of(exc: BaseException) -> str | None:
    """locked, readonly, full, corrupt, missing, notdir, isdir, toolong, permission, io; None when
    `exc` is neither a storage nor a file failure."""
    for e in _chain(exc):
        if _is_db_error(e):
            code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
            text = str(e).lower()
            if code in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in text:
                return "locked"
            if code == SQLITE_READONLY or "readonly" in text or "read-only" in text:
                return "readonly"
            if code == SQLITE_FULL or "disk is full" in text:
                return "full"
            if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
                return "corrupt"
            if code == SQLITE_CANTOPEN or "unable to open" in text:
                return "cantopen"
            if code == SQLITE_IOERR or "i/o error" in text:
                return "io"
            return "corrupt" if type(e).__name__ == "DatabaseError" else "io"
        if isinstance(e, OSError):
            return {
                errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EROFS: "readonly",
                errno.EACCES: "permission", errno.EPERM: "permission", errno.ENOENT: "missing",
                errno.ENOTDIR: "notdir", errno.EISDIR: "isdir", errno.ENAMETOOLONG: "toolong",
                errno.EBUSY: "locked", errno.ETXTBSY: "locked",
            }.get(e.errno or 0, "io")
    return None


def _where(e: BaseException, path: Path | None) -> str:
    name = getattr(e, "filename", None)
    return str(name) if name else (str(path) if path else "")


def _os_error(exc: BaseException) -> OSError | None:
    return next((e for e in _chain(exc) if isinstance(e, OSError)), None)


def describe(exc: BaseException, path: Path | str | None = None) -> str | None:
    """The one sentence for the user, or None when `exc` is not a storage or file failure (a
    bug: the caller says so and logs it). `path` is the database the command worked on."""
    if isinstance(exc, StorageError):
        return exc.message
    if isinstance(exc, KeyringError):  # its str() is the Chinese sentence
        return str(exc)
    kind = kind_of(exc)
    if kind is None:
        return None
    db = Path(path) if path else None
    os_err = _os_error(exc)
    where = _where(os_err, db) if os_err is not None else (str(db) if db else "")
    at = f"{where}:" if where else ""
    named = f" {db} " if db else ""
    if kind == "locked":
        return (f"数据库{named}正被另一个程序使用(网格台账窗口、同步或另一条命令),"
                f"本次操作没有执行,{INTACT}。请关闭其他正在使用它的程序后重试。")
    if kind == "readonly":
        return (f"无法写入{at or '数据库:'}文件或所在文件夹是只读的,本次操作没有执行,{INTACT}。"
                "请检查文件和文件夹的权限(或把数据库复制到可写的位置)后重试。")
    if kind == "permission":
        return f"没有权限访问 {where or '该文件'},本次操作没有执行,{INTACT}。请检查文件和文件夹的权限后重试。"
    if kind == "full":
        return f"磁盘空间已满,本次操作没有完成,{INTACT}(未写完的文件已删除)。请清理磁盘空间后重试。"
    if kind == "corrupt":
        return (f"数据库文件{named}已损坏或不是网格台账数据库,无法读取;文件本身未改动。"
                "请从备份恢复(gridledger restore 备份文件 --yes)。")
    if kind == "cantopen":
        return (f"无法打开数据库文件{named}(文件或所在文件夹不可访问),{INTACT}。"
                "请检查路径和权限后重试。")
    if kind == "missing":
        return f"找不到文件或文件夹 {where},本次操作没有执行,{INTACT}。请检查路径后重试。"
    if kind == "notdir":
        return f"路径 {where} 中有一段是文件而不是文件夹,本次操作没有执行,{INTACT}。请换一个路径后重试。"
    if kind == "isdir":
        return f"{where} 是一个文件夹,不是文件,本次操作没有执行,{INTACT}。请指定一个文件后重试。"
    if kind == "toolong":
        return f"文件名或路径太长,本次操作没有执行,{INTACT}。请换一个较短的名称或路径后重试。"
    detail = getattr(os_err, "strerror", None) if os_err is not None else None
    return (f"读写{at or '数据库时'}出错{('(' + detail + ')') if detail else ''},本次操作没有完成,{INTACT}。"
            "请检查磁盘和路径后重试。")


# --- the database file itself, checked before SQLite touches it ---------------------------------

def _parent_file(path: Path) -> Path | None:
    """The first folder on `path`'s way that is a file (a path nobody can create)."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def missing_database(path: Path) -> StorageError:
    """There is no file at `path` (and a read command never creates one)."""
    parent = _parent_file(path)
    if parent is not None:
        return StorageError(f"数据库路径 {path} 中的 {parent} 是一个文件,不是文件夹,没有读写任何数据。"
                            "请换一个数据库路径后重试。")
    if keyring_path(path).exists():
        return StorageError(f"数据库文件 {path} 不见了,但旁边还有它的密钥文件 {keyring_path(path).name}:"
                            "加密的数据库可能被移走或删除,没有读写任何数据。请把数据库文件放回原处或从备份恢复,"
                            "不要删除密钥文件。")
    return StorageError(f"数据库文件不存在:{path},没有读写任何数据。请先运行 gridledger init(或 gridledger demo)"
                        "创建数据库,或用 --db 指定已有的数据库文件。")


def lost_keyring(path: Path) -> bool:
    """`path` is an encrypted database whose keyring is gone: no keyring beside it, not a plain
    SQLite file, and its recovery record or a backup's keyring copy says it was encrypted."""
    if keyring_path(path).exists():
        return False
    try:
        with open(path, "rb") as fh:
            if fh.read(16) == SQLITE_HEADER:
                return False
    except OSError:
        return False
    folder = backup_dir_for(path)
    return recovery_path(path).exists() or (folder.is_dir() and any(folder.glob(f"{path.stem}-*.db.keys")))


def lost_keyring_message(path: Path) -> str:
    return (f"数据库文件 {path.name} 是加密的,但它的密钥文件 {keyring_path(path).name} 不见了,没有人能用密码解锁;"
            "数据库本身未改动。请用加密时打印的恢复密钥重建密钥文件(gridledger keys recover --user 用户名),"
            f"或把备份文件夹 {backup_dir_for(path)} 中随备份保存的密钥文件(…db.keys)复制回来并改名为 "
            f"{keyring_path(path).name}。")


def check_creatable(path: Path) -> None:
    """A new database may be created at `path` (init, the app's first start): not beside the
    keyring of a lost encrypted file, not under a file."""
    if keyring_path(path).exists() or _parent_file(path) is not None:
        raise missing_database(path)


def check_database_file(path: Path, *, plain: bool = True) -> None:
    """Raise StorageError (one sentence: what, the file unchanged, what to do) unless `path` is a
    regular, non-empty file that can be read and written, in a folder that can be written (WAL
    needs its -wal and -shm files there), and, when `plain`, opens as SQLite and is not locked."""
    if not path.exists():
        raise missing_database(path)
    if path.is_dir():
        raise StorageError(f"{path} 是一个文件夹,不是数据库文件,没有读写任何数据。请指定数据库文件本身"
                           f"(例如 {path / 'gridledger.db'})后重试。")
    if not path.is_file():
        raise StorageError(f"{path} 不是普通文件(可能是设备或管道),不能作为数据库,没有读写任何数据。"
                           "请指定一个数据库文件后重试。")
    if path.stat().st_size == 0:
        if keyring_path(path).exists():
            raise StorageError(f"数据库文件 {path} 是空的(0 字节),但旁边有它的密钥文件:加密的数据库已被截断"
                               "或未写完;文件未改动。请从备份恢复(gridledger restore 备份文件 --yes),不要删除密钥文件。")
        raise StorageError(f"数据库文件 {path} 是空的(0 字节),可能在写入时被中断;文件未改动。"
                           "请从备份恢复(gridledger restore 备份文件 --yes);若是新安装,删除该文件后运行 gridledger init。")
    if not os.access(path, os.R_OK):
        raise StorageError(f"没有权限读取数据库文件 {path};文件未改动。请检查文件权限后重试。")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StorageError(f"数据库所在的文件夹 {path.parent} 是只读的(网格台账需要在其中写入 -wal、-shm 临时文件"
                           "和备份),文件未改动。请把数据库放到可写的文件夹,或修改该文件夹的权限后重试。")
    if not os.access(path, os.W_OK):
        raise StorageError(f"数据库文件 {path} 是只读的,网格台账无法在其中保存;文件未改动。"
                           "请去掉文件的只读属性(或把它复制到可写的文件夹)后重试。")
    if not plain:
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_seconds())
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        kind = kind_of(exc)
        if kind in ("corrupt", "io") and lost_keyring(path):
            raise StorageError(lost_keyring_message(path)) from exc
        if kind in ("corrupt", "io"):
            raise StorageError(f"数据库文件 {path} 已损坏或不是网格台账数据库,无法读取;文件未改动。"
                               "请从备份恢复(gridledger restore 备份文件 --yes)。") from exc
        raise StorageError(describe(exc, path) or str(exc)) from exc
