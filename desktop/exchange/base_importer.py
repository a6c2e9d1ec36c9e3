"""What every kind's import shares (BaseImporter): the mapped columns, the cell converters, the
check of every row, and the bulk inserts and updates through a sink. Each kind's own rules are in
desktop.exchange.kinds; the import as a whole (dry run, one transaction) in desktop.exchange.importer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from desktop.exchange.cells import code_variant, long_number, prepare
from desktop.exchange.fields import field_choices, import_fields
from desktop.exchange.fields import field_label as import_field_label
from desktop.exchange.places import Places, RowError
from desktop.exchange.report import FieldChange, ImportOptions, RowResult
from desktop.exchange.sheet import Sheet
from desktop.exchange.writer import NullSink, Sink
from desktop.kinds import code_fields, field_label, model
from desktop.kinds import get as kind_spec
from desktop.kinds import label as kind_label
from desktop.models import OutboxEntry, new_id, utcnow
from desktop.services.draft import Draft
from desktop.services.errors import PermissionDenied, ServiceError, ValidationFailed
from desktop.services.records import Cleaner
from desktop.services.store import Actor
from desktop.validation import code_table, make_id_number, mask_id, mask_phone

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
CHUNK = 2000  # rows between progress reports and cancel checks; rows per insert statement
# The example row of the templates (write_template): skipped, never imported.
EXAMPLE_CERT = make_id_number("620104", date(1985, 3, 2), 123)


# Fields the ledgers export masked ("620104********1234", "139****8765"): a cell of one of them
# that carries the mask is never imported (it is not the value), whatever the file says.
MASKED_FIELDS = {
    "cert_no": "id", "residence_card_no": "id", "disability_cert_no": "id", "head_cert_no": "id",
    "owner_cert_no": "id", "phone": "phone", "owner_phone": "phone", "contact_phone": "phone",
}
MASKED_CELL = re.compile(r"[0-9A-Za-z+\-]*\*{2,}[0-9A-Za-z\-]*")
# File systems stamp files with a coarse clock (a few milliseconds behind the one that stamps the
# change capture): an edit counts as newer than the file only when it is later by more than this.
CLOCK_SLACK = timedelta(seconds=1)
MASKED_TITLE = "已脱敏"  # in the title row of every masked export (desktop.exchange.export)



def _table(kind: str) -> Table:
    return cast(Table, model(kind).__table__)  # a mapped class's FromClause is its Table

class Cancelled(ServiceError):
    pass


# Characters that show nothing (zero-width spaces and joiners, BOM, soft hyphen): a cell of only
# these and white space, as pasted from web pages and chat apps, holds nothing.
INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad")


def _invisible(text: str) -> bool:
    return all(c in INVISIBLE or c.isspace() for c in text)


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and _invisible(v)) or v == []


def _stamp(text: Any) -> datetime | None:
    """An outbox or record time as naive UTC."""
    if isinstance(text, datetime):
        return text.astimezone(UTC).replace(tzinfo=None) if text.tzinfo else text
    if not text:
        return None
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


_UNKNOWN = object()


def _plain_value(v: Any) -> Any:
    """A value as the change capture stores it (JSON of the SQLite value), for comparing."""
    if v is None or isinstance(v, str):
        return v.strip() if isinstance(v, str) else v
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int | float) or v.__class__.__name__ == "Decimal":
        return float(v)
    return str(v)


def _same(stored: Any, value: Any) -> bool:
    a, b = _plain_value(stored), _plain_value(value)
    if isinstance(a, str) and isinstance(b, float):
        try:
            return float(a) == b
        except ValueError:
            return False
    return a == b


def local_time(when: datetime) -> str:
    """A naive UTC time as this computer's local time, to the minute."""
    return when.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _memo(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[tuple[type, Any], Any] = {}

    def call(v: Any) -> Any:
        key = (v.__class__, v)
        hit = cache.get(key, cache)
        if hit is cache:
            hit = fn(v)
            if len(cache) < 4096:
                cache[key] = hit
        return hit
    return call


def _defaults(table: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in table.c:
        d = c.default
        out[c.key] = d.arg if d is not None and getattr(d, "is_scalar", False) else None
    return out


class BaseImporter:
    kind = ""

    def __init__(self, s: Session, actor: Actor, sheet: Sheet, mapping: dict[int, str | None],
                 options: ImportOptions, progress: Progress | None, cancel: Cancel | None,
                 sink: Sink | None = None) -> None:
        self.s = s
        self.sink: Sink = sink or NullSink()
        self.actor = actor
        self.sheet = sheet
        self.options = options
        self.progress = progress
        self.cancel = cancel
        self.now = utcnow()
        self.cols: dict[str, int] = {}
        choices = dict(field_choices(self.kind))
        for idx, key in sorted((int(i), k) for i, k in mapping.items()):
            if not key:
                continue
            if key not in choices:
                raise ServiceError(f"“{key}”不是{kind_label(self.kind)}导入可用的字段")
            if not 0 <= idx < len(sheet.headers):
                raise ServiceError(f"第 {idx + 1} 列不存在")
            if key in self.cols:
                a, b = sheet.headers[self.cols[key]], sheet.headers[idx]
                raise ServiceError(f"“{b}”和“{a}”两列都对应了“{choices[key]}”,请只保留一列")
            self.cols[key] = idx
        self.columns = {f.key for f in import_fields(self.kind) if f.column}
        self.table = _table(self.kind)
        self.types = {c.key: c.type for c in self.table.c}
        self.header_of: dict[str, int] = {}  # Chinese label -> column index
        for key, idx in self.cols.items():
            self.header_of[import_field_label(self.kind, key)] = idx
            if key in self.columns:
                self.header_of[field_label(self.kind, key)] = idx
        self.places = Places(s, actor, options.default_grid_id)
        self.cleaner = Cleaner(s, actor, self.kind)
        self.results: list[RowResult] = []
        self.created: dict[str, int] = {}
        self.converters = self._converters()
        spec = kind_spec(self.kind)
        self.derived = set(spec.derived)
        self.codes = code_fields(self.kind)
        # mapped columns whose cells may carry the export's mask; what the current row had there
        self.mask_cols = {key: idx for key, idx in self.cols.items() if key in MASKED_FIELDS}
        self.row_masked: dict[str, str] = {}
        self.masked_rows = 0
        self.masked_title = bool(sheet.title and MASKED_TITLE in sheet.title and self.mask_cols)
        self.masked_export = self.masked_title  # or, once a masked cell is met, any file carrying them

    # --- cells ----------------------------------------------------------------------------------
    def _converters(self) -> list[tuple[str, int, Callable[[Any], Any] | None]]:
        """Per mapped column: the field, the column index and the cell converter (None: as is)."""
        out: list[tuple[str, int, Callable[[Any], Any] | None]] = []
        codes = code_fields(self.kind)
        for key, idx in self.cols.items():
            conv: Callable[[Any], Any] | None = None
            if key in self.columns:
                t = self.types[key]
                if key in codes:
                    conv = _memo(partial(code_variant, codes[key]))
                elif key == "birth_date":
                    conv = partial(prepare, type_=t, year_month=True)
                else:
                    conv = partial(prepare, type_=t)
            out.append((key, idx, conv))
        return out

    def extract(self, raw: list[Any]) -> dict[str, Any]:
        """Field key -> cell value prepared for validation; blank cells are left out."""
        out: dict[str, Any] = {}
        width = len(raw)
        masked = self.row_masked = {}
        mask_cols = self.mask_cols
        for key, idx, conv in self.converters:
            v = raw[idx] if idx < width else None
            if v is None:
                continue
            if v.__class__ is str:
                s = v.strip()
                if not s or (s[0] in INVISIBLE and _invisible(s)):
                    continue
            if key in mask_cols and v.__class__ is str and "*" in v and MASKED_CELL.fullmatch(v.strip()):
                masked[key] = v.strip()  # a masked export's cell: not the value, never imported
                continue
            out[key] = v if conv is None else conv(v)
        if masked:
            self.masked_rows += 1
            self.masked_export = True
        return out

    # --- a registered record: what the row changes, field by field ------------------------------
    def history(self, record_id: str) -> list[tuple[datetime, dict[str, list[Any]]]]:
        """This computer's changes of the record, oldest first: (when, {field: [old, new]}), from
        the change capture (sync_outbox, one row per insert or update, written by triggers)."""
        out = []
        for changes, at in self.s.execute(
            select(OutboxEntry.changes, OutboxEntry.changed_at)
            .where(OutboxEntry.row_id == record_id, OutboxEntry.table_name == self.table.name)
            .order_by(OutboxEntry.seq)
        ):
            when = _stamp(at)
            try:
                fields = json.loads(changes or "{}")
            except ValueError:
                continue
            if when is not None and isinstance(fields, dict):
                out.append((when, fields))
        return out

    @staticmethod
    def field_times(history: list[tuple[datetime, dict[str, Any]]], before: dict[str, Any]) -> dict[str, datetime]:
        """When each field of the record was last changed on this computer; a field the change
        capture does not know (the record came from the server) counts from the record's last
        change (`updated_at`), so an unknown time never lets an older file win."""
        out: dict[str, datetime] = {}
        for when, fields in history:
            for k in fields:
                out[k] = when
        fallback = _stamp(before.get("updated_at"))
        if fallback is not None:
            for k in before:
                out.setdefault(k, fallback)
        return out

    @staticmethod
    def value_at(history: list[tuple[datetime, dict[str, Any]]], key: str, when: datetime) -> Any:
        """The field's value at `when` as the change capture tells it, or _UNKNOWN."""
        value: Any = _UNKNOWN
        for at, fields in history:
            pair = fields.get(key)
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            if at <= when:
                value = pair[1]
            else:
                return pair[0] if value is _UNKNOWN else value
        return value

    def shown(self, key: str, value: Any) -> str:
        """A value as the user sees it: labels for codes, ID and phone numbers masked."""
        if _empty(value):
            return ""
        if key in self.codes:
            try:
                table = code_table(self.codes[key])
                return "、".join(table.label(c) or c for c in str(value).split(",") if c)
            except KeyError:
                return str(value)
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return "是" if value else "否"
        text = str(value)
        how = MASKED_FIELDS.get(key)
        if how == "id":
            return mask_id(text)
        if how == "phone":
            return mask_phone(text)
        return text if len(text) <= 40 else text[:39] + "…"

    def changes_to(self, rr: RowResult, before: dict[str, Any], data: dict[str, Any]) -> tuple[Draft, dict[str, Any]]:
        """Validate the row's values over the registered record `before` and return the draft and
        the fields that change. A filled-in value is never replaced by an empty one, and a field
        changed in the app after the file was last saved keeps the app's value unless the user
        chose `overwrite_newer`; `rr.changes` lists every field, old → new, and what was kept."""
        draft = self.cleaner.clean(data, before)
        changed = {k: v for k, v in draft.values.items() if before.get(k) != v}
        visible = [k for k in changed if k not in self.derived and not k.endswith("_id") and k in self.columns]
        kept: dict[str, str] = {}
        for k in visible:
            if _empty(changed[k]) and not _empty(before.get(k)):
                kept[k] = "文件中为空,保留原值"
        file_time, created = self.sheet.modified, self.sheet.created
        if (file_time is not None or created is not None) and not self.options.overwrite_newer and len(kept) < len(visible):
            history = self.history(before["id"])
            times = self.field_times(history, before)
            for k in visible:
                when = times.get(k)
                if k in kept:
                    continue
                if file_time is not None and when is not None and when > file_time + CLOCK_SLACK:
                    kept[k] = (f"本机于 {local_time(when)} 修改过,晚于文件的保存时间 {local_time(file_time)},"
                               "保留本机的值")
                elif created is not None and when is not None and when > created:
                    # the cell still holds what the record held when the workbook was made: the
                    # file did not change it, the app did since - keep the app's value
                    then = self.value_at(history, k, created)
                    if then is not _UNKNOWN and _same(then, changed[k]):
                        kept[k] = (f"文件中此项仍是 {local_time(created)} 制表时的值,本机于 {local_time(when)} "
                                   "改过,保留本机的值")
        proposed = {k: changed[k] for k in visible}
        if kept:
            reduced = {k: v for k, v in data.items() if k not in kept}
            draft = self.cleaner.clean(reduced, before)
            changed = {k: v for k, v in draft.values.items() if before.get(k) != v and k not in kept}
        label = partial(field_label, self.kind)
        rr.changes = [FieldChange(label(k), self.shown(k, before.get(k)), self.shown(k, v), kept.get(k, ""))
                      for k, v in proposed.items()]
        return draft, changed

    def fail(self, rr: RowResult, fld: str, message: str) -> None:
        idx = self.header_of.get(fld)
        if idx is None:
            # messages name the field first ("证件号码第18位…", "性别:…"): find the column by it
            for lbl, i in self.header_of.items():
                if message.startswith(lbl):
                    idx = i
                    break
        if idx is not None:
            header = self.sheet.headers[idx]
            if idx not in rr.columns:
                rr.columns.append(idx)
            rr.messages.append(f"【{header}】{message}")
        else:
            rr.messages.append(message)
        rr.status = "rejected"

    def fail_validation(self, rr: RowResult, exc: ValidationFailed) -> None:
        for issue in exc.issues:
            self.fail(rr, issue.field, issue.message)

    def note_warnings(self, rr: RowResult, warnings: list[Any]) -> None:
        for w in warnings:
            if w.message not in rr.messages:
                rr.messages.append(w.message)

    # --- the pass over the rows -----------------------------------------------------------------
    def check(self) -> None:
        rows, numbers, headers = self.sheet.rows, self.sheet.row_numbers, self.sheet.headers
        total = len(rows)
        self.prepare()
        for i, raw in enumerate(rows):
            if i % CHUNK == 0:
                self._tick(i, total, f"正在检查第 {i + 1} 行,共 {total} 行")
                if i:
                    self.stream()
            rr = RowResult(numbers[i], raw, headers)
            self.results.append(rr)
            try:
                vals = self.extract(raw)
                if not vals:
                    self.fail(rr, "", "本行已对应字段的单元格都是空的,没有可导入的内容")
                    continue
                self.row(rr, vals)
            except RowError as exc:
                self.fail(rr, exc.field, exc.message)
            except ValidationFailed as exc:
                self.fail_validation(rr, exc)
            except PermissionDenied as exc:
                self.fail(rr, "所属网格", exc.message)
        self._tick(total, total, "检查完成")

    def _tick(self, done: int, total: int, text: str) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled("已取消导入,未写入任何数据")
        if self.progress is not None:
            self.progress(done, total, text)

    def example_row(self, vals: dict[str, Any], key: str) -> bool:
        v = vals.get(key)
        return isinstance(v, str) and v.strip().upper() == EXAMPLE_CERT

    def cert_cell(self, rr: RowResult, vals: dict[str, Any], key: str) -> None:
        idx = self.cols.get(key)
        if idx is not None and long_number(rr.raw[idx]):
            raise RowError(field_label(self.kind, key) if key in self.columns else import_field_label(self.kind, key),
                           "证件号码被 Excel 存成了数字,只保留了前15位有效数字,后几位已丢失:"
                           "请把该列设置为“文本”格式后重新填写号码")

    # --- hooks for the kinds --------------------------------------------------------------------
    def prepare(self) -> None:
        """Load what the rows will be matched against."""

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        raise NotImplementedError

    def plan_creations(self) -> None:
        """After the last row: settle what rows create together (households and their heads)."""

    def stream(self) -> None:
        """Every CHUNK rows: hand what is final already to a parallel writer."""

    def write(self) -> None:
        """After the last row (and only when the file goes in): send the remaining writes."""
        raise NotImplementedError

    # --- helpers for writing --------------------------------------------------------------------
    def full_rows(self, table_name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every column present (model defaults for the missing ones) plus the bookkeeping."""
        table = _table(table_name)
        base = _defaults(table)
        base.update(version=1, created_at=self.now, created_by=self.actor.username, updated_at=self.now,
                    updated_by=self.actor.username, deleted_at=None, deleted_by=None)
        out = []
        for r in rows:
            row = dict(base)
            row.update(r)
            if row.get("id") is None:
                row["id"] = new_id()
            out.append(row)
        return out

    def insert_rows(self, table_name: str, rows: list[dict[str, Any]], what: str) -> None:
        """Bulk INSERT in statements of CHUNK rows. Values go through each column type's own bind
        processor (dates are stored exactly as SQLAlchemy stores them) and then straight to the
        driver's executemany: at 100,000 rows the per-row parameter handling of `insert()` costs
        more than the insert itself. The storage triggers run for every row as usual."""
        if not rows:
            return
        table = _table(table_name)
        full = self.full_rows(table_name, rows)
        cols = [c.key for c in table.c]
        procs = self._processors(table)
        sql = (f'INSERT INTO "{table.name}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)}) '
               f"VALUES ({', '.join('?' for _ in cols)})")
        for start in range(0, len(full), CHUNK):
            self._tick(start, len(full), f"正在写入{what}")
            params = []
            for row in full[start : start + CHUNK]:
                values = [row[c] for c in cols]
                for i, proc in procs:
                    if values[i] is not None:
                        values[i] = proc(values[i])
                params.append(tuple(values))
            self.sink.send(("many", sql, params, None))

    def _processors(self, table: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        from sqlalchemy.dialects import sqlite

        dialect = sqlite.dialect()
        return [(i, p) for i, c in enumerate(table.c) if (p := c.type.bind_processor(dialect)) is not None]

    def update_rows(self, table_name: str, changes: list[tuple[str, int, dict[str, Any]]], what: str) -> None:
        """(id, version read, changed values) -> UPDATE with a version bump, grouped by the set of
        changed columns; a row changed by someone else since it was read stops the import."""
        if not changes:
            return
        table = _table(table_name)
        from sqlalchemy.dialects import sqlite

        dialect = sqlite.dialect()
        procs = {c.key: c.type.bind_processor(dialect) for c in table.c}
        stamp = up(self.now) if (up := procs.get("updated_at")) else self.now
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for rid, version, values in changes:
            keys = tuple(sorted(values))
            vals = []
            for k in keys:
                v, proc = values[k], procs.get(k)
                vals.append(proc(v) if proc is not None and v is not None else v)
            groups.setdefault(keys, []).append((*vals, stamp, self.actor.username, rid, version))
        done = 0
        for keys, params in groups.items():
            sets = ", ".join(f'"{k}" = ?' for k in keys)
            sql = (f'UPDATE "{table.name}" SET {sets}, "version" = "version" + 1, "updated_at" = ?, '
                   f'"updated_by" = ? WHERE "id" = ? AND "version" = ?')
            for start in range(0, len(params), CHUNK):
                self._tick(done, len(changes), f"正在更新{what}")
                chunk = params[start : start + CHUNK]
                self.sink.send(("many", sql, chunk, len(chunk)))
                done += len(chunk)

    def refresh_marks(self, household_ids: set[str] | list[str], person_ids: set[str] | list[str]) -> None:
        """rules.refresh_derived_marks for these households and people, in the import's transaction."""
        hh, ps = sorted(household_ids), sorted(person_ids)
        for start in range(0, max(len(hh), len(ps)), 500):
            self.sink.send(("refresh", hh[start : start + 500], ps[start : start + 500], self.actor.username))
