"""Opening the local database for a user: unlock (an encrypted file), migrate, sign in.

The CLI and the desktop app both come through here, so a wrong password is the same clear
Chinese message everywhere and changes nothing; an encrypted file never opens without one."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.db.engine import StorageError
from desktop.db.keys import (
    Keyring,
    KeyringError,
    derived_key,
    encrypt_copy,
    encrypt_in_place,
    is_encrypted,
    keyring_path,
    new_key,
    new_recovery_key,
    plain_backups_of_encrypted,
    resume_interrupted,
)
from desktop.db.lock import DatabaseInUse, acquire, locked, refuse_while_syncing, release
from desktop.policy import Ability
from desktop.services.auth import sign_in
from desktop.services.drafts import encrypt_plain_drafts
from desktop.services.errors import PermissionDenied, require
from desktop.services.key_grants import grant
from desktop.services.store import Actor, Store

log = logging.getLogger(__name__)


def users_of(store: Store) -> list[tuple[str, str, str]]:
    """(username, display name, role) of the active local users of an open database."""
    from sqlalchemy import select

    from desktop.models import User

    with store.session() as s:
        rows = s.execute(
            select(User.username, User.display_name, User.role)
            .where(User.deleted_at.is_(None), User.active.is_(True)).order_by(User.username)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


@dataclass(frozen=True)
class LocalDatabase:
    """A database file on this laptop, before anybody has signed in."""

    path: Path

    @property
    def encrypted(self) -> bool:
        return is_encrypted(self.path)

    def users(self) -> list[tuple[str, str, str]]:
        """(username, display name, role) of who can sign in here. For an encrypted file they come
        from the keyring (names and roles only: nothing personal about residents)."""
        if self.encrypted:
            ring = Keyring.load(self.path)
            return [(u, e.get("display") or u, e.get("role") or "") for u, e in sorted(ring.users.items())]
        store = Store.open(self.path)  # never creates one: the first-run assistant does
        try:
            return users_of(store)
        finally:
            store.close()

    def open(self, username: str, password: str, *, create: bool = False) -> tuple[Store, Actor]:
        """Unlock and sign in; raises PermissionDenied (wrong password, unknown user) or StorageError."""
        if self.encrypted:
            try:
                key = Keyring.load(self.path).unlock(username, password)
            except KeyringError as exc:
                raise PermissionDenied(str(exc)) from exc
            store = Store.open(self.path, key=key)
            finish_after_unlock(self.path, key)
        else:
            store = Store.open(self.path, create=create)
        try:
            actor = sign_in(store, username, password)
        except BaseException:
            store.close()
            raise
        return store, actor


def unlock(path: Path, username: str, password: str) -> bytes | None:
    """The database key of an encrypted file (None for a plain one)."""
    if not is_encrypted(path):
        return None
    try:
        key = Keyring.load(path).unlock(username, password)
    except KeyringError as exc:  # the name typed is not logged: it may be a password in the wrong box
        log.info("unlocking the encrypted database refused (wrong user name or password)")
        raise PermissionDenied(str(exc)) from exc
    finish_after_unlock(path, key)
    return key


def start_using(path: Path, program: str, *, doing: str = "本次操作") -> str | None:
    """Take the database's lock for this process (the app for its lifetime, a writing command
    for its run; DatabaseInUse names who has it) and finish or undo what an interrupted
    encryption, backup or restore left (desktop.db.keys.resume_interrupted). stop_using releases."""
    acquire(path, program, doing=doing)
    try:
        return resume_interrupted(path)
    except BaseException:
        release(path)
        raise


def stop_using(path: Path) -> None:
    release(path)


def tidy_if_free(path: Path, program: str) -> str | None:
    """For a reading command: the same recovery as start_using, when nobody else holds the lock
    (otherwise the holder's own run is what is left on disk, and it is not touched)."""
    from desktop.db.keys import journal_path

    if not (path.exists() or journal_path(path).exists()):
        return None
    try:
        outcome = start_using(path, program)
    except DatabaseInUse:
        return None
    stop_using(path)
    return outcome


@dataclass(frozen=True)
class Encrypted:
    """What encryption hands back: the encrypted copy taken just before, and the recovery key to
    show (and print) once for the office safe. Only a wrapped copy of the database key under it
    is kept on the laptop."""

    backup: Path
    recovery_key: str


ENCRYPT_PROGRAM = "网格台账(加密数据库)"


def encrypt(path: Path, username: str, password: str, *, others: dict[str, str] | None = None,
            progress: Callable[[int, int, str], None] | None = None, sync_held: bool = False) -> Encrypted:
    """Convert a plain database to SQLCipher for the signed-in `username` (checked first): the key
    is wrapped for this user (and for `others`: {user: password}, used by the demo) and under a new
    recovery key; the file, a safety copy and every backup are encrypted through the journal of
    desktop.db.keys (docs/design/STORAGE.md § Encryption journal), so a kill at any step is finished
    or undone at the next start; plain drafts are encrypted too. Refused while another process has
    the database open or a sync runs (`sync_held`: the caller's own sync holds the sync lock, a new
    laptop's first sync). `progress(done, total, text)` hears of each step."""
    say = progress or (lambda done, total, text: None)
    with locked(path, ENCRYPT_PROGRAM, doing="加密", replacing=True):
        if not sync_held:
            refuse_while_syncing(path, "加密")
        resume_interrupted(path)
        if is_encrypted(path):
            raise StorageError("该数据库已经加密。")
        store, actor = LocalDatabase(path).open(username, password)
        try:
            users = {u: (d, r) for u, d, r in LocalDatabase(path).users()}
        finally:
            store.close()
        key = new_key()
        recovery_key = new_recovery_key()
        ring = Keyring(keyring_path(path))
        for name, pw in {username: password, **(others or {})}.items():
            display, role = users.get(name, (name, ""))
            ring.add(name, pw, key, save=False)
            ring.users[name].update(display=display, role=role)
        ring.set_recovery(recovery_key, key)
        from desktop.services.backup import is_plain, list_backups

        plain = [b for b in list_backups(path) if is_plain(b.path)]

        def audit(tmp: Path) -> None:  # into the encrypted copy, before it replaces the database
            from desktop.services.audit import write_audit

            copy = Store.open(tmp, key=key)
            try:
                with copy.transaction() as s:
                    write_audit(s, actor, "encrypt", None, None,
                                {"users": sorted(ring.users), "backups_encrypted": len(plain)}, "加密本机数据库")
            finally:
                copy.close()

        say(0, 0, "正在备份并加密数据库…")
        backup = encrypt_in_place(path, key, ring=ring, before_switch=audit, progress=say)
        encrypt_plain_drafts(derived_key(key, "drafts"))
    return Encrypted(backup, recovery_key)


def finish_after_unlock(path: Path, key: bytes) -> int:
    """With the key at hand: plain backups still beside an encrypted database (an older version's
    interrupted conversion) are encrypted, and plain drafts too. Returns the backups converted."""
    converted = 0
    ring = Keyring.load(path)
    for plain in plain_backups_of_encrypted(path):
        try:
            encrypt_copy(plain, plain, key)
            ring.save_copy(plain)
            converted += 1
        except Exception:  # a damaged plain backup: not left readable on an encrypted laptop
            log.warning("plain backup %s could not be encrypted: removed", plain.name, exc_info=True)
            plain.unlink(missing_ok=True)
    encrypt_plain_drafts(derived_key(key, "drafts"))
    return converted


def add_local_user(path: Path, admin: str, admin_password: str, username: str, password: str) -> None:
    """An admin or supervisor who can unlock this laptop opens it for another local user."""
    store, actor = LocalDatabase(path).open(admin, admin_password)
    try:
        require(actor, Ability.GRANT_ACCESS)
        sign_in(store, username, password)  # the user exists here, and this is their password
        from desktop.services.auth import actor_for

        other = actor_for(store, username)
        grant(store, username, password, display=other.display_name, role=other.role)
    finally:
        store.close()


def change_password(path: Path, username: str, old: str, new: str) -> None:
    """A new password: the local sign-in hash and the user's key entry; the file is not re-encrypted."""
    from desktop.services.users import Users, check_password

    check_password(new, field="新密码")
    store, actor = LocalDatabase(path).open(username, old)
    try:
        Users(store, actor).change_own_password(old, new)
    finally:
        store.close()


def describe(path: Path) -> str:
    """Whether the database is encrypted and who can unlock it (a file that is no database is a
    StorageError, as for every other command)."""
    from desktop.db.failures import check_database_file

    if is_encrypted(path):
        check_database_file(path, plain=False)
    else:
        Store.open(path).close()
    ring = Keyring.load(path) if is_encrypted(path) else None
    if ring is None:
        return json.dumps({"encrypted": False}, ensure_ascii=False)
    return json.dumps({"encrypted": True, "users": sorted(ring.users)}, ensure_ascii=False)


# --- the recovery key -------------------------------------------------------------------------
# Shown once at encryption (Encrypted.recovery_key); the laptop keeps only the database key
# wrapped under it, in the keyring, in <db>.recovery and in every backup's keyring copy. These are
# the service functions a first-run assistant, the settings page and the command line all call.

RECOVERY_ACTOR = Actor("system", display_name="恢复密钥")


def unlock_with_recovery_key(path: Path, recovery_key: str, *, backup: Path | None = None) -> bytes:
    """The database key of `path` from the recovery key (PermissionDenied: a key that does not fit,
    or no recovery record left, each in one Chinese sentence)."""
    from desktop.db.keys import (
        backup_keyring_path,
        normalize_recovery_key,
        recovery_entries,
        recovery_path,
    )

    try:
        text = normalize_recovery_key(recovery_key)
    except KeyringError as exc:
        raise PermissionDenied(str(exc)) from exc
    entries = recovery_entries(path)
    if backup is not None:
        copy = Keyring.load_file(backup_keyring_path(backup)) if backup_keyring_path(backup).exists() else None
        if copy is not None and copy.recovery is not None and copy.recovery not in entries:
            entries.append(copy.recovery)
    if not entries:
        raise PermissionDenied(
            f"找不到恢复密钥的记录:{recovery_path(path).name}、密钥文件 {keyring_path(path).name} 和备份文件夹中"
            "随备份保存的密钥文件都不在了(或这个数据库加密时还没有恢复密钥),无法用恢复密钥解锁。"
            "请把这些文件从别处的副本放回数据库所在的文件夹后重试。")
    from desktop.db.keys import unwrap_recovery

    last: KeyringError | None = None
    for entry in entries:
        try:
            return unwrap_recovery(entry, text)
        except KeyringError as exc:
            last = exc
    assert last is not None
    raise PermissionDenied(str(last)) from last


def recover_keyring(path: Path, recovery_key: str, username: str, password: str) -> None:
    """Rebuild the keyring of an encrypted database whose keyring is lost or damaged, or that
    nobody can unlock any more: the recovery key unlocks it, `username` proves their password
    (the one stored in the database), and gets their own entry again (kept: the other users'
    entries that can still be read, and the same recovery key). Other users are added afterwards
    as usual (add_local_user)."""
    from desktop.db.keys import recovery_entries, unwrap_recovery

    key = unlock_with_recovery_key(path, recovery_key)
    with locked(path, "网格台账(用恢复密钥重建密钥文件)", doing="重建密钥文件"):
        store = Store.open(path, key=key)
        try:
            actor = sign_in(store, username, password)
        finally:
            store.close()
        try:
            ring = Keyring.load(path)
        except KeyringError:  # damaged: rebuilt from nothing
            ring = Keyring(keyring_path(path))
        ring.add(username, password, key, save=False)
        ring.users[username].update(display=actor.display_name or username, role=actor.role)
        for entry in recovery_entries(path):  # the same recovery key stays valid (it is in the safe)
            try:
                unwrap_recovery(entry, recovery_key)
            except KeyringError:
                continue
            ring.recovery = entry
            break
        ring.save()


def restore_with_recovery_key(path: Path, backup: Path, recovery_key: str) -> Path:
    """Restore `backup` over the database at `path` when no password can unlock it (the keyring
    is lost, or every password forgotten): the recovery key gives the database key. A lost
    keyring comes back from the copy kept with the backup; without one, only the recovery entry
    is written, and users get theirs with recover_keyring. Returns the safety copy."""
    from desktop.services.backup import restore

    key = unlock_with_recovery_key(path, recovery_key, backup=backup)
    safety = restore(path, backup, RECOVERY_ACTOR, key=key)
    if not keyring_path(path).exists():
        ring = Keyring(keyring_path(path))
        ring.set_recovery(recovery_key, key)
        ring.save()
    return safety


def new_recovery_key_for(path: Path, username: str, password: str) -> str:
    """A new recovery key for an encrypted laptop (one encrypted before recovery keys existed, or
    whose key sheet was lost), by an admin or supervisor who unlocks it: returned to be shown once;
    the laptop keeps only the database key wrapped under it. The old key no longer opens the
    database through its keyring or recovery record (the keyring copies of older backups still
    hold the old one: those backups open with either)."""
    store, actor = LocalDatabase(path).open(username, password)
    try:
        require(actor, Ability.ENCRYPT_DATABASE)
        key = store.key
        if key is None:
            raise StorageError("该数据库没有加密,不需要恢复密钥(加密时会生成)。")
        recovery_key = new_recovery_key()
        with locked(path, "网格台账(生成恢复密钥)", doing="生成恢复密钥"):
            ring = Keyring.load(path)
            ring.set_recovery(recovery_key, key)
            ring.save()
        from desktop.services.audit import write_audit

        with store.transaction() as s:
            write_audit(s, actor, "recovery_key", None, None, {}, "生成新的恢复密钥")
    finally:
        store.close()
    return recovery_key
