"""楼盘表 (a building: units × floors, one cell per room), the grid map (网格一张图) and door-plate
tokens (门牌二维码), all coloured by `room_status` (desktop/services/room_status.py).

A building exists through its standard addresses (小区/楼栋/单元/户室), so the 楼盘表 needs no
coordinates. The map draws each building by its stored shape when it has one
(desktop.services.map_shapes: imported from GeoJSON, or drawn over the grid's background plan),
else at the mean of its rooms' coordinates (set by a GeoJSON import, `import_geojson`), else in a
generated layout: one block per 小区, buildings in rows, each as wide as its units and as deep as
its floors allow. With a background plan the map is drawn in the plan's pixels and the buildings
not drawn on it yet stand in a column beside it."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from desktop.domain.geo import (
    COORD_SYSTEMS,
    GeoError,
    Polygon,
    bbox,
    project,
    read_geojson,
    signed_area,
)
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, ServiceError, require
from desktop.services.map_shapes import MapShapes, Plan, Shape
from desktop.services.records import Records
from desktop.services.room_status import (
    STATUSES,
    RoomFacts,
    due_households,
    key_households,
    quality_problems,
    room_status,
    worst,
)
from desktop.services.rules import compose_address
from desktop.services.store import Actor, Store

TOKEN_PREFIX = "GLM1-"  # door-plate payload: prefix + the room's opaque id (no personal data)
_TOKEN = re.compile(r"^\s*GLM1-([0-9a-f]{32})\s*$", re.IGNORECASE)


def _natural(value: Any) -> tuple:
    v = "" if value is None else str(value)
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


def _floor_of(floor: int | None, room: str | None) -> int:
    """A room's floor: the stored one, else read from the number (1203 → 12), else 0 (unknown)."""
    if floor is not None:
        return int(floor)
    r = room or ""
    return int(r[:-2]) if r.isdigit() and len(r) > 2 else 0


def surname(name: str | None) -> str:
    return (name or "").strip()[:1]


@dataclass
class Cell:
    address_id: str
    unit: str
    floor: int
    room: str
    household_id: str | None
    status: str
    text: str  # what the cell says: 张 · 3人 / 空置 / 出租 / 未登记
    people: int = 0
    tip: str = ""  # one line on hover

    @property
    def letter(self) -> str:
        return STATUSES[self.status][1]


@dataclass
class BuildingTable:
    grid_id: str
    estate: str
    building: str
    units: list[str]
    floors: list[int]  # top floor first, as on the wall
    cells: dict[tuple[str, int], list[Cell]]
    counts: dict[str, int]

    @property
    def title(self) -> str:
        return compose_address(self.estate, self.building, None, None)

    @property
    def rooms(self) -> int:
        return sum(len(v) for v in self.cells.values())

    @property
    def width(self) -> int:
        """The most rooms on one floor of one unit (the columns a unit spans)."""
        return max((len(v) for v in self.cells.values()), default=1)


@dataclass
class MapBuilding:
    estate: str
    building: str
    rooms: int
    status: str | None
    counts: dict[str, int]
    polygon: list[tuple[float, float]]  # scene units (y downwards): the outer ring of the largest part
    located: bool  # from a shape or coordinates (True) or the generated layout
    households: list[tuple[str, str]] = field(default_factory=list)  # (household_id, head name) for search
    parts: list[Polygon] = field(default_factory=list)  # every part, holes after its outer ring
    drawn: str | None = None  # the space of its stored shape ("image", "wgs84"), None without one
    shape_id: str | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            self.parts = [[list(self.polygon)]]

    @property
    def label(self) -> str:
        return f"{self.building}栋"


