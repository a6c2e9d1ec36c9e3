"""The grid map and the 楼盘表 (run by `make bench`; not part of `make test`).

1. A grid of 50 buildings and 1,500 rooms opens on the map: `FloorPlans.grid_map` plus the
   QGraphicsScene drawn and painted once (GridMapPage.load + a grab of the view). Target ≤ 1 s.
2. The same grid drawn by hand over a background plan (a 4,096 × 2,900 px JPEG, every building a
   drawn shape): the plan decoded each time (the page's cache emptied), shapes read, scene drawn
   and painted. Target ≤ 1 s.
3. A 30-floor building's 楼盘表: `FloorPlans.building_table` plus the table widget filled
   (BuildingTablePage.load). Target ≤ 300 ms.

Each beside a baseline measured in the same run: the same rows read with raw SQL through plain
sqlite3 (rooms with their household, head and member count; last visits; care marks), no status
rule and no drawing. The street is a demo street of about 1,450 households moved into one grid and
renumbered into 50 buildings of 30 rooms (set up with raw SQL: fixture building, not app code),
plus one building of 3 units × 30 floors × 2 rooms made through AreaAdmin with 60 households
registered through the services. Results replace the map section of benchmarks/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from results_md import replace_section  # noqa: E402  (benchmarks/ is on sys.path)

BEGIN, END = "<!-- map-bench -->", "<!-- /map-bench -->"
MAP_TARGET_MS, TABLE_TARGET_MS = 1000.0, 300.0

RAW_ROOMS = (
    "SELECT a.id, a.estate, a.building, a.unit, a.floor, a.room, a.longitude, a.latitude, h.use, hh.id, p.name, "
    "(SELECT count(*) FROM person m WHERE m.household_id = hh.id AND m.deleted_at IS NULL) "
    "FROM address a LEFT JOIN house h ON h.address_id = a.id AND h.deleted_at IS NULL "
    "LEFT JOIN household hh ON hh.house_id = h.id AND hh.deleted_at IS NULL "
    "LEFT JOIN person p ON p.id = hh.head_person_id "
    "WHERE a.grid_id = ? AND a.deleted_at IS NULL AND a.cancelled = 0 AND a.building IS NOT NULL")
RAW_VISITS = ("SELECT v.household_id, max(v.visited_on) FROM visit v JOIN household hh ON hh.id = v.household_id "
              "WHERE hh.grid_id = ? AND v.deleted_at IS NULL GROUP BY v.household_id")
RAW_MARKS = ("SELECT DISTINCT household_id FROM person WHERE grid_id = ? AND deleted_at IS NULL "
             "AND (marks != '' OR derived_marks != '')")


def raw(db: Path, grid_id: str, extra: str = "", params: tuple = ()) -> float:
    t = time.perf_counter()
    con = sqlite3.connect(db)
    try:
        con.execute(RAW_ROOMS + extra, (grid_id, *params)).fetchall()
        con.execute(RAW_VISITS, (grid_id,)).fetchall()
        con.execute(RAW_MARKS, (grid_id,)).fetchall()
    finally:
        con.close()
    return (time.perf_counter() - t) * 1000


def setup(db: Path) -> tuple[str, int, int]:
    from desktop.services.areas import AreaAdmin
    from desktop.services.demo import generate
    from desktop.services.households import Households
    from desktop.services.store import SYSTEM, Store
    from desktop.validation import make_id_number

    store = Store.open(db, create=True)
    generate(store, households=1450, seed=7)
    with store.engine.begin() as con:  # the app's connection: its sync triggers need its functions
        q = con.exec_driver_sql
        grid_id = q("SELECT id FROM area WHERE level = 'grid' AND deleted_at IS NULL ORDER BY code").fetchone()[0]
        for table in ("address", "house", "household", "person", "visit", "vehicle", "household_ledger",
                      "grid_event", "dispute", "visit_need"):
            q(f"UPDATE {table} SET grid_id = ?", (grid_id,))
        ids = [r[0] for r in q("SELECT id FROM address ORDER BY estate, CAST(building AS INTEGER), unit, floor, room")]
        ids = ids[:1500]
        q("UPDATE address SET estate = '幸福里', building = ?, unit = ?, floor = ?, room = ?, "
          "longitude = NULL, latitude = NULL WHERE id = ?",
          [(str(i // 30 + 1), str((i % 30) // 15 + 1), i % 15 + 1, f"{i % 15 + 1}01", aid) for i, aid in enumerate(ids)])
        marks = ",".join("?" * len(ids))
        q(f"UPDATE address SET cancelled = 1 WHERE id NOT IN ({marks})", tuple(ids))
        rooms, buildings = q("SELECT count(*), count(DISTINCT building) FROM address WHERE grid_id = ? "
                             "AND cancelled = 0", (grid_id,)).fetchone()
    made = AreaAdmin(store, SYSTEM).create_building(grid_id, "高层小区", "1", units=3, floors=30, rooms_per_floor=2)
    h = Households(store, SYSTEM)
    for i, aid in enumerate(made["address_ids"][::3]):
        h.register(grid_id=grid_id, address_id=aid, members=[
            {"name": f"王{'一二三四五六七八九十'[i % 10]}", "cert_no": make_id_number("620104", datetime(1980, 1, 1 + i % 28).date(), 2 * i + 1)}])
    store.close()
    return grid_id, rooms, buildings


def draw_on_a_plan(store: Any, grid_id: str, m: Any, tmp: Path) -> int:
    """A 4,096 × 2,900 px plan (noise, so the JPEG is as heavy as a scan) set as the grid's
    background, and every building of the map drawn on it where the generated layout put it,
    through the service (as an admin would). Returns the number of shapes."""
    import random

    from PIL import Image, ImageDraw

    from desktop.services.map_shapes import MapShapes
    from desktop.services.store import SYSTEM

    w, h = 4096, 2900
    rng = random.Random(19)
    img = Image.effect_noise((w, h), 24).convert("RGB")
    d = ImageDraw.Draw(img)
    x0 = min(p[0] for b in m.buildings for p in b.polygon)
    y0 = min(p[1] for b in m.buildings for p in b.polygon)
    x1 = max(p[0] for b in m.buildings for p in b.polygon)
    y1 = max(p[1] for b in m.buildings for p in b.polygon)
    k = min((w - 200) / (x1 - x0), (h - 200) / (y1 - y0))
    shapes = []
    for b in m.buildings:
        ring = [(100 + (x - x0) * k + rng.uniform(-3, 3), 100 + (y - y0) * k + rng.uniform(-3, 3)) for x, y in b.polygon]
        d.polygon(ring, outline=(40, 40, 40), width=4)
        shapes.append((b.estate, b.building, ring))
    img.save(tmp / "plan.jpg", "JPEG", quality=85)
    maps = MapShapes(store, SYSTEM)
    maps.set_plan(grid_id, tmp / "plan.jpg")
    for estate, building, ring in shapes:
        maps.draw_building(grid_id, estate, building, [[ring]])
    return len(shapes)


def main() -> int:
    ap = argparse.ArgumentParser(description="GridLedger map and 楼盘表 benchmark")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from desktop.services.store import SYSTEM, Store
    from ui.context import AppContext
    from ui.pages.gridmap import BuildingTablePage, GridMapPage

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gl-map-bench-") as tmp:
        db = Path(tmp) / "map.db"
        grid_id, rooms, buildings = setup(db)
        app = QApplication.instance() or QApplication([])
        store = Store.open(db)
        ctx = AppContext(store, SYSTEM)

        page = GridMapPage(ctx)
        page.resize(1400, 900)
        page.show()
        app.processEvents()
        map_ms, map_raw = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            page.load()
            page.view.grab()  # painted once
            map_ms.append((time.perf_counter() - t) * 1000)
            map_raw.append(raw(db, grid_id))
        assert page.map is not None and len(page.map.buildings) == buildings + 1

        drawn = draw_on_a_plan(store, grid_id, page.map, Path(tmp))
        plan_ms, plan_raw = [], []
        for _ in range(args.runs):
            page._pixmaps.clear()  # the plan decoded every time: the map opened afresh
            t = time.perf_counter()
            page.load()
            page.view.grab()
            plan_ms.append((time.perf_counter() - t) * 1000)
            plan_raw.append(raw(db, grid_id))
        assert page.map.space == "image" and sum(1 for b in page.map.buildings if b.drawn) == drawn

        table = BuildingTablePage(ctx)
        table.resize(1400, 900)
        table.show()
        app.processEvents()
        table_ms, table_raw = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            table.load(grid_id, "高层小区", "1")
            table.table.viewport().grab()
            table_ms.append((time.perf_counter() - t) * 1000)
            table_raw.append(raw(db, grid_id, " AND a.estate = ? AND a.building = ?", ("高层小区", "1")))
        assert table.table.rowCount() == 30 and table.table_model is not None and table.table_model.rooms == 180
        for w in (page, table):
            w.close()
            w.deleteLater()
        app.processEvents()
        del page, table, ctx
        store.close()

    m, mr = statistics.median(map_ms), statistics.median(map_raw)
    pm, pr = statistics.median(plan_ms), statistics.median(plan_raw)
    b, br = statistics.median(table_ms), statistics.median(table_raw)
    ok_map, ok_plan, ok_table = m <= MAP_TARGET_MS, pm <= MAP_TARGET_MS, b <= TABLE_TARGET_MS
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    text = "\n".join([
        "## Grid map and 楼盘表 (benchmarks/map_bench.py)",
        "",
        f"Date {when} (run took {time.perf_counter() - started:.0f} s); {platform.platform()}; {os.cpu_count()} cores; "
        f"a grid of {buildings} buildings and {rooms:,} rooms (demo households moved into one grid), plus a "
        "30-floor building of 180 rooms. Median of "
        f"{args.runs} runs. The machine is noisy: compare the ratios.",
        "",
        "| measure | GridLedger | baseline: raw SQL, same rows, plain sqlite3 | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| grid map opens (status of every room, layout, scene drawn and painted) | {m:.0f} ms | {mr:.1f} ms | "
        f"{m / mr:.1f}× | ≤ {MAP_TARGET_MS:.0f} ms: {'PASS' if ok_map else 'FAIL'} |",
        f"| the same grid drawn over a 4,096 × 2,900 px plan ({drawn} shapes; plan decoded, scene drawn and painted) "
        f"| {pm:.0f} ms | {pr:.1f} ms | {pm / pr:.1f}× | ≤ {MAP_TARGET_MS:.0f} ms: {'PASS' if ok_plan else 'FAIL'} |",
        f"| 30-floor 楼盘表 opens (statuses, table filled and painted) | {b:.0f} ms | {br:.1f} ms | {b / br:.1f}× | "
        f"≤ {TABLE_TARGET_MS:.0f} ms: {'PASS' if ok_table else 'FAIL'} |",
    ])
    replace_section(Path(args.out), BEGIN, END, text)
    print(text)
    return 0 if ok_map and ok_plan and ok_table else 1


if __name__ == "__main__":
    sys.exit(main())
