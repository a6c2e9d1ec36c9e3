"""What is due: the one implementation of the visit plan (今日走访) and the on-time figures
(按时走访率). The app's start page, ``gridledger plan``, the route sheet, the dashboard,
``gridledger stats`` and the on-time ledger all call this module; none computes "due" itself.

The formula, for a day D (`today`) and the actor's grids:

1. Time. D is a calendar date in the user's local time zone (``date.today()``), and so is every
   stored date it is compared with (visited_on, occurred_on, residence_card_until: dates picked on
   the laptop). A visit at 23:30 is dated that evening's day. A household's registration date is its
   created_at (stored in UTC) turned into local time. Nothing else reads the clock, so the plan for a
   given D and data is always the same.
2. Scope. Live households in the grids the actor may see, narrowed to one grid (``grid_id``) or one
   grid worker's assigned grids (``worker``) when asked; a grid worker asking about another worker
   or grid gets PermissionDenied unless the policy grants ``Ability.SEE_ALL_PLANS``.
3. Interval. The rules in force (desktop.services.visit_rules.effective_rules). A rule applies to
   a household when any live member holds the care mark (typed or derived), has the person type, or
   belongs to the group (desktop.domain.visits.in_group, age on D), when the household's house has
   the use, or always (``all``). The household's interval is the smallest interval of the rules that
   apply; its reason is that rule's reason (ties: the rule listed first). No rule: no regular item.
4. Last visit L: the latest visited_on ≤ D of the household's live visits (a visit dated after D
   does not count yet).
5. Regular item. Due on L + interval; never visited (no visit ≤ D): due on the registration date.
   It is in the plan for horizon H when due_on ≤ H; overdue when due_on < D; days overdue
   max(0, D − due_on).
6. Life-event items. Every live life event with a window (住院 has none: its visit follows 出院),
   occurred_on ≤ D and no visit on or after occurred_on (≤ D): opens on occurred_on, due on
   occurred_on + window; it is in the plan from the day it opens.
7. Residence card. Every live member whose residence_card_until U satisfies U − 30 ≤ D and who had no
   visit of the household on or after U − 30: opens U − 30, due U − 7 (derived, never stored).
8. Filters: 今日 H = D; 本周 H = the Sunday of D's week; 逾期 only items with due_on < D (H = D);
   a care mark keeps households with a member holding it.
9. Order: 小区, 楼栋, 单元 (numbers by value), then overdue first (more days first), then due_on,
   room, and the item kind (regular, event, card).

On-time figures for a period P0..P1, as of A = min(P1, D) (`on_time`):

10. Due occurrences of a household, each with a due date d:
    a. regular: after each visit v (≤ A), d = v + interval; and d = the registration date when
       the household was registered in the period and had no visit on or before that day since
       the look-back start (P0 minus the longest interval in force: visits older than that cannot
       bring a due date into the period);
    b. every life-event item (6) and residence-card notice (7) with its due date.
11. An occurrence counts when P0 ≤ d ≤ P1 and either d < A (its day is over) or its visit was made
    by A (an item due today and not yet visited is not counted yet). Its visit is the first
    visit (≤ A) after the visit that started it (a), or on or after the opening day (b):
    on time when that visit is on or before d, late when it is after d, still overdue when
    there is none. On-time rate = on time ÷ counted (None when nothing was due).
12. Attribution. A grid's figures belong to each grid worker assigned to the grid (a role without
    ``Ability.ALL_GRIDS``); a grid with none is shown as 未分配网格员.

The interval is the one in force on D: the rules' history is not kept, so a period long ago is
measured against today's rules (said on the ledger).
"""

from __future__ import annotations

import bisect
import gc
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from desktop.db.sql import sql
from desktop.domain.formatting import care_mark_code, care_mark_labels, care_mark_table
from desktop.domain.marks import marks_list
from desktop.domain.visits import (
    EVENT_TYPES,
    GROUPS,
    HIGH_RISK_AGE,
    RESIDENCE_CARD,
    RESIDENCE_CARD_DUE,
    RESIDENCE_CARD_NOTICE,
    Rule,
    in_group,
)
from desktop.policy import Ability, allows, sees_all_grids
from desktop.services.errors import PermissionDenied, ServiceError
from desktop.services.rules import compose_address
from desktop.services.store import Actor, Store
from desktop.services.visit_rules import effective_rules
from desktop.validation import mask_phone
from desktop.validation.dates import years_before

