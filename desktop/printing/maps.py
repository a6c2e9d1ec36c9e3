"""The 楼盘表 (A4 or A3), the grid map (A3) and the door-plate sheet (A4, QR codes) as PDF.

Drawn straight on a ReportLab canvas. Every cell and building carries its status as a letter as
well as a colour (readable in black and white and for colour-blind readers); the legend says what
each means. The 楼盘表 shows the head's surname only, the door plates only the address and an
opaque token: no ID number or phone ever reaches these sheets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from desktop.domain.geo import Polygon, label_point
from desktop.printing.common import (
    MissingGlyphs,
    PrintOptions,
    PrintResult,
    TempFiles,
    actor_label,
    audit_detail,
    out_file,
    replace_into,
)
from desktop.printing.fonts import FontChoice, resolve_font
from desktop.printing.text import Guard
from desktop.services.audit import write_audit
from desktop.services.demo import demo_mark
from desktop.services.errors import ServiceError
from desktop.services.floorplan import BuildingTable, FloorPlans, GridMap
from desktop.services.map_shapes import MapShapes
from desktop.services.room_status import ORDER, STATUSES
from desktop.services.rules import compose_address
from desktop.services.store import Actor, Store

log = logging.getLogger(__name__)
PAGES = {"A4": landscape(A4), "A3": landscape(A3)}


def _text_colour(hex_colour: str) -> Any:
    c = HexColor(hex_colour)
    return black if (0.299 * c.red + 0.587 * c.green + 0.114 * c.blue) > 0.55 else white


def _fit_text(c: Canvas, font: str, text: str, size: float, width: float) -> float:
    while size > 4 and c.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _legend(c: Canvas, font: str, x: float, y: float, counts: dict[str, int] | None = None) -> None:
    c.setFont(font, 8)
    for key in ORDER:
        label, letter, colour, _ = STATUSES[key]
        c.setFillColor(HexColor(colour))
        c.rect(x, y - 1 * mm, 5 * mm, 4 * mm, stroke=1, fill=1)
        c.setFillColor(_text_colour(colour))
        c.drawCentredString(x + 2.5 * mm, y, letter)
        c.setFillColor(black)
        shown = f"{label}" + (f" {counts.get(key, 0)}" if counts is not None else "")
        c.drawString(x + 6.5 * mm, y, shown)
        x += 6.5 * mm + c.stringWidth(shown, font, 8) + 5 * mm


def _header(c: Canvas, font: str, page: tuple[float, float], title: str, scope: str, footer: str,
            mark: str | None) -> None:
    w, h = page
    c.setPageSize(page)
    c.setFillColor(black)
    c.setFont(font, 16)
    c.drawString(12 * mm, h - 14 * mm, title)
    c.setFont(font, 9)
    c.drawRightString(w - 12 * mm, h - 14 * mm, scope)
    c.setFont(font, 7)
    c.drawString(12 * mm, 7 * mm, footer)
    if mark:
        c.setFillColor(HexColor("#c62828"))
        c.setFont(font, 9)
        c.drawRightString(w - 12 * mm, 7 * mm, mark)
        c.setFillColor(black)


def draw_building_table(c: Canvas, t: BuildingTable, font: str, page: tuple[float, float], footer: str,
                        mark: str | None, name: Callable[[str], str]) -> int:
    """One 楼盘表 on as many pages as its floors need; returns the page count."""
    w, h = page
    left, top, bottom = 12 * mm, h - 30 * mm, 16 * mm
    label_w = 14 * mm
    cols = [(u, i) for u in t.units for i in range(t.width)]
    cell_w = (w - 2 * left - label_w) / max(1, len(cols))
    cell_h = min(16 * mm, max(8 * mm, (top - bottom - 8 * mm) / max(1, len(t.floors))))
    per_page = max(1, int((top - bottom - 8 * mm + 0.01) // cell_h))
    pages = 0
    for start in range(0, len(t.floors), per_page):
        floors = t.floors[start:start + per_page]
        _header(c, font, page, f"楼盘表 · {name(t.title)}",
                f"共 {t.rooms} 户室" + (f" · 第 {pages + 1} 页" if len(t.floors) > per_page else ""), footer, mark)
        _legend(c, font, left, h - 22 * mm, t.counts)
        y = top
        c.setFont(font, 9)
        for ui, unit in enumerate(t.units):  # unit headings span their columns
            x = left + label_w + ui * t.width * cell_w
            c.rect(x, y - 6 * mm, t.width * cell_w, 6 * mm)
            c.drawCentredString(x + t.width * cell_w / 2, y - 4.3 * mm, f"{unit}单元" if unit else "—")
        y -= 6 * mm
        for floor in floors:
            y -= cell_h
            c.setFillColor(black)
            c.rect(left, y, label_w, cell_h)
            c.setFont(font, 9)
            c.drawCentredString(left + label_w / 2, y + cell_h / 2 - 1.5 * mm, f"{floor}层" if floor else "—")
            for ci, (unit, i) in enumerate(cols):
                x = left + label_w + ci * cell_w
                cells = t.cells.get((unit, floor), [])
                if i >= len(cells):
                    c.setFillColor(HexColor("#ffffff"))
                    c.rect(x, y, cell_w, cell_h, stroke=1, fill=1)
                    continue
                cell = cells[i]
                colour = STATUSES[cell.status][2]
                c.setFillColor(HexColor(colour))
                c.rect(x, y, cell_w, cell_h, stroke=1, fill=1)
                c.setFillColor(_text_colour(colour))
                line1 = f"{cell.room}  {cell.letter}"
                c.setFont(font, _fit_text(c, font, line1, 8, cell_w - 2 * mm))
                c.drawString(x + 1 * mm, y + cell_h - 3.6 * mm, line1)
                body = name(cell.text)
                c.setFont(font, _fit_text(c, font, body, 9, cell_w - 2 * mm))
                c.drawString(x + 1 * mm, y + 1.6 * mm, body)
        c.setFillColor(black)
        c.showPage()
        pages += 1
    return pages


EVEN_ODD = 0  # reportlab.pdfgen.canvas.FILL_EVEN_ODD (its type stubs lack the name): a hole stays open
PLAN_FADE = 0.55  # how far the background plan is washed towards white under the shapes
PLAN_PRINT_SIDE = 2400  # pixels of the plan on the page (A3 at about 150 dpi)


def faded_plan(data: bytes) -> Any:
    """The background plan washed out (the shapes stay readable over it), for the page; None
    for bytes that are no image."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as src:
            img = src.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    img.thumbnail((PLAN_PRINT_SIDE, PLAN_PRINT_SIDE))
    img = Image.blend(img, Image.new("RGB", img.size, (255, 255, 255)), PLAN_FADE)
    return ImageReader(img)


