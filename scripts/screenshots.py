"""Take screenshots of the main pages into docs/screenshots/ (run by `make screenshots`).

Runs offscreen on a fresh demo street, signed in as a grid worker, and grabs each page the way
a user would see it (theme applied, Chinese font from the system)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--user", default="wgy001")
    ap.add_argument("--households", type=int, default=400)
    ap.add_argument("--only-areas", action="store_true",
                    help="only the admin's area dialogs (12–15), on a fresh laptop")
    ap.add_argument("--only-plan", action="store_true",
                    help="only 今日走访 (16–19): light and dark, the rules dialog and the route sheet")
    ap.add_argument("--only-quality", action="store_true", help="only the 数据质量 page (20-quality)")
    ap.add_argument("--only-map", action="store_true",
                    help="only the grid map, the 楼盘表 and their printouts (16–20)")
    ap.add_argument("--only-pages", action="store_true",
                    help="only every page of the window at 1024×768, light and dark (page-*.png)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gl-shots-"))
    os.environ["GRIDLEDGER_DATA_DIR"] = str(tmp / "data")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from sqlalchemy import text

    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.theme import apply_theme
    from ui.workers import wait_all

    app = QApplication([])
    apply_theme(app)
    if args.only_areas:
        return areas_admin_shots(app, out, tmp)
    if args.only_plan:
        return plan_shots(app, out, tmp, args.user, args.households)
    if args.only_quality:
        return quality_shots(app, out, tmp)
    if args.only_map:
        return map_shots(app, out, tmp, args.user, args.households)
    if args.only_pages:
        return page_shots(app, out, tmp, args.households)
    store = Store.open(tmp / "demo.db", create=True)
    generate(store, households=args.households, seed=1)
    ctx = AppContext(store, actor_for(store, args.user))
    win = MainWindow(ctx)
    win.resize(1440, 900)
    win.show()

    def settle() -> None:
        for _ in range(5):
            wait_all()
            app.processEvents()

    def shot(name: str, widget=None) -> None:
        settle()
        (widget or win).grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")

    win.show_page("home")  # a grid worker starts on 今日走访 (16-plan-light)
    shot("01-home")
    areas = win.show_page("areas")
    m = areas.model
    idx = m.index(0, 0)
    for _ in range(5):  # community → grid → estate → building → unit
        areas.tree.expand(idx)
        settle()
        idx = m.index(0, 0, idx)
    shot("02-areas")
    win.show_page("person")
    shot("03-people")
    with store.session() as s:
        hh = s.execute(text(
            "SELECT household_id FROM person WHERE household_id IS NOT NULL AND grid_id IN "
            "(SELECT grid_id FROM user_grid ug JOIN app_user u ON u.id = ug.user_id WHERE u.username = :u) "
            "GROUP BY household_id HAVING count(*) >= 4 LIMIT 1"), {"u": args.user}).scalar()
    win.open_record("household", hh)
    shot("04-household")
    win.search.setText("zh")
    win.search._run()
    settle()
    # the result list is its own top-level popup: paint it onto the window picture where it shows
    from PySide6.QtGui import QPainter

    picture = win.grab()
    painter = QPainter(picture)
    popup = win.search.popup
    painter.drawPixmap(win.mapFromGlobal(popup.pos()), popup.grab())
    painter.end()
    picture.save(str(out / "05-search.png"))
    print("saved", out / "05-search.png")
    popup.hide()
    from ui.forms.dialogs import PersonDialog
    from ui.forms.register import RegisterHouseholdDialog
    from ui.forms.visit import VisitDialog

    person = PersonDialog(ctx, preset={"household_id": hh})
    from datetime import date

    from desktop.validation import make_id_number

    newborn = make_id_number("620104", date(date.today().year, 3, 15), 24)
    person.form.widgets["name"].setText("新生儿")
    person.form.widgets["cert_no"].setText(newborn)
    person._id_typed(newborn)
    person.form.widgets["phone"].setText("1381234")
    person._live_check()
    person.show()
    shot("06-person-form", person)
    person.hide()
    visit = VisitDialog(ctx, preset={"household_id": hh})
    visit.form.widgets["situation"].setPlainText("老人身体欠佳,子女在外务工")
    row = visit.add_need()
    row.content.setText("楼道灯损坏,希望尽快维修")
    visit.show()
    shot("07-visit", visit)
    visit.hide()
    reg = RegisterHouseholdDialog(ctx)
    reg.estate.setText("幸福小区")
    reg.building.setText("3")
    reg.unit.setText("2")
    reg.room.setText("501")
    reg.rows[0].name.setText("陈建国")
    reg.show()
    shot("08-register", reg)
    reg.hide()
    win.show_page("grid_event")
    shot("09-events")
    # the admin's view, on an encrypted copy of the street: local users and the settings page
    import shutil

    from desktop.services.demo import DEMO_PASSWORD
    from desktop.services.session import LocalDatabase, encrypt
    from ui.forms.users import UsersDialog

    copy = tmp / "encrypted.db"
    with store.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(tmp / "demo.db", copy)
    encrypt(copy, "admin", DEMO_PASSWORD, others={"wgz001": DEMO_PASSWORD, args.user: DEMO_PASSWORD})
    admin_store, admin = LocalDatabase(copy).open("admin", DEMO_PASSWORD)
    admin_ctx = AppContext(admin_store, admin)
    users = UsersDialog(admin_ctx)
    users.show()
    users.table.selectRow(next(i for i, u in enumerate(users.rows) if u["username"] == args.user))
    shot("10-users", users)
    users.hide()
    admin_win = MainWindow(admin_ctx)
    admin_win.resize(1280, 800)
    admin_win.show()
    admin_win.show_page("settings")
    shot("11-settings", admin_win)
    admin_win.close()
    admin_store.close()
    QTimer.singleShot(0, win.close)
    settle()
    store.close()
    areas_admin_shots(app, out, tmp)
    quality_shots(app, out, tmp)
    map_shots(app, out, tmp, args.user, args.households)
    return page_shots(app, out, tmp, args.households)


SMALL_SCREEN = (1024, 768)


def page_shots(app, out: Path, tmp: Path, households: int) -> int:
    """Every page of the window on the smallest screen it is made for (1024×768), in the light and
    the dark theme: the community admin (who has every page, 审计 included) on a demo street, each
    page as the sidebar opens it, and a household's page. page-NN-KEY-light.png / -dark.png."""
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.theme import apply_theme
    from ui.workers import wait_all

    store = Store.open(tmp / "pages.db", create=True)
    generate(store, households=households, seed=1)
    with store.engine.connect() as c:
        household = c.exec_driver_sql(
            "SELECT household_id FROM person WHERE household_id IS NOT NULL "
            "GROUP BY household_id HAVING count(*) >= 4 LIMIT 1").scalar()

    def settle() -> None:
        for _ in range(8):
            wait_all()
            app.processEvents()

    for theme, dark in (("light", False), ("dark", True)):
        apply_theme(app, dark=dark)
        win = MainWindow(AppContext(store, actor_for(store, "admin")))
        win.resize(*SMALL_SCREEN)
        win.show()
        settle()
        keys = [win.sidebar.item(i).data(256) for i in range(win.sidebar.count())]  # Qt.UserRole
        for n, key in enumerate([*keys, "household"], start=1):
            if key == "household":
                win.open_record("household", household)
            else:
                win.show_page(key)
            settle()
            assert (win.width(), win.height()) == SMALL_SCREEN, f"{key}: the window grew to {win.width()}×{win.height()}"
            name = f"page-{n:02d}-{key}-{theme}"
            win.grab().save(str(out / f"{name}.png"))
            print("saved", out / f"{name}.png")
        win.close()
        settle()
    apply_theme(app, dark=False)
    store.close()
    return 0


