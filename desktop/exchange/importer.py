"""Import of people, households, houses, vehicles, units and visits from a `Sheet`.

`dry_run` checks every row and says what would happen to it; `run_import` does the same checks
and then writes, in ONE transaction: the valid rows go in with Core bulk inserts and updates
(the storage triggers still write the sync outbox and the search index for every row), one audit
entry records the counts (no personal values), and a cancel, an error or - without
`valid_only` - a single rejected row leaves the database as it was.

Every row is validated with the rules of a form (`records.Cleaner`, what the core's `clean` runs); what
the import adds is finding things: the grid by name or code, the standard address and house
(found or created), the household (by 户号, or by head and address), the record already
registered (by ID number, plate, 户号, address...)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from desktop.exchange.cells import code_variant, long_number, prepare
from desktop.exchange.fields import field_choices, import_fields
from desktop.exchange.fields import field_label as import_field_label
from desktop.exchange.places import Places, RowError
from desktop.exchange.report import ON_EXISTING, ImportOptions, ImportReport, RowResult
from desktop.exchange.sheet import Sheet
from desktop.exchange.writer import ChildSink, LocalSink, NullSink, Sink, parallel_possible
from desktop.kinds import choices_text, code_fields, field_label, import_labels, model
from desktop.kinds import label as kind_label
from desktop.models import new_id, utcnow
from desktop.services.errors import PermissionDenied, ServiceError, ValidationFailed
from desktop.services.records import Cleaner
from desktop.services.store import Actor, Store
from desktop.validation import make_id_number

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
CHUNK = 2000  # rows between progress reports and cancel checks; rows per insert statement
# The example row of the templates (write_template): skipped, never imported.
EXAMPLE_CERT = make_id_number("620104", date(1985, 3, 2), 123)


class Cancelled(ServiceError):
    pass


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
        self.table = model(self.kind).__table__  # type: ignore[attr-defined]
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
        for key, idx, conv in self.converters:
            v = raw[idx] if idx < width else None
            if v is None or (v.__class__ is str and not v.strip()):
                continue
            out[key] = v if conv is None else conv(v)
        return out

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
        table = model(table_name).__table__  # type: ignore[attr-defined]
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
        table = model(table_name).__table__  # type: ignore[attr-defined]
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
        table = model(table_name).__table__  # type: ignore[attr-defined]
        from sqlalchemy.dialects import sqlite

        dialect = sqlite.dialect()
        procs = {c.key: c.type.bind_processor(dialect) for c in table.c}
        stamp = procs["updated_at"](self.now) if procs.get("updated_at") else self.now
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


def _begin_immediate(conn: Any) -> None:
    """Take the write lock before the rows are checked, so what they were checked against cannot
    change before they are written; foreign keys are checked at commit (households and their
    heads refer to each other)."""
    raw = conn.connection.dbapi_connection
    try:
        if not getattr(raw, "in_transaction", True):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    except OperationalError as exc:
        raise ServiceError("数据库正被其他操作占用(例如正在同步),请稍后再导入") from exc


def _importer(kind: str) -> type[BaseImporter]:
    from desktop.exchange import kinds
    from desktop.exchange.generic import importer_for

    if kind not in import_labels():
        raise ServiceError(f"不支持导入的类型:{kind}(可选:{choices_text(import_labels())})")
    return kinds.IMPORTERS.get(kind) or importer_for(kind)


def _check_options(options: ImportOptions | None) -> ImportOptions:
    options = options or ImportOptions()
    if options.on_existing not in ON_EXISTING:
        raise ServiceError(f"已登记记录的处理方式应为 update、skip 或 ask,而不是“{options.on_existing}”")
    return options


def _report(imp: BaseImporter, kind: str, sheet: Sheet, mapping: dict[int, str | None], started: float,
            *, dry: bool) -> ImportReport:
    unused = [h for i, h in enumerate(sheet.headers) if not mapping.get(i) and h and not h.startswith("第")]
    rep = ImportReport(kind, imp.results, list(sheet.headers), dict(mapping), dry_run=dry,
                       file_name=sheet.path.name, unused_columns=unused, created=dict(imp.created))
    rep.seconds = round(time.perf_counter() - started, 2)
    return rep


def dry_run(store: Store, actor: Actor, kind: str, sheet: Sheet, mapping: dict[int, str | None],
            options: ImportOptions | None = None, *, progress: Progress | None = None,
            cancel: Cancel | None = None) -> ImportReport:
    """What the import would do with every row; nothing is written."""
    options = _check_options(options)
    cls = _importer(kind)
    started = time.perf_counter()
    with store.session() as s:
        imp = cls(s, actor, sheet, mapping, options, progress, cancel)
        imp.check()
        imp.plan_creations()
        rep = _report(imp, kind, sheet, mapping, started, dry=True)
        s.rollback()
    if rep.counts["rejected"] and not options.valid_only:
        rep.message = f"有 {rep.counts['rejected']} 行错误:请修正后再导入,或选择“只导入正确的行”"
    return rep


def run_import(store: Store, actor: Actor, kind: str, sheet: Sheet, mapping: dict[int, str | None],
               options: ImportOptions | None = None, *, progress: Progress | None = None,
               cancel: Cancel | None = None) -> ImportReport:
    """Check every row, then write the file in one transaction. When rows are rejected and
    `options.valid_only` is False, nothing is written (`written` False, `message` says why).
    Raises ServiceError("已取消导入…") when `cancel()` returns True; nothing is written then."""
    options = _check_options(options)
    cls = _importer(kind)
    started = time.perf_counter()
    if parallel_possible(store, len(sheet.rows)):
        sink: Sink = ChildSink(str(store.path), store.key)  # holds the write transaction from now on
        try:
            with store.session() as s:
                rep = _run(cls, s, actor, kind, sheet, mapping, options, progress, cancel, sink, started)
            sink.finish(rep.written)
        except BaseException:
            sink.abort()
            raise
    else:
        with store.transaction() as s:
            conn = s.connection()
            _begin_immediate(conn)
            rep = _run(cls, s, actor, kind, sheet, mapping, options, progress, cancel, LocalSink(conn, s), started)
    rep.seconds = round(time.perf_counter() - started, 2)
    if progress is not None:
        progress(rep.total, rep.total, "导入完成" if rep.written else "未导入")
    return rep


def _run(cls: type[BaseImporter], s: Session, actor: Actor, kind: str, sheet: Sheet,
         mapping: dict[int, str | None], options: ImportOptions, progress: Progress | None,
         cancel: Cancel | None, sink: Sink, started: float) -> ImportReport:
    imp = cls(s, actor, sheet, mapping, options, progress, cancel, sink)
    imp.check()
    imp.plan_creations()
    rep = _report(imp, kind, sheet, mapping, started, dry=False)
    counts = rep.counts
    if counts["rejected"] and not options.valid_only:
        rep.message = (f"有 {counts['rejected']} 行错误,未写入任何数据:请修正后重新导入,"
                       "或选择“只导入正确的行”")
        return rep
    if counts["imported"] or counts["updated"]:
        imp.write()
    detail = {
        "rows": rep.total, "imported": counts["imported"], "updated": counts["updated"],
        "skipped": counts["skipped"], "ask": counts["ask"], "rejected": counts["rejected"],
        "created": dict(imp.created), "format": sheet.file_format, "on_existing": options.on_existing,
        "valid_only": options.valid_only, "default_grid_id": options.default_grid_id,
        "parallel": sink.parallel,
    }
    summary = (f"导入{kind_label(kind)}:{rep.total} 行,新增 {counts['imported']},"
               f"更新 {counts['updated']},跳过 {counts['skipped']},错误 {counts['rejected']}")
    fields = {"username": actor.username, "role": actor.role, "grid_ids": actor.grid_ids,
              "device_id": actor.device_id, "display_name": actor.display_name}
    sink.send(("audit", fields, "import", kind, detail, summary))
    imp._tick(rep.total, rep.total, "正在写入数据库并提交")
    rep.written = True
    return rep
