"""Import of people, households, houses, vehicles, units and visits from a `Sheet`.

`dry_run` checks every row and says what would happen to it; `run_import` does the same checks
and then writes, in ONE transaction: the valid rows go in with Core bulk inserts and updates
(the storage triggers still write the sync outbox and the search index for every row), one audit
entry records the counts (no personal values), and a cancel, an error or - without
`valid_only` - a single rejected row leaves the database as it was.

Every row is validated with the rules of a form (`desktop.services.records.Cleaner`, as `clean`); what
the import adds is finding things: the grid by name or code, the standard address and house
(found or created), the household (by 户号, or by head and address), the record already
registered (by ID number, plate, 户号, address...)."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from desktop.exchange.base_importer import BaseImporter, Cancel, Progress
from desktop.exchange.generic import importer_for
from desktop.exchange.kinds import IMPORTERS
from desktop.exchange.report import ON_EXISTING, ImportOptions, ImportReport
from desktop.exchange.sheet import Sheet
from desktop.exchange.writer import ChildSink, LocalSink, Sink, parallel_possible
from desktop.kinds import choices_text, import_labels
from desktop.kinds import label as kind_label
from desktop.services.errors import ServiceError
from desktop.services.store import Actor, Store

log = logging.getLogger(__name__)


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
    if kind not in import_labels():
        raise ServiceError(f"不支持导入的类型:{kind}(可选:{choices_text(import_labels())})")
    return IMPORTERS.get(kind) or importer_for(kind)


def _check_options(options: ImportOptions | None) -> ImportOptions:
    options = options or ImportOptions()
    if options.on_existing not in ON_EXISTING:
        raise ServiceError(f"已登记记录的处理方式应为 ask、update 或 skip,而不是“{options.on_existing}”")
    return options


def _report(imp: BaseImporter, kind: str, sheet: Sheet, mapping: dict[int, str | None], started: float,
            *, dry: bool) -> ImportReport:
    unused = [h for i, h in enumerate(sheet.headers) if not mapping.get(i) and h and not h.startswith("第")]
    rep = ImportReport(kind, imp.results, list(sheet.headers), dict(mapping), dry_run=dry,
                       file_name=sheet.path.name, unused_columns=unused, created=dict(imp.created))
    rep.seconds = round(time.perf_counter() - started, 2)
    rep.footers = list(sheet.footers)
    if imp.masked_export:
        rep.notice = masked_notice(kind, titled=imp.masked_title, rows=imp.masked_rows)
    return rep


def masked_notice(kind: str, *, titled: bool, rows: int) -> str:
    """What a masked file can and cannot bring back, in one sentence."""
    what = "这是脱敏导出的台账" if titled else f"文件中有 {rows} 行带“*”的脱敏号码"
    if kind == "person":
        return (f"{what}:带“*”的证件号码和电话不会导入,也不能用它新增人员;"
                "能按户号、姓名和证件号码可见位确认是哪一位的行,其余各列可以更新该人员。")
    return f"{what}:带“*”的证件号码和电话不会导入,也不会写入任何记录,其余各列照常检查和导入。"


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
        rep.message = f"有 {rep.counts['rejected']} 行未通过校验:请修正后再导入,或选择“只导入通过校验的行”"
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
    log.info("import %s (%s): %d rows, %s, written %s, %.2f s", kind, sheet.file_format, rep.total,
             ", ".join(f"{k} {v}" for k, v in rep.counts.items()), rep.written, rep.seconds)
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
        rep.message = (f"有 {counts['rejected']} 行未通过校验,未写入任何数据:请修正后重新导入,"
                       "或选择“只导入通过校验的行”")
        return rep
    if counts["imported"] or counts["updated"]:
        imp.write()
    detail = {
        "rows": rep.total, "imported": counts["imported"], "updated": counts["updated"],
        "skipped": counts["skipped"], "ask": counts["ask"], "rejected": counts["rejected"],
        "created": dict(imp.created), "format": sheet.file_format, "on_existing": options.on_existing,
        "confirmed": len(options.confirmed), "overwrite_newer": options.overwrite_newer,
        "masked_export": imp.masked_export, "valid_only": options.valid_only, "default_grid_id": options.default_grid_id,
        "parallel": sink.parallel,
    }
    summary = (f"导入{kind_label(kind)}:{rep.total} 行,新增 {counts['imported']},"
               f"更新 {counts['updated']},跳过 {counts['skipped']},未通过 {counts['rejected']}")
    fields = {"username": actor.username, "role": actor.role, "grid_ids": actor.grid_ids,
              "device_id": actor.device_id, "display_name": actor.display_name}
    sink.send(("audit", fields, "import", kind, detail, summary))
    imp._tick(rep.total, rep.total, "正在写入数据库并提交")
    rep.written = True
    return rep


def proposed_grid(store: Store, actor: Actor, sheet: Sheet) -> tuple[str, str] | None:
    """(grid id, “社区 网格”) when the file's title rows name one existing grid the actor may
    write to (“兰化22街区社区第1网格人员登记表”), or a community that has one such grid; else
    None. The import proposes it as the default grid."""
    from desktop.services.areas import area_tree

    title = "".join((sheet.title or "").split())
    if not title:
        return None
    with store.session() as s:
        tree = area_tree(s.connection())
    grids = [g for g in tree.grids() if actor.may_access(g.id) and g.name]

    def community(g: Any) -> str:
        c = tree.community_of(g.id)
        return c.name if c is not None else ""

    named = [g for g in grids if g.name in title]
    strong = [g for g in named if community(g) and community(g) in title]
    if len(strong) == 1:
        chosen = strong[0]
    elif len(named) == 1 and not strong and sum(g.name == named[0].name for g in grids) == 1:
        chosen = named[0]
    else:
        communities = {community(g) for g in grids if community(g) and community(g) in title}
        if named or len(communities) != 1:
            return None
        only = [g for g in grids if community(g) in communities]
        if len(only) != 1:
            return None
        chosen = only[0]
    return chosen.id, tree.grid_label(chosen.id)
