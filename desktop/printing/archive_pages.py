"""Pages of the household archive (A4 portrait): flowables, header and footer.

Imports only ReportLab and the small printing modules, so worker processes start quickly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

from desktop.printing import pdf
from desktop.printing.text import para

PAGE = A4
MARGIN_X = 15 * mm
MARGIN_TOP = 19 * mm
MARGIN_BOTTOM = 22 * mm
WIDTH_MM = (PAGE[0] - 2 * MARGIN_X) / mm  # 180
NUMERALS = "一二三四五六七八九十"
FOOTER_FONT_WARNING = "字体警告:未找到可嵌入的中文字体,本文件使用未嵌入的 STSong-Light,在其他电脑上可能显示不同或无法显示"


@dataclass
class ArchiveContent:
    """All strings of one archive, already masked and checked against the font."""

    household_id: str
    grid_id: str
    grid_code: str
    hh_no: str
    head_name: str
    cover: list[tuple[str, str]]
    summary: str
    facts: list[tuple[str, str]]
    missing: list[str]
    members: list[list[str]]
    member_extra: list[list[str]]
    house: list[tuple[str, str]] | None
    vehicles: list[list[str]]
    units: list[list[str]]
    visits: list[list[str]]
    events: list[list[str]]
    ledgers: list[list[str]]
    versions: str
    header: str
    printed: str
    notes: list[str] = field(default_factory=list)



# --- layout -----------------------------------------------------------------------------------

MEMBER_HEAD = ["序号", "姓名", "与户主关系", "性别", "出生日期", "证件号码", "民族", "文化程度", "政治面貌",
               "就业状况", "联系电话", "人员类型", "关注标识"]
MEMBER_W = [6, 13, 12.5, 7, 15.5, 28.5, 12.5, 12.5, 12.5, 9.5, 18, 12.5, 20]
VEHICLE_HEAD = ["号牌号码", "号牌种类", "车辆类型", "品牌型号", "颜色", "车主", "停放位置"]
VEHICLE_W = [24, 22, 20, 34, 14, 20, 46]
UNIT_HEAD = ["单位名称", "统一社会信用代码", "类型", "法定代表人", "联系电话", "从业人数"]
UNIT_W = [54, 38, 24, 20, 28, 16]
VISIT_HEAD = ["走访日期", "方式", "走访人", "家庭情况", "诉求", "办理情况", "满意度"]
VISIT_W = [17, 16.5, 16, 60, 33, 27, 10.5]
EVENT_HEAD = ["上报时间", "事件标题", "类别", "状态", "责任单位", "办理期限", "来源"]
EVENT_W = [26, 50, 20, 12, 32, 20, 20]
LEDGER_HEAD = ["统计期", "家庭总收入", "工资性", "经营性", "种养殖", "转移性", "务工人数", "种养殖及务工情况"]
LEDGER_W = [15, 20, 18, 18, 18, 18, 14, 59]


def flowables(c: ArchiveContent, st: pdf.Styles, part: dict[str, Any]) -> list[Any]:
    """The pages of one archive (starts with a PartMark; the caller separates archives with PageBreak)."""
    story: list[Any] = [pdf.PartMark(part)]
    # cover
    story += [Spacer(1, 26 * mm), Paragraph("户 档 案", st.title),
              Paragraph("网格化服务管理 · 一标三实 · 入户走访", st.subtitle), Spacer(1, 14 * mm)]
    cover = pdf.facts_table(c.cover, 140, st, per_row=1, label_mm=28)
    cover.hAlign = "CENTER"
    story += [cover, Spacer(1, 8 * mm), para(c.summary, st.body)]
    if c.notes:
        story.append(Spacer(1, 4 * mm))
        story += [para("注:" + n, st.note) for n in c.notes]
    sign = Table([["网格员(签字):", "", "核对日期:", ""]], colWidths=[28 * mm, 50 * mm, 20 * mm, 42 * mm])
    sign.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), st.font, 10), ("LINEBELOW", (1, 0), (1, 0), 0.5, pdf.GRID_COLOUR),
        ("LINEBELOW", (3, 0), (3, 0), 0.5, pdf.GRID_COLOUR),
    ]))
    sign.hAlign = "CENTER"
    story += [Spacer(1, 22 * mm), sign, PageBreak()]

    n = iter(NUMERALS)

    def section(title: str, *blocks: Any) -> None:
        """A numbered heading (kept with what follows) and its tables, or (无)."""
        shown = [b for b in blocks if b is not None] or [Paragraph("(无)", st.small)]
        story.extend(pdf.heading_with(Paragraph(f"{next(n)}、{title}", st.h1), shown[0]))
        story.extend(shown)

    def rows(head: list[str], data: list[list[str]], widths: Sequence[float], **kw: Any) -> Any:
        return pdf.data_table(head, data, widths, st, **kw) if data else None

    section("户基本情况", pdf.facts_table(c.facts, WIDTH_MM, st),
            para("待补充信息:" + ";".join(c.missing), st.small.clone("missing", spaceBefore=4)) if c.missing else None)
    section(f"家庭成员({len(c.members)} 人)",
            rows(MEMBER_HEAD, c.members, MEMBER_W, small=True, align_center=(0, 2, 3, 6)),
            Spacer(1, 2.5 * mm) if c.member_extra else None,
            rows(["姓名", "成员补充信息"], c.member_extra, [20, WIDTH_MM - 20], small=True))
    section("房屋情况", pdf.facts_table(c.house, WIDTH_MM, st) if c.house else None)
    section(f"车辆({len(c.vehicles)} 辆)", rows(VEHICLE_HEAD, c.vehicles, VEHICLE_W))
    section(f"同址单位({len(c.units)} 个)", rows(UNIT_HEAD, c.units, UNIT_W, align_center=(5,)))
    section(f"走访记录({len(c.visits)} 次)", rows(VISIT_HEAD, c.visits, VISIT_W, small=True))
    section(f"在办事件({len(c.events)} 件)", rows(EVENT_HEAD, c.events, EVENT_W, small=True))
    section(f"户情台账({len(c.ledgers)} 期)",
            rows(LEDGER_HEAD, c.ledgers, LEDGER_W, small=True, align_center=(0, 6), align_right=(1, 2, 3, 4, 5)))
    return story


def part_info(c: ArchiveContent, font: str, embedded: bool) -> dict[str, Any]:
    return {"header": c.header, "versions": c.versions, "printed": c.printed, "font": font,
            "warning": None if embedded else FOOTER_FONT_WARNING, "notes": bool(c.notes)}


def decorate(canvas: Canvas, part: dict[str, Any], page: int, total: int) -> None:
    """Header (not on the cover), footer with record versions and 第 x 页 / 共 y 页."""
    font = part.get("font") or canvas._fontname  # type: ignore[attr-defined]  # reportlab: private, no getter
    w, h = canvas._pagesize  # type: ignore[attr-defined]  # reportlab keeps the page size private
    top = h - 12 * mm
    canvas.saveState()
    canvas.setStrokeColor(pdf.GRID_COLOUR)
    canvas.setLineWidth(0.4)
    if page > 1 and part.get("header"):
        canvas.setFont(font, 8)
        canvas.setFillColor(pdf.MUTED)
        header = part["header"]
        while len(header) > 8 and canvas.stringWidth(header, font, 8) > w - 2 * MARGIN_X:
            header = header[:-2] + "…"
        canvas.drawString(MARGIN_X, top, header)
        canvas.line(MARGIN_X, top - 2 * mm, w - MARGIN_X, top - 2 * mm)
    y = 15.5 * mm
    canvas.line(MARGIN_X, y + 4 * mm, w - MARGIN_X, y + 4 * mm)
    canvas.setFillColor(pdf.MUTED)
    canvas.setFont(font, 7.5)
    left = part.get("versions", "")
    if part.get("notes"):
        left += " · 含缺字“□”,见首页说明"
    canvas.drawString(MARGIN_X, y, left)
    canvas.setFont(font, 9)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawRightString(w - MARGIN_X, y, f"第 {page} 页 / 共 {total} 页")
    canvas.setFont(font, 7)
    canvas.setFillColor(pdf.MUTED)
    canvas.drawString(MARGIN_X, y - 4 * mm, part.get("printed", ""))
    if part.get("warning"):
        canvas.setFillColor(pdf.WARN)
        canvas.setFont(font, 6.5)
        canvas.drawString(MARGIN_X, y - 7.5 * mm, part["warning"])
    canvas.restoreState()