def quality_shots(app, out: Path, tmp: Path) -> int:
    """The 数据质量 page of the community admin on a demo street (1366×768, light theme): figures per
    grid (formulas on hover) and the queue, here filtered to 重复."""
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.workers import wait_all

    store = Store.open(tmp / "quality.db", create=True)
    generate(store, households=2000, seed=3)
    win = MainWindow(AppContext(store, actor_for(store, "admin")))
    win.resize(1366, 768)
    win.show()

    def settle() -> None:
        for _ in range(8):
            wait_all()
            app.processEvents()

    page = win.show_page("quality", group="duplicate")
    settle()
    page.queue.selectRow(0)
    settle()
    win.grab().save(str(out / "20-quality.png"))
    print("saved", out / "20-quality.png")
    win.close()
    settle()
    store.close()
    return 0


def plan_shots(app, out: Path, tmp: Path, user: str, households: int) -> int:
    """A grid worker signs in on the demo street (1366×768) and lands on 今日走访: light and dark;
    the admin's 设置 → 走访规则; the route sheet's first page (pdftoppm)."""
    import shutil
    import subprocess

    from desktop.printing.route import print_route
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.forms.visit_rules import RulesDialog
    from ui.main_window import MainWindow
    from ui.theme import apply_theme
    from ui.workers import wait_all

    store = Store.open(tmp / "plan.db", create=True)
    generate(store, households=households, seed=1)

    def settle() -> None:
        for _ in range(5):
            wait_all()
            app.processEvents()

    for name, dark in (("16-plan-light", False), ("17-plan-dark", True)):
        apply_theme(app, dark=dark)
        win = MainWindow(AppContext(store, actor_for(store, user)))
        win.resize(1366, 768)
        win.show()
        settle()
        win.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")
        win.close()
    apply_theme(app, dark=False)
    rules = RulesDialog(AppContext(store, actor_for(store, "admin")))
    rules.resize(820, 480)
    rules.show()
    settle()
    rules.grab().save(str(out / "18-visit-rules.png"))
    print("saved", out / "18-visit-rules.png")
    pdf = tmp / "route.pdf"
    print_route(store, actor_for(store, user), pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out / "19-route-sheet")], check=True)
        print("saved", out / "19-route-sheet.png")
    return 0


