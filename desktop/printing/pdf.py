"""Shared PDF machinery: styles, tables, and pages numbered "第 x 页 / 共 y 页".

Page decorations (header, footer, page numbers) are drawn when the document is saved, once the
page count of every part is known: several archives can share one PDF and each is numbered on
its own (a :class:`PartMark` flowable starts a part)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, Table, TableStyle

from desktop.printing.text import fits, para

GRID_COLOUR = colors.HexColor("#7a8594")
HEAD_FILL = colors.HexColor("#e6ecf3")
LABEL_FILL = colors.HexColor("#f2f4f7")
MUTED = colors.HexColor("#55606e")
WARN = colors.HexColor("#b3261e")
PAD = 2.2  # cell padding, pt


@dataclass(frozen=True)
class Styles:
    font: str
    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_small: ParagraphStyle
    head: ParagraphStyle


@cache
def styles(font: str) -> Styles:
    def s(name: str, size: float, leading: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **kw)

    return Styles(
        font=font,
        title=s("title", 30, 40, alignment=TA_CENTER, spaceAfter=6),
        subtitle=s("subtitle", 12, 18, alignment=TA_CENTER, textColor=MUTED),
        h1=s("h1", 12.5, 17, spaceBefore=9, spaceAfter=4, textColor=colors.HexColor("#1f3b57")),
        body=s("body", 9.5, 14),
        small=s("small", 8, 11, textColor=MUTED),
        note=s("note", 8.5, 12, textColor=WARN),
        cell=s("cell", 8, 10.5),
        cell_small=s("cell_small", 7.5, 9.5),
        head=s("head", 8, 10, alignment=TA_CENTER),
    )


def cell(text: str, width: float, style: ParagraphStyle) -> Any:
    """Plain text when it fits on one line (fast), a wrapping CJK paragraph otherwise."""
    if not text:
        return ""
    if fits(text, style.fontName, style.fontSize, width - 2 * PAD - 0.5):
        return text
    return para(text, style)


def data_table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths_mm: Sequence[float],
               st: Styles, *, small: bool = False, align_center: Sequence[int] = (),
               align_right: Sequence[int] = ()) -> Table:
    """A ruled table whose header row repeats on every page (repeatRows=1)."""
    widths = [w * mm for w in widths_mm]
    body_style = st.cell_small if small else st.cell
    head = [cell(h, w, st.head) for h, w in zip(headers, widths, strict=True)]
    data = [head]
    for row in rows:
        data.append([cell(v, w, body_style) for v, w in zip(row, widths, strict=True)])
    # splitInRow: a row taller than a page (a very long note) continues on the next page
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT", splitInRow=1)
    cmds: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), st.font, body_style.fontSize, body_style.leading),
        ("FONT", (0, 0), (-1, 0), st.font, st.head.fontSize, st.head.leading),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID_COLOUR),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
    ]
    cmds += [("ALIGN", (c, 1), (c, -1), "CENTER") for c in align_center]
    cmds += [("ALIGN", (c, 1), (c, -1), "RIGHT") for c in align_right]
    t.setStyle(TableStyle(cmds))
    if len(rows) > 1:  # what must fit under a heading: the header row and the first row
        t.gl_lead = lambda: data_table(headers, rows[:1], widths_mm, st, small=small)  # type: ignore[attr-defined]  # our mark on the Table, read by heading_with
    return t


def facts_table(pairs: Sequence[tuple[str, str]], total_mm: float, st: Styles, *, per_row: int = 2,
                label_mm: float = 24) -> Table:
    """Label/value pairs, `per_row` pairs to a row (labels shaded)."""
    value_mm = total_mm / per_row - label_mm
    widths = [label_mm * mm, value_mm * mm] * per_row
    data: list[list[Any]] = []
    for k in range(0, len(pairs), per_row):
        row: list[Any] = []
        for j in range(per_row):
            if k + j < len(pairs):
                label, value = pairs[k + j]
                row += [cell(label, label_mm * mm, st.cell), cell(value, value_mm * mm, st.cell)]
            else:
                row += ["", ""]
        data.append(row)
    t = Table(data, colWidths=widths, hAlign="LEFT", splitInRow=1)
    cmds: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), st.font, st.cell.fontSize + 0.5, st.cell.leading + 1),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID_COLOUR),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD + 1),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.2),
    ]
    for j in range(per_row):
        cmds.append(("BACKGROUND", (2 * j, 0), (2 * j, -1), LABEL_FILL))
    t.setStyle(TableStyle(cmds))
    if len(pairs) > 2 * per_row:
        t.gl_lead = lambda: facts_table(pairs[: 2 * per_row], total_mm, st, per_row=per_row,  # type: ignore[attr-defined]  # our mark, as above
                                        label_mm=label_mm)
    return t


class KeepStart(CondPageBreak):
    """A page break unless a heading and the start of what follows fit on this page.

    `lead` are flowables as tall as that start (the heading, the first rows of a table)."""

    def __init__(self, *lead: Flowable) -> None:
        super().__init__(0)
        self.lead = lead
        self._needed: float | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        if self._needed is None:
            self._needed = sum(f.wrap(availWidth, 1e6)[1] + f.getSpaceBefore() + f.getSpaceAfter()
                               for f in self.lead)
        self.height = self._needed
        return super().wrap(availWidth, availHeight)


def heading_with(title: Paragraph, first: Any) -> list[Any]:
    """[KeepStart, title]: the title never ends a page without the start of `first` below it."""
    lead = getattr(first, "gl_lead", None)
    start = lead() if lead is not None else first
    twin = Paragraph(title.text, title.style)
    return [KeepStart(twin, start), title]


class PartMark(Flowable):
    """Zero-size marker: pages from here on belong to part `info` (numbered on their own)."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__()
        self.info = info
        self.width = self.height = 0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return 0, 0

    def draw(self) -> None:
        self.canv._gl_part = self.info  # type: ignore[attr-defined]  # a NumberedCanvas: the stubs see a Canvas


class Check(Flowable):
    """Zero-size flowable that calls `callback()` when laid out (progress and cancel)."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self.callback = callback
        self.width = self.height = 0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return 0, 0

    def draw(self) -> None:
        self.callback()


Decorate = Callable[[Canvas, dict[str, Any], int, int], None]


def numbered_canvas(decorate: Decorate, pages_out: list[int]) -> type[Canvas]:
    """A Canvas class that keeps pages until save, then calls `decorate(canvas, part, x, y)` on
    every page (page x of y within its part). The total page count goes to `pages_out`."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._gl_pages: list[dict[str, Any]] = []
            self._gl_part: dict[str, Any] = {}

        def showPage(self) -> None:  # noqa: N802
            self._gl_pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset, private

        def save(self) -> None:
            counts: dict[int, int] = {}
            for state in self._gl_pages:
                key = id(state["_gl_part"])
                counts[key] = counts.get(key, 0) + 1
            seen: dict[int, int] = {}
            pages = self._gl_pages
            for state in pages:
                state.pop("_gl_pages", None)
                part = state["_gl_part"]
                key = id(part)
                seen[key] = seen.get(key, 0) + 1
                self.__dict__.update(state)
                decorate(self, part, seen[key], counts[key])
                Canvas.showPage(self)
            pages_out.append(len(pages))
            Canvas.save(self)

    return NumberedCanvas