@dataclass
class GridMap:
    """The grid drawn in scene units, y downwards: metres (space "metres") or, when the grid has a
    background plan, the plan's pixels (space "image", the plan at (0, 0)–(width, height))."""

    grid_id: str
    name: str
    outline: list[tuple[float, float]]  # the outer ring of the outline's largest part ([] for none)
    buildings: list[MapBuilding]
    space: str = "metres"
    plan: Plan | None = None
    outline_parts: list[Polygon] = field(default_factory=list)
    outline_id: str | None = None  # the drawn or imported outline's shape (None: the buildings' box)
    label_size: float = 6.0  # scene units of a label's height

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of everything drawn: plan, outline and buildings."""
        pts = [p for part in self.outline_parts for p in part[0]] + list(self.outline)
        pts += [p for b in self.buildings for part in b.parts for p in part[0]]
        if self.plan is not None:
            pts += [(0.0, 0.0), (float(self.plan.width), float(self.plan.height))]
        if not pts:
            return 0.0, 0.0, 1.0, 1.0
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


_ROOMS_SQL = (
    "SELECT a.id, a.estate, a.building, a.unit, a.floor, a.room, a.longitude, a.latitude, h.use, hh.id, p.name, "
    "(SELECT count(*) FROM person m WHERE m.household_id = hh.id AND m.deleted_at IS NULL) "
    "FROM address a LEFT JOIN house h ON h.address_id = a.id AND h.deleted_at IS NULL "
    "LEFT JOIN household hh ON hh.house_id = h.id AND hh.deleted_at IS NULL "
    "LEFT JOIN person p ON p.id = hh.head_person_id "
    "WHERE a.grid_id = :g AND a.deleted_at IS NULL AND a.cancelled = 0 AND a.building IS NOT NULL")


def _rooms(conn: Connection, grid_id: str, today: date, estate: str | None = None,
           building: str | None = None) -> list[tuple[Any, ...]]:
    """(row, status, problems) of every room of a grid (or of one building)."""
    sql = _ROOMS_SQL
    params: dict[str, Any] = {"g": grid_id}
    if estate is not None:
        sql += " AND a.estate = :e AND a.building = :b"
        params |= {"e": estate, "b": building}
    rows = conn.execute(text(sql), params).all()
    hh_ids = sorted({r[9] for r in rows if r[9]})
    key = key_households(conn, hh_ids)
    due = due_households(conn, hh_ids, today, key)
    problems = quality_problems(conn, hh_ids, today)
    out = []
    for r in rows:
        hid = r[9]
        facts = RoomFacts(hid, vacant=r[8] == "3", key_person=hid in key, visit=due.get(hid) if hid else None,
                          problems=tuple(problems.get(hid, ())) if hid else ())
        out.append((r, room_status(facts), facts.problems))
    return out


class FloorPlans:
    """The 楼盘表 and the grid map of the grids an actor may see; imports of building outlines."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    def _grid(self, conn: Connection, grid_id: str) -> str:
        row = conn.execute(text("SELECT name FROM area WHERE id = :g AND level = 'grid' AND deleted_at IS NULL"),
                           {"g": grid_id}).first()
        if row is None:
            raise NotFound("找不到所选网格,可能已被删除,请刷新后再试")
        if not self.actor.may_access(grid_id):
            raise ServiceError(f"您没有负责网格“{row[0]}”,不能查看它的楼盘表和地图")
        return row[0]

    # --- 楼盘表 ---------------------------------------------------------------------------------
    def building_table(self, grid_id: str, estate: str, building: str, *, today: date | None = None) -> BuildingTable:
        today = today or date.today()
        with self.store.session() as s:
            conn = s.connection()
            self._grid(conn, grid_id)
            rooms = _rooms(conn, grid_id, today, estate, str(building))
        if not rooms:
            raise NotFound(f"找不到楼栋“{compose_address(estate, building, None, None)}”,请刷新后再试")
        cells: dict[tuple[str, int], list[Cell]] = defaultdict(list)
        counts = dict.fromkeys(STATUSES, 0)
        for r, status, problems in rooms:
            unit, floor = r[3] or "", _floor_of(r[4], r[5])
            if r[9]:
                text_ = f"{surname(r[10]) or '?'} · {r[11]}人"
                tip = f"{r[5]}室 {r[10] or '未指定户主'}户,{r[11]} 人"
            else:
                text_ = {"3": "空置", "2": "出租"}.get(r[8] or "", "未登记")
                tip = f"{r[5]}室 {text_}" + ("" if r[8] else ",可在此登记整户")
            tip += f" · {STATUSES[status][0]}" + (f"({';'.join(problems)})" if problems else "")
            cells[(unit, floor)].append(Cell(r[0], unit, floor, r[5] or "", r[9], status, text_, r[11] or 0, tip))
            counts[status] += 1
        for v in cells.values():
            v.sort(key=lambda c: _natural(c.room))
        units = sorted({u for u, _ in cells}, key=_natural)
        floors = sorted({f for _, f in cells}, reverse=True)
        return BuildingTable(grid_id, estate, str(building), units, floors, dict(cells), counts)

    def grid_name(self, grid_id: str) -> str:
        with self.store.session() as s:
            return self._grid(s.connection(), grid_id)

    # --- the grid map ---------------------------------------------------------------------------
    def grid_map(self, grid_id: str, *, today: date | None = None) -> GridMap:
        today = today or date.today()
        with self.store.session() as s:
            conn = s.connection()
            name = self._grid(conn, grid_id)
            rooms = _rooms(conn, grid_id, today)
            plan = MapShapes._plan_in(s, grid_id)
            shapes = MapShapes._shapes_in(s, grid_id)
        groups: dict[tuple[str, str], list[tuple[Any, str]]] = defaultdict(list)
        for r, status, _ in rooms:
            groups[(r[1], r[2])].append((r, status))
        if plan is not None:
            return _image_map(grid_id, name, groups, plan, [sh for sh in shapes if sh.space == "image"])
        return _metres_map(grid_id, name, groups, [sh for sh in shapes if sh.space == "wgs84"])

    # --- outlines from GeoJSON ------------------------------------------------------------------
    def import_geojson(self, grid_id: str, path: str | Path, *, coords: str = "wgs84") -> dict[str, Any]:
        """Place the grid's buildings from a GeoJSON file whose features name 小区 and 楼栋: each
        building's rooms get the centre of its outline (WGS84) as longitude/latitude, and its
        outline (holes and several parts kept) becomes its map shape; a feature whose 类型 (or
        kind) is 网格边界 (grid) becomes the grid's outline. Through the record and map-shape
        services (so the map syncs). All or nothing; refusals are one sentence.
        Returns {"placed": n, "shapes": n, "outline": bool, "unmatched": [names], "coords": label}."""
        require(self.actor, Ability.EDIT_AREAS, act="导入网格地图的楼栋轮廓")
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > 20 * 1024 * 1024:
                raise ServiceError(f"文件有 {size / 1048576:.0f} MB,超过 20 MB 的上限:"
                                   "网格的楼栋轮廓通常只有几百 KB,请只导出本网格的楼栋")
            data = p.read_bytes()
        except OSError as exc:
            raise ServiceError(f"无法读取 {p.name}:{exc.strerror or exc}") from None
        try:
            shapes = read_geojson(data, coords=coords)
        except GeoError as exc:
            raise ServiceError(str(exc)) from None
        records = Records(self.store, self.actor)
        maps = MapShapes(self.store, self.actor)
        with self.store.transaction() as s:
            conn = s.connection()
            self._grid(conn, grid_id)
            rows = conn.execute(text(
                "SELECT id, estate, building FROM address WHERE grid_id = :g AND deleted_at IS NULL "
                "AND cancelled = 0 AND building IS NOT NULL"), {"g": grid_id}).all()
            by_building: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for aid, est, b in rows:
                by_building[b].append((aid, est))
            placed, kept, outline, unmatched = 0, 0, False, []
            for shape in shapes:
                if shape.outline:
                    if outline:
                        raise ServiceError("文件中有不止一个网格边界(类型为“网格边界”的要素),请只保留一个,没有做任何修改")
                    maps._put(s, grid_id, "grid_outline", None, None, "wgs84", shape.polygons)
                    outline = True
                    continue
                b = re.sub(r"(栋|幢|号楼|座)$", "", shape.building or "")
                hits = [aid for aid, est in by_building.get(b, []) if shape.estate in (None, est)]
                estates = {est for aid, est in by_building.get(b, []) if shape.estate in (None, est)}
                if not hits or len(estates) > 1:
                    unmatched.append(compose_address(shape.estate, shape.building, None, None) or "(未命名要素)")
                    continue
                lon, lat = shape.centroid
                for aid in hits:
                    records._update(s, "address", aid, {"longitude": round(lon, 7), "latitude": round(lat, 7)})
                (estate,) = estates
                if shape.point:  # a place without an outline: an older outline of it no longer holds
                    maps._remove(s, grid_id, "building", estate, b, "wgs84")
                else:
                    maps._put(s, grid_id, "building", estate, b, "wgs84", shape.polygons)
                    kept += 1
                placed += 1
            if not placed and not outline:
                raise ServiceError("文件中没有一个要素能对应到本网格的楼栋:要素的属性应写明“小区”和“楼栋”"
                                   "(例如 {\"小区\": \"幸福里\", \"楼栋\": \"3\"}),没有做任何修改")
            write_audit(s, self.actor, "update", "address", None,
                        {"grid_id": grid_id, "placed": placed, "shapes": kept, "outline": outline,
                         "unmatched": len(unmatched), "coords": coords},
                        f"导入楼栋轮廓:定位 {placed} 栋楼,保存 {kept} 个轮廓" + (",及网格边界" if outline else "")
                        + f"({COORD_SYSTEMS[coords]})")
        return {"placed": placed, "shapes": kept, "outline": outline, "unmatched": unmatched,
                "coords": COORD_SYSTEMS[coords]}

    # --- door plates ----------------------------------------------------------------------------
    @staticmethod
    def token(address_id: str) -> str:
        """The door plate's payload: opaque, names no one (the room's id without dashes)."""
        return TOKEN_PREFIX + address_id.replace("-", "").upper()

    @staticmethod
    def is_token(value: str) -> bool:
        return bool(_TOKEN.match(value or ""))

    def resolve(self, value: str) -> dict[str, Any]:
        """What a scanned door plate points at: {"address_id", "household_id" or None, "grid_id",
        "text", "estate", "building"}."""
        m = _TOKEN.match(value or "")
        if not m:
            raise ServiceError("这不是本程序打印的门牌二维码(应以 GLM1- 开头),请重新扫描")
        h = m.group(1).lower()
        aid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        with self.store.session() as s:
            row = s.connection().execute(text(
                "SELECT a.id, a.grid_id, a.full_text, hh.id, a.estate, a.building FROM address a "
                "LEFT JOIN house h ON h.address_id = a.id AND h.deleted_at IS NULL "
                "LEFT JOIN household hh ON hh.house_id = h.id AND hh.deleted_at IS NULL "
                "WHERE a.id = :a AND a.deleted_at IS NULL"), {"a": aid}).first()
        if row is None:
            raise NotFound("门牌对应的户室已不存在(可能已删除或楼栋已重建),请重新打印门牌")
        if not self.actor.may_access(row[1]):
            raise ServiceError("这张门牌属于您未负责的网格,不能打开")
        return {"address_id": row[0], "grid_id": row[1], "text": row[2], "household_id": row[3],
                "estate": row[4], "building": row[5]}

    def door_plates(self, grid_id: str, estate: str | None = None, building: str | None = None) -> list[dict[str, str]]:
        """{"token", "text"} for every room of a grid or building, in address order."""
        with self.store.session() as s:
            conn = s.connection()
            self._grid(conn, grid_id)
            sql = ("SELECT id, estate, building, unit, room, full_text FROM address WHERE grid_id = :g "
                   "AND deleted_at IS NULL AND cancelled = 0")
            params: dict[str, Any] = {"g": grid_id}
            if estate is not None:
                sql += " AND estate = :e AND building = :b"
                params |= {"e": estate, "b": building}
            rows = conn.execute(text(sql), params).all()
        rows = sorted(rows, key=lambda r: (r[1], _natural(r[2]), _natural(r[3]), _natural(r[4])))
        return [{"token": self.token(r[0]), "text": r[5]} for r in rows]


