"""Local users of this laptop: who may sign in, with which role and grids, and (on an encrypted
laptop) who holds a wrapped copy of the database key.

Only a community admin or a supervisor manages users; everybody may change their own password.
Writes go through the record service (validation, audit, change log) in one transaction; the
keyring beside an encrypted file is updated after the commit, so a failure there leaves a user
who exists but cannot unlock yet (the list says so, and resetting the password fixes it), never
a key for a user who does not exist. Passwords are never written to the audit trail."""

from __future__ import annotations

import builtins  # `list` in this class is Users.list
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.models import Area, User, UserGrid
from desktop.models.base import row_as
from desktop.policy import Ability, allows, holders, sees_all_grids
from desktop.services.areas import area_tree
from desktop.services.auth import hash_password, verify_password
from desktop.services.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationFailed,
    require,
)
from desktop.services.key_grants import grant
from desktop.services.records import Records
from desktop.services.store import Actor, Store
from desktop.validation import code_table
from desktop.validation.result import Issue

if TYPE_CHECKING:
    from desktop.db.keys import Keyring

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
MIN_PASSWORD = 8


def check_password(password: str, *, field: str = "密码") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed([Issue(field, "user.password", f"{field}:至少需要 {MIN_PASSWORD} 个字符")])


class Users:
    """User management for a signed-in `actor` on an open store."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self._records = Records(store, actor)

    # --- reads ------------------------------------------------------------------------------
    def _require_admin(self) -> None:
        require(self.actor, Ability.MANAGE_USERS, act="管理本机用户")

    @property
    def encrypted(self) -> bool:
        return self.store.key is not None and self.store.path is not None

    def _keyring(self) -> Keyring | None:
        """The keyring beside an encrypted file; None for a plain one."""
        if self.store.key is None or self.store.path is None:  # not self.encrypted
            return None
        from desktop.db.keys import Keyring

        return Keyring.load(self.store.path)

    def _keyring_users(self) -> set[str] | None:
        ring = self._keyring()
        return None if ring is None else set(ring.users)

    def list(self) -> list[dict[str, Any]]:
        """Every local user (active and disabled) with role label, grid names and whether they
        can unlock this laptop (None on a plain one)."""
        self._require_admin()
        holders = self._keyring_users()
        roles = code_table("user_role")
        with self.store.session() as s:
            users = s.scalars(select(User).where(User.deleted_at.is_(None)).order_by(User.username)).all()
            grids: dict[str, list[tuple[str, str]]] = {}
            for uid, gid, name in s.execute(
                select(UserGrid.user_id, Area.id, Area.name).join(Area, Area.id == UserGrid.grid_id)
                .where(UserGrid.deleted_at.is_(None)).order_by(Area.name)
            ):
                grids.setdefault(uid, []).append((gid, name))
            return [
                {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                 "role_label": roles.label(u.role), "phone": u.phone, "active": bool(u.active),
                 "grids": grids.get(u.id, []), "version": u.version,
                 "can_unlock": None if holders is None else u.username in holders}
                for u in users
            ]

    def grid_choices(self) -> builtins.list[tuple[str, str]]:
        """(id, "community / grid") of every grid, for assigning."""
        with self.store.session() as s:
            tree = area_tree(s)
        return sorted(((g.id, tree.grid_label(g.id, " / ")) for g in tree.grids()), key=lambda t: t[1])

    # --- writes -----------------------------------------------------------------------------
    def _user(self, s: Session, username: str) -> User:
        user = s.scalars(select(User).where(User.username == username, User.deleted_at.is_(None))).first()
        if user is None:
            raise NotFound(f"找不到用户“{username}”")
        return user

    @staticmethod
    def _role(role: str | None, issues: builtins.list[Issue]) -> str:
        """The role's code (a label such as 网格员 is accepted too)."""
        table = code_table("user_role")
        code = table.code_for(str(role or ""))
        if code is None:
            issues.append(Issue("角色", "user.role", f"角色:“{role}”不在《{table.title}》代码表中"))
        return code or ""

    def _check_grids(self, role: str, grid_ids: builtins.list[str]) -> None:
        if not sees_all_grids(role) and not grid_ids:
            raise ValidationFailed([Issue("负责网格", "user.grids", "负责网格:网格员至少需要分配一个网格")])

    def _set_grids(self, s: Session, user: User, grid_ids: builtins.list[str]) -> None:
        rows = s.scalars(select(UserGrid).where(UserGrid.user_id == user.id)).all()
        by_grid = {r.grid_id: r for r in rows}
        wanted = set(grid_ids)
        for gid, row in by_grid.items():
            if gid not in wanted and row.deleted_at is None:
                self._records._set_deleted(s, "user_grid", row.id, True, None)
            elif gid in wanted and row.deleted_at is not None:
                self._records._set_deleted(s, "user_grid", row.id, False, None)
        for gid in sorted(wanted - set(by_grid)):
            self._records._create(s, "user_grid", {"user_id": user.id, "grid_id": gid})

    def _other_admins(self, s: Session, username: str) -> int:
        return len(s.scalars(select(User.id).where(
            User.username != username, User.deleted_at.is_(None), User.active.is_(True),
            User.role.in_(sorted(holders(Ability.MANAGE_USERS))))).all())

    def create(self, username: str, display_name: str, role: str, password: str, *,
               grid_ids: builtins.list[str] | tuple[str, ...] = (), phone: str | None = None) -> dict[str, Any]:
        self._require_admin()
        username = (username or "").strip()
        issues = []
        if not USERNAME.match(username):
            issues.append(Issue("用户名", "user.username",
                                "用户名:2–32 个英文字母、数字或 _ . -,以字母或数字开头(例如 wangyi)"))
        if len(password or "") < MIN_PASSWORD:
            issues.append(Issue("密码", "user.password", f"密码:至少需要 {MIN_PASSWORD} 个字符"))
        role = self._role(role, issues)
        if issues:
            raise ValidationFailed(issues)
        self._check_grids(role, list(grid_ids))
        with self.store.transaction() as s:
            user = row_as(User, self._records._create(s, "app_user", {
                "username": username, "display_name": (display_name or "").strip() or username, "role": role,
                "phone": phone or None, "active": True, "password_hash": hash_password(password)}))
            self._set_grids(s, user, [] if sees_all_grids(role) else list(grid_ids))
            out = {"username": username, "role": user.role, "display_name": user.display_name}
        self._grant(username, password, out["display_name"], out["role"])
        return out

    def update(self, username: str, *, display_name: str | None = None, role: str | None = None,
               grid_ids: builtins.list[str] | None = None, phone: str | None = None) -> dict[str, Any]:
        """Name, role, phone and grids of a user (not the password: see reset_password)."""
        self._require_admin()
        with self.store.transaction() as s:
            user = self._user(s, username)
            issues: list[Issue] = []
            new_role = self._role(role, issues) if role else user.role
            if issues:
                raise ValidationFailed(issues)
            if username == self.actor.username and new_role != user.role:
                raise ServiceError("不能修改自己的角色,请由另一位社区管理员或网格长修改")
            if allows(user.role, Ability.MANAGE_USERS) and not allows(new_role, Ability.MANAGE_USERS) and not self._other_admins(s, username):
                raise ServiceError("本机至少要保留一位社区管理员或网格长")
            changes: dict[str, Any] = {"role": new_role}
            if display_name is not None:
                changes["display_name"] = display_name.strip() or username
            if phone is not None:
                changes["phone"] = phone.strip() or None
            if grid_ids is not None or new_role != user.role:
                wanted = [] if sees_all_grids(new_role) else list(
                    grid_ids if grid_ids is not None else self._grids_of(s, user))
                self._check_grids(new_role, wanted)
            else:
                wanted = None
            self._records._update(s, "app_user", user.id, changes)
            if wanted is not None:
                self._set_grids(s, user, wanted)
            out = {"username": username, "role": user.role, "display_name": user.display_name}
        self._describe_key(username, out["display_name"], out["role"])
        return out

    def _grids_of(self, s: Session, user: User) -> builtins.list[str]:
        return list(s.scalars(select(UserGrid.grid_id).where(
            UserGrid.user_id == user.id, UserGrid.deleted_at.is_(None))))

    def reset_password(self, username: str, password: str) -> None:
        """An admin sets a new password for a user (who forgot theirs, or a re-enabled one): the
        sign-in hash and, on an encrypted laptop, the user's wrapped key."""
        self._require_admin()
        check_password(password, field="新密码")
        with self.store.transaction() as s:
            user = self._user(s, username)
            if not user.active:
                raise ServiceError(f"用户“{username}”已停用,请先启用")
            self._records._update(s, "app_user", user.id, {"password_hash": hash_password(password)})
            from desktop.services.audit import write_audit

            write_audit(s, self.actor, "password", "app_user", user.id, {"username": username},
                        f"重置用户 {username} 的密码")
            display, role = user.display_name, user.role
        self._grant(username, password, display, role)

    def set_active(self, username: str, active: bool, *, password: str | None = None) -> None:
        """Disable (the user can no longer sign in; on an encrypted laptop their key entry is
        removed) or enable again (with a new password, which the key entry needs)."""
        self._require_admin()
        if username == self.actor.username and not active:
            raise ServiceError("不能停用自己")
        if active:
            check_password(password or "", field="新密码")
        with self.store.transaction() as s:
            user = self._user(s, username)
            if not active and allows(user.role, Ability.MANAGE_USERS) and not self._other_admins(s, username):
                raise ServiceError("本机至少要保留一位社区管理员或网格长")
            changes: dict[str, Any] = {"active": active}
            if active:
                changes["password_hash"] = hash_password(password or "")
            self._records._update(s, "app_user", user.id, changes)
            display, role = user.display_name, user.role
        if active:
            self._grant(username, password or "", display, role)
        elif (ring := self._keyring()) is not None:
            ring.remove(username)

    def change_own_password(self, old: str, new: str) -> None:
        """Any user: their own password (the old one is checked; the file is not re-encrypted)."""
        check_password(new, field="新密码")
        with self.store.transaction() as s:
            user = self._user(s, self.actor.username)
            if not verify_password(old, user.password_hash):
                raise PermissionDenied("原密码不正确")
            # the user's own row: written as the user themselves, whatever their role
            user.password_hash = hash_password(new)
            from desktop.models import utcnow
            from desktop.services.audit import write_audit

            user.updated_at = utcnow()
            user.updated_by = self.actor.username
            write_audit(s, self.actor, "password", "app_user", user.id, {"username": user.username},
                        "修改本人密码")
            display, role = user.display_name, user.role
        self._grant(self.actor.username, new, display, role)

    # --- the keyring ------------------------------------------------------------------------
    def _grant(self, username: str, password: str, display: str | None, role: str) -> None:
        if self.encrypted:
            grant(self.store, username, password, display=display, role=role)

    def _describe_key(self, username: str, display: str | None, role: str) -> None:
        """Keep the sign-in list's name and role (kept beside each key entry) current."""
        ring = self._keyring()
        if ring is None:
            return
        entry = ring.users.get(username)
        if entry is not None and (entry.get("display"), entry.get("role")) != (display or username, role):
            entry.update(display=display or username, role=role)
            ring.save()
