"""Create, update, soft-delete and restore every record kind.

Each write: validation (nothing written if it fails), version bump (optimistic locking), audit
entry, and - through the storage layer's triggers - a sync change-log entry, all in one
transaction. Services return plain dicts, never live ORM objects."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, Text, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desktop import kinds
from desktop.kinds import code_fields, field_label
from desktop.kinds import label as kind_label
from desktop.models import BOOKKEEPING_COLUMNS, Area, Base, utcnow
from desktop.policy import Ability
from desktop.services import rules
from desktop.services.audit import write_audit
from desktop.services.coerce import CoerceError, coerce
from desktop.services.errors import (
    NotFound,
    PermissionDenied,
    StaleRecord,
    ValidationFailed,
    require,
)
from desktop.services.store import Actor, Store
from desktop.validation import code_table
from desktop.validation.result import Issue


class _Models(Mapping[str, type[Base]]):
    """kind -> model, read from the registry (desktop/kinds.py) at each use, so a kind registered
    later (a plug-in, a test's throwaway kind) is known too."""

    def __getitem__(self, kind: str) -> type[Base]:
        entry = kinds.find(kind)
        if entry is None:
            raise KeyError(kind)
        return entry.model

    def __iter__(self) -> Iterator[str]:
        return iter(kinds.keys())

    def __len__(self) -> int:
        return len(kinds.keys())


class _GridScoped(Container[str]):
    """Kinds whose rows are scoped by a grid: their table has grid_id."""

    def __contains__(self, kind: object) -> bool:
        entry = kinds.find(str(kind))
        return entry is not None and "grid_id" in entry.model.__table__.c  # type: ignore[attr-defined]


MODELS = _Models()
TOMBSTONE = {"deleted_at", "deleted_by"}
GRID_SCOPED = _GridScoped()


def model_for(kind: str) -> type[Base]:
    try:
        return MODELS[kind]
    except KeyError:
        raise NotFound(f"未知的记录类型:{kind}") from None


def column_kinds(kind: str) -> dict[str, str]:
    """How each column of a kind is typed in a form: "bool", "longtext" (several lines), "datetime",
    "date", "number" or "text"."""
    from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric

    out = {}
    for col in model_for(kind).__table__.columns:  # type: ignore[attr-defined]
        t = col.type
        out[col.key] = ("bool" if isinstance(t, Boolean) else "longtext" if isinstance(t, Text)
                        else "datetime" if isinstance(t, DateTime) else "date" if isinstance(t, Date)
                        else "number" if isinstance(t, Integer | Float | Numeric) else "text")
    return out


def to_dict(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


@dataclass
class Draft:
    """Values being validated, with the issues found so far."""

    kind: str
    values: dict[str, Any]
    existing: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def get(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        return (self.existing or {}).get(key)

    def error(self, fld: str, code: str, message: str) -> None:
        self.issues.append(Issue(field_label(self.kind, fld), code, message))

    def warn(self, fld: str, code: str, message: str) -> None:
        self.warnings.append(Issue(field_label(self.kind, fld), code, message))


def clean(s: Session, actor: Actor, kind: str, data: dict[str, Any], existing: dict | None) -> Draft:
    """Coerce and validate `data` for `kind`; raise ValidationFailed listing every problem."""
    model = model_for(kind)
    table = model.__table__  # type: ignore[attr-defined]
    if kind == "area":
        require(actor, Ability.EDIT_AREAS, act="新建或修改区域与网格")
    if kind in ("app_user", "user_grid"):
        require(actor, Ability.MANAGE_USERS, act="新建或修改本机用户")
    draft = Draft(kind, {}, existing)
    for key, raw in data.items():
        if key in BOOKKEEPING_COLUMNS or key in TOMBSTONE or key not in table.c:
            draft.issues.append(Issue(key, "field.unknown", f"“{key}”不是{kind_label(kind)}的可填写项"))
            continue
        table_name = code_fields(kind).get(key)
        try:
            # code fields: look the label up first (labels such as 居民身份证 are longer than the code column)
            value = coerce(raw, Text()) if table_name else coerce(raw, table.c[key].type)
        except CoerceError as exc:
            draft.error(key, "field.format", f"{field_label(kind, key)}:{exc}")
            continue
        if table_name and value is not None:
            code = code_table(table_name).code_for(str(value))
            if code is None:
                draft.error(
                    key, "field.code",
                    f"{field_label(kind, key)}:“{value}”不在《{code_table(table_name).title}》代码表中",
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
            draft.error(col.key, "field.required", f"{field_label(kind, col.key)}不能为空")
        if value is not None and col.key in draft.values:
            for fk in col.foreign_keys:
                _check_reference(s, draft, col.key, fk, value)
    if kind in GRID_SCOPED:
        grid_id = draft.get("grid_id")
        if grid_id is not None and not actor.may_access(grid_id):
            raise PermissionDenied(f"您没有权限在该网格({grid_id})中登记或修改{kind_label(kind)}")
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
        draft.error(key, "field.reference", f"{field_label(draft.kind, key)}:找不到所选的{kind_label(target)}")
    elif key == "grid_id" and getattr(row, "level", None) != "grid":
        draft.error(key, "field.grid", f"{field_label(draft.kind, key)}:“{row.name}”不是网格")  # type: ignore[attr-defined]


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
            raise NotFound(f"找不到该{kind_label(kind)}(编号 {record_id}),可能已被删除")
        if kind in GRID_SCOPED and not self.actor.may_access(obj.grid_id):  # type: ignore[attr-defined]
            raise PermissionDenied(f"您没有权限查看该网格的{kind_label(kind)}")
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
                f"该{kind_label(kind)}已被他人修改(当前版本 {before['version']},"
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
            raise StaleRecord(f"该{kind_label(kind)}刚被其他操作修改,请重新打开后再修改") from exc
        write_audit(s, self.actor, "update", kind, record_id, {"fields": sorted(changed)})
        rules.after_write(s, self.actor, kind, before, to_dict(obj))
        return obj

    def _set_deleted(
        self, s: Session, kind: str, record_id: str, deleted: bool, expected_version: int | None
    ) -> Base:
        obj = self._load(s, kind, record_id, include_deleted=True)
        before = to_dict(obj)
        if expected_version is not None and before["version"] != expected_version:
            raise StaleRecord(f"该{kind_label(kind)}已被他人修改,请刷新后再操作")
        if (before["deleted_at"] is not None) == deleted:
            return obj
        if deleted:
            rules.before_delete(s, self.actor, kind, before)
        if kind in GRID_SCOPED and not self.actor.may_access(before.get("grid_id")):
            raise PermissionDenied(f"您没有权限操作该网格的{kind_label(kind)}")
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