# --- layout -------------------------------------------------------------------------------------
ROOM_M = 6.0  # metres of frontage per room a floor of a unit holds


def _footprint(members: list[tuple[Any, str]]) -> tuple[float, float]:
    units = len({r[3] for r, _ in members}) or 1
    floors = max((_floor_of(r[4], r[5]) for r, _ in members), default=1) or 1
    per = max(1, round(len(members) / (units * floors)))
    return max(12.0, units * per * ROOM_M), 14.0


def _generated_layout(groups: list[tuple[tuple[str, str], list[tuple[Any, str]]]],
                      below: float | None) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Rectangles for buildings without coordinates: one block per 小区, rows of up to four
    buildings, blocks side by side, below any located buildings."""
    by_estate: dict[str, list[tuple[str, list[tuple[Any, str]]]]] = defaultdict(list)
    for (estate, building), members in groups:
        by_estate[estate].append((building, members))
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    x0, y0 = 0.0, (below + 60.0) if below is not None else 0.0
    per_row, gap, street = 4, 16.0, 40.0
    estates = sorted(by_estate)
    cols = max(1, math.ceil(math.sqrt(len(estates))))
    col_x, row_y, row_h = x0, y0, 0.0
    for i, estate in enumerate(estates):
        items = sorted(by_estate[estate], key=lambda b: _natural(b[0]))
        sizes = [_footprint(m) for _, m in items]
        col_w = max((w for w, _ in sizes), default=20.0)
        y, block_w = row_y, 0.0
        for j, ((building, _), (w, d)) in enumerate(zip(items, sizes, strict=True)):
            c, r = j % per_row, j // per_row
            x = col_x + c * (col_w + gap)
            y = row_y + r * (d + 2 * gap)
            out[(estate, building)] = [(x, y), (x + w, y), (x + w, y + d), (x, y + d)]
            block_w = max(block_w, x + col_w - col_x)
        row_h = max(row_h, y + 14.0 - row_y + gap)
        col_x += block_w + street
        if (i + 1) % cols == 0:
            col_x, row_y, row_h = x0, row_y + row_h + street, 0.0
    return out


def _outline(points: list[tuple[float, float]], margin: float = 20.0) -> list[tuple[float, float]]:
    """The grid's outline when none is stored: the bounding box of its buildings with a margin."""
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    a, b, c, d = min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin
    return [(a, b), (c, b), (c, d), (a, d)]