SCOPES = {"today": "今日", "week": "本周", "overdue": "仅逾期"}
NO_WORKER = "未分配网格员"


def local_date(ts: datetime | str | None) -> date | None:
    """A stored UTC timestamp as a date in the local time zone."""
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", ""))
    return ts.replace(tzinfo=UTC).astimezone().date()


DUE_AHEAD_DAYS = 7  # a room shows 访 this many days before a visit falls due (map, 楼盘表)


def _natural(value: str | None) -> tuple:
    v = value or ""
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


def _d(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _day(value: Any) -> date:
    """`_d` for a column that is never NULL (the query filters it)."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class _Days(dict[str, date]):
    """Stored day texts as dates, each distinct text parsed once (a street's visits share a few
    hundred days)."""

    def __missing__(self, text: str) -> date:
        d = self[text] = _day(text)
        return d


@dataclass
class Item:
    household_id: str
    grid_id: str
    kind: str  # regular | event | residence_card
    reason: str
    due_on: date
    opens_on: date
    days_overdue: int
    last_visit: date | None
    head: str
    address: str
    estate: str
    building: str
    unit: str
    room: str
    marks: str
    event_id: str | None = None
    person: str | None = None
    phone: str | None = None  # the household's (or its head's) phone: shown masked

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("due_on", "opens_on", "last_visit"):
            out[k] = out[k].isoformat() if out[k] else None
        out["phone"] = mask_phone(self.phone) if self.phone else None  # never the full number
        return out


@dataclass
class Plan:
    today: date
    horizon: date
    scope: str
    items: list[Item] = field(default_factory=list)

    def groups(self) -> list[tuple[str, list[tuple[str, list[Item]]]]]:
        """[(“小区 楼栋”, [(“单元”, items)])] in plan order (formula 9)."""
        out: list[tuple[str, list[tuple[str, list[Item]]]]] = []
        for it in self.items:
            b = compose_address(it.estate, it.building, None, None) or "未关联房屋"
            u = it.unit or ""
            if not out or out[-1][0] != b:
                out.append((b, []))
            units = out[-1][1]
            if not units or units[-1][0] != u:
                units.append((u, []))
            units[-1][1].append(it)
        return out

    def as_json(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "horizon": self.horizon.isoformat(), "scope": self.scope,
                "count": len(self.items), "overdue": sum(1 for i in self.items if i.overdue),
                "households": len({i.household_id for i in self.items}),
                "items": [i.as_json() for i in self.items]}


class _House:
    """One household as the plan sees it (a plain class with slots: a street has 37,000)."""

    __slots__ = ("id", "grid_id", "registered", "use", "estate", "building", "unit", "room", "address", "head",
                 "phone", "marks", "types", "groups", "cards")

    def __init__(self, id: str, grid_id: str, registered: date, use: str | None, estate: str, building: str,  # noqa: A002
                 unit: str, room: str, address: str, head: str, phone: str | None) -> None:
        self.id, self.grid_id, self.registered, self.use = id, grid_id, registered, use
        self.estate, self.building, self.unit, self.room = estate, building, unit, room
        self.address, self.head, self.phone = address, head, phone
        self.marks = ""  # every live member's typed and derived marks, one ",a,,b," text
        self.types: frozenset[str] = frozenset()  # the members' person types
        self.groups: frozenset[str] = frozenset()  # the named groups a member belongs to (domain.visits.in_group)
        # (residence-card end date, name) of each member with one; households without share the
        # empty tuple (a street's 37,000 lists would wake the garbage collector's full passes)
        self.cards: list[tuple[date, str]] | tuple[()] = ()


def _horizon(today: date, scope: str) -> date:
    if scope == "week":
        return today + timedelta(days=6 - today.weekday())
    return today


# A household's members, read in one grouped pass (one row per household): what formula 3 asks of
# them, and formula 7's cards. 1. every member's typed and derived marks, one text (as
# ",a,,b,"); 2. the distinct person types; 3. each member 60 or older (only they can be in a named
# group) as "ALhealth": A 1 when 80 or older, L 1 when holding lone_elderly, then the health text,
# for domain.visits.in_group (`_groups`); 4. each residence-card end date with the member's name.
# A column no rule in force asks about is not read (`_member_facts`): NULL instead.
_SEP, _UNIT = "\x1e", "\x1f"
_MARKS = "group_concat(nullif(coalesce(marks, '') || coalesce(derived_marks, ''), ''), '')"
_TYPES = "group_concat(DISTINCT person_type)"
_ELDERS = ("group_concat(CASE WHEN birth_date <= :cut60 AND birth_date <> '' THEN (birth_date <= :cut80) "
           "|| (instr(coalesce(marks, '') || coalesce(derived_marks, ''), ',lone_elderly,') > 0) "
           "|| coalesce(health, '') END, char(30))")
_CARDS = "group_concat(residence_card_until || char(31) || coalesce(name, ''), char(30))"


def _member_facts(rules: list[Rule], *, marks: bool) -> str:
    kinds = {r.target_kind for r in rules}
    return (f"SELECT household_id, {_MARKS if marks or 'mark' in kinds else 'NULL'}, "
            f"{_TYPES if 'person_type' in kinds else 'NULL'}, {_ELDERS if 'group' in kinds else 'NULL'}, {_CARDS} "
            "FROM person WHERE deleted_at IS NULL AND household_id IS NOT NULL AND {grid:grid_id} GROUP BY household_id")


def _groups(elders: str | None) -> frozenset[str]:
    """The named groups of a household's members 60 or older (the third column of `_member_facts`)."""
    if not elders:
        return frozenset()
    out: set[str] = set()
    for e in elders.split(_SEP):
        years = HIGH_RISK_AGE if e[0] == "1" else 60
        for group in GROUPS:
            if in_group(group, lone_elderly=e[1] == "1", age=years, health=e[2:] or None):
                out.add(group)
    return frozenset(out)


_pause_lock = threading.Lock()
_pauses = 0
_resume_collector = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a street becomes objects (37,000 households): its
    full passes over every object of the process otherwise cost about as much as reading the
    street. Nothing here makes a reference cycle, and the callers free their objects (by reference
    count) before leaving, so nothing is left for the collector. Nested or threaded use keeps it
    paused until the last one leaves; it is resumed only if it was running."""
    global _pauses, _resume_collector
    with _pause_lock:
        if _pauses == 0:
            _resume_collector = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume_collector:
                gc.enable()


class _Loader:
    """Reads one scope's households, their members' facts, the rules and the visits: plain SQL on
    the session's own driver connection (a street has 100,000 members: no ORM or Row objects; the
    members come grouped, one row per household), grids passed as one JSON list (``json_each``).
    Formula 3 is worked out once per distinct set of facts (house use, marks, types, groups): most
    households share theirs with many others."""

    def __init__(self, conn: Connection, grids: list[str] | None, today: date, *, light: bool = False) -> None:
        """`light`: without the address, the head and the marks no rule asks about (the on-time
        figures fill the address and head in later for the few households they list)."""
        self.conn = conn
        self.today = today
        self.everything = grids is None
        if grids is None:
            grids = list(conn.exec_driver_sql(
                "SELECT id FROM area WHERE level = 'grid' AND deleted_at IS NULL").scalars())
        self.grids = grids
        self.grid_json = json.dumps(grids)
        self.rules: list[Rule] = effective_rules(conn)
        self._intervals: dict[tuple, tuple[int, str] | None] = {}
        self.houses: dict[str, _House] = {}
        houses = self.houses
        registered: dict[str, date] = {}
        if light:
            for hid, gid, created, use in self._rows(
                    "SELECT hh.id, hh.grid_id, hh.created_at, h.use FROM household hh "
                    "LEFT JOIN house h ON h.id = hh.house_id WHERE hh.deleted_at IS NULL AND {grid:hh.grid_id}"):
                key = str(created)[:13]  # the hour decides the local day
                day = registered.get(key)
                if day is None:
                    day = registered[key] = local_date(created) or today
                houses[hid] = _House(hid, gid, day, use, "", "", "", "", "", "", None)
        else:
            for r in self._rows(
                    "SELECT hh.id, hh.grid_id, hh.created_at, h.use, a.estate, a.building, a.unit, a.room, "
                    "a.full_text, p.name, coalesce(hh.phone, p.phone) FROM household hh "
                    "LEFT JOIN house h ON h.id = hh.house_id LEFT JOIN address a ON a.id = h.address_id "
                    "LEFT JOIN person p ON p.id = hh.head_person_id WHERE hh.deleted_at IS NULL AND {grid:hh.grid_id}"):
                key = str(r[2])[:13]
                day = registered.get(key)
                if day is None:
                    day = registered[key] = local_date(r[2]) or today
                houses[r[0]] = _House(r[0], r[1], day, r[3], r[4] or "", r[5] or "", r[6] or "", r[7] or "",
                                      r[8] or "", r[9] or "", r[10])
        types: dict[str | None, frozenset[str]] = {}
        groups: dict[str | None, frozenset[str]] = {}
        day_of = _Days().__getitem__
        for hid, marks, kinds, elders, cards in self._rows(
                _member_facts(self.rules, marks=not light), cut60=years_before(today, 60).isoformat(),
                cut80=years_before(today, HIGH_RISK_AGE).isoformat()):
            hh = houses.get(hid)
            if hh is None:
                continue
            hh.marks = marks or ""
            t = types.get(kinds)
            if t is None:
                t = types[kinds] = frozenset((kinds or "").split(",")) - {""}
            hh.types = t
            g = groups.get(elders)
            if g is None:
                g = groups[elders] = _groups(elders)
            hh.groups = g
            if cards:
                hh.cards = [(day_of(until), name) for until, _, name in
                            (card.partition(_UNIT) for card in cards.split(_SEP))]

    def _rows(self, statement: str, **params: Any) -> list[tuple]:
        """Rows of `statement` (parameters by name), where ``{grid:COLUMN}`` stands for "COLUMN is
        one of the scope's grids"."""
        head, sep, rest = statement.partition("{grid:")
        if sep:
            column, _, tail = rest.partition("}")
            if self.everything:
                statement = head + "1" + tail
            else:
                statement = head + f"{column} IN (SELECT value FROM json_each(:scope_grids))" + tail
                params["scope_grids"] = self.grid_json
        raw = self.conn.connection.driver_connection
        assert raw is not None, "the connection is closed"
        cur = raw.cursor()
        try:
            return cur.execute(statement, params).fetchall()
        finally:
            cur.close()

    def interval(self, hh: _House) -> tuple[int, str] | None:
        """Formula 3: (interval, reason) of the strictest rule that applies, or None."""
        facts = (hh.use, hh.marks, hh.types, hh.groups)
        try:
            return self._intervals[facts]
        except KeyError:
            pass
        best: tuple[int, int, str] | None = None
        for i, rule in enumerate(self.rules):
            if best is not None and rule.interval_days >= best[0]:
                continue
            if self._applies(rule, hh):
                best = (rule.interval_days, i, rule.reason)
        found = self._intervals[facts] = (best[0], best[2]) if best else None
        return found

    def _applies(self, rule: Rule, hh: _House) -> bool:
        kind, value = rule.target_kind, rule.target_value
        if kind == "all":
            return True
        if kind == "house_use":
            return hh.use == value
        if kind == "mark":
            return f",{value}," in hh.marks
        if kind == "person_type":
            return value in hh.types
        if kind == "group":
            return value in hh.groups
        return False

    def visits(self, since: date | None = None) -> dict[str, tuple[date, ...]]:
        """household -> its live visit dates ≤ today (≥ since), ascending (grouped in SQL: one row
        per household; each distinct day is parsed once; tuples, which the garbage collector
        stops tracking, not lists)."""
        day = _Days().__getitem__
        return {h: tuple(map(day, sorted(joined.split(",")))) for h, joined in self._rows(
            "SELECT household_id, group_concat(visited_on, ',') FROM visit WHERE deleted_at IS NULL "
            "AND {grid:grid_id} AND visited_on <= :today AND visited_on >= :since GROUP BY household_id",
            today=self.today.isoformat(), since=since.isoformat() if since else "")}

    def last_visits(self) -> dict[str, date]:
        q = ("SELECT household_id, max(visited_on) FROM visit WHERE deleted_at IS NULL AND {grid:grid_id} "
             "AND visited_on <= :today GROUP BY household_id")
        day = _Days().__getitem__
        return {h: day(v) for h, v in self._rows(q, today=self.today.isoformat())}

    def events(self) -> list[Any]:
        return self._rows(
            "SELECT e.id, e.household_id, e.event_type, e.occurred_on, p.name FROM life_event e "
            "LEFT JOIN person p ON p.id = e.person_id WHERE e.deleted_at IS NULL AND {grid:e.grid_id} "
            "AND e.occurred_on <= :today ORDER BY e.occurred_on, e.id", today=self.today.isoformat())