def _grid_code(store, grid_id: str) -> str:
    with store.engine.connect() as c:
        return c.exec_driver_sql("SELECT code FROM area WHERE id = ?", (grid_id,)).scalar() or ""


def draw_demo_plan(store, grid_id: str, tmp: Path) -> None:
    """What an office does once per grid: a scanned 网格平面图 (made up here, drawn with Pillow
    from the demo's layout, one building with a wing) set as the background plan by the community
    admin, the grid's outline and all but two of its buildings drawn over it (the other two wait
    in the column beside the plan)."""
    import random

    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    from desktop.printing.fonts import resolve_font
    from desktop.services.auth import actor_for
    from desktop.services.floorplan import FloorPlans
    from desktop.services.map_shapes import MapShapes

    admin = actor_for(store, "admin")
    m = FloorPlans(store, admin).grid_map(grid_id)  # metres: the demo's own layout
    pts = [q for b in m.buildings for q in b.polygon]
    x0, y0 = min(q[0] for q in pts), min(q[1] for q in pts)
    x1, y1 = max(q[0] for q in pts), max(q[1] for q in pts)
    k, margin = 5.0, 110.0
    width, height = int((x1 - x0) * k + 2 * margin), int((y1 - y0) * k + 2 * margin + 40)

    def px(q: tuple[float, float]) -> tuple[float, float]:
        return (q[0] - x0) * k + margin, (q[1] - y0) * k + margin + 40

    rng = random.Random(16)
    font_path = resolve_font(None).path
    big = ImageFont.truetype(font_path, 34) if font_path else ImageFont.load_default()
    small = ImageFont.truetype(font_path, 20) if font_path else ImageFont.load_default()
    img = Image.new("RGB", (width, height), (243, 238, 224))
    d = ImageDraw.Draw(img)
    road = (214, 211, 203)
    d.rectangle([margin * 0.35, 40 + margin * 0.35, width - margin * 0.35, height - margin * 0.35], outline=road,
                width=26)
    rows = sorted({round(px(q)[1] / 60) for b in m.buildings for q in b.polygon[:1]})
    if len(rows) > 1:
        mid = (min(px(q)[1] for b in m.buildings for q in b.polygon) + max(px(q)[1] for b in m.buildings
                                                                             for q in b.polygon)) / 2
        d.rectangle([margin * 0.35, mid - 16, width - margin * 0.35, mid + 16], fill=road)
    for _ in range(7):  # lawns
        cx, cy = rng.uniform(margin, width - margin), rng.uniform(margin + 40, height - margin)
        d.ellipse([cx - 38, cy - 22, cx + 38, cy + 22], fill=(205, 224, 190))
    shapes: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i, b in enumerate(m.buildings):
        ring = [px(q) for q in b.polygon]
        if i == 0:  # a building with a wing: an L, drawn as a polygon
            (ax, ay), (bx, _), (_, cy), _ = ring
            ring = [(ax, ay), (bx, ay), (bx, cy + 45), (bx - 30, cy + 45), (bx - 30, cy), (ax, cy)]
        shapes[(b.estate, b.building)] = ring
        d.polygon(ring, fill=(252, 251, 246), outline=(45, 45, 45), width=3)
        d.text((ring[0][0] + 4, ring[0][1] - 26), f"{b.building}号楼", fill=(60, 60, 60), font=small)
    d.text((margin * 0.5, 14), f"{m.buildings[0].estate if m.buildings else ''} · {m.name}平面图", fill=(30, 30, 30),
           font=big)
    d.text((width - 90, 14), "N ↑", fill=(30, 30, 30), font=big)
    scan = img.filter(ImageFilter.GaussianBlur(0.7))
    noise = scan.load()
    for _ in range(width * height // 60):  # a scanner's specks
        x, y = rng.randrange(width), rng.randrange(height)
        v = rng.randint(150, 235)
        noise[x, y] = (v, v, v - 8)
    path = tmp / "plan-scan.jpg"
    scan.save(path, "JPEG", quality=80)
    maps = MapShapes(store, admin)
    maps.set_plan(grid_id, path, filename="网格平面图(扫描件).jpg")
    edge = margin * 0.35 + 18
    maps.draw_outline(grid_id, [[[(edge, 40 + edge), (width - edge, 40 + edge), (width - edge, height - edge),
                                  (edge, height - edge)]]])
    for (estate, building), ring in list(shapes.items())[:-2]:
        hand = [(x + rng.uniform(-2, 2), y + rng.uniform(-2, 2)) for x, y in ring]  # drawn by hand
        maps.draw_building(grid_id, estate, building, [[hand]])


def map_shots(app, out: Path, tmp: Path, user: str, households: int) -> int:
    """16: the grid map of the worker's first grid, drawn over its scanned plan; 17: the 楼盘表 of
    its worst building; 18–20: the printed 楼盘表, grid map and door plates, rendered with
    pdftoppm (first page)."""
    import subprocess

    from PySide6.QtCore import QTimer

    from desktop.printing.maps import print_building_table, print_door_plates, print_grid_map
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.room_status import STATUSES
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.workers import wait_all

    store = Store.open(tmp / "map.db", create=True)
    generate(store, households=households, seed=1)
    actor = actor_for(store, user)
    grid_ids = sorted(actor.grid_ids or ())
    if grid_ids:  # the worker's first grid, as the combo box lists it
        draw_demo_plan(store, min(grid_ids, key=lambda g: _grid_code(store, g)), tmp)
    win = MainWindow(AppContext(store, actor))
    win.resize(1440, 900)
    win.show()

    def shot(name: str) -> None:
        for _ in range(5):
            wait_all()
            app.processEvents()
        win.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")

    page = win.show_page("gridmap")
    shot("16-grid-map")
    m = page.map
    worst = min(m.buildings, key=lambda b: (STATUSES[b.status][3] if b.status else 9, -b.rooms))
    page.open_building(worst.estate, worst.building)
    shot("17-building-table")
    pdfs = {
        "18-print-building-table": print_building_table(store, actor, m.grid_id, worst.estate, worst.building,
                                                        out=tmp / "t.pdf").files[0],
        "19-print-grid-map": print_grid_map(store, actor, m.grid_id, out=tmp / "m.pdf").files[0],
        "20-print-door-plates": print_door_plates(store, actor, m.grid_id, out=tmp / "d.pdf", estate=worst.estate,
                                                  building=worst.building).files[0],
    }
    for name, pdf in pdfs.items():
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out / name)], check=True, timeout=120)
        print("saved", out / f"{name}.png")
    QTimer.singleShot(0, win.close)
    for _ in range(5):
        wait_all()
        app.processEvents()
    store.close()
    return 0


