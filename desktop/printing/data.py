"""What gets printed: choosing households, and reading everything an archive shows in bulk.

Archives are read with a handful of set-based queries per batch of households (not one ORM
view per household): printing a thousand archives must not spend its time in the database."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, FromClause, select, text

from desktop.db.sql import sql
from desktop.models import (
    Address,
    GridEvent,
    House,
    Household,
    HouseholdLedger,
    OrgUnit,
    Person,
    Vehicle,
    Visit,
    VisitNeed,
)
from desktop.services.errors import NotFound, PermissionDenied, ServiceError
from desktop.services.households import missing_data
from desktop.services.stats import CLOSED_STATES
from desktop.services.store import Actor, Store

BATCH = 400  # ids per IN (...) list

_ORDER = (
    "ORDER BY g.code, a.estate IS NULL, a.estate, CAST(a.building AS INTEGER), a.building, "
    "CAST(a.unit AS INTEGER), a.unit, a.floor, a.room, hh.hh_no, hh.id"
)
_BASE = (
    "SELECT hh.id, hh.grid_id FROM household hh JOIN area g ON g.id = hh.grid_id "
    "LEFT JOIN house h ON h.id = hh.house_id LEFT JOIN address a ON a.id = h.address_id "
    "WHERE hh.deleted_at IS NULL"
)


def _grid_by_code(conn: Connection, actor: Actor, code: str) -> tuple[str, str]:
    row = conn.execute(
        text("SELECT id, name FROM area WHERE code = :c AND level = 'grid' AND deleted_at IS NULL"),
        {"c": str(code).strip()},
    ).first()
    if row is None:
        raise NotFound(f"找不到代码为 {code} 的网格")
    if not actor.may_access(row[0]):
        raise PermissionDenied(f"您没有权限打印“{row[1]}”({code})的档案:该网格不在您负责的范围内")
    return row[0], row[1]


def parse_building(building: str | Sequence[str]) -> tuple[str, str, str]:
    """"GRIDCODE/ESTATE/BUILDING" (or a 3-tuple) -> (grid code, estate, building)."""
    parts = [p.strip() for p in (building.split("/") if isinstance(building, str) else building)]
    if len(parts) != 3 or not all(parts):
        raise ServiceError(f"楼栋应写成“网格代码/小区/楼栋”,例如 62010400100101/幸福家园/3,而不是“{building}”")
    b = parts[2]
    for suffix in ("号楼", "栋", "幢", "座", "楼"):
        if b.endswith(suffix) and b[: -len(suffix)]:
            b = b[: -len(suffix)]
            break
    return parts[0], parts[1], b


def households_for(
    store: Store, actor: Actor, *, household_ids: Iterable[str] | None = None,
    grid_code: str | None = None, building: str | Sequence[str] | None = None, all_: bool = False,
) -> list[str]:
    """Household ids to print, in address order (a selection keeps the given order).

    Exactly one of `household_ids`, `grid_code`, `building` ("GRID/ESTATE/BUILDING") or `all_`;
    only households in the actor's grids."""
    chosen = [household_ids is not None, grid_code is not None, building is not None, bool(all_)]
    if sum(chosen) != 1:
        raise ServiceError("请选择要打印的范围:指定户、一个网格、一个楼栋或全部(只能选一种)")
    with store.session() as s:
        conn = s.connection()
        if household_ids is not None:
            ids = list(dict.fromkeys(str(i) for i in household_ids))
            found: dict[str, tuple[str, Any]] = {}
            for k in range(0, len(ids), BATCH):
                chunk = ids[k : k + BATCH]
                for rid, grid_id, deleted in conn.execute(
                        sql("SELECT id, grid_id, deleted_at FROM household WHERE id IN :ids", "ids"), {"ids": chunk}):
                    found[rid] = (grid_id, deleted)
            gone = [i for i in ids if i not in found or found[i][1] is not None]
            if gone:
                raise NotFound(f"找不到 {len(gone)} 个所选的户(可能已被删除):{', '.join(gone[:3])}{'…' if len(gone) > 3 else ''}")
            denied = [i for i in ids if not actor.may_access(found[i][0])]
            if denied:
                raise PermissionDenied(f"所选的户中有 {len(denied)} 户不在您负责的网格内,不能打印")
            return ids
        if grid_code is not None:
            gid, _ = _grid_by_code(conn, actor, grid_code)
            rows = conn.execute(text(f"{_BASE} AND hh.grid_id = :g {_ORDER}"), {"g": gid})
            return [r[0] for r in rows]
        if building is not None:
            code, estate, b = parse_building(building)
            gid, gname = _grid_by_code(conn, actor, code)
            in_building = conn.execute(
                text(f"{_BASE} AND hh.grid_id = :g AND a.estate = :e AND a.building = :b {_ORDER}"),
                {"g": gid, "e": estate, "b": b},
            ).all()
            if not in_building:
                raise NotFound(f"{gname}中找不到“{estate}{b}栋”的住户")
            return [r[0] for r in in_building]
        rows = conn.execute(text(f"{_BASE} {_ORDER}"))
        return [r[0] for r in rows if actor.may_access(r[1])]


