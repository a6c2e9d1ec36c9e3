"""Local password hashing (scrypt from the standard library) and sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from sqlalchemy import select

from desktop.models import User, UserGrid
from desktop.policy import sees_all_grids
from desktop.services.errors import PermissionDenied
from desktop.services.store import Actor, Store

log = logging.getLogger(__name__)

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got, base64.b64decode(digest))


def actor_for(store: Store, username: str) -> Actor:
    """The Actor of a local user, with the grids assigned to them now."""
    with store.session() as s:
        user = s.scalars(select(User).where(User.username == username, User.deleted_at.is_(None))).first()
        if user is None or not user.active:
            raise PermissionDenied(f"用户“{username}”不存在或已停用")
        grids = None
        if not sees_all_grids(user.role):
            grids = frozenset(
                s.scalars(
                    select(UserGrid.grid_id).where(UserGrid.user_id == user.id, UserGrid.deleted_at.is_(None))
                )
            )
        return Actor(user.username, user.role, grids, store.meta("device_id"), user.display_name)


def sign_in(store: Store, username: str, password: str) -> Actor:
    with store.session() as s:
        user = s.scalars(select(User).where(User.username == username, User.deleted_at.is_(None))).first()
        ok = user is not None and user.active and verify_password(password, user.password_hash)
    if not ok:  # the name typed is not logged: it may be a password typed into the wrong box
        log.info("local sign-in refused (wrong user name or password)")
        raise PermissionDenied("用户名或密码不正确")
    return actor_for(store, username)