def draw_grid_map(c: Canvas, m: GridMap, font: str, page: tuple[float, float], footer: str,
                  mark: str | None, name: Callable[[str], str], plan_image: bytes | None = None) -> int:
    w, h = page
    counts: dict[str, int] = {}
    for b in m.buildings:
        if b.status:
            counts[b.status] = counts.get(b.status, 0) + 1
    _header(c, font, page, f"网格一张图 · {name(m.name)}", f"{len(m.buildings)} 栋楼 · 颜色为楼内最需处理的户室",
            footer, mark)
    _legend(c, font, 12 * mm, h - 22 * mm, counts)
    x0, y0, x1, y1 = m.extent
    area_w, area_h = w - 24 * mm, h - 44 * mm
    scale = min(area_w / max(1e-6, x1 - x0), area_h / max(1e-6, y1 - y0))

    def at(p: tuple[float, float]) -> tuple[float, float]:
        return 12 * mm + (p[0] - x0) * scale, h - 30 * mm - (p[1] - y0) * scale

    def path_of(parts: list[Polygon]) -> Any:
        path = c.beginPath()
        for part in parts:
            for ring in part:
                path.moveTo(*at(ring[0]))
                for q in ring[1:]:
                    path.lineTo(*at(q))
                path.close()
        return path

    if m.plan is not None and plan_image:
        reader = faded_plan(plan_image)
        if reader is not None:
            left, top = at((0.0, 0.0))
            pw, ph = m.plan.width * scale, m.plan.height * scale
            c.drawImage(reader, left, top - ph, pw, ph)
            c.setStrokeColor(HexColor("#90a4ae"))
            c.rect(left, top - ph, pw, ph, stroke=1, fill=0)
    if m.outline_parts:
        c.setDash(4, 3)
        c.setLineWidth(1.5 if m.outline_id else 1)
        c.setStrokeColor(HexColor("#455a64"))
        c.drawPath(path_of(m.outline_parts), stroke=1, fill=0)
        c.setDash()
        c.setLineWidth(1)
    for b in m.buildings:
        colour = STATUSES[b.status][2] if b.status else "#ffffff"
        c.setStrokeColor(black)
        c.setFillColor(HexColor(colour))
        c.drawPath(path_of(b.parts), stroke=1, fill=1, fillMode=EVEN_ODD)
        cx, cy = at(label_point(b.parts))
        xs = [at(q)[0] for part in b.parts for q in part[0]]
        c.setFillColor(_text_colour(colour))
        label = f"{b.label} {STATUSES[b.status][1] if b.status else ''}"
        c.setFont(font, _fit_text(c, font, label, 9, max(xs) - min(xs) - 1 * mm))
        c.drawCentredString(cx, cy - 1.5 * mm, label)
    estates: dict[str, list[float]] = {}
    for b in m.buildings:
        if m.space == "image" and b.drawn:
            continue  # the plan names its own estates
        pts = [at(q) for part in b.parts for q in part[0]]
        e = estates.setdefault(b.estate, [1e9, -1e9])
        e[0] = min(e[0], min(x for x, _ in pts))
        e[1] = max(e[1], max(y for _, y in pts))
    c.setFillColor(HexColor("#263238"))
    c.setFont(font, 10)
    for estate, (x, y) in estates.items():
        c.drawString(x, y + 2 * mm, name(estate))
    c.showPage()
    return 1


