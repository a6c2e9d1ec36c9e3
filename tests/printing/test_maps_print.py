"""The printed 楼盘表, grid map and door-plate sheet: legible text, the legend, letters beside
colours, no personal numbers; a QR code from the sheet, decoded from the rendered page, opens the
right room."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from desktop.printing.maps import (
    PLATE_COLS,
    PLATE_ROWS,
    print_building_table,
    print_door_plates,
    print_grid_map,
)
from desktop.printing.preview import render_pages
from desktop.services.areas import AreaAdmin
from desktop.services.errors import ServiceError
from desktop.services.floorplan import FloorPlans
from desktop.services.households import Households
from desktop.services.records import Records
from tests.printing.conftest import needs_poppler, pdfinfo, pdfpages, pdftext


@pytest.fixture
def grid(store, admin, community):
    g = community.grid1["id"]
    a = AreaAdmin(store, admin)
    made = a.create_building(g, "幸福小区", "3", units=2, floors=3, rooms_per_floor=2)
    a.create_building(g, "幸福小区", "5", units=3, floors=30, rooms_per_floor=2)
    a.create_building(g, "阳光小区", "1", units=1, floors=6, rooms_per_floor=2)
    view = Households(store, admin).register(grid_id=g, address_id=made["address_ids"][0],
                                             members=[community.member("欧阳明", 40, phone="13912345678")])
    # last seen 100 days ago: past every household's 90-day rule, so its room is 逾
    Records(store, admin).create("visit", {"household_id": view["household"]["id"],
                                           "visited_on": date.today() - timedelta(days=100), "visitor": "admin"})
    return g


@needs_poppler
def test_building_table_prints_cells_legend_and_surname_only(store, admin, grid, tmp_path):
    r = print_building_table(store, admin, grid, "幸福小区", "3", out=tmp_path / "t.pdf")
    text = pdftext(r.files[0])
    assert "楼盘表 · 幸福小区3栋" in text and "1单元" in text and "2单元" in text and "3层" in text
    for label in ("走访逾期", "近期应走访", "重点人员", "信息不全", "未登记", "空置(已核实)", "信息完整"):
        assert label in text
    assert "欧 · 1人" in text and "欧阳明" not in text and "13912345678" not in text
    assert "101 逾" in text  # the letter beside the colour
    assert pdfinfo(r.files[0])["Page size"].startswith("841.89 x 595.27")  # A4 landscape


@needs_poppler
def test_a_30_floor_building_fits_a3_and_goes_on_to_a_second_a4_page(store, admin, grid, tmp_path):
    r = print_building_table(store, admin, grid, "幸福小区", "5", out=tmp_path / "t.pdf", paper="A3")
    assert pdfinfo(r.files[0])["Page size"].startswith("1190.55 x 841.8")
    assert r.pages == pdfpages(r.files[0]) == 1
    assert "30层" in pdftext(r.files[0]) and "1层" in pdftext(r.files[0])
    r = print_building_table(store, admin, grid, "幸福小区", "5", out=tmp_path / "t4.pdf", paper="A4")
    assert r.pages == pdfpages(r.files[0]) == 2
    first, second = pdftext(r.files[0], 1, 1).split(), pdftext(r.files[0], 2, 2).split()
    assert "30层" in first and "1层" not in first and "1层" in second and "30层" not in second
    assert "1单元" in second  # the unit headings repeat
    with pytest.raises(ServiceError, match="A4 或 A3"):
        print_building_table(store, admin, grid, "幸福小区", "5", out=tmp_path / "x.pdf", paper="B5")


@needs_poppler
def test_grid_map_prints_every_building_with_its_estate(store, admin, grid, tmp_path):
    r = print_grid_map(store, admin, grid, out=tmp_path / "m.pdf")
    text = pdftext(r.files[0])
    assert "网格一张图 · 第1网格" in text and "3 栋楼" in text
    for s in ("幸福小区", "阳光小区", "3栋 逾", "5栋 未", "1栋 未"):
        assert s in text


def _decode_qr(cv2, crop) -> str:
    """The QR code of one plate. OpenCV's detectors each miss the odd code at one scale (the tokens
    hold fresh ids, so the pattern differs each run): a scanner would look again, so does this,
    with both of OpenCV's detectors, at twice the size and then thresholded."""
    big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    images = (crop, big, cv2.threshold(big, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1])
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for image in images:
            value, _, _ = detector.detectAndDecode(image)
            if value:
                return value
    return ""


def test_door_plate_qr_codes_decode_to_tokens_that_open_the_room(store, admin, grid, tmp_path):
    import cv2  # opencv-python-headless: a test dependency (pyproject.toml)
    import numpy as np
    from PIL import Image

    r = print_door_plates(store, admin, grid, out=tmp_path / "d.pdf", estate="幸福小区", building="3")
    assert r.pages == 1
    dpi = 200
    png = render_pages(r.files[0], 0, 1, dpi=dpi)[0]
    page = np.array(Image.open(io.BytesIO(png)).convert("L"))
    px = dpi / 25.4  # pixels per mm
    pw, ph = (210 - 20) / PLATE_COLS, (297 - 36) / PLATE_ROWS  # the sheet's plates, in mm
    plans = FloorPlans(store, admin)
    found = []
    for row in range(PLATE_ROWS):  # each plate cut out along its cut lines
        for col in range(PLATE_COLS):
            y0, x0 = int((24 + row * ph) * px), int((10 + col * pw) * px)
            crop = page[y0:y0 + int(ph * px), x0:x0 + int(pw * px)]
            found.append(_decode_qr(cv2, crop))
    plates = plans.door_plates(grid, "幸福小区", "3")
    assert found == [p["token"] for p in plates]
    opened = plans.resolve(found[0])
    assert opened["text"] == "幸福小区3栋1单元101室" and opened["household_id"] is not None
    assert all("欧阳" not in v for v in found)


