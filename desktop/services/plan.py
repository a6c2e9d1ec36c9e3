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
import json
from collections import defaultdict
from collections.abc import Iterator
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
                 "phone", "members", "marks", "types", "groups", "cards")

    def __init__(self, id: str, grid_id: str, registered: date, use: str | None, estate: str, building: str,  # noqa: A002
                 unit: str, room: str, address: str, head: str, phone: str | None) -> None:
        self.id, self.grid_id, self.registered, self.use = id, grid_id, registered, use
        self.estate, self.building, self.unit, self.room = estate, building, unit, room
        self.address, self.head, self.phone = address, head, phone
        self.members: list[Any] = []
        self.marks = ""  # every member's typed and derived marks, one text
        self.types: set[str] = set()  # the members' person types
        self.groups: set[str] = set()  # the named groups a member belongs to (domain.visits.in_group)
        self.cards: list[Any] = []  # members with a residence-card end date


def _horizon(today: date, scope: str) -> date:
    if scope == "week":
        return today + timedelta(days=6 - today.weekday())
    return today


class _Loader:
    """Reads one scope's households, members, rules and visits: plain SQL on the session's own
    driver connection (a street has 100,000 members; rows are read without ORM or Row objects),
    grids passed as one JSON list (``json_each``)."""

    def __init__(self, conn: Connection, grids: list[str] | None, today: date, *, light: bool = False) -> None:
        """`light`: without the address and the head (the on-time figures fill them in later for
        the few households they list)."""
        self.conn = conn
        self.today = today
        self.everything = grids is None
        if grids is None:
            grids = list(conn.exec_driver_sql(
                "SELECT id FROM area WHERE level = 'grid' AND deleted_at IS NULL").scalars())
        self.grids = grids
        self.grid_json = json.dumps(grids)
        self.rules: list[Rule] = effective_rules(conn)
        self.cut80 = years_before(today, HIGH_RISK_AGE).isoformat()
        self.cut60 = years_before(today, 60).isoformat()
        self.houses: dict[str, _House] = {}
        registered: dict[str, date] = {}
        full = ("SELECT hh.id, hh.grid_id, hh.created_at, h.use, a.estate, a.building, a.unit, a.room, a.full_text, "
                "p.name, coalesce(hh.phone, p.phone) FROM household hh LEFT JOIN house h ON h.id = hh.house_id "
                "LEFT JOIN address a ON a.id = h.address_id LEFT JOIN person p ON p.id = hh.head_person_id "
                "WHERE hh.deleted_at IS NULL AND {grid:hh.grid_id}")
        short = ("SELECT hh.id, hh.grid_id, hh.created_at, h.use, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
                 "FROM household hh LEFT JOIN house h ON h.id = hh.house_id "
                 "WHERE hh.deleted_at IS NULL AND {grid:hh.grid_id}")
        for r in self._rows(short if light else full):
            key = str(r[2])[:13]  # the hour decides the local day
            day = registered.get(key)
            if day is None:
                day = registered[key] = local_date(r[2]) or today
            self.houses[r[0]] = _House(r[0], r[1], day, r[3], r[4] or "", r[5] or "", r[6] or "", r[7] or "",
                                       r[8] or "", r[9] or "", r[10])
        for m in self._rows(
                "SELECT household_id, marks, derived_marks, person_type, birth_date, health, residence_card_until, name "
                "FROM person WHERE deleted_at IS NULL AND household_id IS NOT NULL AND {grid:grid_id}"):
            hh = self.houses.get(m[0])
            if hh is None:
                continue
            hh.members.append(m)
            hh.marks += (m[1] or "") + (m[2] or "")
            hh.types.add(m[3])
            if m[6]:
                hh.cards.append(m)
            if m[4] and str(m[4]) <= self.cut60:  # only 60 or older can be in a group
                years = HIGH_RISK_AGE if str(m[4]) <= self.cut80 else 60
                lone = ",lone_elderly," in (m[2] or "") or ",lone_elderly," in (m[1] or "")
                for group in GROUPS:
                    if in_group(group, lone_elderly=lone, age=years, health=m[5]):
                        hh.groups.add(group)

    def _rows(self, statement: str, *params: Any) -> list[tuple]:
        """Rows of `statement`, where ``{grid:COLUMN}`` stands for "COLUMN is one of the scope's grids"."""
        head, sep, rest = statement.partition("{grid:")
        args: list[Any] = []
        if sep:
            column, _, tail = rest.partition("}")
            if self.everything:
                statement = head + "1" + tail
            else:
                statement = head + f"{column} IN (SELECT value FROM json_each(?))" + tail
                args.append(self.grid_json)
        raw = self.conn.connection.driver_connection
        assert raw is not None, "the connection is closed"
        cur = raw.cursor()
        try:
            return cur.execute(statement, (*args, *params)).fetchall()
        finally:
            cur.close()

    def interval(self, hh: _House) -> tuple[int, str] | None:
        """Formula 3: (interval, reason) of the strictest rule that applies, or None."""
        best: tuple[int, int, str] | None = None
        for i, rule in enumerate(self.rules):
            if best is not None and rule.interval_days >= best[0]:
                continue
            if self._applies(rule, hh):
                best = (rule.interval_days, i, rule.reason)
        return (best[0], best[2]) if best else None

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

    def visits(self, since: date | None = None) -> dict[str, list[date]]:
        """household -> its live visit dates ≤ today (≥ since), ascending."""
        out: dict[str, list[date]] = defaultdict(list)
        q = ("SELECT household_id, visited_on FROM visit WHERE deleted_at IS NULL AND {grid:grid_id} "
             "AND visited_on <= ? AND visited_on >= ?")
        days: dict[str, date] = {}
        for h, v in self._rows(q, self.today.isoformat(), since.isoformat() if since else ""):
            d = days.get(v)
            if d is None:
                d = days[v] = _day(v)
            out[h].append(d)
        for dates in out.values():
            dates.sort()
        return out

    def last_visits(self) -> dict[str, date]:
        q = ("SELECT household_id, max(visited_on) FROM visit WHERE deleted_at IS NULL AND {grid:grid_id} "
             "AND visited_on <= ? GROUP BY household_id")
        return {h: _day(v) for h, v in self._rows(q, self.today.isoformat())}

    def events(self) -> list[Any]:
        return self._rows(
            "SELECT e.id, e.household_id, e.event_type, e.occurred_on, p.name FROM life_event e "
            "LEFT JOIN person p ON p.id = e.person_id WHERE e.deleted_at IS NULL AND {grid:e.grid_id} "
            "AND e.occurred_on <= ? ORDER BY e.occurred_on, e.id", self.today.isoformat())


