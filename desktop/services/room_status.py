"""What a room needs: the one status rule behind the 楼盘表, the grid map and their printouts.

`room_status(facts)` is the only place that decides a room's colour. Its inputs come from two
small hooks, so that the day plan and the quality queue can feed it without a second rule:

* `due_households(conn, household_ids, today)` -> {household_id: "overdue" | "due"}: which
  households need a visit, from the visit plan's own items (desktop/services/plan.py
  `household_due_dates`: visit rules, life-event follow-ups, residence-card notices).
* `quality_problems(conn, household_ids, today)` -> {household_id: [problem, …]}: the 数据质量
  queue's own items (desktop/services/quality.py `household_problems`, the reasons of
  `quality.ROOM_REASONS`) of each household, its members and its house.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, text

# status key -> (label, letter shown in the cell for colour-blind readers, colour, rank: lower = worse)
STATUSES: dict[str, tuple[str, str, str, int]] = {
    "overdue": ("走访逾期", "逾", "#d32f2f", 0),
    "due": ("近期应走访", "访", "#f57c00", 1),
    "key": ("重点人员", "重", "#7b1fa2", 2),
    "incomplete": ("信息不全", "缺", "#fbc02d", 3),
    "unregistered": ("未登记", "未", "#9e9e9e", 4),
    "vacant": ("空置(已核实)", "空", "#90caf9", 5),
    "complete": ("信息完整", "完", "#66bb6a", 6),
}
ORDER = tuple(sorted(STATUSES, key=lambda k: STATUSES[k][3]))

from desktop.services.plan import DUE_AHEAD_DAYS  # noqa: E402  ("due" this many days ahead: one number)


@dataclass(frozen=True)
class RoomFacts:
    """What the status rule needs to know about one room."""

    household_id: str | None
    vacant: bool = False  # house use 空置 (verified vacant)
    key_person: bool = False
    visit: str | None = None  # from the due hook: "overdue" | "due" | None
    problems: tuple[str, ...] = ()  # from the quality hook


def room_status(facts: RoomFacts) -> str:
    """The one rule: the worst thing a room needs (keys of STATUSES)."""
    if facts.household_id is None:
        return "vacant" if facts.vacant else "unregistered"
    if facts.visit == "overdue":
        return "overdue"
    if facts.visit == "due":
        return "due"
    if facts.key_person:
        return "key"
    if facts.problems:
        return "incomplete"
    return "complete"


def worst(statuses: Iterable[str]) -> str | None:
    """The worst of some statuses (a building's colour on the map); None for none."""
    ranked = [STATUSES[s][3] for s in statuses]
    return ORDER[min(ranked)] if ranked else None


def _chunks(ids: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def _in(ids: list[str]) -> tuple[str, dict[str, str]]:
    params = {f"i{k}": v for k, v in enumerate(ids)}
    return ", ".join(f":{k}" for k in params), params


def key_households(conn: Connection, household_ids: list[str]) -> set[str]:
    """Households with a member who carries a care mark (typed or derived)."""
    out: set[str] = set()
    for chunk in _chunks(household_ids):
        marks, params = _in(chunk)
        out |= {r[0] for r in conn.execute(text(
            f"SELECT DISTINCT household_id FROM person WHERE household_id IN ({marks}) AND deleted_at IS NULL "
            "AND (trim(coalesce(marks, ''), ',') != '' OR trim(coalesce(derived_marks, ''), ',') != '')"), params)}
    return out


# --- hook: due / overdue visits -------------------------------------------------------------------
def due_households(conn: Connection, household_ids: list[str], today: date,
                   key: set[str] | None = None) -> dict[str, str]:
    """{household_id: "overdue" | "due"} for the households that need a visit: the visit plan's
    items (desktop/services/plan.py `household_due_dates`: the community's visit rules, life-event
    follow-ups and residence-card notices), overdue when the earliest is past, due when it falls
    within DUE_AHEAD_DAYS. `key` is accepted for the callers' convenience and not needed."""
    from desktop.services.plan import household_due_dates

    if not household_ids:
        return {}
    grids: set[str] = set()
    for chunk in _chunks(household_ids):
        marks, params = _in(chunk)
        grids.update(g for (g,) in conn.execute(text(
            f"SELECT DISTINCT grid_id FROM household WHERE id IN ({marks})"), params) if g)
    wanted = set(household_ids)
    out: dict[str, str] = {}
    for hid, due in household_due_dates(conn, today, sorted(grids)).items():
        if hid not in wanted:
            continue
        if due < today:
            out[hid] = "overdue"
        elif due <= today + timedelta(days=DUE_AHEAD_DAYS):
            out[hid] = "due"
    return out


# --- hook: data-quality problems ------------------------------------------------------------------
def quality_problems(conn: Connection, household_ids: list[str], today: date | None = None) -> dict[str, list[str]]:
    """{household_id: [problem sentence, …]} for the households the 数据质量 queue lists: its own
    checks (desktop/services/quality.py `household_problems`: required fields with their
    conditions, no head or two heads, members without a house, other inconsistencies) of the
    household, its members and its house, so the 楼盘表, the map and the queue cannot disagree."""
    from desktop.services.quality import household_problems, problem_text

    return {hid: [problem_text(it) for it in items]
            for hid, items in household_problems(conn, household_ids, today).items()}