@needs_poppler
def test_a_whole_grid_of_door_plates_is_twelve_to_a_page(store, admin, grid, tmp_path):
    r = print_door_plates(store, admin, grid, out=tmp_path / "all.pdf")
    assert r.pages == pdfpages(r.files[0]) == 17  # 12 + 180 + 12 rooms
    first, last = pdftext(r.files[0], 1, 1), pdftext(r.files[0], 17, 17)
    assert "门牌二维码 · 第1网格" in first and "204 户室 · 第 1 页" in first
    assert "阳光小区1栋1单元602室" in last and "欧阳" not in pdftext(r.files[0])


def test_the_command_line_prints_all_three(capsys, tmp_path):
    from desktop.cli import main
    from desktop.services.demo import generate
    from desktop.services.store import Store

    db = tmp_path / "demo.db"
    store = Store.open(db, create=True)
    generate(store, households=30, seed=3)
    store.close()
    grid = "62010400100101"

    def run(*argv):
        code = main(["--db", str(db), "print", *[str(a) for a in argv]])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("building-table", "--building", f"{grid}/兰园花园/1栋", "--paper", "A3", "--out", tmp_path / "t.pdf")
    assert code == 0, err
    assert "t.pdf" in out and "共 1 页" in out
    code, out, err = run("grid-map", "--grid", grid, "--out", tmp_path / "m.pdf")
    assert code == 0 and (tmp_path / "m.pdf").exists(), err
    code, out, err = run("door-plates", "--building", f"{grid}/兰园花园/1", "--out", tmp_path / "d.pdf")
    assert code == 0 and "共 2 页" in out, err  # 24 rooms
    code, out, err = run("door-plates", "--out", tmp_path / "x.pdf")
    assert code == 2 and "--grid(整个网格)或 --building" in err and "Traceback" not in err
    code, out, err = run("building-table", "--building", f"{grid}/兰园花园/99", "--out", tmp_path / "x.pdf")
    assert code == 2 and "找不到楼栋" in err and not (tmp_path / "x.pdf").exists()


@needs_poppler
def test_a_map_drawn_on_a_plan_prints_its_real_shapes_over_the_faded_plan(store, admin, grid, tmp_path):
    """Rendered with pdftoppm at 72 dpi (one pixel a point): the drawn building is red where it was
    drawn, its courtyard (a hole) shows the plan through it, the plan is there washed out, and the
    buildings not drawn yet stand beside it."""
    import subprocess

    from PIL import Image
    from reportlab.lib.pagesizes import A3, landscape
    from reportlab.lib.units import mm

    from desktop.printing.maps import PLAN_FADE
    from desktop.services.map_shapes import MapShapes
    from tests.core.test_map_shapes import plan_png

    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png(800, 600))
    ring = [[60, 60], [260, 60], [260, 200], [60, 200]]
    courtyard = [[120, 100], [200, 100], [200, 160], [120, 160]]
    maps.draw_building(grid, "幸福小区", "3", [[ring, courtyard]])
    maps.draw_outline(grid, [[[[10, 10], [790, 10], [790, 590], [10, 590]]]])
    r = print_grid_map(store, admin, grid, out=tmp_path / "m.pdf")
    text = pdftext(r.files[0])
    assert "3栋 逾" in text and "5栋 未" in text and "1栋 未" in text
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", str(r.files[0]), str(tmp_path / "m")],
                   check=True, timeout=120)
    page = Image.open(tmp_path / "m.png").convert("RGB")
    m = FloorPlans(store, admin).grid_map(grid)
    x0, y0, x1, y1 = m.extent
    w, h = landscape(A3)
    scale = min((w - 24 * mm) / (x1 - x0), (h - 44 * mm) / (y1 - y0))

    def px(x: float, y: float) -> tuple[int, int]:
        return round(12 * mm + (x - x0) * scale), round(30 * mm + (y - y0) * scale)

    def close(c: tuple[int, ...], want: tuple[int, int, int], tol: int = 40) -> bool:
        return all(abs(a - b) <= tol for a, b in zip(c, want, strict=True))

    red = (0xd3, 0x2f, 0x2f)
    assert close(page.getpixel(px(80, 80)), red)  # the building, where it was drawn
    assert close(page.getpixel(px(240, 180)), red)
    paper = tuple(round(c + (255 - c) * PLAN_FADE) for c in (246, 242, 230))
    assert close(page.getpixel(px(160, 130)), paper, 12)  # the courtyard: the plan shows through
    assert close(page.getpixel(px(600, 250)), paper, 12)  # the plan, washed out
    road = page.getpixel(px(400, 300))  # the plan's road, grey but lighter than on the scan
    assert 210 < road[0] < 250 and close(road, (road[0],) * 3, 8)
    # the buildings not drawn yet: to the right of the plan
    others = [b for b in m.buildings if not b.drawn]
    assert len(others) == 2 and all(min(x for x, _ in b.polygon) > 800 for b in others)
    for b in others:  # grey: their rooms are 未登记
        bx0, by0 = min(x for x, _ in b.polygon), min(y for _, y in b.polygon)
        bx1, by1 = max(x for x, _ in b.polygon), max(y for _, y in b.polygon)
        assert close(page.getpixel(px(bx0 + 0.1 * (bx1 - bx0), by0 + 0.2 * (by1 - by0))), (0x9e, 0x9e, 0x9e), 12)