def household_intervals(conn: Connection, today: date, grids: list[str] | None = None) -> dict[str, int]:
    """household -> its interval in days (formula 3), for the households a rule applies to."""
    with _collector_paused():
        return _household_intervals(conn, today, grids)


def _household_intervals(conn: Connection, today: date, grids: list[str] | None) -> dict[str, int]:
    data = _Loader(conn, grids, today, light=True)
    out = {}
    for hh in data.houses.values():
        rule = data.interval(hh)
        if rule is not None:
            out[hh.id] = rule[0]
    return out


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _event_item(ev: Any) -> tuple[date, date, str] | None:
    """(opens, due, reason) of a life event with a window (formula 6)."""
    et = EVENT_TYPES.get(ev[2])
    occurred = _d(ev[3])
    if et is None or et.window is None or occurred is None:
        return None
    who = f"{ev[4]}," if ev[4] else ""
    return occurred, occurred + timedelta(days=et.window), f"{et.follow_up}({who}{_md(occurred)}{et.label})"


def _card_items(hh: _House, today: date) -> list[tuple[date, date, str, str]]:
    """(opens, due, reason, person) of the residence-card notices of a household (formula 7)."""
    if not hh.cards:
        return []
    out = []
    for until, name in hh.cards:
        opens = until - timedelta(days=RESIDENCE_CARD_NOTICE)
        if opens <= today:
            out.append((opens, until - timedelta(days=RESIDENCE_CARD_DUE),
                        f"{name} 的居住证 {until.isoformat()} 到期,请提醒续签", name))
    return out


