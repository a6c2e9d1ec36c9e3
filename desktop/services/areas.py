"""The area tree as stored (`area_tree`: grids under an area, the community of a grid…) and the
place tree: 社区 → 网格 → 小区 → 楼栋 → 单元 → 户室 (lazy, one level per call)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from desktop.domain.areas import AreaTree
from desktop.kinds import get as kind_entry
from desktop.kinds import keys as kind_keys
from desktop.kinds import label as kind_label
from desktop.models import Address, Area, UserGrid
from desktop.models.base import row_as
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, ServiceError, require
from desktop.services.map_shapes import MapShapes
from desktop.services.records import GRID_SCOPED, Records, to_dict
from desktop.services.rules import PLAN_OWNER, compose_address
from desktop.services.store import Actor, Store

LEVELS = ("community", "grid", "estate", "building", "unit", "room")  # the place tree's levels


def area_tree(db: Connection | Session) -> AreaTree:
    """The live areas (one small table, read whole): the rules are in desktop.domain.areas."""
    return AreaTree(db.execute(text(
        "SELECT id, parent_id, level, code, name FROM area WHERE deleted_at IS NULL")).all())


@dataclass(frozen=True)
class Node:
    level: str
    label: str
    key: dict[str, Any]  # what identifies the node (ids, estate name, building, unit)
    count: int | None = None  # households below, where cheap to know
    household_id: str | None = None  # for rooms with a household


def _natural(value: str | None) -> tuple:
    v = value or ""
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


class Areas:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    def _grid_ok(self, grid_id: str) -> bool:
        return self.actor.may_access(grid_id)

    def children(self, node: Node | None) -> list[Node]:
        with self.store.session() as s:
            conn = s.connection()
            if node is None:
                grids = conn.execute(text(
                    "SELECT g.id, g.parent_id FROM area g WHERE g.level = 'grid' AND g.deleted_at IS NULL")).all()
                visible = {parent for gid, parent in grids if self._grid_ok(gid)}
                rows = conn.execute(text(
                    "SELECT id, name, code FROM area WHERE level = 'community' AND deleted_at IS NULL ORDER BY code")).all()
                everywhere = self.actor.grid_ids is None  # a new community without grids yet, too
                return [Node("community", r[1], {"community_id": r[0]}) for r in rows if everywhere or r[0] in visible]
            if node.level == "community":
                rows = conn.execute(text(
                    "SELECT g.id, g.name, g.code, (SELECT count(*) FROM household h WHERE h.grid_id = g.id "
                    "AND h.deleted_at IS NULL) FROM area g WHERE g.parent_id = :c AND g.level = 'grid' "
                    "AND g.deleted_at IS NULL ORDER BY g.code"), {"c": node.key["community_id"]}).all()
                return [Node("grid", f"{r[1]}({r[3]} 户)", {"grid_id": r[0]}, r[3]) for r in rows if self._grid_ok(r[0])]
            grid_id = node.key["grid_id"]
            if not self._grid_ok(grid_id):
                return []
            if node.level == "grid":
                counts: dict[str, int] = dict(conn.execute(text(
                    "SELECT estate, count(*) FROM address WHERE grid_id = :g AND deleted_at IS NULL "
                    "AND cancelled = 0 GROUP BY estate"), {"g": grid_id}).all())
                rows_ = conn.execute(text(
                    "SELECT name, id FROM area WHERE parent_id = :g AND level = 'estate' AND deleted_at IS NULL"),
                    {"g": grid_id}).all()
                ids: dict[str, str] = dict(rows_)
                names = sorted(set(counts) | set(ids))
                return [Node("estate", n, {**node.key, "estate": n, "area_id": ids.get(n)}, counts.get(n, 0))
                        for n in names if n]
            if node.level == "estate":
                rows = conn.execute(text(
                    "SELECT building, count(*) FROM address WHERE grid_id = :g AND estate = :e "
                    "AND deleted_at IS NULL AND cancelled = 0 GROUP BY building"), {"g": grid_id, "e": node.key["estate"]}).all()
                rows = sorted(rows, key=lambda r: _natural(r[0]))
                return [Node("building", f"{r[0] or '—'}栋", {**node.key, "building": r[0]}, r[1]) for r in rows]
            if node.level == "building":
                rows = conn.execute(text(
                    "SELECT unit, count(*) FROM address WHERE grid_id = :g AND estate = :e AND building IS :b "
                    "AND deleted_at IS NULL AND cancelled = 0 GROUP BY unit"),
                    {"g": grid_id, "e": node.key["estate"], "b": node.key["building"]}).all()
                rows = sorted(rows, key=lambda r: _natural(r[0]))
                return [Node("unit", f"{r[0] or '—'}单元", {**node.key, "unit": r[0]}, r[1]) for r in rows]
            if node.level == "unit":
                rows = conn.execute(text(
                    "SELECT a.id, a.room, a.full_text, hh.id, p.name, h.use, "
                    "(SELECT count(*) FROM person m WHERE m.household_id = hh.id AND m.deleted_at IS NULL) "
                    "FROM address a LEFT JOIN house h ON h.address_id = a.id AND h.deleted_at IS NULL "
                    "LEFT JOIN household hh ON hh.house_id = h.id AND hh.deleted_at IS NULL "
                    "LEFT JOIN person p ON p.id = hh.head_person_id "
                    "WHERE a.grid_id = :g AND a.estate = :e AND a.building IS :b AND a.unit IS :u "
                    "AND a.deleted_at IS NULL AND a.cancelled = 0"),
                    {"g": grid_id, "e": node.key["estate"], "b": node.key["building"], "u": node.key["unit"]}).all()
                rows = sorted(rows, key=lambda r: _natural(r[1]))
                out = []
                for r in rows:
                    who = f"{r[4]}户 · {r[6]}人" if r[3] else ("空置" if r[5] == "3" else "未登记住户")
                    out.append(Node("room", f"{r[1] or r[2]}室  {who}", {**node.key, "address_id": r[0]}, None, r[3]))
                return out
            return []

    def address(self, address_id: str) -> dict[str, Any] | None:
        """The parts of an address a registration starts from (None if gone or outside the actor's grids)."""
        with self.store.session() as s:
            row = s.connection().execute(text(
                "SELECT id, grid_id, estate, building, unit, room FROM address WHERE id = :a AND deleted_at IS NULL"),
                {"a": address_id}).first()
        if row is None or not self._grid_ok(row[1]):
            return None
        return {"estate": row[2], "building": row[3], "unit": row[4], "room": row[5], "id": row[0]}


# --- editing the tree (community admins and supervisors) -------------------------------------
#
# What is stored where:
#
# * 社区, 网格 and 小区 are area rows (levels community, grid, estate; a 小区's parent is its grid).
#   A 小区 also exists without a row when addresses name it (older data, imports): the tree shows
#   both, and the edits below handle both.
# * 楼栋, 单元 and 户室 are the parts of the standard addresses (table address): a building exists
#   through its rooms. `create_building` generates them in one transaction, numbered like the
#   rest of the program: room = floor + two-digit position (101, 102, 201 …), full text
#   “小区3栋1单元101室” (rules.compose_address), address code = grid code + building (2 digits)
#   + unit + room when the building is a number.
# * Records hang on addresses through foreign keys (house → address, household → house, person →
#   household …). Moving a building to another grid moves every record reached that way to the
#   new grid (`_attached`, read from the registry of kinds), each through the record service, so
#   every row is validated, audited and captured for sync.

MAX_UNITS, MAX_FLOORS, MAX_PER_FLOOR = 30, 99, 20
_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")


def _clean_name(value: Any, what: str, limit: int) -> str:
    text = re.sub(r"\s+", "", str(value or ""))
    if not text:
        raise ServiceError(f"{what}:请填写名称")
    if len(text) > limit:
        raise ServiceError(f"{what}:“{text}”太长(最多 {limit} 个字),请缩短")
    return text


def _building_name(value: Any) -> str:
    text = _clean_name(value, "楼栋号", 16)
    for suffix in ("栋", "幢", "号楼", "座"):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _count_text(counts: dict[str, int]) -> str:
    return "、".join(f"{n} 个{kind_label(k)}" for k, n in counts.items() if n)


class AreaAdmin:
    """Create, rename, move and delete communities, grids, 小区 and buildings (with their rooms).

    Every method is one transaction (its `_…(s, …)` twin takes an open session, for a use case
    that does more in the same transaction, such as a first-run setup); every write goes through
    the record service (validation, audit, sync change log). Refusals are ServiceError with one
    Chinese sentence; nothing is written then."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self.records = Records(store, actor)

    def _require(self) -> None:
        require(self.actor, Ability.EDIT_AREAS, act="新建或修改社区、网格、小区和楼栋")

    # --- lookups ------------------------------------------------------------------------------
    @staticmethod
    def _area(s: Session, area_id: str, level: str | None = None) -> Area:
        row = s.get(Area, area_id)
        if row is None or row.deleted_at is not None:
            raise NotFound("找不到所选的区域,可能已被删除,请刷新后再试")
        if level is not None and row.level != level:
            names = {"community": "社区", "grid": "网格", "estate": "小区"}
            raise ServiceError(f"“{row.name}”不是{names.get(level, level)},请重新选择")
        return row

    @staticmethod
    def _code_taken(s: Session, code: str, except_id: str | None = None) -> bool:
        return s.scalar(select(Area.id).where(Area.code == code, Area.id != (except_id or ""))) is not None

    def _check_code(self, s: Session, code: str, except_id: str | None = None) -> str:
        code = (code or "").strip()
        if not _CODE.match(code):
            raise ServiceError(f"代码:“{code}”应为 1–32 位数字、字母或 -(例如 62010400100103)")
        if self._code_taken(s, code, except_id):
            raise ServiceError(f"代码:“{code}”已被其他区域使用,请换一个代码")
        return code

    def _next_code(self, s: Session, prefix: str, width: int) -> str:
        n = 1
        while self._code_taken(s, f"{prefix}{n:0{width}d}"):
            n += 1
        return f"{prefix}{n:0{width}d}"

    @staticmethod
    def _sibling_named(s: Session, parent_id: str | None, level: str, name: str, except_id: str | None = None) -> bool:
        return s.scalar(select(Area.id).where(
            Area.parent_id.is_(parent_id) if parent_id is None else Area.parent_id == parent_id,
            Area.level == level, Area.name == name, Area.deleted_at.is_(None),
            Area.id != (except_id or ""))) is not None

    def communities(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            rows = s.scalars(select(Area).where(Area.level == "community", Area.deleted_at.is_(None))
                             .order_by(Area.code)).all()
            return [{"id": r.id, "code": r.code, "name": r.name} for r in rows]

    def grids(self) -> list[dict[str, Any]]:
        """Every grid with its community's name, in code order."""
        with self.store.session() as s:
            tree = area_tree(s)
        return [{"id": g.id, "code": g.code, "name": g.name, "community_id": g.parent_id,
                 "label": tree.grid_label(g.id, " / ")} for g in tree.grids()]

    def estates(self, grid_id: str) -> list[str]:
        """The 小区 names of a grid: its estate rows and the names its addresses use."""
        with self.store.session() as s:
            names = set(s.scalars(select(Area.name).where(
                Area.parent_id == grid_id, Area.level == "estate", Area.deleted_at.is_(None))))
            names |= set(s.scalars(select(Address.estate).where(
                Address.grid_id == grid_id, Address.deleted_at.is_(None)).distinct()))
        return sorted(n for n in names if n)

    # --- communities and grids ----------------------------------------------------------------
    def create_community(self, name: str, *, code: str | None = None, parent_id: str | None = None) -> dict[str, Any]:
        with self.store.transaction() as s:
            return to_dict(self._create_community(s, name, code=code, parent_id=parent_id))

    def _create_community(self, s: Session, name: str, *, code: str | None = None,
                          parent_id: str | None = None) -> Area:
        self._require()
        name = _clean_name(name, "社区名称", 64)
        parent = self._area(s, parent_id) if parent_id else None
        if self._sibling_named(s, parent_id, "community", name):
            raise ServiceError(f"社区名称:“{name}”已存在,请换一个名称")
        code = self._check_code(s, code) if code else self._next_code(s, parent.code if parent else "C", 3)
        return row_as(Area, self.records._create(s, "area", {"level": "community", "code": code, "name": name,
                                                "parent_id": parent_id}))

    def create_grid(self, community_id: str, name: str, *, code: str | None = None) -> dict[str, Any]:
        """A grid in a community; without `code`, the community's code + a two-digit number."""
        with self.store.transaction() as s:
            return to_dict(self._create_grid(s, community_id, name, code=code))

    def _create_grid(self, s: Session, community_id: str, name: str, *, code: str | None = None) -> Area:
        self._require()
        community = self._area(s, community_id, "community")
        name = _clean_name(name, "网格名称", 64)
        if self._sibling_named(s, community_id, "grid", name):
            raise ServiceError(f"网格名称:“{name}”在{community.name}已存在,请换一个名称")
        code = self._check_code(s, code) if code else self._next_code(s, community.code, 2)
        return row_as(Area, self.records._create(s, "area", {"level": "grid", "code": code, "name": name,
                                                "parent_id": community_id}))

    # --- 小区 -------------------------------------------------------------------------------------
    def create_estate(self, grid_id: str, name: str) -> dict[str, Any]:
        with self.store.transaction() as s:
            return to_dict(self._create_estate(s, grid_id, name))

    def _create_estate(self, s: Session, grid_id: str, name: str) -> Area:
        self._require()
        grid = self._area(s, grid_id, "grid")
        name = _clean_name(name, "小区名称", 64)
        if self._estate_row(s, grid_id, name) is not None or self._estate_in_use(s, grid_id, name):
            raise ServiceError(f"小区名称:“{name}”在{grid.name}已存在,请直接选用")
        return self._add_estate_row(s, grid, name)

    def _add_estate_row(self, s: Session, grid: Area, name: str) -> Area:
        return row_as(Area, self.records._create(s, "area", {"level": "estate", "code": self._next_code(s, f"{grid.code}X", 2),
                                                "name": name, "parent_id": grid.id}))

    @staticmethod
    def _estate_row(s: Session, grid_id: str, name: str) -> Area | None:
        return s.scalars(select(Area).where(Area.parent_id == grid_id, Area.level == "estate",
                                            Area.name == name, Area.deleted_at.is_(None))).first()

    @staticmethod
    def _estate_in_use(s: Session, grid_id: str, name: str) -> bool:
        return s.scalar(select(Address.id).where(Address.grid_id == grid_id, Address.estate == name,
                                                 Address.deleted_at.is_(None))) is not None

    def _ensure_estate(self, s: Session, grid: Area, name: str) -> None:
        if self._estate_row(s, grid.id, name) is None:
            self._add_estate_row(s, grid, name)

    def rename_estate(self, grid_id: str, old_name: str, new_name: str) -> dict[str, Any]:
        """Rename a 小区: its row and every address naming it (their full text follows)."""
        with self.store.transaction() as s:
            self._require()
            grid = self._area(s, grid_id, "grid")
            new_name = _clean_name(new_name, "小区名称", 64)
            row = self._estate_row(s, grid_id, old_name)
            addresses = self._addresses(s, grid_id, old_name)
            if row is None and not addresses:
                raise NotFound(f"找不到{grid.name}中的小区“{old_name}”,请刷新后再试")
            if new_name == old_name:
                return {"name": new_name, "addresses": 0}
            if self._estate_row(s, grid_id, new_name) is not None or self._estate_in_use(s, grid_id, new_name):
                raise ServiceError(f"小区名称:“{new_name}”在{grid.name}已存在;如要合并,请逐栋移动楼栋")
            if row is not None:
                self.records._update(s, "area", row.id, {"name": new_name})
            for a in addresses:
                self.records._update(s, "address", a.id, self._retext(a, estate=new_name))
            MapShapes(self.store, self.actor).follow_estate(s, grid_id, old_name, new_name)
            write_audit(s, self.actor, "update", "area", row.id if row is not None else grid_id,
                        {"estate": old_name, "to": new_name, "addresses": len(addresses)},
                        f"小区“{old_name}”改名为“{new_name}”({len(addresses)} 个地址)")
            return {"name": new_name, "addresses": len(addresses)}

    # --- buildings ------------------------------------------------------------------------------
    @staticmethod
    def _addresses(s: Session, grid_id: str, estate: str, building: str | None = None, *,
                   any_building: bool = True) -> list[Address]:
        q = select(Address).where(Address.grid_id == grid_id, Address.estate == estate, Address.deleted_at.is_(None))
        if not any_building or building is not None:
            q = q.where(Address.building.is_(building) if building is None else Address.building == building)
        return list(s.scalars(q))

    @staticmethod
    def room_numbers(units: int, floors: int, rooms_per_floor: int) -> list[tuple[str, int, str]]:
        """(unit, floor, room) of a building, in order: 1单元101, 102, 201 … (room = floor + two digits)."""
        return [(str(u), f, f"{f}{r:02d}") for u in range(1, units + 1)
                for f in range(1, floors + 1) for r in range(1, rooms_per_floor + 1)]

    def create_building(self, grid_id: str, estate: str, building: str, *, units: int, floors: int,
                        rooms_per_floor: int) -> dict[str, Any]:
        """A building with all its rooms (units × floors × rooms per floor standard addresses), in
        one transaction; the 小区 is created when the grid has none of that name yet. Returns
        {"building", "estate", "rooms", "address_ids"}."""
        with self.store.transaction() as s:
            return self._create_building(s, grid_id, estate, building, units=units, floors=floors,
                                         rooms_per_floor=rooms_per_floor)

    def _create_building(self, s: Session, grid_id: str, estate: str, building: str, *, units: int,
                         floors: int, rooms_per_floor: int) -> dict[str, Any]:
        self._require()
        grid = self._area(s, grid_id, "grid")
        estate = _clean_name(estate, "小区名称", 64)
        building = _building_name(building)
        for value, what, top in ((units, "单元数", MAX_UNITS), (floors, "层数", MAX_FLOORS),
                                 (rooms_per_floor, "每层户数", MAX_PER_FLOOR)):
            if not isinstance(value, int) or not 1 <= value <= top:
                raise ServiceError(f"{what}:应为 1 到 {top} 之间的整数,现为“{value}”")
        have = self._addresses(s, grid_id, estate, building)
        if have:
            raise ServiceError(f"楼栋:{compose_address(estate, building, None, None)}已有 {len(have)} 个户室,"
                               "请换一个楼栋号,或在树中选择该楼栋修改")
        self._ensure_estate(s, grid, estate)
        ids = []
        for unit, floor, room in self.room_numbers(units, floors, rooms_per_floor):
            code = f"{grid.code}{int(building):02d}{unit}{room}" if building.isdigit() else None
            row = self.records._create(s, "address", {
                "grid_id": grid_id, "estate": estate, "building": building, "unit": unit, "floor": floor,
                "room": room, "code": code})
            ids.append(row.id)
        write_audit(s, self.actor, "create", "address", None,
                    {"grid_id": grid_id, "estate": estate, "building": building, "units": units,
                     "floors": floors, "rooms_per_floor": rooms_per_floor, "rooms": len(ids)},
                    f"新建楼栋 {compose_address(estate, building, None, None)}:{len(ids)} 个户室")
        return {"building": building, "estate": estate, "rooms": len(ids), "address_ids": ids}

    @staticmethod
    def _retext(a: Address, **parts: Any) -> dict[str, Any]:
        """The changes that give an address new parts, its full text recomposed (a hand-written
        full text that starts with the old 小区 name keeps the rest)."""
        old = {"estate": a.estate, "building": a.building, "unit": a.unit, "room": a.room}
        new = {**old, **parts}
        composed_old = compose_address(*old.values())
        if a.full_text and a.full_text != composed_old and a.full_text.startswith(a.estate or "") \
                and set(parts) == {"estate"}:
            full = new["estate"] + a.full_text[len(a.estate or ""):]
        else:
            full = compose_address(*new.values())
        out = {k: v for k, v in parts.items() if old.get(k) != v}
        out["full_text"] = full
        return out

    def _attached(self, s: Session, address_ids: list[str]) -> dict[str, list[str]]:
        """Live records reached from the addresses through foreign keys (house → address,
        household → house, person → household …), by kind; the addresses themselves not included."""
        found: dict[str, set[str]] = {"address": set(address_ids)}
        grid_kinds = [k for k in kind_keys() if k != "address" and k in GRID_SCOPED]
        changed = True
        while changed:
            changed = False
            for kind in grid_kinds:
                table = kind_entry(kind).model.__table__
                for col in table.c:
                    for fk in col.foreign_keys:
                        target = fk.column.table.name
                        ids = found.get(target)
                        if not ids or target == "area":
                            continue
                        hits = set()
                        id_list = sorted(ids)
                        for i in range(0, len(id_list), 500):
                            hits |= set(s.scalars(select(table.c.id).where(
                                col.in_(id_list[i:i + 500]), table.c.deleted_at.is_(None))))
                        new = hits - found.get(kind, set())
                        if new:
                            found.setdefault(kind, set()).update(new)
                            changed = True
        found.pop("address")
        return {k: sorted(v) for k, v in found.items() if v}

    def building_summary(self, grid_id: str, estate: str, building: str) -> dict[str, Any]:
        """Rooms of a building and the records attached to them (for the edit dialog)."""
        with self.store.session() as s:
            rooms = self._addresses(s, grid_id, estate, building)
            attached = self._attached(s, [a.id for a in rooms])
        return {"rooms": len(rooms), "records": {k: len(v) for k, v in attached.items()}}

    def edit_building(self, grid_id: str, estate: str, building: str, *, new_building: str | None = None,
                      to_estate: str | None = None, to_grid_id: str | None = None) -> dict[str, Any]:
        """Rename a building and/or move it to another 小区 (of the same or another grid). Its
        rooms keep their ids, so houses, households, people, visits … stay attached; their
        address text follows. Moving to another grid moves every attached record to that grid.
        Returns {"rooms", "moved": {kind: count}}."""
        with self.store.transaction() as s:
            self._require()
            self._area(s, grid_id, "grid")
            rooms = self._addresses(s, grid_id, estate, building)
            if not rooms:
                raise NotFound(f"找不到楼栋“{compose_address(estate, building, None, None)}”,请刷新后再试")
            target_grid = self._area(s, to_grid_id or grid_id, "grid")
            target_estate = _clean_name(to_estate, "小区名称", 64) if to_estate else estate
            target_building = _building_name(new_building) if new_building else building
            if (target_grid.id, target_estate, target_building) == (grid_id, estate, building):
                return {"rooms": 0, "moved": {}}
            clash = self._addresses(s, target_grid.id, target_estate, target_building)
            if clash:
                raise ServiceError(f"{target_grid.name}的{compose_address(target_estate, target_building, None, None)}"
                                   f"已有 {len(clash)} 个户室,请换一个楼栋号")
            self._ensure_estate(s, target_grid, target_estate)
            moved: dict[str, int] = {}
            if target_grid.id != grid_id:
                for kind, ids in self._attached(s, [a.id for a in rooms]).items():
                    for rid in ids:
                        self.records._update(s, kind, rid, {"grid_id": target_grid.id})
                    moved[kind] = len(ids)
            for a in rooms:
                changes = self._retext(a, estate=target_estate, building=target_building)
                if target_grid.id != grid_id:
                    changes["grid_id"] = target_grid.id
                    if a.code and target_building.isdigit() and a.unit and a.room:
                        changes["code"] = f"{target_grid.code}{int(target_building):02d}{a.unit}{a.room}"
                elif a.code and target_building != building and target_building.isdigit() and a.unit and a.room:
                    changes["code"] = f"{target_grid.code}{int(target_building):02d}{a.unit}{a.room}"
                self.records._update(s, "address", a.id, changes)
            MapShapes(self.store, self.actor).follow_building(s, grid_id, estate, building, to_grid=target_grid.id,
                                                              to_estate=target_estate, to_building=target_building)
            old_text = compose_address(estate, building, None, None)
            new_text = compose_address(target_estate, target_building, None, None)
            write_audit(s, self.actor, "update", "address", None,
                        {"from": [grid_id, estate, building], "to": [target_grid.id, target_estate, target_building],
                         "rooms": len(rooms), "moved": moved},
                        f"楼栋 {old_text} 改为 {target_grid.name} {new_text}({len(rooms)} 个户室)")
            return {"rooms": len(rooms), "moved": moved}

    def delete_building(self, grid_id: str, estate: str, building: str) -> int:
        """Delete a building's rooms; refused while any record is attached to them."""
        with self.store.transaction() as s:
            self._require()
            rooms = self._addresses(s, grid_id, estate, building)
            if not rooms:
                raise NotFound(f"找不到楼栋“{compose_address(estate, building, None, None)}”,请刷新后再试")
            attached = self._attached(s, [a.id for a in rooms])
            if attached:
                what = _count_text({k: len(v) for k, v in attached.items()})
                raise ServiceError(f"不能删除{compose_address(estate, building, None, None)}:其中还有{what},"
                                   "请先把这些记录移走或删除,或把整栋楼移到别的小区")
            for a in rooms:
                self.records._set_deleted(s, "address", a.id, True, None)
            MapShapes(self.store, self.actor).drop_building(s, grid_id, estate, building)
            return len(rooms)

    def _refuse_full_estate(self, s: Session, grid_id: str, name: str) -> None:
        rooms = self._addresses(s, grid_id, name)
        if rooms:
            attached = self._attached(s, [a.id for a in rooms])
            what = _count_text({"address": len(rooms), **{k: len(v) for k, v in attached.items()}})
            raise ServiceError(f"不能删除小区“{name}”:其中还有{what},请先删除或移走其中的楼栋")

    def delete_estate(self, grid_id: str, name: str) -> None:
        """Delete an empty 小区 of a grid; refused (how many of what) while it has rooms."""
        with self.store.transaction() as s:
            self._require()
            self._refuse_full_estate(s, grid_id, name)
            row = self._estate_row(s, grid_id, name)
            if row is None:
                raise NotFound(f"找不到小区“{name}”,请刷新后再试")
            self.records._set_deleted(s, "area", row.id, True, None)

    # --- renaming and deleting areas ------------------------------------------------------------
    def rename_area(self, area_id: str, name: str, *, code: str | None = None) -> dict[str, Any]:
        """New name (and code) of a community or grid; a 小区 is renamed with `rename_estate`."""
        with self.store.transaction() as s:
            self._require()
            row = self._area(s, area_id)
            if row.level == "estate":
                raise ServiceError("小区请用“修改小区”改名(小区中的地址会一起更新)")
            label = {"community": "社区名称", "grid": "网格名称"}.get(row.level, "名称")
            name = _clean_name(name, label, 64)
            if self._sibling_named(s, row.parent_id, row.level, name, row.id):
                raise ServiceError(f"{label}:“{name}”已存在,请换一个名称")
            changes: dict[str, Any] = {"name": name}
            if code and code != row.code:
                changes["code"] = self._check_code(s, code, row.id)
            return to_dict(self.records._update(s, "area", row.id, changes))

    def delete_area(self, area_id: str) -> None:
        """Delete a community, grid or 小区 that holds nothing; refused (how many of what) otherwise."""
        with self.store.transaction() as s:
            self._require()
            row = self._area(s, area_id)
            children = s.scalars(select(Area).where(Area.parent_id == row.id, Area.deleted_at.is_(None))).all()
            if row.level == "estate":
                self._refuse_full_estate(s, row.parent_id or "", row.name)
            elif row.level == "grid":
                counts = {}
                for kind in kind_keys():
                    if kind in GRID_SCOPED and kind != "map_shape":  # the grid's map goes with it
                        table = kind_entry(kind).model.__table__
                        q = select(func.count()).select_from(table).where(
                            table.c.grid_id == row.id, table.c.deleted_at.is_(None))
                        if kind == "attachment":  # the map's background plan goes with it too
                            q = q.where(table.c.owner_kind != PLAN_OWNER)
                        counts[kind] = s.scalar(q) or 0
                users = s.scalar(select(func.count()).select_from(UserGrid).where(
                    UserGrid.grid_id == row.id, UserGrid.deleted_at.is_(None))) or 0
                what = _count_text(counts)
                if users:
                    what = "、".join(x for x in (what, f"{users} 位负责该网格的用户") if x)
                if what:
                    raise ServiceError(f"不能删除网格“{row.name}”:其中还有{what},"
                                       "请先把这些记录移到其他网格或删除,并在 设置 → 本机用户 中取消分配")
                for c in children:  # empty 小区 rows go with their grid
                    self.records._set_deleted(s, "area", c.id, True, None)
                MapShapes(self.store, self.actor).drop_grid(s, row.id)
                children = []
            if children:
                names = {"grid": "网格", "community": "社区", "street": "街道", "estate": "小区"}
                what = "、".join(f"{sum(1 for c in children if c.level == lv)} 个{names.get(lv, lv)}"
                                for lv in dict.fromkeys(c.level for c in children))
                raise ServiceError(f"不能删除“{row.name}”:其下还有{what},请先删除它们")
            self.records._set_deleted(s, "area", row.id, True, None)
