"""Encryption at rest: the local database is a SQLCipher file opened with a random 256-bit key.
That key is never stored in the clear: a keyring file beside the database holds it wrapped once
per local user (AES-256-GCM under a key derived from the user's password with scrypt). Several
users of one laptop each unlock it; a password change re-wraps one entry and never re-encrypts
the file. Without a password the file and the keyring read as noise.

    gridledger.db           SQLCipher database
    gridledger.db.keys      {"version": 1, "users": {name: {salt, n, r, p, nonce, wrapped}},
                             "recovery": {salt, n, r, p, nonce, wrapped}}
    gridledger.db.recovery  {"version": 1, "recovery": {...}}: the recovery entry on its own
    backups/X.db.keys       the keyring as it was when backup X.db was taken

The recovery key (shown once at encryption time, for the office safe) unwraps the same database
key: a lost or damaged keyring, or a laptop nobody can sign in to, is opened with it
(docs/design/SECURITY.md § Recovery key)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktop.db.copies import backup_folder, prune_backups, remove_quietly, sqlcipher_key
from desktop.paths import backup_dir_for, private_dir, private_file

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


def recovery_path(db_path: Path) -> Path:
    """`<db>.recovery`: the database key wrapped under the recovery key alone, beside the keyring
    (so that losing the keyring file does not lose the way back in)."""
    return db_path.with_name(db_path.name + ".recovery")


def backup_keyring_path(backup: Path) -> Path:
    """The keyring kept with an encrypted backup (`X.db.keys`): it holds only wrapped keys."""
    return backup.with_name(backup.name + ".keys")


# A recovery key: 25 characters of 31 (digits and capitals without 0/O, 1/I/L, which are misread
# on paper): 123 random bits, in five groups of five, written down once for the office safe.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_GROUPS, RECOVERY_GROUP = 5, 5
_RECOVERY_AAD = b"gridledger recovery key"


def new_recovery_key() -> str:
    import secrets

    chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP))
    return "-".join(chars[i:i + RECOVERY_GROUP] for i in range(0, len(chars), RECOVERY_GROUP))


def normalize_recovery_key(text: str) -> str:
    """The recovery key as typed (spaces, dashes, lower case, O for 0...) in its one spelling;
    KeyringError naming what is wrong when it cannot be one."""
    raw = "".join(ch for ch in text.upper() if not ch.isspace() and ch not in "-_")
    if len(raw) != RECOVERY_GROUPS * RECOVERY_GROUP or any(ch not in RECOVERY_ALPHABET for ch in raw):
        raise KeyringError(f"恢复密钥格式不对:应为 {RECOVERY_GROUPS} 组、每组 {RECOVERY_GROUP} 个字母或数字"
                           "(不含 0、1),请对照打印的恢复密钥重新输入。")
    return "-".join(raw[i:i + RECOVERY_GROUP] for i in range(0, len(raw), RECOVERY_GROUP))


def _wrap(secret: str, key: bytes, aad: bytes) -> dict[str, Any]:
    salt, nonce = os.urandom(16), os.urandom(12)
    wrapped = AESGCM(_kek(secret, salt, _N, _R, _P)).encrypt(nonce, key, aad)
    return {"salt": _b64(salt), "n": _N, "r": _R, "p": _P, "nonce": _b64(nonce), "wrapped": _b64(wrapped)}


def _unwrap(secret: str, entry: dict[str, Any], aad: bytes) -> bytes:
    kek = _kek(secret, base64.b64decode(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"]))
    return AESGCM(kek).decrypt(base64.b64decode(entry["nonce"]), base64.b64decode(entry["wrapped"]), aad)


def unwrap_recovery(entry: dict[str, Any], recovery_key: str) -> bytes:
    """The database key from a recovery entry; KeyringError for a key that does not fit."""
    try:
        return _unwrap(normalize_recovery_key(recovery_key), entry, _RECOVERY_AAD)
    except InvalidTag:
        raise KeyringError("恢复密钥不正确(与这个数据库不符),请对照打印的恢复密钥重新输入。") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise KeyringError("恢复密钥的记录已损坏,无法使用。") from exc


def recovery_entries(db_path: Path) -> list[dict[str, Any]]:
    """Every recovery entry that can be found for `db_path`: its .recovery file, its keyring, the
    keyrings kept with its backups (newest first)."""
    found: list[dict[str, Any]] = []
    sources = [recovery_path(db_path), keyring_path(db_path)]
    folder = backup_dir_for(db_path)
    if folder.is_dir():
        sources += sorted(folder.glob(f"{db_path.stem}-*.db.keys"), reverse=True)
    for src in sources:
        try:
            data = json.loads(src.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        entry = data.get("recovery") if isinstance(data, dict) else None
        if isinstance(entry, dict) and entry not in found:
            found.append(entry)
    return found


@dataclass
class Keyring:
    path: Path
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    recovery: dict[str, Any] | None = None

    @classmethod
    def load(cls, db_path: Path) -> Keyring:
        return cls.load_file(keyring_path(db_path))

    @classmethod
    def load_file(cls, path: Path) -> Keyring:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            users = dict(data["users"])
            recovery = data.get("recovery")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(
                f"本机密钥文件 {path.name} 已损坏,无法解锁数据库。请用加密时打印的恢复密钥恢复"
                "(gridledger keys recover --user 用户名),或用备份文件夹中随备份保存的密钥文件替换它。"
            ) from exc
        return cls(path, users, recovery if isinstance(recovery, dict) else None)

    def body(self) -> bytes:
        data: dict[str, Any] = {"version": 1, "users": self.users}
        if self.recovery is not None:
            data["recovery"] = self.recovery
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")

    def save(self) -> None:
        _atomic_write(self.path, self.body())
        if self.recovery is not None:  # the recovery entry also on its own, should the keyring go
            db_path = self.path.with_name(self.path.name[: -len(".keys")])
            if self.path == keyring_path(db_path):
                _atomic_write(recovery_path(db_path),
                              json.dumps({"version": 1, "recovery": self.recovery}).encode("utf-8"))

    def save_copy(self, backup: Path) -> Path:
        """Keep this keyring with the backup `backup` (as X.db.keys); returns the copy's path."""
        target = backup_keyring_path(backup)
        _atomic_write(target, self.body())
        return target

    def set_recovery(self, recovery_key: str, key: bytes) -> None:
        """Wrap `key` under the recovery key (not saved: the caller saves)."""
        self.recovery = _wrap(normalize_recovery_key(recovery_key), key, _RECOVERY_AAD)

    def add(self, username: str, password: str, key: bytes, *, save: bool = True) -> None:
        """Wrap `key` for `username` (adds or replaces the entry; the file is saved)."""
        self.users[username] = _wrap(password, key, username.encode())
        if save:
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
            return _unwrap(password, entry, username.encode())
        except InvalidTag:
            raise KeyringError("用户名或密码不正确") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise KeyringError("本机密钥文件中该用户的记录已损坏") from exc