PLATE_COLS, PLATE_ROWS = 3, 4


def draw_door_plates(c: Canvas, plates: list[dict[str, str]], font: str, footer: str, mark: str | None,
                     name: Callable[[str], str], title: str) -> int:
    w, h = A4
    pw, ph = (w - 20 * mm) / PLATE_COLS, (h - 36 * mm) / PLATE_ROWS
    qr_size = min(pw, ph) - 22 * mm
    per = PLATE_COLS * PLATE_ROWS
    pages = 0
    for start in range(0, len(plates), per):
        _header(c, font, A4, f"门牌二维码 · {name(title)}", f"{len(plates)} 户室 · 第 {pages + 1} 页", footer, mark)
        for i, plate in enumerate(plates[start:start + per]):
            col, row = i % PLATE_COLS, i // PLATE_COLS
            x, y = 10 * mm + col * pw, h - 24 * mm - (row + 1) * ph
            c.setDash(2, 2)
            c.rect(x + 1 * mm, y + 1 * mm, pw - 2 * mm, ph - 2 * mm)  # cut lines
            c.setDash()
            widget = QrCodeWidget(plate["token"], barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            d = Drawing(qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0])
            d.add(widget)
            renderPDF.draw(d, c, x + (pw - qr_size) / 2, y + 14 * mm)
            text = name(plate["text"])
            c.setFont(font, _fit_text(c, font, text, 11, pw - 6 * mm))
            c.drawCentredString(x + pw / 2, y + 8 * mm, text)
            c.setFont("Helvetica", 5.5)
            c.drawCentredString(x + pw / 2, y + 4 * mm, plate["token"])
        c.showPage()
        pages += 1
    return pages


