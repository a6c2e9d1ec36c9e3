"""The route sheet (走访路线单): the day's plan on A4 paper, one page per building, units in
order, with blank columns for 走访情况 and 签字. The rows are desktop.services.plan's, so the
paper says what the app says. Fonts, the missing-glyph check and masking are the archive's
(desktop.printing.fonts, text.Guard, archive.Masker); printing is audited like every print."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from desktop.printing import pdf
from desktop.printing.archive import Masker
from desktop.printing.archive_pages import FOOTER_FONT_WARNING
from desktop.printing.common import (
    MissingGlyphs,
    PrintOptions,
    PrintResult,
    TempFiles,
    actor_label,
    audit_detail,
    check_unmask,
    out_file,
    replace_into,
)
from desktop.printing.fonts import resolve_font
from desktop.printing.ledgers import decorate
from desktop.printing.text import Guard
from desktop.services.audit import write_audit
from desktop.services.plan import SCOPES, Plan, VisitPlan
from desktop.services.store import Actor, Store

PAGE = landscape(A4)
MARGIN_X = 12 * mm
HEADERS = ["序号", "户室", "户主", "联系电话", "关注标识", "走访事由", "上次走访", "逾期", "走访情况", "签字"]
WIDTHS = [10, 22, 18, 24, 28, 62, 20, 12, 56, 21]  # mm, 273 in all
ROW_MM = 13  # room to write by hand


def _room(unit: str, room: str) -> str:
    return (f"{unit}单元" if unit else "") + (room or "")


def rows_by_building(plan: Plan, guard: Guard, masker: Masker) -> list[tuple[str, list[list[str]]]]:
    """[(building heading, table rows)]: the plan's groups with every text checked by `guard`."""
    out = []
    for building, units in plan.groups():
        rows: list[list[str]] = []
        for unit, items in units:
            for it in items:
                who = it.head or it.address
                rows.append([
                    str(len(rows) + 1), guard(_room(unit, it.room), who, "户室"), guard(it.head, who, "户主"),
                    masker.phone(it.phone), guard(it.marks, who, "关注标识"), guard(it.reason, who, "走访事由"),
                    it.last_visit.isoformat() if it.last_visit else "从未",
                    f"{it.days_overdue} 天" if it.days_overdue else "今日" if it.due_on == plan.today else "",
                    "", "",
                ])
        out.append((guard(building, building, "楼栋"), rows))
    return out


def _table(rows: list[list[str]], st: pdf.Styles) -> Table:
    widths = [w * mm for w in WIDTHS]
    head = [pdf.cell(h, w, st.head) for h, w in zip(HEADERS, widths, strict=True)]
    data = [head] + [[pdf.cell(v, w, st.cell_small) for v, w in zip(r, widths, strict=True)] for r in rows]
    t = Table(data, colWidths=widths, rowHeights=[None] + [ROW_MM * mm] * len(rows), repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), st.font, st.cell_small.fontSize, st.cell_small.leading),
        ("GRID", (0, 0), (-1, -1), 0.4, pdf.GRID_COLOUR),
        ("BACKGROUND", (0, 0), (-1, 0), pdf.HEAD_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
        ("ALIGN", (6, 1), (7, -1), "CENTER"),
    ]))
    return t


def render(plan: Plan, path: Path, *, title: str, scope: str, font: Any, guard: Guard, masker: Masker,
           part: dict[str, Any]) -> int:
    st = pdf.styles(font.name)
    doc = BaseDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=17 * mm,
                          bottomMargin=19 * mm, title=title, author="GridLedger 网格台账", creator="GridLedger 网格台账",
                          initialFontName=font.name)
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    story: list[Any] = [pdf.PartMark(part)]
    buildings = rows_by_building(plan, guard, masker)
    if not buildings:
        story += [Paragraph(title, st.h1), Paragraph(f"{scope}    今天没有到期的走访。", st.subtitle)]
    for i, (building, rows) in enumerate(buildings):
        if i:
            story.append(PageBreak())
        overdue = sum(1 for r in rows if r[7].endswith("天"))
        story += [Paragraph(f"{title} · {building}", st.h1.clone("rt", fontSize=16, leading=21, alignment=1)),
                  Paragraph(f"{scope}    日期:{plan.today.isoformat()}({SCOPES[plan.scope]})    "
                            f"共 {len(rows)} 项,其中逾期 {overdue} 项", st.subtitle.clone("rs", fontSize=9.5, leading=13)),
                  Spacer(1, 3 * mm), _table(rows, st)]
    pages: list[int] = []
    doc.build(story, canvasmaker=pdf.numbered_canvas(decorate, pages))
    return pages[0] if pages else 0


def print_route(store: Store, actor: Actor, out: Path | str, *, today: date | None = None, scope: str = "today",
                grid_id: str | None = None, worker: str | None = None, mark: str | None = None,
                options: PrintOptions | None = None) -> PrintResult:
    """Print the plan the app shows for these choices as a route sheet (audited)."""
    options = options or PrintOptions()
    check_unmask(actor, options)
    plan = VisitPlan(store, actor).plan(today=today, scope=scope, grid_id=grid_id, worker=worker, mark=mark)
    font = resolve_font(options.font_path)
    target = out_file(out)
    guard = Guard(font, allow=options.allow_missing)
    masker = Masker(options.unmask)
    who = worker or actor.display_name or actor.username
    title = "走访路线单"
    scope_line = guard(f"网格员:{who}", who, "姓名")
    rows_by_building(plan, guard, masker)  # check every text before anything is drawn
    if guard.items and not options.allow_missing:
        raise MissingGlyphs(guard.items, font.display)
    when = datetime.now().replace(microsecond=0).strftime("%Y-%m-%d %H:%M")
    part = {"font": font.name, "header": f"{title} · {scope_line}",
            "printed": f"{title} · {guard.printable(actor_label(actor))} 打印于 {when} · "
                       f"{'未脱敏,请妥善保管' if options.unmask else '已脱敏'}",
            "warning": None if font.embedded else FOOTER_FONT_WARNING}
    temps = TempFiles()
    try:
        temp = temps.new(target.parent)
        pages = render(plan, temp, title=title, scope=scope_line, font=font, guard=guard, masker=masker, part=part)
        with store.transaction() as s:
            write_audit(s, actor, "print", "area", grid_id,
                        audit_detail(kind="route_sheet", date=plan.today.isoformat(), scope=plan.scope,
                                     items=len(plan.items), masked=not options.unmask, pages=pages, font=font.display),
                        summary=f"打印走访路线单({len(plan.items)} 项,{'已脱敏' if not options.unmask else '未脱敏'},共 {pages} 页)")
        replace_into(temp, target)
    finally:
        temps.remove_all()
    warnings = ([font.warning] if font.warning else []) + guard.notes
    return PrintResult(files=[target], pages=pages, households=len({i.household_id for i in plan.items}),
                       warnings=warnings)
