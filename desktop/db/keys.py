"""Encryption at rest: the local database is a SQLCipher file opened with a random 256-bit key.
That key is never stored in the clear: a keyring file beside the database holds it wrapped once
per local user (AES-256-GCM under a key derived from the user's password with scrypt). Several
users of one laptop each unlock it; a password change re-wraps one entry and never re-encrypts
the file. Without a password the file and the keyring read as noise.

    gridledger.db           SQLCipher database
    gridledger.db.keys      {"version": 1, "users": {name: {salt, n, r, p, nonce, wrapped}}}"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktop.db.copies import backup_database, prune_backups, remove_quietly, sqlcipher_key

SQLITE_HEADER = b"SQLite format 3\x00"
_N, _R, _P = 2**15, 8, 1
KEY_BYTES = 32


class KeyringError(Exception):
    """A key that cannot be unlocked; str() is the Chinese message for the user."""


def keyring_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".keys")


def is_encrypted(db_path: Path) -> bool:
    """A SQLite file starts with its header in the clear; a SQLCipher file is random from byte 0
    and has its keyring beside it (random bytes without one are simply a damaged file)."""
    if not keyring_path(db_path).exists():
        return False
    try:
        with open(db_path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return len(head) == 16 and head != SQLITE_HEADER


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def derived_key(key: bytes, purpose: str) -> bytes:
    """A separate 256-bit key for something else kept on this laptop (form drafts...), derived
    from the database key with HKDF, so it unlocks exactly when the database does."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"gridledger {purpose} v1".encode()).derive(key)


def _kek(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * 1024 * 1024)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@dataclass
class Keyring:
    path: Path
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, db_path: Path) -> Keyring:
        path = keyring_path(db_path)
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            users = dict(data["users"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"本机密钥文件 {path.name} 已损坏,无法解锁数据库(可从备份恢复)") from exc
        return cls(path, users)

    def save(self) -> None:
        body = json.dumps({"version": 1, "users": self.users}, ensure_ascii=False, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, username: str, password: str, key: bytes) -> None:
        """Wrap `key` for `username` (adds or replaces the entry; the file is saved)."""
        salt, nonce = os.urandom(16), os.urandom(12)
        wrapped = AESGCM(_kek(password, salt, _N, _R, _P)).encrypt(nonce, key, username.encode())
        self.users[username] = {"salt": _b64(salt), "n": _N, "r": _R, "p": _P, "nonce": _b64(nonce),
                                "wrapped": _b64(wrapped)}
        self.save()

    def remove(self, username: str) -> None:
        if self.users.pop(username, None) is not None:
            self.save()

    def unlock(self, username: str, password: str) -> bytes:
        entry = self.users.get(username)
        if entry is None:
            raise KeyringError(
                f"用户“{username}”还没有本机数据库的解锁密钥。请由已能登录本机的社区管理员或网格长"
                "在 设置 → 本机用户 中为您重置密码(或运行 gridledger keys add-user)。"
            )
        try:
            kek = _kek(password, base64.b64decode(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"]))
            return AESGCM(kek).decrypt(base64.b64decode(entry["nonce"]), base64.b64decode(entry["wrapped"]),
                                       username.encode())
        except InvalidTag:
            raise KeyringError("用户名或密码不正确") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise KeyringError("本机密钥文件中该用户的记录已损坏") from exc


def encrypt_in_place(db_path: Path, key: bytes) -> Path:
    """Convert a plain SQLite file (closed by every user) to SQLCipher. A backup is taken
    first (by SQLite's online backup) and returned; the conversion writes a new file and renames
    it over the old one, so a crash leaves either the plain or the encrypted file, never half."""
    import sqlcipher3

    backup = backup_database(db_path, "before-encryption", prune=False)
    tmp = db_path.with_name(db_path.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    try:
        con = sqlcipher3.connect(str(db_path))
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute(f"ATTACH DATABASE ? AS enc KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
            con.execute("SELECT sqlcipher_export('enc')")
            con.execute("DETACH DATABASE enc")
        finally:
            con.close()
        check = sqlcipher3.connect(str(tmp))
        try:
            check.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise KeyringError("加密转换校验失败,原数据库未改动")
        finally:
            check.close()
    except BaseException:  # the file is still plain and unchanged: no copy of it is left behind
        remove_quietly(tmp, Path(f"{tmp}-journal"), backup)
        raise
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, db_path)
    prune_backups(db_path)
    return backup


def encrypt_copy(plain: Path, target: Path, key: bytes) -> None:
    """An encrypted copy of a closed plain SQLite file (a backup) under `key`, written beside the
    target and renamed over it."""
    import sqlcipher3

    tmp = target.with_name(target.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    # opened read-write, so that closing it checkpoints and removes a WAL it may have had (a
    # read-only connection would leave -wal/-shm files behind, beside the file renamed over)
    src = sqlcipher3.connect(str(plain))
    try:
        src.execute(f"ATTACH DATABASE ? AS enc KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
        src.execute("SELECT sqlcipher_export('enc')")
        src.execute("DETACH DATABASE enc")
    finally:
        src.close()
    for suffix in ("-wal", "-shm"):
        Path(str(plain) + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)


def plain_readable(db_path: Path) -> bool:
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return True
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False