# --- converting a plain database: a journal of steps, finished or undone at the next start ----
#
#   begin     <db>.encrypting.journal written; nothing else has changed yet
#   copies    <db>.encrypting (the database under the new key), backups/<name>-before-encryption
#             .db.encrypting (the safety copy, encrypted from birth: never a plain copy of the
#             whole street), backups/X.db.encrypting beside every plain backup X.db, the keyring
#             and its recovery entry; the audit row is written into <db>.encrypting
#   switch    <db>.encrypting renamed over <db>: the one step that commits
#   done      every X.db.encrypting renamed over its plain X.db, the journal removed
#
# A start that finds the journal looks at the database itself: still plain (the rename did not
# happen) -> everything the conversion made is removed and the laptop is as before; encrypted ->
# the remaining renames are done and any plain backup left is removed. Neither needs the key.

JOURNAL_SUFFIX = ".encrypting.journal"
PENDING = ".encrypting"  # a file being written under the new key, beside the one it will replace


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + JOURNAL_SUFFIX)


def _write_journal(db_path: Path, step: str, **info: Any) -> None:
    body = json.dumps({"version": 1, "step": step, **info}, ensure_ascii=False)
    _atomic_write(journal_path(db_path), body.encode("utf-8"))


def _atomic_write(path: Path, body: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows has no directory handle to sync)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _header_is_plain(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _pending_backups(db_path: Path) -> list[Path]:
    folder = backup_dir_for(db_path)
    return sorted(folder.glob(f"{db_path.stem}-*.db{PENDING}")) if folder.is_dir() else []


def encrypt_in_place(db_path: Path, key: bytes, *, ring: Keyring | None = None,
                     before_switch: Callable[[Path], None] | None = None,
                     progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Convert a plain SQLite file (closed by every user) to SQLCipher under `key`, with its
    backups, through the journal above; returns the encrypted safety copy taken just before.
    `ring` (the keyring with the new key wrapped) is saved before the switch; `before_switch(tmp)`
    writes into the encrypted copy before it replaces the database (the audit row). A failure
    before the switch undoes everything (the file stays plain and unchanged)."""
    import sqlcipher3

    say = progress or (lambda done, total, text: None)
    tmp = db_path.with_name(db_path.name + PENDING)
    plain_backups = [p for p in _backups(db_path) if _header_is_plain(p)]
    _write_journal(db_path, "begin", backups=[p.name for p in plain_backups],
                   keyring=ring is not None)
    try:
        remove_quietly(tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm"))
        con = sqlcipher3.connect(str(db_path))
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute(f"ATTACH DATABASE ? AS enc KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
            con.execute("SELECT sqlcipher_export('enc')")
            con.execute("DETACH DATABASE enc")
        finally:
            con.close()
        folder = backup_folder(db_path)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        safety = folder / f"{db_path.stem}-{stamp}-before-encryption.db"
        shutil.copyfile(tmp, Path(f"{safety}{PENDING}"))
        for i, plain in enumerate(plain_backups):
            say(i, len(plain_backups), f"正在加密备份 {i + 1}/{len(plain_backups)}…")
            try:
                encrypt_copy(plain, Path(f"{plain}{PENDING}"), key, rename=False)
            except Exception:  # a damaged backup cannot be converted: it is removed at the switch
                remove_quietly(Path(f"{plain}{PENDING}"), Path(f"{plain}{PENDING}-journal"))
        if before_switch is not None:
            before_switch(tmp)
        check = sqlcipher3.connect(str(tmp))
        try:
            check.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise KeyringError("加密转换校验失败,原数据库未改动")
        finally:
            check.close()
        if ring is not None:
            ring.save()
            for pending in _pending_backups(db_path):  # each backup keeps the keyring that opens it
                ring.save_copy(Path(str(pending)[: -len(PENDING)]))
        _write_journal(db_path, "switch", backups=[p.name for p in plain_backups], keyring=ring is not None)
    except BaseException:
        roll_back(db_path)
        raise
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, db_path)
    _sync_folder(db_path.parent)
    finish_forward(db_path)
    prune_backups(db_path)
    return safety


def _backups(db_path: Path) -> list[Path]:
    folder = backup_dir_for(db_path)
    return sorted(folder.glob(f"{db_path.stem}-*.db")) if folder.is_dir() else []


def roll_back(db_path: Path) -> None:
    """Undo a conversion that did not reach the switch: the database is plain and was never
    touched; what the conversion wrote (the encrypted copies, the keyring) is removed."""
    tmp = db_path.with_name(db_path.name + PENDING)
    remove_quietly(tmp, *(Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm")))
    for pending in _pending_backups(db_path):
        final = Path(str(pending)[: -len(PENDING)])
        remove_quietly(pending, Path(f"{pending}-journal"))
        if final.name.endswith("-before-encryption.db") and not final.exists():
            remove_quietly(Path(f"{final}.keys"))
    for copy in _backups(db_path):
        if _header_is_plain(copy):
            remove_quietly(Path(f"{copy}.keys"))
    remove_quietly(keyring_path(db_path), recovery_path(db_path), journal_path(db_path))


def finish_forward(db_path: Path) -> None:
    """Complete a conversion past the switch: every encrypted copy replaces its plain backup, a
    plain backup that could not be converted is removed (no plain copy of the data may stay on
    an encrypted laptop), and the journal goes."""
    for pending in _pending_backups(db_path):
        final = Path(str(pending)[: -len(PENDING)])
        remove_quietly(Path(f"{pending}-journal"))
        os.replace(pending, final)
    for copy in _backups(db_path):
        if _header_is_plain(copy):
            remove_quietly(copy, Path(f"{copy}.keys"))
    tmp = db_path.with_name(db_path.name + PENDING)
    remove_quietly(tmp, *(Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm")))
    _sync_folder(backup_dir_for(db_path))
    remove_quietly(journal_path(db_path))


def resume_interrupted(db_path: Path) -> str | None:
    """At every start, under the database's lock: an encryption that was interrupted (killed, a
    full disk, a power cut) is finished ("finished") or undone ("rolled back"), whichever its
    journal and the file itself say; then what any interrupted write left behind is removed
    (the half-written copies of conversions, backups and restores). None: nothing was pending."""
    outcome = None
    if journal_path(db_path).exists():
        # only the switch's rename changes the database's first bytes: not plain -> it happened
        if db_path.exists() and db_path.stat().st_size > 0 and not _header_is_plain(db_path):
            finish_forward(db_path)
            outcome = "finished"
        else:
            roll_back(db_path)
            outcome = "rolled back"
    leftovers = [db_path.with_name(db_path.name + suffix)
                 for suffix in (PENDING, ".restoring")]
    remove_quietly(*(Path(f"{p}{s}") for p in leftovers for s in ("", "-journal", "-wal", "-shm")))
    remove_quietly(*db_path.parent.glob(f".{db_path.name}*-*"), *db_path.parent.glob(".keys-*"))
    for own in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), keyring_path(db_path),
                recovery_path(db_path)):
        private_file(own)  # an older version's 0644 files: readable by the user alone from now on
    folder = backup_dir_for(db_path)
    if folder.is_dir():
        private_dir(folder)
        for copy in folder.glob(f"{db_path.stem}-*"):
            private_file(copy)
        remove_quietly(*folder.glob(f"{db_path.stem}-*.part"), *folder.glob(f"{db_path.stem}-*.part-journal"),
                       *folder.glob(f"{db_path.stem}-*{PENDING}"), *folder.glob(f"{db_path.stem}-*{PENDING}-journal"),
                       *folder.glob(f".{db_path.stem}-*"))
    return outcome


def plain_backups_of_encrypted(db_path: Path) -> list[Path]:
    """Plain backups beside an encrypted database (left by an older version's interrupted
    conversion): encrypted at the next unlock, when the key is at hand."""
    if not is_encrypted(db_path):
        return []
    return [p for p in _backups(db_path) if _header_is_plain(p)]


def encrypt_copy(plain: Path, target: Path, key: bytes, *, rename: bool = True) -> None:
    """An encrypted copy of a closed plain SQLite file (a backup) under `key`, written beside the
    target and renamed over it (`rename` False: written at `target` itself, which the caller
    renames when its time comes)."""
    import sqlcipher3

    tmp = target.with_name(target.name + PENDING) if rename else target
    tmp.unlink(missing_ok=True)
    # opened read-write, so that closing it checkpoints and removes a WAL it may have had (a
    # read-only connection would leave -wal/-shm files behind, beside the file renamed over)
    try:
        src = sqlcipher3.connect(str(plain))
        try:
            src.execute(f"ATTACH DATABASE ? AS enc KEY \"{sqlcipher_key(key)}\"", (str(tmp),))
            src.execute("SELECT sqlcipher_export('enc')")
            src.execute("DETACH DATABASE enc")
        finally:
            src.close()
    except BaseException:
        remove_quietly(tmp, Path(f"{tmp}-journal"))
        raise
    for suffix in ("-wal", "-shm"):
        Path(str(plain) + suffix).unlink(missing_ok=True)
    if rename:
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