def _due_items(data: _Loader, last: dict[str, date], events: list[Any], today: date, horizon: date,
               wanted: list[str] | None) -> Iterator[tuple[_House, str, str, date, date, dict[str, Any]]]:
    """Every plan item due on or before `horizon` (formulas 5–7): (household, kind, reason, opens,
    due, extra). The plan page, the room colours of the map and 楼盘表, all from here."""
    for hh in data.houses.values():
        if wanted and not any(c in wanted for c in marks_list(hh.marks)):
            continue
        rule = data.interval(hh)
        lv = last.get(hh.id)
        if rule is not None:
            days, why = rule
            due = lv + timedelta(days=days) if lv else hh.registered
            if due <= horizon:
                since = f"已 {(today - lv).days} 天未访" if lv else "从未走访"
                yield hh, "regular", f"{why} 每 {days} 天一次,{since}", lv or hh.registered, due, {}
        for opens, due, why, person in _card_items(hh, today):
            if lv is None or lv < opens:
                yield hh, "residence_card", why, opens, due, {"person": person}
    for ev in events:
        house = data.houses.get(ev[1])
        found = _event_item(ev)
        if house is None or found is None:
            continue
        if wanted and not any(c in wanted for c in marks_list(house.marks)):
            continue
        opens, due, why = found
        lv = last.get(house.id)
        if lv is None or lv < opens:
            yield house, "event", why, opens, due, {"event_id": ev[0], "person": ev[4]}


