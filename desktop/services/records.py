"""Create, update, soft-delete and restore every record kind.

Each write: validation (nothing written if it fails), version bump (optimistic locking), audit
entry, and - through the storage layer's triggers - a sync change-log entry, all in one
transaction. Services return plain dicts, never live ORM objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ForeignKey, Text, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desktop.models import BOOKKEEPING_COLUMNS, SYNCED_MODELS, Area, Base, utcnow
from desktop.services import rules
from desktop.services.audit import write_audit
from desktop.services.coerce import CoerceError, coerce
from desktop.services.draft import Draft
from desktop.services.errors import NotFound, PermissionDenied, StaleRecord, ValidationFailed
from desktop.services.fields import CODE_FIELDS, KIND_LABELS, label
from desktop.services.store import ROLES_ALL_GRIDS, Actor, Store
from desktop.validation import code_table
from desktop.validation.result import Issue

MODELS: dict[str, type[Base]] = {m.__tablename__: m for m in SYNCED_MODELS}  # type: ignore[attr-defined]
TOMBSTONE = {"deleted_at", "deleted_by"}
# Kinds whose rows are scoped by a grid.
GRID_SCOPED = {k for k, m in MODELS.items() if "grid_id" in m.__table__.c}  # type: ignore[attr-defined]


def model_for(kind: str) -> type[Base]:
    try:
        return MODELS[kind]
    except KeyError:
        raise NotFound(f"未知的记录类型:{kind}") from None


def to_dict(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


def clean(s: Session, actor: Actor, kind: str, data: dict[str, Any], existing: dict | None) -> Draft:
    """Coerce and validate `data` for `kind`; raise ValidationFailed listing every problem."""
    model = model_for(kind)
    table = model.__table__  # type: ignore[attr-defined]
    if kind == "area" and actor.role not in ROLES_ALL_GRIDS:
        raise PermissionDenied("只有社区管理员或网格长可以新建或修改区域与网格")
    if kind in ("app_user", "user_grid") and actor.role not in ROLES_ALL_GRIDS:
        raise PermissionDenied("只有社区管理员或网格长可以新建或修改本机用户")
    draft = Draft(kind, {}, existing)
    for key, raw in data.items():
        if key in BOOKKEEPING_COLUMNS or key in TOMBSTONE or key not in table.c:
            draft.issues.append(Issue(key, "field.unknown", f"“{key}”不是{KIND_LABELS[kind]}的可填写项"))
            continue
        table_name = CODE_FIELDS.get(kind, {}).get(key)
        try:
            # code fields: look the label up first (labels such as 居民身份证 are longer than the code column)
            value = coerce(raw, Text()) if table_name else coerce(raw, table.c[key].type)
        except CoerceError as exc:
            draft.error(key, "field.format", f"{label(kind, key)}:{exc}")
            continue
        if table_name and value is not None:
            code = code_table(table_name).code_for(str(value))
            if code is None:
                draft.error(
                    key, "field.code",
                    f"{label(kind, key)}:“{value}”不在《{code_table(table_name).title}》代码表中",
                )
                continue
            value = code
        draft.values[key] = value
    # kind-specific rules: normalise numbers, derive fields, cross-checks
    hook: Callable[[Session, Draft], None] | None = rules.HOOKS.get(kind)
    if hook is not None:
        hook(s, draft)
    # required columns and references
    for col in table.c:
        if col.key in BOOKKEEPING_COLUMNS or col.key in TOMBSTONE:
            continue
        value = draft.get(col.key)
        if value is None and not col.nullable and col.default is None:
            draft.error(col.key, "field.required", f"{label(kind, col.key)}不能为空")
        if value is not None and col.key in draft.values:
            for fk in col.foreign_keys:
                _check_reference(s, draft, col.key, fk, value)
    if kind in GRID_SCOPED:
        grid_id = draft.get("grid_id")
        if grid_id is not None and not actor.may_access(grid_id):
            raise PermissionDenied(f"您没有权限在该网格({grid_id})中登记或修改{KIND_LABELS[kind]}")
    if draft.issues:
        raise ValidationFailed(draft.issues, draft.warnings)
    return draft


def _check_reference(s: Session, draft: Draft, key: str, fk: ForeignKey, value: Any) -> None:
    target = fk.column.table.name
    target_model = MODELS.get(target)
    if target_model is None:
        return
    row = s.get(target_model, value)
    if row is None or getattr(row, "deleted_at", None) is not None:
        draft.error(key, "field.reference", f"{label(draft.kind, key)}:找不到所选的{KIND_LABELS[target]}")
    elif key == "grid_id" and getattr(row, "level", None) != "grid":
        draft.error(key, "field.grid", f"{label(draft.kind, key)}:“{row.name}”不是网格")  # type: ignore[attr-defined]


class Records:
    """Generic record service. Composite use cases (register a household...) reuse the `_`
    methods inside their own transaction."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    # --- reads --------------------------------------------------------------------------
    def get(self, kind: str, record_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
        with self.store.session() as s:
            return to_dict(self._load(s, kind, record_id, include_deleted=include_deleted))

    def _load(self, s: Session, kind: str, record_id: str, *, include_deleted: bool = False) -> Base:
        obj = s.get(model_for(kind), record_id)
        if obj is None or (not include_deleted and getattr(obj, "deleted_at", None) is not None):
            raise NotFound(f"找不到该{KIND_LABELS.get(kind, kind)}(编号 {record_id}),可能已被删除")
        if kind in GRID_SCOPED and not self.actor.may_access(obj.grid_id):  # type: ignore[attr-defined]
            raise PermissionDenied(f"您没有权限查看该网格的{KIND_LABELS[kind]}")
        return obj

    # --- writes -------------------------------------------------------------------------
    def create(self, kind: str, data: dict[str, Any], **opts: Any) -> dict[str, Any]:
        with self.store.transaction() as s:
            obj = self._create(s, kind, data, **opts)
            return to_dict(obj)

    def update(
        self, kind: str, record_id: str, changes: dict[str, Any], *,
        expected_version: int | None = None, **opts: Any,
    ) -> dict[str, Any]:
        with self.store.transaction() as s:
            obj = self._update(s, kind, record_id, changes, expected_version=expected_version, **opts)
            return to_dict(obj)

    def delete(self, kind: str, record_id: str, *, expected_version: int | None = None) -> dict[str, Any]:
        with self.store.transaction() as s:
            return to_dict(self._set_deleted(s, kind, record_id, True, expected_version))

    def restore(self, kind: str, record_id: str) -> dict[str, Any]:
        with self.store.transaction() as s:
            return to_dict(self._set_deleted(s, kind, record_id, False, None))

    def _create(self, s: Session, kind: str, data: dict[str, Any], **opts: Any) -> Base:
        draft = clean(s, self.actor, kind, data, None)
        rules.before_write(s, self.actor, draft, **opts)
        now = utcnow()
        obj = model_for(kind)(
            **draft.values, created_at=now, created_by=self.actor.username,
            updated_at=now, updated_by=self.actor.username,
        )
        s.add(obj)
        s.flush()
        write_audit(s, self.actor, "create", kind, obj.id, {"fields": sorted(draft.values)})  # type: ignore[attr-defined]
        rules.after_write(s, self.actor, kind, None, to_dict(obj))
        return obj

    def _update(
        self, s: Session, kind: str, record_id: str, changes: dict[str, Any], *,
        expected_version: int | None = None, **opts: Any,
    ) -> Base:
        obj = self._load(s, kind, record_id)
        before = to_dict(obj)
        if expected_version is not None and before["version"] != expected_version:
            raise StaleRecord(
                f"该{KIND_LABELS[kind]}已被他人修改(当前版本 {before['version']},"
                f"您编辑的是版本 {expected_version}),请重新打开后再修改"
            )
        draft = clean(s, self.actor, kind, changes, before)
        rules.before_write(s, self.actor, draft, **opts)
        changed = {k: v for k, v in draft.values.items() if before.get(k) != v}
        if not changed:
            return obj
        for key, value in changed.items():
            setattr(obj, key, value)
        obj.updated_at = utcnow()  # type: ignore[attr-defined]
        obj.updated_by = self.actor.username  # type: ignore[attr-defined]
        try:
            s.flush()
        except StaleDataError as exc:
            raise StaleRecord(f"该{KIND_LABELS[kind]}刚被其他操作修改,请重新打开后再修改") from exc
        write_audit(s, self.actor, "update", kind, record_id, {"fields": sorted(changed)})
        rules.after_write(s, self.actor, kind, before, to_dict(obj))
        return obj

    def _set_deleted(
        self, s: Session, kind: str, record_id: str, deleted: bool, expected_version: int | None
    ) -> Base:
        obj = self._load(s, kind, record_id, include_deleted=True)
        before = to_dict(obj)
        if expected_version is not None and before["version"] != expected_version:
            raise StaleRecord(f"该{KIND_LABELS[kind]}已被他人修改,请刷新后再操作")
        if (before["deleted_at"] is not None) == deleted:
            return obj
        if deleted:
            rules.before_delete(s, self.actor, kind, before)
        if kind in GRID_SCOPED and not self.actor.may_access(before.get("grid_id")):
            raise PermissionDenied(f"您没有权限操作该网格的{KIND_LABELS[kind]}")
        now = utcnow()
        obj.deleted_at = now if deleted else None  # type: ignore[attr-defined]
        obj.deleted_by = self.actor.username if deleted else None  # type: ignore[attr-defined]
        obj.updated_at = now  # type: ignore[attr-defined]
        obj.updated_by = self.actor.username  # type: ignore[attr-defined]
        s.flush()
        write_audit(s, self.actor, "delete" if deleted else "restore", kind, record_id)
        rules.after_write(s, self.actor, kind, before, to_dict(obj))
        return obj


def grid_ids_under(s: Session, area_id: str) -> list[str]:
    """All grid ids at or below an area (community, street...)."""
    rows = s.execute(select(Area.id, Area.parent_id, Area.level).where(Area.deleted_at.is_(None))).all()
    children: dict[str | None, list[tuple[str, str]]] = {}
    for rid, parent, level in rows:
        children.setdefault(parent, []).append((rid, level))
    out: list[str] = []
    stack = [area_id]
    levels = {rid: level for rid, _, level in rows}
    while stack:
        cur = stack.pop()
        if levels.get(cur) == "grid":
            out.append(cur)
        stack.extend(r for r, _ in children.get(cur, []))
    return out
