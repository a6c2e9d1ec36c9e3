"""Ledgers and rosters on A4 landscape: the visit ledger of a period, the key-person roster (one
section per care mark), the floating population, houses and vehicles. Table headers repeat on
every page (repeatRows=1)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)
from sqlalchemy import Connection, text

from desktop.db.sql import sql
from desktop.domain.formatting import age, care_mark_labels, care_mark_table, day
from desktop.domain.marks import marks_list
from desktop.kinds import canonical, choices_text, ledger_titles
from desktop.printing import pdf
from desktop.printing.archive import (
    NEED_STATUS,
    Masker,
    label,
    money,
    num,
    yes_no,
)
from desktop.printing.archive_pages import FOOTER_FONT_WARNING, NUMERALS
from desktop.printing.common import (
    Cancel,
    MissingGlyphs,
    PrintCancelled,
    PrintOptions,
    PrintResult,
    Progress,
    TempFiles,
    actor_label,
    audit_detail,
    cancel_check,
    check_unmask,
    out_file,
    replace_into,
)
from desktop.printing.data import _grid_by_code
from desktop.printing.fonts import FontChoice, resolve_font
from desktop.printing.text import Guard, para
from desktop.services.audit import write_audit
from desktop.services.demo import DEMO_MARK, demo_mark
from desktop.services.errors import ServiceError
from desktop.services.store import Actor, Store
from desktop.validation import region_name

log = logging.getLogger(__name__)

PAGE = landscape(A4)
MARGIN_X = 12 * mm
MARGIN_TOP = 17 * mm
MARGIN_BOTTOM = 19 * mm
WIDTH_MM = (PAGE[0] - 2 * MARGIN_X) / mm  # 273


@dataclass
class Section:
    title: str | None
    headers: list[str]
    widths: list[float]
    rows: list[list[str]]
    center: tuple[int, ...] = ()


@dataclass
class Ledger:
    kind: str
    title: str
    scope: str  # community / grid line
    period: str
    sections: list[Section] = field(default_factory=list)
    summary: Section | None = None
    count: int = 0
    notes: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    grid_ids: list[str] = field(default_factory=list)
    grid_codes: list[str] = field(default_factory=list)
    unit: str = "条"  # what the count counts


def _fit(widths: Sequence[float], total: float = WIDTH_MM) -> list[float]:
    """Scale column widths (mm) to the full page width."""
    s = sum(widths)
    return [w * total / s for w in widths]


def _scope(conn: Connection, actor: Actor, grid_code: str | None) -> tuple[list[str], str, dict[str, str]]:
    """Grid ids, the scope line and grid names."""
    rows = conn.execute(text(
        "SELECT g.id, g.code, g.name, c.name FROM area g LEFT JOIN area c ON c.id = g.parent_id "
        "WHERE g.level = 'grid' AND g.deleted_at IS NULL ORDER BY g.code")).all()
    names = {r[0]: r[2] for r in rows}
    if grid_code is not None:
        gid, _ = _grid_by_code(conn, actor, grid_code)
        row = next(r for r in rows if r[0] == gid)
        return [gid], f"社区:{row[3] or ''}  网格:{row[2]}({row[1]})", names
    ids = [r[0] for r in rows if actor.may_access(r[0])]
    if not ids:
        raise ServiceError("您的账号没有分配网格,没有可打印的台账")
    communities = sorted({r[3] or "" for r in rows if r[0] in set(ids)})
    label_ = "全部网格" if actor.grid_ids is None else "我负责的网格"
    return ids, f"社区:{'、'.join(communities[:4])}{'等' if len(communities) > 4 else ''}  范围:{label_}({len(ids)} 个)", names


def _in(column: str, values: list[str], name: str) -> tuple[str, dict[str, list[str]]]:
    """`column IN :name` with `values` bound as a list (run it with `sql(..., name)`)."""
    return f"{column} IN :{name}", {name: list(values)}


# --- queries per kind ---------------------------------------------------------------------------

def _visits(conn: Connection, grids: list[str], names: dict[str, str], d0: date, d1: date, g: Guard,
            many: bool, users: dict[str, str]) -> list[Section]:
    cond, params = _in("vi.grid_id", grids, "g")
    rows = conn.execute(sql(
        "SELECT vi.id, vi.grid_id, vi.visited_on, vi.duration_min, vi.method, vi.visitor, vi.companions, "
        "vi.situation, vi.actions, vi.follow_up_on, vi.return_visit, vi.satisfaction, hh.hh_no, "
        "hp.name AS head, a.full_text FROM visit vi JOIN household hh ON hh.id = vi.household_id "
        "LEFT JOIN person hp ON hp.id = hh.head_person_id LEFT JOIN house h ON h.id = hh.house_id "
        "LEFT JOIN address a ON a.id = h.address_id "
        f"WHERE vi.deleted_at IS NULL AND {cond} AND vi.visited_on >= :d0 AND vi.visited_on <= :d1 "
        "ORDER BY vi.visited_on, a.full_text, vi.id", "g"), {**params, "d0": d0.isoformat(), "d1": d1.isoformat()}).all()
    needs: dict[str, list[Any]] = {}
    ids = [r.id for r in rows]
    for k in range(0, len(ids), 400):
        c2, p2 = _in("visit_id", ids[k : k + 400], "v")
        for n in conn.execute(sql(
                f"SELECT visit_id, category, content, status FROM visit_need WHERE deleted_at IS NULL AND {c2} "
                "ORDER BY created_at, id", "v"), p2):
            needs.setdefault(n.visit_id, []).append(n)
    out = []
    for i, r in enumerate(rows, 1):
        who = f"{day(r.visited_on)} 户 {r.hh_no} 的走访记录"
        method = label("visit_method", r.method) + (f" {r.duration_min}分钟" if r.duration_min else "")
        visitor = g(users.get(r.visitor) or r.visitor, who, "走访人")
        if r.companions:
            visitor += f"(同行:{g(r.companions, who, '同行人员')})"
        need_text = "\n".join(
            f"[{label('need_category', n.category)}]{g(n.content, who, '诉求内容')}({NEED_STATUS.get(n.status, n.status or '')})"
            for n in needs.get(r.id, []))
        done = [g(r.actions, who, "办理情况")] if r.actions else []
        if r.follow_up_on:
            done.append(f"跟进日期 {day(r.follow_up_on)}")
        if r.return_visit:
            done.append(f"回访:{g(r.return_visit, who, '回访情况')}")
        row = [str(i), day(r.visited_on), r.hh_no or "", g(r.head, who, "户主姓名"), g(r.full_text, who, "地址"),
               method, visitor, g(r.situation, who, "家庭情况"), need_text, ";".join(done),
               label("satisfaction", r.satisfaction)]
        if many:
            row.insert(2, g(names.get(r.grid_id, ""), who, "网格名称"))
        out.append(row)
    headers = ["序号", "走访日期", "户号", "户主", "地址", "方式", "走访人", "家庭情况", "诉求", "办理情况", "满意度"]
    widths = [9, 18, 25, 14, 40, 16, 18, 50, 42, 32, 12]
    if many:
        headers.insert(2, "网格")
        widths.insert(2, 14)
    return [Section(None, headers, _fit(widths), out, center=(0, 1, 10 + many))]


_PERSON_SQL = (
    "SELECT p.*, hh.hh_no, a.full_text FROM person p LEFT JOIN household hh ON hh.id = p.household_id "
    "LEFT JOIN house h ON h.id = p.house_id LEFT JOIN address a ON a.id = h.address_id "
    "WHERE p.deleted_at IS NULL AND {cond} AND ({extra}) ORDER BY a.full_text IS NULL, a.full_text, hh.hh_no, "
    "p.relation, p.birth_date, p.id"
)


def _person_detail(p: Any, g: Guard, who: str, m: Masker) -> str:
    bits = []
    if p.assistance_type:
        bits.append(f"帮扶类型:{label('assistance_type', p.assistance_type)}")
    if p.disability_category or p.disability_grade:
        bits.append("残疾:" + label("disability_category", p.disability_category) + label("disability_grade", p.disability_grade))
    if p.disability_cert_no:
        bits.append(f"残疾人证号:{m.id(g(p.disability_cert_no, who, '残疾人证号'))}")
    if p.employment:
        bits.append(f"就业:{label('employment_status', p.employment)}")
    if p.employer:
        bits.append(f"单位:{g(p.employer, who, '工作单位')}")
    if p.health:
        bits.append(f"健康:{g(p.health, who, '健康状况')}")
    if p.note:
        bits.append(f"备注:{g(p.note, who, '备注')}")
    return ";".join(bits)


def _key_persons(conn: Connection, grids: list[str], names: dict[str, str], g: Guard, m: Masker,
                 many: bool, today: date) -> tuple[list[Section], Section, int]:
    cond, params = _in("p.grid_id", grids, "g")
    rows = conn.execute(sql(_PERSON_SQL.format(cond=cond, extra="p.marks != '' OR p.derived_marks != ''"), "g"), params).all()
    by_mark: dict[str, list[Any]] = {c: [] for c, _ in care_mark_table()}
    for r in rows:
        for c in dict.fromkeys(marks_list(r.marks) + marks_list(r.derived_marks)):
            by_mark.setdefault(c, []).append(r)
    headers = ["序号", "姓名", "性别", "出生日期", "年龄", "证件号码", "联系电话", "现住址", "户号", "其他关注标识", "情况说明"]
    widths: list[float] = [9, 16, 8, 19, 9, 32, 23, 48, 25, 30, 54]
    if many:
        headers.insert(7, "网格")
        widths.insert(7, 14)
    widths = _fit(widths)
    sections = []
    for code, people in by_mark.items():
        mark = label("care_mark", code)
        out = []
        for i, p in enumerate(people, 1):
            who = f"人员“{p.name}”"
            others = care_mark_labels(",".join(c for c in marks_list(p.marks) + marks_list(p.derived_marks) if c != code))
            row = [str(i), g(p.name, who, "姓名"), label("gender", p.gender), day(p.birth_date),
                   num(age(p.birth_date, today)), m.id(p.cert_no), m.phone(p.phone),
                   g(p.full_text, who, "现住址"), p.hh_no or "", others, _person_detail(p, g, who, m)]
            if many:
                row.insert(7, g(names.get(p.grid_id, ""), who, "网格名称"))
            out.append(row)
        sections.append(Section(f"{mark}({len(people)} 人)", headers, widths, out, center=(0, 2, 4)))
    labels = [label("care_mark", c) for c in by_mark]
    summary = Section(None, labels, _fit([1] * len(labels)), [[str(len(v)) for v in by_mark.values()]],
                      center=tuple(range(len(labels))))
    return sections, summary, len(rows)


def _floating(conn: Connection, grids: list[str], names: dict[str, str], g: Guard, m: Masker,
              many: bool) -> list[Section]:
    cond, params = _in("p.grid_id", grids, "g")
    rows = conn.execute(sql(_PERSON_SQL.format(cond=cond, extra="p.person_type = '2'"), "g"), params).all()
    out = []
    for i, p in enumerate(rows, 1):
        who = f"人员“{p.name}”"
        origin = g(region_name(p.native_region) or p.native_region, who, "籍贯") if p.native_region else ""
        if p.hukou_address:
            origin = g(p.hukou_address, who, "户籍地址")
        row = [str(i), g(p.name, who, "姓名"), label("gender", p.gender), day(p.birth_date), m.id(p.cert_no),
               origin, g(p.full_text, who, "现住址"), label("residence_reason", p.residence_reason),
               day(p.arrived_on), g(p.intended_stay, who, "拟居住期限"),
               m.id(g(p.residence_card_no, who, "居住证号")), m.phone(p.phone),
               g(p.employer, who, "工作单位")]
        if many:
            row.insert(7, g(names.get(p.grid_id, ""), who, "网格名称"))
        out.append(row)
    headers = ["序号", "姓名", "性别", "出生日期", "证件号码", "户籍地", "现住址", "居住事由", "来本地日期",
               "拟居住期限", "居住证号", "联系电话", "工作单位"]
    widths = [9, 15, 8, 19, 32, 34, 44, 15, 19, 15, 28, 22, 30]
    if many:
        headers.insert(7, "网格")
        widths.insert(7, 14)
    return [Section(None, headers, _fit(widths), out, center=(0, 2))]


def _houses(conn: Connection, grids: list[str], names: dict[str, str], g: Guard, m: Masker,
            many: bool) -> list[Section]:
    cond, params = _in("h.grid_id", grids, "g")
    rows = conn.execute(sql(
        "SELECT h.*, a.full_text, coalesce(h.owner_name, op.name) AS owner, "
        "(SELECT count(*) FROM person rp WHERE rp.house_id = h.id AND rp.deleted_at IS NULL) AS residents "
        "FROM house h JOIN address a ON a.id = h.address_id LEFT JOIN person op ON op.id = h.owner_person_id "
        f"WHERE h.deleted_at IS NULL AND {cond} ORDER BY a.estate, CAST(a.building AS INTEGER), a.building, "
        "CAST(a.unit AS INTEGER), a.unit, a.floor, a.room, h.id", "g"), params).all()
    out = []
    for i, h in enumerate(rows, 1):
        who = f"房屋“{h.full_text}”"
        rent = ""
        if h.rent_start or h.rent_months:
            rent = day(h.rent_start) + (f" 起 {h.rent_months} 个月" if h.rent_months else "")
        row = [str(i), g(h.full_text, who, "地址"), label("house_use", h.use), label("house_nature", h.nature),
               num(h.area_m2), g(h.layout, who, "户型"), num(h.built_year), g(h.owner, who, "房主"),
               m.phone(h.owner_phone), g(h.tenant_name, who, "承租人"), rent, money(h.rent_monthly),
               str(h.residents or 0), yes_no(h.rent_registered), yes_no(h.security_pledge)]
        if many:
            row.insert(2, g(names.get(h.grid_id, ""), who, "网格名称"))
        out.append(row)
    headers = ["序号", "地址", "用途", "性质", "面积(平方米)", "户型", "建成年份", "房主", "房主电话", "承租人",
               "租赁期", "月租金(元)", "住户数", "已备案", "责任书"]
    widths = [9, 50, 11, 14, 16, 17, 13, 16, 23, 16, 33, 15, 11, 11, 11]
    if many:
        headers.insert(2, "网格")
        widths.insert(2, 14)
    return [Section(None, headers, _fit(widths), out, center=(0, 2 + many, 4 + many, 6 + many, 12 + many, 13 + many, 14 + many))]


def _vehicles(conn: Connection, grids: list[str], names: dict[str, str], g: Guard, m: Masker,
              many: bool) -> list[Section]:
    cond, params = _in("v.grid_id", grids, "g")
    rows = conn.execute(sql(
        "SELECT v.*, op.name AS owner, op.cert_no AS owner_cert, op.phone AS owner_phone, hh.hh_no, "
        "a.full_text FROM vehicle v LEFT JOIN person op ON op.id = v.owner_person_id "
        "LEFT JOIN household hh ON hh.id = coalesce(v.household_id, op.household_id) "
        "LEFT JOIN house h ON h.id = hh.house_id LEFT JOIN address a ON a.id = h.address_id "
        f"WHERE v.deleted_at IS NULL AND {cond} ORDER BY v.plate_no, v.id", "g"), params).all()
    out = []
    for i, v in enumerate(rows, 1):
        who = f"车辆 {v.plate_no}"
        row = [str(i), g(v.plate_no, who, "号牌号码"), label("plate_type", v.plate_type),
               label("vehicle_type", v.vehicle_type), g(v.brand, who, "品牌型号"), g(v.colour, who, "车身颜色"),
               g(v.owner, who, "车主"), m.id(v.owner_cert), m.phone(v.owner_phone), v.hh_no or "",
               g(v.full_text, who, "住址"), g(v.parking, who, "停放位置")]
        if many:
            row.insert(2, g(names.get(v.grid_id, ""), who, "网格名称"))
        out.append(row)
    headers = ["序号", "号牌号码", "号牌种类", "车辆类型", "品牌型号", "颜色", "车主", "车主证件号码", "车主电话",
               "户号", "住址", "停放位置"]
    widths = [9, 20, 20, 18, 28, 11, 15, 32, 22, 25, 44, 24]
    if many:
        headers.insert(2, "网格")
        widths.insert(2, 14)
    return [Section(None, headers, _fit(widths), out, center=(0, 5 + many))]


# --- layout -----------------------------------------------------------------------------------

def _story(ledger: Ledger, st: pdf.Styles, part: dict[str, Any]) -> list[Any]:
    story: list[Any] = [pdf.PartMark(part), Paragraph(ledger.title, st.h1.clone("lt", fontSize=17, leading=22, alignment=1)),
                        Paragraph(f"{ledger.scope}    {ledger.period}    共 {ledger.count} {ledger.unit}", st.subtitle.clone("ls", fontSize=9.5, leading=13)),
                        Spacer(1, 3 * mm)]
    for n in ledger.notes:
        story.append(para("注:" + n, st.note))
    if ledger.summary is not None:
        s = ledger.summary
        story += [pdf.data_table(s.headers, s.rows, s.widths, st, small=True, align_center=s.center), Spacer(1, 2 * mm)]
    labels = [*NUMERALS, "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"]
    for k, s in enumerate(ledger.sections):
        block = (pdf.data_table(s.headers, s.rows, s.widths, st, small=True, align_center=s.center)
                 if s.rows else Paragraph("(无)", st.small))
        if s.title:
            story += pdf.heading_with(Paragraph(f"{labels[k] if k < len(labels) else k + 1}、{s.title}", st.h1), block)
        story.append(block)
    # the ledger is signed on paper: who made it, who checked it, and when
    story += [Spacer(1, 8 * mm), KeepTogether([Paragraph(SIGN_LINE, st.subtitle.clone("sign", fontSize=10.5, leading=16))])]
    return story


SIGN_LINE = "制表人:________________　　　　审核人:________________　　　　日期:________年____月____日"


def decorate(canvas: Canvas, part: dict[str, Any], page: int, total: int) -> None:
    font = part["font"]
    w, h = canvas._pagesize  # type: ignore[attr-defined]  # reportlab keeps the page size private
    canvas.saveState()
    canvas.setStrokeColor(pdf.GRID_COLOUR)
    canvas.setLineWidth(0.4)
    canvas.setFillColor(pdf.MUTED)
    if page > 1:
        canvas.setFont(font, 8)
        canvas.drawString(MARGIN_X, h - 11 * mm, part["header"])
        canvas.line(MARGIN_X, h - 13 * mm, w - MARGIN_X, h - 13 * mm)
    y = 12.5 * mm
    canvas.line(MARGIN_X, y + 4 * mm, w - MARGIN_X, y + 4 * mm)
    canvas.setFont(font, 7.5)
    canvas.drawString(MARGIN_X, y, part["printed"])
    canvas.setFont(font, 9)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawRightString(w - MARGIN_X, y, f"第 {page} 页 / 共 {total} 页")
    if part.get("warning"):
        canvas.setFillColor(pdf.WARN)
        canvas.setFont(font, 6.5)
        canvas.drawString(MARGIN_X, y - 4 * mm, part["warning"])
    canvas.restoreState()


def _watch(table: Table, tick: Callable[[], None]) -> None:
    """Call `tick` whenever the table is split across a page (progress and cancel inside a long
    table); the parts ReportLab makes inherit the class."""
    base = type(table)

    def split(self: Table, availWidth: float, availHeight: float) -> list[Any]:  # noqa: N803
        tick()
        return base.split(self, availWidth, availHeight)

    table.__class__ = type("WatchedTable", (base,), {"split": split})


def render_ledger(ledger: Ledger, path: Path, font: FontChoice, part: dict[str, Any],
                  check: Callable[[], None] | None = None) -> int:
    st = pdf.styles(font.name)
    doc = BaseDocTemplate(
        str(path), pagesize=PAGE, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM, title=ledger.title, author="GridLedger 网格台账",
        creator="GridLedger 网格台账", subject=ledger.title, initialFontName=font.name,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    story = _story(ledger, st, part)
    if check is not None:
        story.insert(1, pdf.Check(check))
        for f in story:
            if isinstance(f, Table):
                _watch(f, check)
    pages: list[int] = []
    doc.build(story, canvasmaker=pdf.numbered_canvas(decorate, pages))
    return pages[0] if pages else 0


def _printable(kind: str) -> str:
    """The one key of a printable ledger (an old spelling such as "visits" is accepted)."""
    titles = ledger_titles(printable=True)
    key = canonical(kind)
    if key not in titles:
        raise ServiceError(f"未知的台账类型“{kind}”,可选:{choices_text(titles)}")
    return key


def build_ledger(store: Store, actor: Actor, kind: str, grid_code: str | None, date_from: date | None,
                 date_to: date | None, guard: Guard, unmask: bool) -> Ledger:
    """The ledger's strings (checked by `guard`)."""
    kind = _printable(kind)
    today = date.today()
    m = Masker(unmask)
    with store.session() as s:
        conn = s.connection()
        grids, scope, names = _scope(conn, actor, grid_code)
        cond, params = _in("id", grids, "g")
        codes = [r[0] for r in conn.execute(sql(f"SELECT code FROM area WHERE {cond} ORDER BY code", "g"), params)]
        many = grid_code is None and len(grids) > 1
        scope = guard(scope, "台账范围", "社区或网格名称")
        title = ledger_titles(printable=True)[kind]
        if demo_mark(store):  # a demo street's ledger says so on its first line
            title = f"{title}({DEMO_MARK})"
        ledger = Ledger(kind, title, scope, f"制表日期:{today.isoformat()}",
                        grid_ids=grids, grid_codes=codes)
        if kind == "visit":
            d0 = date_from or date(today.year, 1, 1)
            d1 = date_to or today
            if d0 > d1:
                raise ServiceError(f"起始日期 {d0.isoformat()} 晚于截止日期 {d1.isoformat()}")
            users: dict[str, str] = dict(conn.execute(text("SELECT username, display_name FROM app_user")).all())
            ledger.period = f"走访日期:{d0.isoformat()} 至 {d1.isoformat()}"
            ledger.date_from, ledger.date_to = d0, d1
            ledger.sections = _visits(conn, grids, names, d0, d1, guard, many, users)
        elif kind == "visit_ontime":
            from desktop.services.plan import ONTIME_HEADERS, ONTIME_NOTE, VisitPlan, ontime_rows

            d0 = date_from or today.replace(day=1)
            d1 = date_to or today
            if d0 > d1:
                raise ServiceError(f"起始日期 {d0.isoformat()} 晚于截止日期 {d1.isoformat()}")
            result = VisitPlan(store, actor).on_time(d0, d1, today=today, grid_id=grids[0] if grid_code else None)
            ledger.period = f"统计期:{d0.isoformat()} 至 {d1.isoformat()}(截至 {result['period']['as_of']})"
            ledger.date_from, ledger.date_to = d0, d1
            rows = [[guard(str(v), "按时走访统计表", h) for v, h in zip(r, ONTIME_HEADERS, strict=True)]
                    for r in ontime_rows(result)]
            ledger.summary = Section(None, ONTIME_HEADERS, _fit([12, 30, 60, 14, 14, 14, 14, 20]), rows,
                                     center=(0, 3, 4, 5, 6, 7))
            state = {"late": "迟访", "overdue": "仍逾期"}
            detail = [[guard(names.get(gid, ""), "明细", "网格"), guard(d["head"], d["address"], "户主"),
                       guard(d["address"], d["address"], "地址"), guard(d["what"], d["address"], "走访事由"),
                       d["due_on"], state[d["state"]], d["visited_on"] or ""]
                      for gid, items in result["late_or_overdue"].items() for d in items]
            ledger.sections = [Section("迟访与仍逾期明细", ["网格", "户主", "地址", "走访事由", "应访日期", "情况", "走访日期"],
                                       _fit([20, 16, 46, 60, 18, 12, 18]), detail, center=(4, 5, 6))]
            ledger.notes.append(ONTIME_NOTE)
            ledger.count = len(detail)
            ledger.unit = "户次迟访或逾期"
        elif kind == "key_person":
            ledger.sections, ledger.summary, _n = _key_persons(conn, grids, names, guard, m, many, today)
            ledger.count = _n
            ledger.unit = "人"
        elif kind == "floating":
            ledger.sections = _floating(conn, grids, names, guard, m, many)
            ledger.unit = "人"
        elif kind == "house":
            ledger.sections = _houses(conn, grids, names, guard, m, many)
            ledger.unit = "套"
        else:
            ledger.sections = _vehicles(conn, grids, names, guard, m, many)
            ledger.unit = "辆"
    if kind not in ("key_person", "visit_ontime"):
        ledger.count = sum(len(s.rows) for s in ledger.sections)
    return ledger