def household_due_dates(conn: Connection, today: date, grids: list[str] | None) -> dict[str, date]:
    """household -> the earliest due date of its open plan items (regular, life event, residence
    card) within the next DUE_AHEAD_DAYS days or overdue: what colours a room 逾 or 访
    (desktop/services/room_status.py). The same items as `VisitPlan.plan`, no second rule."""
    with _collector_paused():
        return _household_due_dates(conn, today, grids)


def _household_due_dates(conn: Connection, today: date, grids: list[str] | None) -> dict[str, date]:
    data = _Loader(conn, grids, today, light=True)
    out: dict[str, date] = {}
    for hh, _kind, _why, _opens, due, _extra in _due_items(data, data.last_visits(), data.events(), today,
                                                          today + timedelta(days=DUE_AHEAD_DAYS), None):
        if hh.id not in out or due < out[hh.id]:
            out[hh.id] = due
    return out


class VisitPlan:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    # --- scope (formula 2) ------------------------------------------------------------------
    def _grids(self, conn: Connection, grid_id: str | None, worker: str | None) -> list[str] | None:
        mine = self.actor.grid_ids
        if worker and worker != self.actor.username and not allows(self.actor, Ability.SEE_ALL_PLANS):
            raise PermissionDenied("您只能查看自己的走访计划:查看其他网格员的计划需要社区管理员或网格长/督导。")
        grids: list[str] | None = None if mine is None else sorted(mine)
        if worker:
            row = conn.exec_driver_sql(
                "SELECT id, role FROM app_user WHERE username = ? AND deleted_at IS NULL", (worker,)).first()
            if row is None:
                raise ServiceError(f"找不到用户“{worker}”:请用用户名(gridledger users list 列出全部用户)。")
            if not sees_all_grids(row[1]):
                assigned = sorted(conn.exec_driver_sql(
                    "SELECT grid_id FROM user_grid WHERE user_id = ? AND deleted_at IS NULL", (row[0],)).scalars())
                grids = [g for g in assigned if mine is None or g in mine]
        if grid_id:
            if mine is not None and grid_id not in mine:
                raise PermissionDenied("您没有权限查看该网格的走访计划:请选择您负责的网格。")
            grids = [g for g in (grids if grids is not None else [grid_id]) if g == grid_id]
        return grids

    def grid_for_code(self, code: str) -> str:
        with self.store.session() as s:
            gid = s.connection().exec_driver_sql(
                "SELECT id FROM area WHERE level = 'grid' AND deleted_at IS NULL AND (code = ? OR name = ?)",
                (code, code)).scalar()
        if gid is None:
            raise ServiceError(f"找不到网格“{code}”:请用网格代码或名称。")
        return gid

    # --- the plan (formulas 3–9) ----------------------------------------------------------------
    def plan(self, *, today: date | None = None, scope: str = "today", grid_id: str | None = None,
             worker: str | None = None, mark: str | None = None) -> Plan:
        with _collector_paused():
            return self._plan(today, scope, grid_id, worker, mark)

    def _plan(self, today: date | None, scope: str, grid_id: str | None, worker: str | None,
              mark: str | None) -> Plan:
        today = today or date.today()
        if scope not in SCOPES:
            raise ServiceError(f"计划范围“{scope}”不认识:可选 " + "、".join(f"{k}({v})" for k, v in SCOPES.items()) + "。")
        horizon = _horizon(today, scope)
        with self.store.session() as s:
            conn = s.connection()
            grids = self._grids(conn, grid_id, worker)
            data = _Loader(conn, grids, today)
            last = data.last_visits()
            events = data.events()
        items: list[Item] = []
        wanted = None
        if mark:
            code = care_mark_code(mark)
            if code is None:
                raise ServiceError(f"关注标识“{mark}”不认识:可选 " + "、".join(lbl for _, lbl in care_mark_table()) + "。")
            wanted = [code]
        for hh, kind, reason, opens, due, extra in _due_items(data, last, events, today, horizon, wanted):
            if scope == "overdue" and due >= today:
                continue
            marks = care_mark_labels(hh.marks)
            items.append(Item(hh.id, hh.grid_id, kind, reason, due, opens, max(0, (today - due).days),
                              last.get(hh.id), hh.head, hh.address, hh.estate, hh.building, hh.unit, hh.room,
                              marks, phone=hh.phone, **extra))
        order = {"regular": 0, "event": 1, "residence_card": 2}
        items.sort(key=lambda i: (_natural(i.estate), _natural(i.building), _natural(i.unit), -i.days_overdue,
                                  i.due_on, _natural(i.room), i.household_id, order[i.kind], i.reason))
        return Plan(today, horizon, scope, items)

    # --- on-time figures (formulas 10–12) -------------------------------------------------------
    def on_time(self, start: date, end: date, *, today: date | None = None, grid_id: str | None = None,
                worker: str | None = None) -> dict[str, Any]:
        with _collector_paused():
            return self._on_time(start, end, today, grid_id, worker)

    def _on_time(self, start: date, end: date, today: date | None, grid_id: str | None,
                 worker: str | None) -> dict[str, Any]:
        today = today or date.today()
        if start > end:
            raise ServiceError(f"统计期开始 {start.isoformat()} 晚于结束 {end.isoformat()}:请把开始日期放在前面。")
        as_of = min(end, today)
        with self.store.session() as s:
            conn = s.connection()
            grids = self._grids(conn, grid_id, worker)
            data = _Loader(conn, grids, as_of, light=True)
            longest = max((r.interval_days for r in data.rules), default=0)
            visits = data.visits(start - timedelta(days=longest + 1))
            events = data.events()
            grid_rows = list(conn.execute(sql(
                "SELECT id, code, name FROM area WHERE id IN :g", "g"), {"g": data.grids}))
            people = list(conn.execute(sql(
                "SELECT ug.grid_id, u.username, u.display_name, u.role FROM user_grid ug "
                "JOIN app_user u ON u.id = ug.user_id WHERE ug.deleted_at IS NULL AND u.deleted_at IS NULL "
                "AND u.active AND ug.grid_id IN :g ORDER BY u.username", "g"), {"g": data.grids}))
        per_grid: dict[str, dict[str, Any]] = {
            g[0]: {"grid_id": g[0], "code": g[1], "name": g[2], **_zero()} for g in grid_rows}
        detail: dict[str, list[dict[str, Any]]] = defaultdict(list)

        def count(hh: _House, due: date, done: date | None, what: str) -> None:
            if not start <= due <= end:
                return
            if due >= as_of and (done is None or done > due):
                return
            state = "on_time" if done is not None and done <= due else ("late" if done is not None else "overdue")
            row = per_grid.setdefault(hh.grid_id, {"grid_id": hh.grid_id, "code": "", "name": "", **_zero()})
            row["due"] += 1
            row[state] += 1
            if state != "on_time":
                detail[hh.grid_id].append({"household_id": hh.id, "head": hh.head, "address": hh.address,
                                           "what": what, "due_on": due.isoformat(), "state": state,
                                           "visited_on": done.isoformat() if done else None})

        # interval -> (interval, first and last visit day whose next due date falls in the period:
        # the only visits count's first test lets through)
        windows: dict[int, tuple[timedelta, date, date]] = {}
        for hh in data.houses.values():
            vs = visits.get(hh.id, ())
            rule = data.interval(hh)
            if rule is not None:
                days, why = rule
                reg = hh.registered
                if start <= reg <= end and (not vs or vs[0] > reg):
                    k = bisect.bisect_left(vs, reg)
                    count(hh, reg, vs[k] if k < len(vs) else None, "首次走访")
                if vs:
                    window = windows.get(days)
                    if window is None:
                        step = timedelta(days=days)
                        window = windows[days] = (step, start - step, end - step)
                    step, first, last = window
                    for i in range(bisect.bisect_left(vs, first), bisect.bisect_right(vs, last)):
                        count(hh, vs[i] + step, vs[i + 1] if i + 1 < len(vs) else None, why)
            if hh.cards:
                for opens, due, what, _person in _card_items(hh, as_of):
                    k = bisect.bisect_left(vs, opens)
                    count(hh, due, vs[k] if k < len(vs) else None, what)
        for ev in events:
            house = data.houses.get(ev[1])
            found = _event_item(ev)
            if house is None or found is None:
                continue
            opens, due, why = found
            vs = visits.get(house.id, ())
            k = bisect.bisect_left(vs, opens)
            count(house, due, vs[k] if k < len(vs) else None, why)

        listed = sorted({d["household_id"] for items in detail.values() for d in items})
        if listed:  # the head and address of the households listed as late or overdue
            with self.store.session() as s:
                heads = {r[0]: (r[1] or "", r[2] or "") for r in s.connection().exec_driver_sql(
                    "SELECT hh.id, p.name, a.full_text FROM household hh LEFT JOIN person p ON p.id = hh.head_person_id "
                    "LEFT JOIN house h ON h.id = hh.house_id LEFT JOIN address a ON a.id = h.address_id "
                    "WHERE hh.id IN (SELECT value FROM json_each(?))", (json.dumps(listed),))}
            for items in detail.values():
                for d in items:
                    d["head"], d["address"] = heads.get(d["household_id"], ("", ""))
        workers: dict[str, dict[str, Any]] = {}
        assigned: dict[str, list[str]] = defaultdict(list)
        for gid, username, display, role in people:
            if sees_all_grids(role):
                continue
            assigned[gid].append(username)
            workers.setdefault(username, {"username": username, "name": display or username, "grids": [], **_zero()})
        for gid, row in per_grid.items():
            names = assigned.get(gid) or []
            row["workers"] = names
            for name in names or [NO_WORKER]:
                w = workers.setdefault(name, {"username": name, "name": name, "grids": [], **_zero()})
                w["grids"].append(row["name"])
                for key in ("due", "on_time", "late", "overdue"):
                    w[key] += row[key]
        total: dict[str, Any] = {"name": "合计", **_zero()}
        for row in per_grid.values():
            for key in ("due", "on_time", "late", "overdue"):
                total[key] += row[key]
        for row in [*per_grid.values(), *workers.values(), total]:
            row["rate"] = round(row["on_time"] / row["due"], 4) if row["due"] else None
        return {
            "period": {"from": start.isoformat(), "to": end.isoformat(), "as_of": as_of.isoformat()},
            "total": total,
            "grids": sorted(per_grid.values(), key=lambda g: g["code"] or ""),
            "workers": sorted(workers.values(), key=lambda w: (w["username"] == NO_WORKER, w["username"])),
            "late_or_overdue": {g: sorted(v, key=lambda d: (d["due_on"], d["address"])) for g, v in detail.items()},
        }


