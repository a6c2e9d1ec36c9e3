"""The area tree as stored (`area_tree`: grids under an area, the community of a grid…) and the
place tree: 社区 → 网格 → 小区 → 楼栋 → 单元 → 户室 (lazy, one level per call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from desktop.domain.areas import AreaTree
from desktop.services.store import Actor, Store

LEVELS = ("community", "grid", "estate", "building", "unit", "room")


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
                return [Node("community", r[1], {"community_id": r[0]}) for r in rows if r[0] in visible]
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
                rows = conn.execute(text(
                    "SELECT estate, count(*) FROM address WHERE grid_id = :g AND deleted_at IS NULL "
                    "AND cancelled = 0 GROUP BY estate ORDER BY estate"), {"g": grid_id}).all()
                return [Node("estate", r[0], {**node.key, "estate": r[0]}, r[1]) for r in rows]
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