def _print(store: Store, actor: Actor, out: Path | str, options: PrintOptions | None, kind: str, grid_id: str,
           draw: Callable[[Canvas, FontChoice, Callable[[str], str], str, str | None], int],
           texts: list[str], summary: str, **detail: Any) -> PrintResult:
    options = options or PrintOptions()
    font = resolve_font(options.font_path)
    guard = Guard(font, allow=options.allow_missing)
    for t in texts:
        guard(t, "楼盘表" if kind == "building_table" else "网格", "名称")
    if guard.items and not options.allow_missing:
        raise MissingGlyphs(guard.items, font.display)
    target = out_file(out)
    when = datetime.now().replace(microsecond=0).strftime("%Y-%m-%d %H:%M")
    footer = f"{guard.printable(actor_label(actor))} 打印于 {when} · 网格台账"
    temps = TempFiles()
    try:
        temp = temps.new(target.parent)
        c = Canvas(str(temp))
        c.setTitle(summary)
        pages = draw(c, font, guard.printable, footer, demo_mark(store))
        c.save()
        with store.transaction() as s:
            write_audit(s, actor, "print", "area", grid_id,
                        audit_detail(kind=kind, pages=pages, font=font.display, **detail),
                        summary=f"打印{summary}(共 {pages} 页)")
        replace_into(temp, target)
        log.info("printed %s: %d pages", kind, pages)
    finally:
        temps.remove_all()
    warnings = ([font.warning] if font.warning else []) + guard.notes
    return PrintResult(files=[target], pages=pages, households=0, warnings=warnings)


def print_building_table(store: Store, actor: Actor, grid_id: str, estate: str, building: str, *,
                         out: Path | str, paper: str = "A4", options: PrintOptions | None = None) -> PrintResult:
    """The 楼盘表 of one building on A4 or A3 landscape."""
    if paper not in PAGES:
        raise ServiceError(f"纸张“{paper}”不支持,请选择 A4 或 A3")
    t = FloorPlans(store, actor).building_table(grid_id, estate, building)
    texts = [t.title] + [cell.text for cells in t.cells.values() for cell in cells]
    return _print(store, actor, out, options, "building_table", grid_id,
                  lambda c, f, name, footer, mark: draw_building_table(c, t, f.name, PAGES[paper], footer, mark, name),
                  texts, f"楼盘表 {t.title}", rooms=t.rooms, paper=paper)


def print_grid_map(store: Store, actor: Actor, grid_id: str, *, out: Path | str,
                   options: PrintOptions | None = None) -> PrintResult:
    """The grid map with its legend on A3 landscape: the real shapes, over the background plan
    (washed out) when they are drawn on one."""
    m = FloorPlans(store, actor).grid_map(grid_id)
    if not m.buildings:
        raise ServiceError(f"网格“{m.name}”还没有楼栋,没有可打印的地图:请先在“地址与网格”中新建楼栋")
    image = MapShapes(store, actor).plan_image(grid_id) if m.plan is not None else None
    texts = [m.name] + [b.estate for b in m.buildings]
    return _print(store, actor, out, options, "grid_map", grid_id,
                  lambda c, f, name, footer, mark: draw_grid_map(c, m, f.name, PAGES["A3"], footer, mark, name,
                                                                 image),
                  texts, f"网格一张图 {m.name}", buildings=len(m.buildings), space=m.space,
                  drawn=sum(1 for b in m.buildings if b.drawn))


def print_door_plates(store: Store, actor: Actor, grid_id: str, *, out: Path | str, estate: str | None = None,
                      building: str | None = None, options: PrintOptions | None = None) -> PrintResult:
    """A sheet of door plates (12 per A4 page), one QR code per room holding its opaque token."""
    plans = FloorPlans(store, actor)
    plates = plans.door_plates(grid_id, estate, building)
    if not plates:
        raise ServiceError("所选范围内没有户室,没有可打印的门牌")
    title = compose_address(estate, building, None, None) if building is not None else plans.grid_name(grid_id)
    return _print(store, actor, out, options, "door_plates", grid_id,
                  lambda c, f, name, footer, mark: draw_door_plates(c, plates, f.name, footer, mark, name, title),
                  [p["text"] for p in plates], f"门牌二维码 {title}", plates=len(plates))
