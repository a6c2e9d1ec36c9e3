"""The grid map's own records: shapes (a building's outline linked to its 楼栋, the grid's outline)
and the grid's background plan (a scanned or photographed 网格平面图).

A shape is a `map_shape` record: polygons (holes and several parts allowed) in one coordinate
space, ``wgs84`` (from a GeoJSON import, desktop.services.floorplan) or ``image`` (pixels of the
background plan, drawn by hand over it on the map page). The plan is an `attachment` of the grid
(owner_kind ``area``, owner_id the grid, purpose ``map_plan``): its bytes travel in the photo
batches of sync, so every laptop of the grid draws the same map. A building keeps at most one
live shape per space; drawing it again replaces the geometry.

Reads: whoever may see the grid. Writes: `Ability.EDIT_AREAS` (the grid's set-up), through the
record service (validation in `rules.map_shape_hook`, version bump, audit, sync change log).
Refusals are one Chinese sentence and change nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from desktop.domain.geo import (
    SPACES,
    GeoError,
    Polygon,
    check_polygons,
    dump_polygons,
    load_polygons,
)
from desktop.models import Attachment, MapShape, utcnow
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationFailed,
    require,
)
from desktop.services.photos import MAX_SOURCE_BYTES, MIME, process_image
from desktop.services.records import Records, clean
from desktop.services.rules import (
    PLAN_OWNER,
    PLAN_PURPOSE,
    compose_address,
    current_plan,
)
from desktop.services.store import Actor, Store

PLAN_MAX_SIDE = 4096  # a scanned plan keeps its detail (a photo keeps 1600 px)
PLAN_MAX_BYTES = MAX_SOURCE_BYTES  # 30 MB: larger files are refused before they are read
_ACT = "绘制或修改网格地图"


@dataclass(frozen=True)
class Plan:
    """A grid's background plan (the attachment's metadata; the bytes through `plan_image`)."""

    id: str
    grid_id: str
    width: int
    height: int
    sha256: str
    byte_size: int
    caption: str | None
    available: bool  # the bytes are on this laptop (a synced plan's bytes follow its record)


@dataclass(frozen=True)
class Shape:
    id: str
    grid_id: str
    what: str  # building | grid_outline
    estate: str | None
    building: str | None
    space: str  # wgs84 | image
    polygons: list[Polygon]
    version: int
    updated_at: datetime | None = None

    @property
    def label(self) -> str:
        if self.what == "grid_outline":
            return "网格边界"
        return compose_address(self.estate, self.building, None, None)


def _shape(row: Any) -> Shape:
    return Shape(row.id, row.grid_id, row.what, row.estate, row.building, row.space,
                 load_polygons(row.geometry, row.space), row.version, row.updated_at)


def _plan(row: Attachment, available: bool) -> Plan:
    return Plan(row.id, row.grid_id, row.width, row.height, row.sha256, row.byte_size, row.caption, available)


def _geometry(polygons: Any, space: str, bounds: tuple[float, float] | None = None) -> str:
    try:
        return dump_polygons(check_polygons(polygons, space, bounds=bounds), space)
    except GeoError as exc:
        raise ServiceError(f"{exc},没有做任何修改") from None


class MapShapes:
    """Shapes and the background plan of the grids an actor may see."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self.records = Records(store, actor)

    # --- scope ----------------------------------------------------------------------------------
    def _grid(self, s: Session, grid_id: str) -> str:
        row = s.connection().execute(text(
            "SELECT name FROM area WHERE id = :g AND level = 'grid' AND deleted_at IS NULL"), {"g": grid_id}).first()
        if row is None:
            raise NotFound("找不到所选网格,可能已被删除,请刷新后再试")
        if not self.actor.may_access(grid_id):
            raise PermissionDenied(f"您没有负责网格“{row[0]}”,不能查看或修改它的地图")
        return str(row[0])

    # --- reads ----------------------------------------------------------------------------------
    def plan(self, grid_id: str) -> Plan | None:
        with self.store.session() as s:
            self._grid(s, grid_id)
            return self._plan_in(s, grid_id)

    @staticmethod
    def _plan_in(s: Session, grid_id: str) -> Plan | None:
        row = current_plan(s, grid_id)
        if row is None:
            return None
        size = s.connection().execute(text("SELECT length(data) FROM attachment WHERE id = :i"), {"i": row.id}).scalar()
        return _plan(row, bool(size))

    def plan_image(self, grid_id: str) -> bytes | None:
        """The plan's JPEG bytes; None without a plan or while its bytes have not arrived."""
        with self.store.session() as s:
            self._grid(s, grid_id)
            row = current_plan(s, grid_id)
            if row is None:
                return None
            data = s.connection().execute(text("SELECT data FROM attachment WHERE id = :i"), {"i": row.id}).scalar()
            return bytes(data) if data else None

    def shapes(self, grid_id: str, *, space: str | None = None) -> list[Shape]:
        """The grid's live shapes (buildings in address order, the outline first)."""
        with self.store.session() as s:
            self._grid(s, grid_id)
            return self._shapes_in(s, grid_id, space)

    @staticmethod
    def _shapes_in(s: Session, grid_id: str, space: str | None = None) -> list[Shape]:
        q = select(MapShape).where(MapShape.grid_id == grid_id, MapShape.deleted_at.is_(None))
        if space is not None:
            q = q.where(MapShape.space == space)
        rows = s.scalars(q.order_by(MapShape.updated_at, MapShape.id)).all()
        # two laptops that drew the same building before syncing: the later drawing is the shape
        latest: dict[tuple[str, str | None, str | None, str], Shape] = {}
        for r in rows:
            latest[(r.what, r.estate, r.building, r.space)] = _shape(r)
        return sorted(latest.values(), key=lambda sh: (sh.what != "grid_outline", sh.estate or "", sh.building or ""))

    def shape(self, shape_id: str) -> Shape:
        with self.store.session() as s:
            row = self._row(s, shape_id)
            return _shape(row)

    def _row(self, s: Session, shape_id: str) -> MapShape:
        row = s.get(MapShape, shape_id)
        if row is None or row.deleted_at is not None:
            raise NotFound("找不到该形状,可能已被删除,请刷新地图后再试")
        self._grid(s, row.grid_id)
        return row

    # --- the background plan --------------------------------------------------------------------
    def set_plan(self, grid_id: str, source: str | Path | bytes, *, filename: str | None = None) -> Plan:
        """Make an image file the grid's background plan (replacing the old one; shapes drawn on
        the old one are scaled to the new one's size). A file that is not an image, or over
        PLAN_MAX_BYTES, is refused with one sentence and nothing changes."""
        require(self.actor, Ability.EDIT_AREAS, act="设置网格底图")
        raw, name = self._read(source, filename)
        with self.store.session() as s:
            self._grid(s, grid_id)
        try:
            image = process_image(raw, name, max_side=PLAN_MAX_SIDE)
        except ValidationFailed as exc:
            code = exc.issues[0].code if exc.issues else ""
            if code == "photo.too_many_pixels":
                raise ServiceError(f"图片“{name}”的像素过多,无法作为底图,底图没有更改:请缩小后再试") from None
            raise ServiceError(f"文件“{name}”不是可识别的图片或已损坏,底图没有更改:"
                               "请选择扫描或拍摄的网格平面图(JPG、PNG 等格式)") from None
        digest = hashlib.sha256(image["data"]).hexdigest()
        with self.store.transaction() as s:
            self._grid(s, grid_id)
            old = current_plan(s, grid_id)
            if old is not None and old.sha256 == digest:
                return _plan(old, True)
            values = {
                "grid_id": grid_id, "owner_kind": PLAN_OWNER, "owner_id": grid_id, "purpose": PLAN_PURPOSE,
                "caption": name[:200], "mime": MIME, "width": image["width"], "height": image["height"],
                "byte_size": len(image["data"]), "sha256": digest, "data": image["data"], "thumb": image["thumb"],
            }
            draft = clean(s, self.actor, "attachment", values, None)
            now = utcnow()
            obj = Attachment(**draft.values, created_at=now, created_by=self.actor.username,
                             updated_at=now, updated_by=self.actor.username)
            s.add(obj)
            s.flush()
            rescaled = 0
            if old is not None:
                self._remove_attachment(s, old, now)
                fx, fy = image["width"] / old.width, image["height"] / old.height
                for sh in self._shapes_in(s, grid_id, "image"):
                    polys = [[[(x * fx, y * fy) for x, y in ring] for ring in poly] for poly in sh.polygons]
                    self.records._update(s, "map_shape", sh.id, {"geometry": dump_polygons(polys, "image")})
                    rescaled += 1
            write_audit(s, self.actor, "create", "attachment", obj.id,
                        {"owner_kind": PLAN_OWNER, "owner_id": grid_id, "purpose": PLAN_PURPOSE, "sha256": digest,
                         "byte_size": len(image["data"]), "width": image["width"], "height": image["height"],
                         "replaced": old.id if old is not None else None, "rescaled": rescaled},
                        summary=f"设置网格底图({image['width']}×{image['height']} 像素)")
            return _plan(obj, True)

    def remove_plan(self, grid_id: str) -> int:
        """Remove the grid's background plan and the shapes drawn on it; returns how many shapes
        went with it."""
        require(self.actor, Ability.EDIT_AREAS, act="移除网格底图")
        with self.store.transaction() as s:
            self._grid(s, grid_id)
            plan = current_plan(s, grid_id)
            if plan is None:
                raise NotFound("本网格没有底图,无需移除")
            now = utcnow()
            self._remove_attachment(s, plan, now)
            shapes = self._shapes_in(s, grid_id, "image")
            for sh in shapes:
                self.records._set_deleted(s, "map_shape", sh.id, True, None)
            write_audit(s, self.actor, "delete", "attachment", plan.id,
                        {"owner_kind": PLAN_OWNER, "owner_id": grid_id, "purpose": PLAN_PURPOSE, "shapes": len(shapes)},
                        summary=f"移除网格底图(连同其上绘制的 {len(shapes)} 个形状)")
            return len(shapes)

    def _remove_attachment(self, s: Session, row: Attachment, now: datetime) -> None:
        row.deleted_at = now
        row.deleted_by = self.actor.username
        row.updated_at = now
        row.updated_by = self.actor.username
        s.flush()

    @staticmethod
    def _read(source: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
        limit = PLAN_MAX_BYTES // 1048576
        if isinstance(source, bytes | bytearray | memoryview):
            raw, name = bytes(source), filename or "所选图片"
            if len(raw) > PLAN_MAX_BYTES:
                raise ServiceError(f"文件“{name}”有 {len(raw) / 1048576:.0f} MB,超过底图 {limit} MB 的上限,"
                                   "底图没有更改:请缩小或压缩后再试")
            return raw, name
        path = Path(source)
        name = filename or path.name or str(path)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise ServiceError(f"“{name}”不是文件,底图没有更改:请选择一张图片")
            if size > PLAN_MAX_BYTES:
                raise ServiceError(f"文件“{name}”有 {size / 1048576:.0f} MB,超过底图 {limit} MB 的上限,"
                                   "底图没有更改:请缩小或压缩后再试")
            return path.read_bytes(), name
        except OSError as exc:
            raise ServiceError(f"无法读取文件“{name}”:{exc.strerror or exc},底图没有更改") from None

    # --- shapes ---------------------------------------------------------------------------------
    def draw_building(self, grid_id: str, estate: str, building: str, polygons: Any, *,
                      space: str = "image") -> Shape:
        """The outline of one building of the grid (linked by 小区 and 楼栋); drawing a building
        again replaces its shape in that space."""
        require(self.actor, Ability.EDIT_AREAS, act=_ACT)
        with self.store.transaction() as s:
            self._grid(s, grid_id)
            return self._put(s, grid_id, "building", estate, str(building), space, polygons)

    def draw_outline(self, grid_id: str, polygons: Any, *, space: str = "image") -> Shape:
        """The grid's outline (replacing a drawn one in that space)."""
        require(self.actor, Ability.EDIT_AREAS, act=_ACT)
        with self.store.transaction() as s:
            self._grid(s, grid_id)
            return self._put(s, grid_id, "grid_outline", None, None, space, polygons)

    def _put(self, s: Session, grid_id: str, what: str, estate: str | None, building: str | None, space: str,
             polygons: Any) -> Shape:
        """Create or replace the live shape of (what, estate, building, space) in this session."""
        if space not in SPACES:
            raise ServiceError(f"坐标空间“{space}”无法识别,没有做任何修改")
        bounds = self._bounds(s, grid_id) if space == "image" else None
        geometry = _geometry(polygons, space, bounds)
        rows = self._live(s, grid_id, what, estate, building, space)
        if rows:
            for extra in rows[1:]:  # a twin from another laptop: one shape per building and space
                self.records._set_deleted(s, "map_shape", extra.id, True, None)
            obj = self.records._update(s, "map_shape", rows[0].id, {"geometry": geometry})
        else:
            obj = self.records._create(s, "map_shape", {
                "grid_id": grid_id, "what": what, "estate": estate, "building": building, "space": space,
                "geometry": geometry})
        return _shape(obj)

    def _remove(self, s: Session, grid_id: str, what: str, estate: str | None, building: str | None,
                space: str) -> int:
        """Delete the live shapes of (what, estate, building, space) in this session."""
        rows = self._live(s, grid_id, what, estate, building, space)
        for row in rows:
            self.records._set_deleted(s, "map_shape", row.id, True, None)
        return len(rows)

    @staticmethod
    def _live(s: Session, grid_id: str, what: str, estate: str | None, building: str | None,
              space: str) -> list[MapShape]:
        """The live rows of one building's (or the outline's) shape in one space, newest first."""
        same_estate = MapShape.estate.is_(None) if estate is None else MapShape.estate == estate
        same_building = MapShape.building.is_(None) if building is None else MapShape.building == building
        return list(s.scalars(select(MapShape).where(
            MapShape.grid_id == grid_id, MapShape.what == what, same_estate, same_building,
            MapShape.space == space, MapShape.deleted_at.is_(None),
        ).order_by(MapShape.updated_at.desc(), MapShape.id.desc())).all())

    def _bounds(self, s: Session, grid_id: str) -> tuple[float, float]:
        plan = current_plan(s, grid_id)
        if plan is None:
            raise ServiceError("本网格还没有底图:请先用“设置底图…”选择扫描或拍摄的网格平面图,再在底图上绘制")
        return float(plan.width), float(plan.height)

    def update(self, shape_id: str, *, polygons: Any = None, estate: str | None = None,
               building: str | None = None, expected_version: int | None = None) -> Shape:
        """A shape's new geometry, or a building's shape linked to another 楼栋 of the grid."""
        require(self.actor, Ability.EDIT_AREAS, act=_ACT)
        with self.store.transaction() as s:
            row = self._row(s, shape_id)
            changes: dict[str, Any] = {}
            if polygons is not None:
                bounds = self._bounds(s, row.grid_id) if row.space == "image" else None
                changes["geometry"] = _geometry(polygons, row.space, bounds)
            if building is not None:
                if row.what != "building":
                    raise ServiceError("网格边界不链接楼栋,没有做任何修改")
                est, bld = estate if estate is not None else row.estate, str(building)
                if (est, bld) != (row.estate, row.building):
                    taken = s.scalar(select(MapShape.id).where(
                        MapShape.grid_id == row.grid_id, MapShape.what == "building", MapShape.estate == est,
                        MapShape.building == bld, MapShape.space == row.space, MapShape.deleted_at.is_(None),
                        MapShape.id != row.id).limit(1))
                    if taken:
                        raise ServiceError(f"“{compose_address(est, bld, None, None)}”已有轮廓:请先删除它的轮廓,"
                                           "再把此形状链接到它")
                    changes |= {"estate": est, "building": bld}
            obj = self.records._update(s, "map_shape", shape_id, changes, expected_version=expected_version)
            return _shape(obj)

    def delete(self, shape_id: str, *, expected_version: int | None = None) -> Shape:
        require(self.actor, Ability.EDIT_AREAS, act=_ACT)
        with self.store.transaction() as s:
            row = self._row(s, shape_id)
            before = _shape(row)
            self.records._set_deleted(s, "map_shape", shape_id, True, expected_version)
            return before

    # --- following the area tree (desktop.services.areas, inside its transaction) ----------------
    def follow_building(self, s: Session, grid_id: str, estate: str, building: str, *, to_grid: str,
                        to_estate: str, to_building: str) -> int:
        """A building renamed or moved: its shapes follow; moved to another grid, a shape drawn on
        this grid's plan means nothing on that grid's and is removed."""
        n = 0
        for row in s.scalars(select(MapShape).where(
                MapShape.grid_id == grid_id, MapShape.what == "building", MapShape.estate == estate,
                MapShape.building == building, MapShape.deleted_at.is_(None))).all():
            if to_grid != grid_id and row.space == "image":
                self.records._set_deleted(s, "map_shape", row.id, True, None)
            else:
                self.records._update(s, "map_shape", row.id, {"grid_id": to_grid, "estate": to_estate,
                                                               "building": to_building})
            n += 1
        return n

    def follow_estate(self, s: Session, grid_id: str, old: str, new: str) -> int:
        """A 小区 renamed: its buildings' shapes follow."""
        rows = s.scalars(select(MapShape).where(MapShape.grid_id == grid_id, MapShape.estate == old,
                                                MapShape.deleted_at.is_(None))).all()
        for row in rows:
            self.records._update(s, "map_shape", row.id, {"estate": new})
        return len(rows)

    def drop_building(self, s: Session, grid_id: str, estate: str, building: str) -> int:
        """A building deleted: its shapes go with it."""
        rows = s.scalars(select(MapShape).where(
            MapShape.grid_id == grid_id, MapShape.what == "building", MapShape.estate == estate,
            MapShape.building == building, MapShape.deleted_at.is_(None))).all()
        for row in rows:
            self.records._set_deleted(s, "map_shape", row.id, True, None)
        return len(rows)

    def drop_grid(self, s: Session, grid_id: str) -> int:
        """A grid deleted: its map (shapes and plans) goes with it."""
        rows = s.scalars(select(MapShape).where(MapShape.grid_id == grid_id, MapShape.deleted_at.is_(None))).all()
        for row in rows:
            self.records._set_deleted(s, "map_shape", row.id, True, None)
        now = utcnow()
        plans = s.scalars(select(Attachment).where(
            Attachment.owner_kind == PLAN_OWNER, Attachment.owner_id == grid_id, Attachment.deleted_at.is_(None))).all()
        for plan in plans:
            self._remove_attachment(s, plan, now)
        return len(rows) + len(plans)