def areas_admin_shots(app, out: Path, tmp: Path) -> int:
    """An admin on a fresh laptop (1366×768, light theme) builds the tree in 地址与网格: the page
    with its 新建 / 修改 / 删除 buttons, 新建网格, 新建楼栋 (3 单元 × 6 层 × 2 户) and 修改楼栋."""
    from desktop.services.areas import AreaAdmin
    from desktop.services.store import Actor, Store
    from ui.context import AppContext
    from ui.forms.areas import BuildingDialog, EditBuildingDialog, GridDialog
    from ui.main_window import MainWindow
    from ui.workers import wait_all

    store = Store.open(tmp / "fresh.db", create=True)
    admin = Actor("admin", "community_admin", None, store.meta("device_id"), "社区管理员")
    svc = AreaAdmin(store, admin)
    community = svc.create_community("兰化22街区社区", code="620104001001")
    g1 = svc.create_grid(community["id"], "第1网格")
    svc.create_grid(community["id"], "第2网格")
    svc.create_building(g1["id"], "幸福小区", "1", units=2, floors=6, rooms_per_floor=2)
    second = svc.create_building(g1["id"], "幸福小区", "2", units=2, floors=6, rooms_per_floor=2)
    from datetime import date

    from desktop.services.households import Households
    from desktop.validation import make_id_number

    Households(store, admin).register(grid_id=g1["id"], address_id=second["address_ids"][0], members=[
        {"name": "陈建国", "cert_no": make_id_number("620104", date(1974, 5, 2), 11)},
        {"name": "李秀英", "cert_no": make_id_number("620104", date(1976, 8, 9), 22), "relation": "10"}])
    ctx = AppContext(store, admin)
    win = MainWindow(ctx)
    win.resize(1366, 768)
    win.show()

    def settle() -> None:
        for _ in range(5):
            wait_all()
            app.processEvents()

    def shot(name: str, widget) -> None:
        settle()
        widget.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")

    page = win.show_page("areas")
    m = page.model
    idx = m.index(0, 0)
    for _ in range(4):  # community → grid → estate → building
        page.tree.expand(idx)
        settle()
        idx = m.index(0, 0, idx)
    page.tree.setCurrentIndex(idx.parent())
    shot("12-areas-admin", win)
    grid = GridDialog(svc, community_id=community["id"], parent=win)
    grid.name.setText("第3网格")
    grid.show()
    shot("13-new-grid", grid)
    grid.hide()
    building = BuildingDialog(svc, grid_id=g1["id"], estate="幸福小区", parent=win)
    building.building.setText("3")
    building.units.setValue(3)
    building.floors.setValue(6)
    building.per_floor.setValue(2)
    building.show()
    shot("14-new-building", building)
    building.hide()
    edit = EditBuildingDialog(svc, g1["id"], "幸福小区", "2", parent=win)
    edit.building.setText("5")
    edit.show()
    shot("15-edit-building", edit)
    edit.hide()
    win.close()
    settle()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