def household_intervals(conn: Connection, today: date, grids: list[str] | None = None) -> dict[str, int]:
    """household -> its interval in days (formula 3), for the households a rule applies to."""
    data = _Loader(conn, grids, today)
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
    out = []
    for m in hh.cards:
        until = _d(m[6])
        if until is None:
            continue
        opens = until - timedelta(days=RESIDENCE_CARD_NOTICE)
        if opens <= today:
            out.append((opens, until - timedelta(days=RESIDENCE_CARD_DUE),
                        f"{m[7]} 的居住证 {until.isoformat()} 到期,请提醒续签", m[7]))
    return out


def _due_items(data: _Loader, last: dict[str, date], events: list[Any], today: date, horizon: date,
               wanted: list[str] | None) -> Iterator[tuple[_House, str, str, date, date, dict[str, Any]]]:
    """Every plan item due on or before `horizon` (formulas 5–7): (household, kind, reason, opens,
    due, extra). The plan page, the room colours of the map and 楼盘表, all from here."""
    for hh in data.houses.values():
        if wanted and not any(c in wanted for m in hh.members for c in marks_list(m[1]) + marks_list(m[2])):
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
        if wanted and not any(c in wanted for m in house.members for c in marks_list(m[1]) + marks_list(m[2])):
            continue
        opens, due, why = found
        lv = last.get(house.id)
        if lv is None or lv < opens:
            yield house, "event", why, opens, due, {"event_id": ev[0], "person": ev[4]}


def household_due_dates(conn: Connection, today: date, grids: list[str] | None) -> dict[str, date]:
    """household -> the earliest due date of its open plan items (regular, life event, residence
    card) within the next DUE_AHEAD_DAYS days or overdue: what colours a room 逾 or 访
    (desktop/services/room_status.py). The same items as `VisitPlan.plan`, no second rule."""
    data = _Loader(conn, grids, today)
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
            marks = care_mark_labels(*(c for m in hh.members for c in (m[1], m[2]) if c))
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

        for hh in data.houses.values():
            vs = visits.get(hh.id, [])
            rule = data.interval(hh)
            if rule is not None:
                days = rule[0]
                if start <= hh.registered <= end and (not vs or vs[0] > hh.registered):
                    k = bisect.bisect_left(vs, hh.registered)
                    count(hh, hh.registered, vs[k] if k < len(vs) else None, "首次走访")
                for i, v in enumerate(vs):
                    count(hh, v + timedelta(days=days), vs[i + 1] if i + 1 < len(vs) else None, rule[1])
            for opens, due, why, _person in _card_items(hh, as_of):
                k = bisect.bisect_left(vs, opens)
                count(hh, due, vs[k] if k < len(vs) else None, why)
        for ev in events:
            house = data.houses.get(ev[1])
            found = _event_item(ev)
            if house is None or found is None:
                continue
            opens, due, why = found
            vs = visits.get(house.id, [])
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