def print_ledger(store: Store, actor: Actor, kind: str, *, grid_code: str | None, date_from: date | None,
                 date_to: date | None, out: Path | str, options: PrintOptions | None = None,
                 progress: Progress | None = None, cancel: Cancel = None) -> PrintResult:
    """Print one ledger or roster (`kind`: a printable ledger of desktop/kinds.py) of a grid (None: all the actor's grids).

    The dates limit the visit ledger (default: this year up to today); rosters list the current
    state. Audited like archives; MissingGlyphs / PermissionDenied / PrintCancelled as there."""
    options = options or PrintOptions()
    kind = _printable(kind)
    check_unmask(actor, options)
    report: Progress = progress or (lambda done, total, text: None)
    cancelled = cancel_check(cancel)
    font = resolve_font(options.font_path)
    target = out_file(out)
    report(0, 3, "正在读取数据…")
    guard = Guard(font, allow=options.allow_missing)
    ledger = build_ledger(store, actor, kind, grid_code, date_from, date_to, guard, options.unmask)
    if guard.items and not options.allow_missing:
        raise MissingGlyphs(guard.items, font.display)
    ledger.notes = ledger.notes + list(guard.notes)
    if cancelled():
        raise PrintCancelled
    report(1, 3, f"正在排版 {ledger.count} 条…")
    when = datetime.now().replace(microsecond=0).strftime("%Y-%m-%d %H:%M")
    part = {
        "font": font.name, "header": f"{ledger.title} · {ledger.scope}",
        "printed": f"{ledger.title} · {guard.printable(actor_label(actor))} 打印于 {when} · "
                   f"{'未脱敏,请妥善保管' if options.unmask else '已脱敏'}",
        "warning": None if font.embedded else FOOTER_FONT_WARNING,
    }
    temps = TempFiles()
    try:
        temp = temps.new(target.parent)

        laid = [0]

        def check() -> None:
            if cancelled():
                raise PrintCancelled
            laid[0] += 1
            report(1, 3, f"正在排版 {ledger.count} {ledger.unit}…约第 {laid[0]} 页")

        pages = render_ledger(ledger, temp, font, part, check)
        if cancelled():
            raise PrintCancelled
        report(2, 3, "正在保存…")
        with store.transaction() as s:
            write_audit(
                s, actor, "print", "area", ledger.grid_ids[0] if len(ledger.grid_ids) == 1 else None,
                audit_detail(kind=f"ledger:{kind}", grids=ledger.grid_codes, masked=not options.unmask,
                             pages=pages, rows=ledger.count,
                             date_from=ledger.date_from.isoformat() if ledger.date_from else None,
                             date_to=ledger.date_to.isoformat() if ledger.date_to else None,
                             font=font.display, missing_glyphs=len(guard.items) or None),
                summary=f"打印{ledger.title}({len(ledger.grid_codes)} 个网格,{'已脱敏' if not options.unmask else '未脱敏'},共 {pages} 页)",
            )
        replace_into(temp, target)
        log.info("printed ledger %s: %d rows, %d pages, %d grids, masked %s", kind, ledger.count, pages,
                 len(ledger.grid_codes), not options.unmask)
        report(3, 3, f"已完成:共 {pages} 页")
    finally:
        temps.remove_all()
    warnings = ([font.warning] if font.warning else []) + guard.notes
    return PrintResult(files=[target], pages=pages, households=0, warnings=warnings)