# --- the map in metres or on the plan -------------------------------------------------------------
def _largest(parts: list[Polygon]) -> list[tuple[float, float]]:
    return list(max(parts, key=lambda p: abs(signed_area(p[0])))[0])


def _summary(members: list[tuple[Any, str]]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    counts: dict[str, int] = {}
    for _, st in members:
        counts[st] = counts.get(st, 0) + 1
    return counts, [(r[9], r[10] or "") for r, _ in members if r[9]]


def _order(groups: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    return sorted(groups, key=lambda k: (k[0], _natural(k[1])))


def _metres_map(grid_id: str, name: str, groups: dict[tuple[str, str], list[tuple[Any, str]]],
                shapes: list[Shape]) -> GridMap:
    """Metres east and south of the located buildings' mean: imported outlines projected,
    buildings with coordinates as rectangles there, the rest in the generated layout below."""
    outline_shape = next((sh for sh in shapes if sh.what == "grid_outline" and sh.polygons), None)
    by_key = {(sh.estate or "", sh.building or ""): sh for sh in shapes if sh.what == "building" and sh.polygons}
    located = {k: [(r[6], r[7]) for r, _ in v if r[6] is not None and r[7] is not None] for k, v in groups.items()}
    points = [p for v in located.values() for p in v]
    if not points:  # no room coordinates: the shapes' own points place the origin
        points = [p for k in groups if k in by_key for part in by_key[k].polygons for p in part[0]]
        if not points and outline_shape is not None:
            points = [p for part in outline_shape.polygons for p in part[0]]
    lon0 = sum(p[0] for p in points) / len(points) if points else 0.0
    lat0 = sum(p[1] for p in points) / len(points) if points else 0.0

    def proj(parts: list[Polygon]) -> list[Polygon]:
        return [[[project(x, y, lon0, lat0) for x, y in ring] for ring in part] for part in parts]

    placed: dict[tuple[str, str], tuple[list[Polygon], str | None]] = {}
    for key, members in groups.items():
        if key in by_key:
            placed[key] = (proj(by_key[key].polygons), by_key[key].id)
        elif located[key]:
            pts = located[key]
            x, y = project(sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts), lon0, lat0)
            w, d = _footprint(members)
            placed[key] = ([[[(x - w / 2, y - d / 2), (x + w / 2, y - d / 2), (x + w / 2, y + d / 2),
                              (x - w / 2, y + d / 2)]]], None)
    outline_parts = proj(outline_shape.polygons) if outline_shape is not None else []
    ys = [p[1] for parts, _ in placed.values() for part in parts for p in part[0]]
    ys += [p[1] for part in outline_parts for p in part[0]]
    layout = _generated_layout([(k, v) for k, v in groups.items() if k not in placed], below=max(ys, default=None))
    out = []
    for key in _order(groups):
        counts, hh = _summary(groups[key])
        if key in placed:
            parts, shape_id = placed[key]
            drawn = "wgs84" if shape_id else None
        else:
            parts, shape_id, drawn = [[layout[key]]], None, None
        out.append(MapBuilding(key[0], key[1], len(groups[key]), worst(counts), counts, _largest(parts),
                               key in placed, hh, parts, drawn, shape_id))
    if outline_parts:
        outline = _largest(outline_parts)
    else:
        outline = _outline([p for b in out for part in b.parts for p in part[0]])
        outline_parts = [[outline]] if outline else []
    return GridMap(grid_id, name, outline, out, "metres", None, outline_parts,
                   outline_shape.id if outline_shape is not None else None, 6.0)


def _image_map(grid_id: str, name: str, groups: dict[tuple[str, str], list[tuple[Any, str]]], plan: Plan,
               shapes: list[Shape]) -> GridMap:
    """The plan's pixels: buildings drawn on it where they are drawn; the others in the
    generated layout, scaled to the drawn ones' size, in a column to the right of the plan."""
    outline_shape = next((sh for sh in shapes if sh.what == "grid_outline" and sh.polygons), None)
    by_key = {(sh.estate or "", sh.building or ""): sh for sh in shapes if sh.what == "building" and sh.polygons}
    w, h = float(plan.width), float(plan.height)
    depths = sorted(min(x1 - x0, y1 - y0) for sh in by_key.values() if (sh.estate or "", sh.building or "") in groups
                    for x0, y0, x1, y1 in [bbox(sh.polygons)])
    # pixels per metre: a drawn slab is about 14 m deep; without one, the plan spans about 400 m
    k = depths[len(depths) // 2] / 14.0 if depths else max(w, h) / 400.0
    k = min(max(k, max(w, h) / 4000.0), max(w, h) / 40.0)
    rest = [(key, v) for key, v in groups.items() if key not in by_key]
    layout = _generated_layout(rest, below=None)
    x_off = w + max(30.0 * k, w * 0.03)
    out = []
    for key in _order(groups):
        counts, hh = _summary(groups[key])
        if key in by_key:
            sh = by_key[key]
            parts, shape_id, drawn = sh.polygons, sh.id, "image"
        else:
            parts = [[[(x_off + x * k, y * k) for x, y in layout[key]]]]
            shape_id, drawn = None, None
        out.append(MapBuilding(key[0], key[1], len(groups[key]), worst(counts), counts, _largest(parts),
                               drawn is not None, hh, parts, drawn, shape_id))
    outline_parts = outline_shape.polygons if outline_shape is not None else []
    return GridMap(grid_id, name, _largest(outline_parts) if outline_parts else [], out, "image", plan,
                   outline_parts, outline_shape.id if outline_shape is not None else None, max(6.0 * k, 4.0))
