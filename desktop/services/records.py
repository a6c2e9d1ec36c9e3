"""Create, update, soft-delete and restore every record kind.

Each write: validation (nothing written if it fails), version bump (optimistic locking), audit
entry, and - through the storage layer's triggers - a sync change-log entry, all in one
transaction. Services return plain dicts, never live ORM objects."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from typing import Any

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desktop import kinds
from desktop.kinds import code_fields, field_label
from desktop.kinds import label as kind_label
from desktop.models import BOOKKEEPING_COLUMNS, Base, max_chars, utcnow
from desktop.models.base import SyncedRow, synced
from desktop.policy import Ability
from desktop.services import rules
from desktop.services.audit import write_audit
from desktop.services.coerce import CoerceError, coerce
from desktop.services.draft import Draft
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
        return entry is not None and "grid_id" in entry.model.__table__.c


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
    for col in model_for(kind).__table__.columns:
        t = col.type
        out[col.key] = ("bool" if isinstance(t, Boolean) else "longtext" if isinstance(t, Text)
                        else "datetime" if isinstance(t, DateTime) else "date" if isinstance(t, Date)
                        else "number" if isinstance(t, Integer | Float | Numeric) else "text")
    return out


def to_dict(obj: Base | SyncedRow) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


MEMO_LIMIT = 4096  # cached raw values per field (names and ID numbers never repeat: no point)
_MISS = object()


class Cleaner:
    """Coerce and validate values of one kind for one session and actor: the only implementation
    of a record's checks, used by every form (through `clean`) and by the bulk import (one
    Cleaner per kind for a whole file).

    `clean(data, existing)`, step by step:

    1. Only those the policy lets edit areas / manage users may write areas and local users
       (PermissionDenied).
    2. Each field: an unknown or bookkeeping field is an issue; a code field's text (label, alias
       or code, e.g. 居民身份证 for a 4-character column) is looked up in its code table, any other
       field is coerced to its column type (`coerce`: dates through `parse_date`); a text takes at
       most its column's characters (String(n): n, Text: TEXT_MAX_CHARS - the sync protocol's
       check_value holds the server to the same limits).
    3. The kind's hook from `rules.HOOKS` normalises numbers, derives fields and cross-checks.
    4. Required columns and references (a referenced record must exist and be live; ``grid_id``
       must name a grid), in table-column order.
    5. A grid-scoped record must be in one of the actor's grids (PermissionDenied).
    6. Any issue raises ValidationFailed listing every problem (with the warnings).

    For speed over many rows, three things are cached for the Cleaner's life, all pure for the
    length of one import: a field's result per raw value (code-table labels repeat on every row),
    the table's required and foreign-key columns, and the reference lookups (`assume` adds a
    record the import is about to create)."""

    def __init__(self, s: Session, actor: Actor, kind: str) -> None:
        self.s = s
        self.actor = actor
        self.kind = kind
        model = model_for(kind)
        self.table = model.__table__
        self.codes = code_fields(kind)
        self.hook: Callable[[Session, Draft], None] | None = rules.HOOKS.get(kind)
        self.types = {c.key: c.type for c in self.table.c}
        # the most characters each text column takes (String(n): n; Text: TEXT_MAX_CHARS)
        self.max_chars = {c.key: n for c in self.table.c if (n := max_chars(c.type)) is not None}
        self.writable = {
            c.key for c in self.table.c if c.key not in BOOKKEEPING_COLUMNS and c.key not in TOMBSTONE
        }
        # (key, required, foreign keys) in column order, only for columns with a check
        self.checks: list[tuple[str, bool, list[ForeignKey]]] = []
        for col in self.table.c:
            if col.key in BOOKKEEPING_COLUMNS or col.key in TOMBSTONE:
                continue
            required = not col.nullable and col.default is None
            fks = list(col.foreign_keys)
            if required or fks:
                self.checks.append((col.key, required, fks))
        self._memo: dict[str, dict[tuple[type, Any], tuple[bool, Any]]] = {}
        self._refs: dict[tuple[str, Any], tuple[bool, str | None, str | None]] = {}

    # --- one field ------------------------------------------------------------------------------
    def field(self, key: str, raw: Any) -> tuple[bool, Any]:
        """(True, value) or (False, (issue code, message)): step 2 for one field."""
        memo = self._memo.setdefault(key, {})
        mkey: tuple[type, Any] | None = (raw.__class__, raw)
        try:
            hit = memo.get((raw.__class__, raw), _MISS)
        except TypeError:  # unhashable (a list of care marks)
            mkey, hit = None, _MISS
        if isinstance(hit, tuple):  # not _MISS
            return hit
        kind = self.kind
        table_name = self.codes.get(key)
        result: tuple[bool, Any]
        try:
            # code fields: look the label up first (labels such as 居民身份证 are longer than the code column)
            value = coerce(raw, Text()) if table_name else coerce(raw, self.types[key])
        except CoerceError as exc:
            result = (False, ("field.format", f"{field_label(kind, key)}:{exc}"))
        else:
            result = (True, value)
            limit = None if table_name else self.max_chars.get(key)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                result = (False, ("field.length", f"{field_label(kind, key)}:最多 {limit:,} 个字符,现有 {len(value):,} 个,"
                                                  "请删减后再保存"))
            elif table_name and value is not None:
                code = code_table(table_name).code_for(str(value))
                if code is None:
                    result = (False, ("field.code",
                                      f"{field_label(kind, key)}:“{value}”不在《{code_table(table_name).title}》代码表中"))
                else:
                    result = (True, code)
        if mkey is not None and len(memo) < MEMO_LIMIT:
            memo[mkey] = result
        return result

    # --- a reference ----------------------------------------------------------------------------
    def _reference(self, draft: Draft, key: str, fk: ForeignKey, value: Any) -> None:
        target = fk.column.table.name
        target_model = MODELS.get(target)
        if target_model is None:
            return
        ref = self._refs.get((target, value))
        if ref is None:
            row = self.s.get(target_model, value)
            live = row is not None and getattr(row, "deleted_at", None) is None
            ref = (live, getattr(row, "level", None), getattr(row, "name", None))
            self._refs[(target, value)] = ref
        live, level, name = ref
        if not live:
            draft.error(key, "field.reference", f"{field_label(draft.kind, key)}:找不到所选的{kind_label(target)}")
        elif key == "grid_id" and level != "grid":
            draft.error(key, "field.grid", f"{field_label(draft.kind, key)}:“{name}”不是网格")

    def assume(self, target: str, record_id: str, *, level: str | None = None, name: str | None = None) -> None:
        """A record this import is about to create counts as existing for reference checks."""
        self._refs[(target, record_id)] = (True, level, name)

    # --- the whole record -----------------------------------------------------------------------
    def clean(self, data: dict[str, Any], existing: dict[str, Any] | None = None) -> Draft:
        kind = self.kind
        if kind == "area":
            require(self.actor, Ability.EDIT_AREAS, act="新建或修改区域与网格")
        if kind in ("app_user", "user_grid"):
            require(self.actor, Ability.MANAGE_USERS, act="新建或修改本机用户")
        if kind == "visit_rule":  # the rules' own service validates; no other path may bypass the policy
            require(self.actor, Ability.EDIT_VISIT_RULES)
        if kind == "map_shape":  # the grid map's shapes: drawn by those who set up the grids
            require(self.actor, Ability.EDIT_AREAS, act="绘制或修改网格地图")
        draft = Draft(kind, {}, existing)
        for key, raw in data.items():
            if key not in self.writable:
                draft.issues.append(Issue(key, "field.unknown", f"“{key}”不是{kind_label(kind)}的可填写项"))
                continue
            ok, value = self.field(key, raw)
            if not ok:
                draft.error(key, value[0], value[1])
                continue
            draft.values[key] = value
        if self.hook is not None:
            self.hook(self.s, draft)
        for key, required, fks in self.checks:
            value = draft.get(key)
            if required and value is None:
                draft.error(key, "field.required", f"{field_label(kind, key)}不能为空")
            if value is not None and key in draft.values:
                for fk in fks:
                    self._reference(draft, key, fk, value)
        if kind in GRID_SCOPED:
            grid_id = draft.get("grid_id")
            if grid_id is not None and not self.actor.may_access(grid_id):
                raise PermissionDenied(f"您没有权限在该网格({grid_id})中登记或修改{kind_label(kind)}")
        if draft.issues:
            raise ValidationFailed(draft.issues, draft.warnings)
        return draft


def clean(s: Session, actor: Actor, kind: str, data: dict[str, Any], existing: dict | None) -> Draft:
    """Coerce and validate `data` for `kind`; raise ValidationFailed listing every problem.
    One record: a fresh `Cleaner`, so nothing is cached between calls."""
    model_for(kind)  # NotFound for an unknown kind before any permission check
    return Cleaner(s, actor, kind).clean(data, existing)


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

    def _load(self, s: Session, kind: str, record_id: str, *, include_deleted: bool = False) -> SyncedRow:
        obj = s.get(model_for(kind), record_id)
        if obj is None or (not include_deleted and getattr(obj, "deleted_at", None) is not None):
            raise NotFound(f"找不到该{kind_label(kind)}(编号 {record_id}),可能已被删除")
        if kind in GRID_SCOPED and not self.actor.may_access(getattr(obj, "grid_id", None)):
            raise PermissionDenied(f"您没有权限查看该网格的{kind_label(kind)}")
        return synced(obj)

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

    def _create(self, s: Session, kind: str, data: dict[str, Any], **opts: Any) -> SyncedRow:
        draft = clean(s, self.actor, kind, data, None)
        rules.before_write(s, self.actor, draft, **opts)
        now = utcnow()
        obj = synced(model_for(kind)(
            **draft.values, created_at=now, created_by=self.actor.username,
            updated_at=now, updated_by=self.actor.username,
        ))
        s.add(obj)
        s.flush()
        write_audit(s, self.actor, "create", kind, obj.id, {"fields": sorted(draft.values)})
        rules.after_write(s, self.actor, kind, None, to_dict(obj))
        return obj

    def _update(
        self, s: Session, kind: str, record_id: str, changes: dict[str, Any], *,
        expected_version: int | None = None, **opts: Any,
    ) -> SyncedRow:
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
        obj.updated_at = utcnow()
        obj.updated_by = self.actor.username
        try:
            s.flush()
        except StaleDataError as exc:
            raise StaleRecord(f"该{kind_label(kind)}刚被其他操作修改,请重新打开后再修改") from exc
        write_audit(s, self.actor, "update", kind, record_id, {"fields": sorted(changed)})
        rules.after_write(s, self.actor, kind, before, to_dict(obj))
        return obj

    def _set_deleted(
        self, s: Session, kind: str, record_id: str, deleted: bool, expected_version: int | None
    ) -> SyncedRow:
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
        obj.deleted_at = now if deleted else None
        obj.deleted_by = self.actor.username if deleted else None
        obj.updated_at = now
        obj.updated_by = self.actor.username
        s.flush()
        write_audit(s, self.actor, "delete" if deleted else "restore", kind, record_id)
        rules.after_write(s, self.actor, kind, before, to_dict(obj))
        return obj
