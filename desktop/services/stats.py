"""Headline figures per community, grid and period (computed in SQL, grouped by grid)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from desktop.db.sql import sql
from desktop.domain.formatting import care_mark_table
from desktop.services.areas import area_tree
from desktop.services.store import Actor, Store
from desktop.validation import code_table

CLOSED_STATES = ("closed", "evaluated")
SATISFIED = ("1", "2")  # 满意, 基本满意


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def this_year(cls, today: date | None = None) -> Period:
        today = today or date.today()
        return cls(date(today.year, 1, 1), today)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


class Stats:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    def compute(self, *, area_id: str | None = None, period: Period | None = None) -> dict[str, Any]:
        """Totals and per-grid figures for the grids under `area_id` that the actor may see."""
        period = period or Period.this_year()
        with self.store.session() as s:
            conn = s.connection()
            grids = self._grids(conn, s, area_id)
            per = {g["id"]: self._empty(g) for g in grids}
            if per:
                self._fill(conn, per, period)
            total = self._empty({"id": None, "code": None, "name": "合计"})
            for g in per.values():
                self._add(total, g)
            for row in [*per.values(), total]:
                self._finish(row)
            return {
                "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
                "scope": area_id,
                "total": total,
                "grids": sorted(per.values(), key=lambda g: g["code"] or ""),
            }

    def _grids(self, conn: Connection, s: Any, area_id: str | None) -> list[dict[str, Any]]:
        rows = conn.execute(text(
            "SELECT g.id, g.code, g.name, c.name FROM area g LEFT JOIN area c ON c.id = g.parent_id "
            "WHERE g.level = 'grid' AND g.deleted_at IS NULL")).all()
        allowed = set(area_tree(conn).grids_under(area_id)) if area_id else None
        out = []
        for rid, code, name, community in rows:
            if allowed is not None and rid not in allowed:
                continue
            if not self.actor.may_access(rid):
                continue
            out.append({"id": rid, "code": code, "name": name, "community": community})
        return out

    @staticmethod
    def _empty(g: dict[str, Any]) -> dict[str, Any]:
        return {
            **g, "people": 0, "people_by_type": defaultdict(int), "households": 0,
            "houses": 0, "houses_by_use": defaultdict(int), "vehicles": 0, "units": 0,
            "care_marks": defaultdict(int), "people_with_house": 0, "houses_with_people": 0,
            "households_visited": 0, "visits": 0, "events_received": 0, "events_closed": 0,
            "events_evaluated": 0, "events_satisfied": 0, "events_open": 0, "events_overdue": 0,
            "disputes": 0, "disputes_by_type": defaultdict(int), "disputes_by_result": defaultdict(int),
        }

    def _fill(self, conn: Connection, per: dict[str, dict[str, Any]], period: Period) -> None:
        p = {"grids": list(per), "closed": list(CLOSED_STATES), "satisfied": list(SATISFIED),
             "start": period.start.isoformat(), "end": period.end.isoformat(),
             "end_ts": period.end.isoformat() + " 23:59:59.999999"}

        def rows(statement: str) -> Sequence[Any]:
            lists = [k for k in ("grids", "closed", "satisfied") if f":{k}" in statement]
            return conn.execute(sql(statement, *lists), p).all()

        for gid, ptype, n, with_house in rows(
            "SELECT grid_id, person_type, count(*), sum(house_id IS NOT NULL) FROM person "
            "WHERE deleted_at IS NULL AND grid_id IN :grids GROUP BY grid_id, person_type"
        ):
            per[gid]["people"] += n
            per[gid]["people_by_type"][ptype] += n
            per[gid]["people_with_house"] += with_house or 0
        for gid, n in rows("SELECT grid_id, count(*) FROM household WHERE deleted_at IS NULL AND grid_id IN :grids GROUP BY grid_id"):
            per[gid]["households"] = n
        for gid, use, n, occupied in rows(
            "SELECT h.grid_id, h.use, count(*), sum(EXISTS (SELECT 1 FROM person p WHERE p.house_id = h.id "
            "AND p.deleted_at IS NULL)) FROM house h WHERE h.deleted_at IS NULL AND h.grid_id IN :grids "
            "GROUP BY h.grid_id, h.use"
        ):
            per[gid]["houses"] += n
            per[gid]["houses_by_use"][use] += n
            per[gid]["houses_with_people"] += occupied or 0
        for gid, n in rows("SELECT grid_id, count(*) FROM vehicle WHERE deleted_at IS NULL AND grid_id IN :grids GROUP BY grid_id"):
            per[gid]["vehicles"] = n
        for gid, n in rows("SELECT grid_id, count(*) FROM org_unit WHERE deleted_at IS NULL AND grid_id IN :grids GROUP BY grid_id"):
            per[gid]["units"] = n
        mark_codes = [c for c, _ in care_mark_table()]
        mark_cols = ", ".join(
            f"sum(instr(marks || derived_marks, ',{c},') > 0)" for c in mark_codes
        )
        for row in rows(
            f"SELECT grid_id, {mark_cols} FROM person WHERE deleted_at IS NULL AND grid_id IN :grids "
            "AND (marks <> '' OR derived_marks <> '') GROUP BY grid_id"
        ):
            for code, n in zip(mark_codes, row[1:], strict=True):
                if n:
                    per[row[0]]["care_marks"][code] += n
        for gid, visits, hh in rows(
            "SELECT grid_id, count(*), count(DISTINCT household_id) FROM visit WHERE deleted_at IS NULL "
            "AND grid_id IN :grids AND visited_on BETWEEN :start AND :end GROUP BY grid_id"
        ):
            per[gid]["visits"] = visits
            per[gid]["households_visited"] = hh
        for gid, n, n_closed, n_eval, n_sat in rows(
            "SELECT grid_id, count(*), sum(state IN :closed), sum(satisfaction IS NOT NULL), "
            "sum(satisfaction IN :satisfied) FROM grid_event WHERE deleted_at IS NULL AND grid_id IN :grids "
            "AND reported_at BETWEEN :start AND :end_ts GROUP BY grid_id"
        ):
            g = per[gid]
            g["events_received"], g["events_closed"] = n, n_closed or 0
            g["events_evaluated"], g["events_satisfied"] = n_eval or 0, n_sat or 0
        for gid, n in rows(
            "SELECT grid_id, count(*) FROM grid_event WHERE deleted_at IS NULL AND grid_id IN :grids "
            "AND state NOT IN :closed GROUP BY grid_id"
        ):
            per[gid]["events_open"] = n
        for gid, n in rows(  # open and past the deadline, as of the period's last day (today, usually)
            "SELECT grid_id, count(*) FROM grid_event WHERE deleted_at IS NULL AND grid_id IN :grids "
            "AND state NOT IN :closed AND deadline IS NOT NULL AND deadline < :end GROUP BY grid_id"
        ):
            per[gid]["events_overdue"] = n
        for gid, dtype, result, n in rows(
            "SELECT grid_id, dispute_type, coalesce(result, ''), count(*) FROM dispute WHERE deleted_at IS NULL "
            "AND grid_id IN :grids AND occurred_on BETWEEN :start AND :end GROUP BY grid_id, dispute_type, result"
        ):
            g = per[gid]
            g["disputes"] += n
            g["disputes_by_type"][dtype] += n
            g["disputes_by_result"][result or "pending"] += n

    @staticmethod
    def _add(total: dict[str, Any], g: dict[str, Any]) -> None:
        for key, value in g.items():
            if isinstance(value, defaultdict):
                for k, n in value.items():
                    total[key][k] += n
            elif isinstance(value, int) and key in total and not isinstance(value, bool):
                total[key] += value

    @staticmethod
    def _finish(g: dict[str, Any]) -> None:
        g["person_house_link_rate"] = _rate(g["people_with_house"], g["people"])
        g["house_occupancy_known_rate"] = _rate(g["houses_with_people"], g["houses"])
        g["visit_coverage"] = _rate(g["households_visited"], g["households"])
        g["events_closed_rate"] = _rate(g["events_closed"], g["events_received"])
        g["events_satisfied_rate"] = _rate(g["events_satisfied"], g["events_evaluated"])
        tables = {
            "people_by_type": "person_type", "houses_by_use": "house_use", "care_marks": "care_mark",
            "disputes_by_type": "dispute_type", "disputes_by_result": "dispute_result",
        }
        for key, table in tables.items():
            ct = code_table(table)
            g[key] = {
                code: {"label": "待调解" if code == "pending" else ct.label(code), "count": n}
                for code, n in sorted(g[key].items())
            }
