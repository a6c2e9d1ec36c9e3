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
    encrypt_in_place,
    is_encrypted,
    keyring_path,
    new_key,
)
from desktop.policy import Ability
from desktop.services.auth import sign_in
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
        return Keyring.load(path).unlock(username, password)
    except KeyringError as exc:  # the name typed is not logged: it may be a password in the wrong box
        log.info("unlocking the encrypted database refused (wrong user name or password)")
        raise PermissionDenied(str(exc)) from exc


def encrypt(path: Path, username: str, password: str, *, others: dict[str, str] | None = None,
            progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Convert a plain database to SQLCipher for the signed-in `username` (checked first): a backup
    is taken, the key is wrapped for this user (and for `others`: {user: password}, used by the
    demo), the file is replaced, and every backup (that one included) is encrypted under the same
    key. Returns the backup. `progress(done, total, text)` hears of each step (a big street with
    its backups takes a minute)."""
    say = progress or (lambda done, total, text: None)
    if is_encrypted(path):
        raise StorageError("该数据库已经加密。")
    store, actor = LocalDatabase(path).open(username, password)
    try:
        users = {u: (d, r) for u, d, r in LocalDatabase(path).users()}
    finally:
        store.close()
    key = new_key()
    ring = Keyring.load(path)
    for name, pw in {username: password, **(others or {})}.items():
        display, role = users.get(name, (name, ""))
        ring.add(name, pw, key)
        ring.users[name].update(display=display, role=role)
    say(0, 0, "正在备份并加密数据库…")
    try:
        backup = encrypt_in_place(path, key)
    except BaseException:
        keyring_path(path).unlink(missing_ok=True)  # the file is still plain: no stale keyring
        raise
    ring.save()
    # the backups taken so far (the one just taken included) are plain: encrypted now too, else a
    # lost laptop would still give everything away through its backups folder
    from desktop.db.keys import encrypt_copy
    from desktop.services.backup import is_plain, list_backups

    converted, failed = 0, []
    backups = list_backups(path)
    for i, info in enumerate(backups):
        say(i, len(backups), f"正在加密备份 {i + 1}/{len(backups)}…")
        try:
            if is_plain(info.path):
                encrypt_copy(info.path, info.path, key)
                converted += 1
        except Exception:  # a damaged backup: the database itself is encrypted already; say so below
            failed.append(info.path.name)
    store = Store.open(path, key=key)
    try:
        from desktop.services.audit import write_audit

        with store.transaction() as s:
            write_audit(s, actor, "encrypt", None, None, {"users": sorted(ring.users), "backups_encrypted": converted,
                                                        "backups_not_encrypted": failed},
                        "加密本机数据库")
    finally:
        store.close()
    return backup


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