ONTIME_HEADERS = ["类别", "名称", "网格员 / 负责网格", "应访", "按时", "迟访", "仍逾期", "按时走访率"]
ONTIME_NOTE = ("应访:统计期内到期的走访(按走访规则的间隔和情况变化的回访期限);按时:到期前完成;迟访:到期后才完成;"
               "仍逾期:至统计截止日仍未走访。按现行走访规则计算。")


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def ontime_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The on-time ledger's rows (按时走访统计表): each grid, each worker, then the total; shared by
    the printed and the exported ledger."""
    rows: list[list[Any]] = []
    for g in result["grids"]:
        rows.append(["网格", g["name"], "、".join(g.get("workers") or []) or NO_WORKER,
                     g["due"], g["on_time"], g["late"], g["overdue"], rate_text(g["rate"])])
    for w in result["workers"]:
        rows.append(["网格员", w["name"], "、".join(w["grids"]), w["due"], w["on_time"], w["late"], w["overdue"],
                     rate_text(w["rate"])])
    t = result["total"]
    rows.append(["合计", "", "", t["due"], t["on_time"], t["late"], t["overdue"], rate_text(t["rate"])])
    return rows


def _zero() -> dict[str, int]:
    return {"due": 0, "on_time": 0, "late": 0, "overdue": 0}


__all__ = ["NO_WORKER", "SCOPES", "Item", "Plan", "VisitPlan", "local_date", "RESIDENCE_CARD"]
