"""楼盘表 (a building: units × floors, one cell per room), the grid map (网格一张图) and door-plate
tokens (门牌二维码), all coloured by `room_status` (desktop/services/room_status.py).

A building exists through its standard addresses (小区/楼栋/单元/户室), so the 楼盘表 needs no
coordinates. The map places each building at the mean of its rooms' coordinates when they have
some (set by a GeoJSON import, `import_geojson`), else in a generated layout: one block per 小区,
buildings in rows, each as wide as its units and as deep as its floors allow."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from desktop.domain.geo import COORD_SYSTEMS, GeoError, project, read_geojson
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, ServiceError, require
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
    polygon: list[tuple[float, float]]  # scene metres (y downwards)
    located: bool  # from coordinates (True) or the generated layout
    households: list[tuple[str, str]] = field(default_factory=list)  # (household_id, head name) for search

    @property
    def label(self) -> str:
        return f"{self.building}栋"


@dataclass
class GridMap:
    grid_id: str
    name: str
    outline: list[tuple[float, float]]
    buildings: list[MapBuilding]


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
        groups: dict[tuple[str, str], list[tuple[Any, str]]] = defaultdict(list)
        for r, status, _ in rooms:
            groups[(r[1], r[2])].append((r, status))
        located = {k: [(r[6], r[7]) for r, _ in v if r[6] is not None and r[7] is not None] for k, v in groups.items()}
        points = [p for v in located.values() for p in v]
        lon0 = sum(p[0] for p in points) / len(points) if points else 0.0
        lat0 = sum(p[1] for p in points) / len(points) if points else 0.0
        layout = _generated_layout([(k, v) for k, v in groups.items() if not located[k]],
                                   below=max((project(x, y, lon0, lat0)[1] for x, y in points), default=None))
        out = []
        for key in sorted(groups, key=lambda k: (k[0], _natural(k[1]))):
            members = groups[key]
            counts: dict[str, int] = {}
            for _, st in members:
                counts[st] = counts.get(st, 0) + 1
            hh = [(r[9], r[10] or "") for r, _ in members if r[9]]
            if located[key]:
                pts = located[key]
                x, y = project(sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts), lon0, lat0)
                w, d = _footprint(members)
                poly = [(x - w / 2, y - d / 2), (x + w / 2, y - d / 2), (x + w / 2, y + d / 2), (x - w / 2, y + d / 2)]
            else:
                poly = layout[key]
            out.append(MapBuilding(key[0], key[1], len(members), worst(counts), counts, poly, bool(located[key]), hh))
        return GridMap(grid_id, name, _outline([p for b in out for p in b.polygon]), out)

    # --- outlines from GeoJSON ------------------------------------------------------------------
    def import_geojson(self, grid_id: str, path: str | Path, *, coords: str = "wgs84") -> dict[str, Any]:
        """Place the grid's buildings from a GeoJSON file whose features name 小区 and 楼栋: each
        building's rooms get the centre of its outline (WGS84) as longitude/latitude, through the
        record service (so the map syncs). All or nothing; refusals are one sentence.
        Returns {"placed": n, "unmatched": [names], "coords": label}."""
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
        with self.store.transaction() as s:
            conn = s.connection()
            self._grid(conn, grid_id)
            rows = conn.execute(text(
                "SELECT id, estate, building FROM address WHERE grid_id = :g AND deleted_at IS NULL "
                "AND cancelled = 0 AND building IS NOT NULL"), {"g": grid_id}).all()
            by_building: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for aid, est, b in rows:
                by_building[b].append((aid, est))
            placed, unmatched = 0, []
            for shape in shapes:
                b = re.sub(r"(栋|幢|号楼|座)$", "", shape.building or "")
                hits = [aid for aid, est in by_building.get(b, []) if shape.estate in (None, est)]
                estates = {est for aid, est in by_building.get(b, []) if shape.estate in (None, est)}
                if not hits or len(estates) > 1:
                    unmatched.append(compose_address(shape.estate, shape.building, None, None) or "(未命名要素)")
                    continue
                lon, lat = shape.centroid
                for aid in hits:
                    records._update(s, "address", aid, {"longitude": round(lon, 7), "latitude": round(lat, 7)})
                placed += 1
            if not placed:
                raise ServiceError("文件中没有一个要素能对应到本网格的楼栋:要素的属性应写明“小区”和“楼栋”"
                                   "(例如 {\"小区\": \"幸福里\", \"楼栋\": \"3\"}),没有做任何修改")
            write_audit(s, self.actor, "update", "address", None,
                        {"grid_id": grid_id, "placed": placed, "unmatched": len(unmatched), "coords": coords},
                        f"导入楼栋轮廓:定位 {placed} 栋楼({COORD_SYSTEMS[coords]})")
        return {"placed": placed, "unmatched": unmatched, "coords": COORD_SYSTEMS[coords]}

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
    """The grid's outline: the bounding box of its buildings with a margin (until a drawn outline
    is stored)."""
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    a, b, c, d = min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin
    return [(a, b), (c, b), (c, d), (a, d)]
