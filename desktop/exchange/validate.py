"""Row validation for bulk imports: the core's `records.clean`, made cheap to call 100,000 times.

`Cleaner.clean(data, existing)` follows `desktop.services.records.clean` step by step - the same
coercion (`coerce`), the same code tables, the same kind hook from `rules.HOOKS` called with the
same `Draft`, the same required-field and reference checks in table-column order, the same
permission check and the same `ValidationFailed` / `PermissionDenied` - so an imported row is
accepted or refused exactly like a form. Only three things are cached, all pure for the length
of one import: a field's coerced value per raw value (code-table labels repeat on every row),
the table's required and foreign-key columns, and the reference lookups (a grid does not stop
existing in the middle of a validation pass). tests/exchange/test_validate.py compares both on
messy rows of every kind.

Like `clean`, a code-table label is turned into its code before any length check, so labels
longer than their code column (居民身份证 for String(4), 中等职业教育…) are accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Session

from desktop.kinds import code_fields, field_label
from desktop.kinds import label as kind_label
from desktop.models import BOOKKEEPING_COLUMNS
from desktop.services import rules
from desktop.services.coerce import CoerceError, coerce, normalize_text
from desktop.services.errors import PermissionDenied, ValidationFailed
from desktop.services.records import GRID_SCOPED, MODELS, TOMBSTONE, Draft, model_for
from desktop.services.store import Actor
from desktop.validation import code_table
from desktop.validation.result import Issue

MEMO_LIMIT = 4096  # cached raw values per field (names and ID numbers never repeat: no point)

_MISS = object()


class Cleaner:
    """`clean` for one kind, one session and one actor; see the module docstring."""

    def __init__(self, s: Session, actor: Actor, kind: str) -> None:
        self.s = s
        self.actor = actor
        self.kind = kind
        model = model_for(kind)
        self.table = model.__table__  # type: ignore[attr-defined]
        self.codes = code_fields(kind)
        self.hook: Callable[[Session, Draft], None] | None = rules.HOOKS.get(kind)
        self.types = {c.key: c.type for c in self.table.c}
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
        """(True, value) or (False, (issue code, message)) - the first loop of `clean`."""
        memo = self._memo.setdefault(key, {})
        try:
            mkey = (raw.__class__, raw)
            hit = memo.get(mkey, _MISS)
        except TypeError:  # unhashable (a list of care marks)
            mkey, hit = None, _MISS
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        kind = self.kind
        table_name = self.codes.get(key)
        if table_name is not None and isinstance(raw, str):
            # A label goes to its code first: `clean` checks the column length before the code
            # table, so a label longer than its code column (居民身份证, 中等职业教育) would be
            # refused there although the table knows it.
            text = normalize_text(raw)
            code = code_table(table_name).code_for(text) if text else None
            if code is not None:
                raw = code
            elif len(text) > (getattr(self.types[key], "length", None) or len(text)):
                result: tuple[bool, Any] = (False, ("field.code",
                    f"{field_label(kind, key)}:“{text}”不在《{code_table(table_name).title}》代码表中"))
                if mkey is not None and len(memo) < MEMO_LIMIT:
                    memo[mkey] = result
                return result
        try:
            value = coerce(raw, self.types[key])
            result = (True, value)
            if table_name and value is not None:
                code = code_table(table_name).code_for(str(value))
                if code is None:
                    result = (False, ("field.code",
                                      f"{field_label(kind, key)}:“{value}”不在《{code_table(table_name).title}》代码表中"))
                else:
                    result = (True, code)
        except CoerceError as exc:
            result = (False, ("field.format", f"{field_label(kind, key)}:{exc}"))
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

    # --- the whole row --------------------------------------------------------------------------
    def clean(self, data: dict[str, Any], existing: dict[str, Any] | None = None) -> Draft:
        kind = self.kind
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