# --- bulk reads ------------------------------------------------------------------------------

def _member_order(head: str | None) -> Callable[[dict[str, Any]], tuple[bool, str, str]]:
    """The members of a household: its head first, then by relation and birth date."""
    return lambda p: (p["id"] != head, p["relation"] or "99", str(p["birth_date"]))


def _rows(conn: Connection, table: FromClause, column: str, values: Iterable[Any], *extra: Any) -> list[dict[str, Any]]:
    vals = [v for v in dict.fromkeys(values) if v is not None]
    out: list[dict[str, Any]] = []
    col = table.c[column]
    for k in range(0, len(vals), BATCH):
        q = select(table).where(col.in_(vals[k : k + BATCH]), table.c.deleted_at.is_(None), *extra)
        out.extend(dict(r._mapping) for r in conn.execute(q))
    return out


def reference(conn: Connection) -> dict[str, Any]:
    """Areas and user display names (small tables, read once per job)."""
    areas = {r[0]: {"id": r[0], "level": r[1], "code": r[2], "name": r[3], "parent_id": r[4]}
             for r in conn.execute(text("SELECT id, level, code, name, parent_id FROM area"))}
    users: dict[str, str | None] = dict(conn.execute(text("SELECT username, display_name FROM app_user")).all())
    return {"areas": areas, "users": users}


def load_archives(conn: Connection, actor: Actor, ids: Sequence[str], ref: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Everything the archives of `ids` show, as plain dicts, in the order of `ids`.

    The same shape as `Households.view` (household, house, address, members, vehicles, visits
    with needs, ledgers, missing) plus units at the address, open events, grid and community."""
    ref = ref or reference(conn)
    hh_rows = {r["id"]: r for r in _rows(conn, Household.__table__, "id", ids)}
    for i in ids:
        if i not in hh_rows:
            raise NotFound(f"找不到该户(编号 {i}),可能已被删除")
        if not actor.may_access(hh_rows[i]["grid_id"]):
            raise PermissionDenied("您没有权限查看该网格的户")
    houses = {r["id"]: r for r in _rows(conn, House.__table__, "id", (h["house_id"] for h in hh_rows.values()))}
    addresses = {r["id"]: r for r in _rows(conn, Address.__table__, "id", (h["address_id"] for h in houses.values()))}
    members: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    person_hh: dict[str, str] = {}
    for p in _rows(conn, Person.__table__, "household_id", ids):
        members[p["household_id"]].append(p)
        person_hh[p["id"]] = p["household_id"]
    vehicles: dict[str, dict[str, dict[str, Any]]] = {i: {} for i in ids}
    for v in _rows(conn, Vehicle.__table__, "household_id", ids):
        vehicles[v["household_id"]][v["id"]] = v
    for v in _rows(conn, Vehicle.__table__, "owner_person_id", person_hh):
        vehicles[person_hh[v["owner_person_id"]]].setdefault(v["id"], v)
    visits: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    visit_rows = _rows(conn, Visit.__table__, "household_id", ids)
    needs: dict[str, list[dict[str, Any]]] = {}
    for n in _rows(conn, VisitNeed.__table__, "visit_id", (v["id"] for v in visit_rows)):
        needs.setdefault(n["visit_id"], []).append(n)
    for v in visit_rows:
        v["needs"] = sorted(needs.get(v["id"], []), key=lambda n: (str(n["created_at"]), n["id"]))
        visits[v["household_id"]].append(v)
    ledgers: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for x in _rows(conn, HouseholdLedger.__table__, "household_id", ids):
        ledgers[x["household_id"]].append(x)
    units: dict[str, list[dict[str, Any]]] = {}
    for u in _rows(conn, OrgUnit.__table__, "address_id", addresses):
        units.setdefault(u["address_id"], []).append(u)
    events: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    ev_table = GridEvent.__table__
    for e in _rows(conn, ev_table, "household_id", ids, ev_table.c.state.not_in(CLOSED_STATES)):
        events[e["household_id"]].append(e)

    areas = ref["areas"]
    out = []
    for i in ids:
        hh = hh_rows[i]
        house = houses.get(hh["house_id"]) if hh["house_id"] else None
        address = addresses.get(house["address_id"]) if house else None
        ms = members[i]
        ms.sort(key=_member_order(hh["head_person_id"]))
        grid = areas.get(hh["grid_id"], {})
        community = areas.get(grid.get("parent_id"), {}) if grid else {}
        out.append({
            "household": hh, "house": house, "address": address, "members": ms,
            "vehicles": sorted(vehicles[i].values(), key=lambda v: v["plate_no"] or ""),
            "visits": sorted(visits[i], key=lambda v: (v["visited_on"], v["id"]), reverse=True),
            "ledgers": sorted(ledgers[i], key=lambda x: x["period"] or ""),
            "units": sorted(units.get(address["id"], []) if address else [], key=lambda u: u["name"] or ""),
            "events": sorted(events[i], key=lambda e: (e["reported_at"], e["id"])),
            "grid": grid, "community": community,
            "missing": missing_data(hh, house, ms),
        })
    return out
