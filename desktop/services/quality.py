"""Completeness and data quality: the figures (with their formulas) and the 数据质量 queue.

One core, read by the dashboard, the 数据质量 page and ``gridledger quality``. Everything is
computed from the live rows of the local database (offline): an item leaves the queue as soon as
the record is fixed. "Live" means ``deleted_at IS NULL``; "today" is the laptop's date.

Figures (each a numerator ÷ a denominator; None when the denominator is 0), per community,
grid, building (小区 + 楼栋 of the house's standard address) and grid worker (the grids assigned
to them, summed):

人房关联完善率 (``link``) — two parts, both shown:
    房屋: residential houses with ≥ 1 current resident ÷ residential houses not verified vacant.
        A residential house has 房屋用途 自住, 出租 or 空置 (codes 1, 2, 3); a current resident is a
        live person whose 现住房屋 is the house; *verified vacant* is 空置 (3) with a 核实日期.
    人员: people linked to a house (现住房屋 filled) ÷ people.
信息完整率 (``complete``), per record kind — records with every required field ÷ records. The
    required fields are declared per kind in the registry (``desktop.kinds``, ``required``); a
    condition names when a field is required (``CONDITIONS``): a person needs 姓名, 性别,
    出生日期, 证件号码 unless under 16 or marked 无证件 with a reason, 联系电话 if head of a
    household, 户籍地址 and 来本地日期 if 流动人口.
重点人群知晓率 (``known``) — key-group people whose household was visited within their rule
    interval ÷ key-group people. The key groups (重点人群) are the people with a care mark
    (关注标识, typed or derived) other than 流动人口 (`key_group`). The interval is the
    household's under the community's visit rules (desktop/services/plan.py
    `household_intervals`: the strictest rule that applies to any member); `visit_interval_days`
    is only the fallback for a person without a household. The check is `last_visit_within`.
核实率 (``verified``) — people, houses and vehicles whose 核实日期 is within the last
    `stale_months` months (12 by default; the setting ``quality.stale_months``) ÷ those records.

The queue (`Quality.queue`): one item per problem with its reason (``REASONS``), the record and
the field to focus. Groups: 重复 (duplicates), 缺项 (missing required fields), 未关联 (unlinked),
不一致 (inconsistent), 久未核实 (stale). Duplicates list every record of the group.

The 楼盘表 and the map colour a room 缺 (信息不全) from the same checks: `household_problems` gives,
for a set of households, the queue's items of `ROOM_REASONS` (the groups 缺项, 未关联, 不一致) of
each household, its live members and its house (desktop/services/room_status.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from desktop import kinds
from desktop.db.sql import sql
from desktop.services.areas import area_tree
from desktop.services.store import Actor, Store
from desktop.validation.dates import years_before

RESIDENTIAL_USES = ("1", "2", "3")
VACANT_USE = "3"
FLOATING_TYPE = "2"
HEAD_RELATIONS = ("01", "02", "03")
CHILD_RELATIONS = tuple(f"{n}" for n in range(20, 40))
SPOUSE_RELATIONS = ("10", "11", "12")
ADULT_CERT_AGE = 16
MAX_AGE = 110
STALE_MONTHS_KEY = "quality.stale_months"
DEFAULT_STALE_MONTHS = 12
MAX_STALE_MONTHS = 120
QUALITY_KINDS = ("person", "household", "house", "vehicle", "org_unit")  # 信息完整率 by kind
VERIFIED_KINDS = ("person", "house", "vehicle")  # 核实率

# condition name -> (SQL over the row ``r`` with :cut16 bound, in words)
CONDITIONS: dict[str, tuple[str, str]] = {
    "has_cert": ("(r.birth_date IS NULL OR r.birth_date <= :cut16) AND coalesce(r.no_cert_reason, '') = ''",
                 "年满16周岁且未注明无证件原因"),
    "head": ("coalesce(hh.head_person_id, '') = r.id", "户主"),  # hh: the person's household (PERSON_JOIN)
    "floating": (f"r.person_type = '{FLOATING_TYPE}'", "流动人口"),
}

# every person query that checks required fields joins the person's household as hh
PERSON_JOIN = "LEFT JOIN household hh ON hh.id = r.household_id AND hh.deleted_at IS NULL"

# key-group visit intervals (days) for a person without a household (no household, no plan item):
# the shortest of the marks
_MARK_INTERVALS = {"key_person": 30, "community_correction": 30, "severe_mental": 30, "drug_user": 30,
                   "released_prisoner": 30, "lone_elderly": 30, "left_behind_child": 30}
DEFAULT_KEY_INTERVAL = 90
NOT_KEY_MARKS = frozenset({"floating"})

GROUPS = {"duplicate": "重复", "missing": "缺项", "unlinked": "未关联", "inconsistent": "不一致",
          "stale": "久未核实"}

# reason code -> (group, label)
REASONS: dict[str, tuple[str, str]] = {
    "dup_cert": ("duplicate", "证件号码重复"),
    "dup_name_birth": ("duplicate", "姓名和出生日期相同、分属不同户"),
    "dup_phone": ("duplicate", "同一手机号出现在不相关的户"),
    "dup_plate": ("duplicate", "号牌重复"),
    "missing": ("missing", "缺少必填项"),
    "person_no_house": ("unlinked", "人员未关联房屋"),
    "house_no_resident": ("unlinked", "房屋无住户且未核实空置"),
    "no_head": ("inconsistent", "户无户主"),
    "two_heads": ("inconsistent", "户有两个户主"),
    "child_older": ("inconsistent", "子女年龄大于户主"),
    "spouse_minor": ("inconsistent", "配偶未满16周岁"),
    "too_old": ("inconsistent", "年龄超过110岁"),
    "floating_no_arrival": ("inconsistent", "流动人口无来本地日期"),
    "card_expired": ("inconsistent", "居住证已过期"),
    "vehicle_no_owner": ("inconsistent", "车辆无车主"),
    "stale": ("stale", "超过期限未核实"),
}


NO_CERT_WARNING = ("未填写证件号码:已导入,并列入“数据质量”待补全;如确实没有证件,请在人员信息中填写无证件原因")


def under_cert_age(birth_date: date | str | None, today: date | None = None) -> bool:
    """Whether a person born on `birth_date` is under 16 today (no ID number required). An
    unknown birth date is not under 16."""
    if birth_date is None:
        return False
    if isinstance(birth_date, str):
        birth_date = date.fromisoformat(birth_date[:10])
    return birth_date > years_before(today or date.today(), ADULT_CERT_AGE)


def key_group(marks: str) -> bool:
    """Whether a person with these care marks (typed and derived, ``",a,b,"``) belongs to the key
    groups (重点人群): any care mark except 流动人口, which is a population category."""
    return any(c and c not in NOT_KEY_MARKS for c in marks.split(","))


def visit_interval_days(marks: str) -> int:
    """The visit interval of a person with these care marks (``",a,b,"`` text): the shortest
    interval of their marks. Stand-in for the plan's visit rules (desktop/services/plan.py)."""
    codes = [c for c in marks.split(",") if c]
    return min((_MARK_INTERVALS.get(c, DEFAULT_KEY_INTERVAL) for c in codes), default=DEFAULT_KEY_INTERVAL)


def last_visit_within(last_visit: date | str | None, interval_days: int, today: date) -> bool:
    """Whether a household last visited on `last_visit` was visited within `interval_days` of
    `today`. The one place 重点人群知晓率 asks; at the merge with the day plan it asks the plan."""
    if last_visit is None:
        return False
    if isinstance(last_visit, str):
        last_visit = date.fromisoformat(last_visit[:10])
    return (today - last_visit).days <= interval_days


def _missing_sql(kind: str, col: str) -> str:
    """True when the field is empty: NULL or blank text (a number or a date is never blank)."""
    return f"coalesce(r.{col}, '') = ''"


def _required_sql(kind: str) -> list[tuple[str, str]]:
    """(column, SQL true when the field is required and missing) for the kind's required fields."""
    out = []
    for col, cond in kinds.get(kind).required.items():
        miss = _missing_sql(kind, col)
        out.append((col, f"({CONDITIONS[cond][0]}) AND {miss}" if cond else miss))
    return out


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _blank() -> dict[str, Any]:
    return defaultdict(int)


FIGURES = {
    "link_houses": ("人房关联完善率(房屋)", "有现住人员的住宅房屋 ÷ 未核实空置的住宅房屋(自住、出租、空置)"),
    "link_people": ("人房关联完善率(人员)", "已关联现住房屋的人员 ÷ 人员"),
    "complete": ("信息完整率", "必填项齐全的记录 ÷ 记录(必填项见各类记录的登记要求)"),
    "known": ("重点人群知晓率", "在走访周期内走访过其所在户的重点人群 ÷ 重点人群(有流动人口以外关注标识的人员)"),
    "verified": ("核实率", "核实期限内(默认最近12个月)核实过的人员、房屋、车辆 ÷ 人员、房屋、车辆"),
}


def formula(key: str) -> str:
    """“名称 = 分子 ÷ 分母”: shown on hover in the app and in ``gridledger quality``."""
    name, f = FIGURES[key]
    return f"{name} = {f}"


@dataclass
class Scope:
    grids: list[str]
    tree: Any
    today: date
    stale_since: date
    cut16: date
    params: dict[str, Any] = field(default_factory=dict)
    grid_set: frozenset[str] = frozenset()
    grids_json: str = "[]"


class Quality:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    # --- scope -------------------------------------------------------------------------------
    def stale_months(self) -> int:
        raw = self.store.meta(STALE_MONTHS_KEY)
        try:
            months = int(raw) if raw else DEFAULT_STALE_MONTHS
        except ValueError:
            months = DEFAULT_STALE_MONTHS
        return months if months > 0 else DEFAULT_STALE_MONTHS

    def set_stale_months(self, months: int) -> None:
        """How many months without a 核实 make a record 久未核实 (1 to 120), for this laptop; office
        roles only (Ability.QUALITY_SETTINGS); audited with the value before."""
        from desktop.policy import Ability
        from desktop.services.audit import write_audit
        from desktop.services.errors import ServiceError, require

        require(self.actor, Ability.QUALITY_SETTINGS)
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_STALE_MONTHS:
            raise ServiceError(f"核实期限应为 1 到 {MAX_STALE_MONTHS} 个月的整数(超过该期限未核实的记录列为“久未核实”)")
        from desktop.models import LocalMeta

        before = self.stale_months()
        with self.store.transaction() as s:
            s.merge(LocalMeta(key=STALE_MONTHS_KEY, value=str(months)))
            write_audit(s, self.actor, "update", None, None,
                        {"setting": STALE_MONTHS_KEY, "months": months, "before": before},
                        summary=f"修改核实期限:{before} 个月 → {months} 个月")

    def grid_for_code(self, code: str) -> str:
        from desktop.services.errors import NotFound

        with self.store.session() as s:
            tree = area_tree(s.connection())
        for g in tree.grids():
            if g.code == code:
                if not self.actor.may_access(g.id):
                    raise NotFound(f"您无权查看网格 {code}。")
                return g.id
        raise NotFound(f"找不到代码为 {code} 的网格。")

    def _scope(self, conn: Connection, grid_id: str | None, today: date | None) -> Scope:
        tree = area_tree(conn)
        grids = [g.id for g in tree.grids() if self.actor.may_access(g.id)
                 and (grid_id is None or g.id == grid_id)]
        today = today or date.today()
        months = self.stale_months()
        stale_since = years_before(today, months // 12) if months % 12 == 0 else today - timedelta(days=round(months * 30.44))
        sc = Scope(grids, tree, today, stale_since, years_before(today, ADULT_CERT_AGE), grid_set=frozenset(grids),
                   grids_json=json.dumps(grids))
        sc.params = {"grids": grids, "cut16": sc.cut16.isoformat(), "today": today.isoformat(), "months": months,
                     "stale": stale_since.isoformat(), "cut110": years_before(today, MAX_AGE).isoformat()}
        return sc

    # --- figures -----------------------------------------------------------------------------
    def figures(self, *, grid_id: str | None = None, today: date | None = None) -> dict[str, Any]:
        """The five figures per community, grid, building and worker, and the street's total."""
        with self.store.session() as s:
            conn = s.connection()
            sc = self._scope(conn, grid_id, today)
            # counts per (grid, building label or "")
            cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(_blank)
            if sc.grids:
                self._count(conn, sc, cells)
            workers = conn.execute(sql(
                "SELECT u.username, u.display_name, ug.grid_id FROM user_grid ug JOIN app_user u ON u.id = ug.user_id "
                "WHERE ug.deleted_at IS NULL AND u.deleted_at IS NULL AND u.active AND ug.grid_id IN :grids "
                "ORDER BY u.username", "grids"), {"grids": sc.grids}).all()
        grids: dict[str, dict[str, Any]] = {g: _blank() for g in sc.grids}
        buildings: dict[tuple[str, str], dict[str, Any]] = {}
        for (gid, bkey), c in cells.items():
            _add(grids[gid], c)
            if bkey:
                buildings[(gid, bkey)] = c
        communities: dict[str, dict[str, Any]] = {}
        community_of: dict[str, Any] = {}
        for gid, c in grids.items():
            com = sc.tree.community_of(gid)
            key = com.id if com else ""
            community_of[gid] = com
            _add(communities.setdefault(key, _blank()), c)
        by_worker: dict[str, dict[str, Any]] = {}
        names: dict[str, str] = {}
        for username, display, gid in workers:
            names[username] = display or username
            _add(by_worker.setdefault(username, _blank()), grids[gid])
        total = _blank()
        for c in grids.values():
            _add(total, c)

        def node_name(area_id: str) -> tuple[str | None, str]:
            n = sc.tree.get(area_id)
            return (n.code, n.name) if n else (None, "")

        return {
            "today": sc.today.isoformat(),
            "stale_months": self.stale_months(),
            "formulas": {k: formula(k) for k in FIGURES},
            "total": _finish({"name": "合计"}, total),
            "communities": [_finish({"id": k, "code": node_name(k)[0], "name": node_name(k)[1] or "(未归属社区)"}, c)
                            for k, c in sorted(communities.items(), key=lambda kv: node_name(kv[0])[0] or "")],
            "grids": sorted((_finish({"id": g, "code": node_name(g)[0], "name": node_name(g)[1],
                                      "community": community_of[g].name if community_of[g] else None}, c)
                             for g, c in grids.items()), key=lambda r: r["code"] or ""),
            "buildings": sorted((_finish({"grid_id": g, "grid": node_name(g)[1], "name": b}, c)
                                 for (g, b), c in buildings.items()), key=lambda r: (r["grid"], r["name"])),
            "workers": [_finish({"username": u, "name": names[u]}, c) for u, c in sorted(by_worker.items())],
        }

    def _count(self, conn: Connection, sc: Scope, cells: dict[tuple[str, str], dict[str, Any]]) -> None:
        def rows(statement: str) -> list[Any]:
            return self._rows(conn, sc, statement)

        # houses, one row each (their building is their people's building)
        h_missing = " OR ".join(f"({m})" for _, m in _required_sql("house")) or "0"
        houses = rows(
            "SELECT r.id, r.grid_id, a.estate, a.building, r.use, r.verified_on >= :stale, "
            f"NOT ({h_missing}) FROM house r LEFT JOIN address a ON a.id = r.address_id "
            "WHERE r.deleted_at IS NULL AND r.grid_id IN :grids")
        building = {h[0]: (h[2] or "") + (f" {h[3]}" if h[3] else "") for h in houses}
        # people, grouped by their house (which also says which houses have residents)
        p_missing = " OR ".join(f"({m})" for _, m in _required_sql("person")) or "0"
        lived: set[str] = set()
        for gid, hid, n, verified, complete in rows(
            f"SELECT r.grid_id, r.house_id, count(*), sum(r.verified_on >= :stale), sum(NOT ({p_missing})) "
            f"FROM person r {PERSON_JOIN} WHERE r.deleted_at IS NULL AND r.grid_id IN :grids "
            "GROUP BY r.grid_id, r.house_id"
        ):
            if hid:
                lived.add(hid)
            c = cells[(gid, building.get(hid, "") if hid else "")]
            c["people"] += n
            c["people_linked"] += n if hid else 0
            c["rec:person"] += n
            c["ok:person"] += complete or 0
            c["ver:person"] += n
            c["verok:person"] += verified or 0
        if len(sc.grids) != len(sc.tree.grids()):  # residents registered in a grid out of scope
            lived |= {r[0] for r in rows(
                "SELECT DISTINCT p.house_id FROM person p JOIN house r ON r.id = p.house_id "
                "WHERE p.deleted_at IS NULL AND r.grid_id IN :grids")}
        for hid, gid, _estate, _bno, use, verified, ok in houses:
            c = cells[(gid, building[hid])]
            if use in RESIDENTIAL_USES and not (use == VACANT_USE and verified is not None):
                c["houses_res"] += 1
                c["houses_res_linked"] += 1 if hid in lived else 0
            c["rec:house"] += 1
            c["ok:house"] += 1 if ok else 0
            c["ver:house"] += 1
            c["verok:house"] += 1 if verified else 0
        # the other kinds: per grid
        for kind in ("household", "vehicle", "org_unit"):
            missing = " OR ".join(f"({m})" for _, m in _required_sql(kind)) or "0"
            verified_sql = "sum(r.verified_on >= :stale)" if kind in VERIFIED_KINDS else "0"
            for gid, n, complete, ver in rows(
                f"SELECT r.grid_id, count(*), sum(NOT ({missing})), {verified_sql} FROM {kind} r "
                "WHERE r.deleted_at IS NULL AND r.grid_id IN :grids GROUP BY r.grid_id"
            ):
                c = cells[(gid, "")]
                c[f"rec:{kind}"] += n
                c[f"ok:{kind}"] += complete or 0
                if kind in VERIFIED_KINDS:
                    c[f"ver:{kind}"] += n
                    c[f"verok:{kind}"] += ver or 0
        # key groups and their households' last visits, against the household's interval from the
        # community's visit rules (desktop/services/plan.py, formula 3: the strictest rule of any member)
        from desktop.services.plan import household_intervals

        intervals = household_intervals(conn, sc.today, sc.grids)
        # a last visit older than the longest interval in use is "not within" whatever the interval:
        # only the visits since then are read (the partial index on live visits by day)
        longest = max([*intervals.values(), DEFAULT_KEY_INTERVAL, *_MARK_INTERVALS.values()])
        since = (sc.today - timedelta(days=longest)).isoformat()
        last: dict[str, Any] = dict(self._rows(conn, sc, (
            "SELECT household_id, max(visited_on) FROM visit INDEXED BY ix_visit_live_day "
            "WHERE deleted_at IS NULL AND visited_on >= :since GROUP BY household_id"), since=since))
        key: dict[str, bool] = {}  # marks text -> key_group (a street has a few hundred distinct texts)
        for gid, hid, household_id, marks in rows(
            "SELECT r.grid_id, r.house_id, r.household_id, r.marks || r.derived_marks FROM person r "
            "WHERE r.deleted_at IS NULL AND r.grid_id IN :grids AND (r.marks <> '' OR r.derived_marks <> '')"
        ):
            is_key = key.get(marks)
            if is_key is None:
                is_key = key[marks] = key_group(marks)
            if not is_key:
                continue
            c = cells[(gid, building.get(hid, "") if hid else "")]
            c["key_people"] += 1
            interval = intervals.get(household_id) if household_id else None
            if interval is None:
                interval = visit_interval_days(marks)
            if last_visit_within(last.get(household_id), interval, sc.today):
                c["key_known"] += 1

    # --- the queue ---------------------------------------------------------------------------
    def counts(self, *, grid_id: str | None = None, today: date | None = None) -> dict[str, Any]:
        """Items per reason and per group (the dashboard's click-through figures), counted in SQL:
        the same conditions as `queue`, without building the items."""
        by_reason: dict[str, int] = dict.fromkeys(REASONS, 0)
        with self.store.session() as s:
            conn = s.connection()
            sc = self._scope(conn, grid_id, today)
            if sc.grids:
                for reason, n in self._scan(conn, sc, None, count=True):
                    by_reason[reason] += n
                for code in DUP_REASONS:
                    by_reason[code] = self._dup_count(conn, sc, code)
        by_group: dict[str, int] = dict.fromkeys(GROUPS, 0)
        for code, n in by_reason.items():
            by_group[REASONS[code][0]] += n
        return {"total": sum(by_reason.values()), "by_reason": by_reason, "by_group": by_group}

    def queue(self, *, grid_id: str | None = None, reason: str | None = None,
              today: date | None = None) -> list[dict[str, Any]]:
        """The items of the queue, in the order of REASONS, then by grid and record."""
        if reason is not None and reason not in REASONS:
            from desktop.services.errors import ServiceError

            raise ServiceError(f"没有“{reason}”这一类问题;可选:{'、'.join(REASONS)}。")
        with self.store.session() as s:
            conn = s.connection()
            sc = self._scope(conn, grid_id, today)
            if not sc.grids:
                return []
            found: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for code in DUP_REASONS:
                if reason is None or reason == code:
                    found[code] = self._dups(sc, code, self._dup_rows(conn, sc, code))
            if reason is None or reason not in DUP_REASONS:
                for it in self._scan(conn, sc, reason, count=False):
                    found[it["reason"]].append(it)
        items = [it for code in REASONS for it in found.get(code, [])]
        labels: dict[str, str] = {}
        for it in items:
            group, label = REASONS[it["reason"]]
            it["group"], it["reason_label"] = group, label
            gid = it["grid_id"]
            if gid not in labels:
                labels[gid] = sc.tree.grid_label(gid) if sc.tree.get(gid) else ""
            it["grid"] = labels[gid]
        return items

    # --- duplicates ----------------------------------------------------------------------------
    def _dup_rows(self, conn: Connection, sc: Scope, code: str) -> list[Any]:
        """(group key, id, grid id, title) of the records in scope that have a duplicate anywhere
        in the street, with `others` computed by `_dups`. A whole-street scope groups the table;
        a smaller one starts from its own records (by the key's index)."""
        table, key, title, distinct, cond = _DUPS[code]
        whole = len(sc.grids) == len(sc.tree.grids())
        plain = {"t": ""}
        if whole:
            keys = (f"SELECT {key} FROM {table} WHERE deleted_at IS NULL AND {cond.format(**plain)} "
                    f"GROUP BY {key} HAVING {_having(distinct)}")
        else:
            keys = (f"SELECT DISTINCT {key} FROM {table} WHERE deleted_at IS NULL AND grid_id IN :grids "
                    f"AND {cond.format(**plain)}")
        cols = ", ".join(f"r.{k.strip()}" for k in key.split(","))
        on = " AND ".join(f"r.{k.strip()} = d.{k.strip()}" for k in key.split(","))
        rows = self._rows(conn, sc, (
            f"SELECT {cols}, r.id, r.grid_id, r.{title}, {distinct.format(t='r.')} "
            f"FROM {table} r JOIN ({keys}) d ON {on} WHERE r.deleted_at IS NULL AND {cond.format(t='r.')} "
            "ORDER BY 1, r.id"))
        n_key = len(key.split(","))
        groups: dict[tuple, list[Any]] = defaultdict(list)
        for row in rows:
            groups[tuple(row[:n_key])].append(row[n_key:])
        out: list[tuple[Any, ...]] = []
        for value, members in groups.items():
            if len({m[3] for m in members}) < 2:
                continue
            ids = [m[0] for m in members]
            out.extend((value, m[0], m[1], m[2], ids) for m in members if m[1] in sc.grid_set)
        return out

    def _dup_count(self, conn: Connection, sc: Scope, code: str) -> int:
        """len(_dup_rows(…)); for the whole street counted by one GROUP BY."""
        if len(sc.grids) != len(sc.tree.grids()):
            return len(self._dup_rows(conn, sc, code))
        table, key, _title, distinct, cond = _DUPS[code]
        plain = {"t": ""}
        return self._rows(conn, sc, (
            f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {table} WHERE deleted_at IS NULL "
            f"AND {cond.format(**plain)} GROUP BY {key} HAVING {_having(distinct)})"))[0][0]

    def _dups(self, sc: Scope, code: str, rows: list[Any]) -> list[dict[str, Any]]:
        kind, fld, describe = _DUP_ITEMS[code]
        sizes: dict[tuple, int] = defaultdict(int)
        for value, *_rest in rows:
            sizes[value] += 1
        return [self._item(code, kind, rid, gid, fld, title, describe.format(n=len(ids)),
                           group_key="|".join(str(v) for v in value), others=[i for i in ids if i != rid])
                for value, rid, gid, title, ids in rows]

    # --- one scan per table for every other reason --------------------------------------------
    def _scan(self, conn: Connection, sc: Scope, reason: str | None, *, count: bool) -> Iterator[Any]:
        """Per table, one pass: in count mode (reason, n) pairs, else the items."""
        return _scan(conn, sc, None if reason is None else {reason}, count=count)

    @staticmethod
    def _rows(conn: Connection, sc: Scope, statement: str, **extra: Any) -> list[tuple]:
        """Rows of `statement` as plain tuples through the driver's own cursor (a street has
        100,000 people: no Row objects), with the scope's parameters; ``IN :grids`` takes the
        scope's grids as one JSON list."""
        statement = statement.replace("IN :grids", "IN (SELECT value FROM json_each(:grids))")
        raw = conn.connection.driver_connection
        assert raw is not None, "the connection is closed"
        cur = raw.cursor()
        try:
            return cur.execute(statement, {**sc.params, "grids": sc.grids_json, **extra}).fetchall()
        finally:
            cur.close()

    @staticmethod
    def _item(reason: str, kind: str, rid: str, grid_id: str, fld: str | None, title: str, detail: str,
              **extra: Any) -> dict[str, Any]:
        return {"reason": reason, "kind": kind, "id": rid, "grid_id": grid_id, "field": fld,
                "title": title, "detail": detail, **extra}


# duplicates: reason -> (table, key columns, title column, what must differ, row condition)
_DUPS = {
    # (rowid rather than id: the partial indexes of desktop/models/domain.py Person answer alone)
    "dup_cert": ("person", "cert_no", "name", "{t}rowid", "{t}cert_no <> ''"),
    "dup_name_birth": ("person", "name, birth_date", "name", "coalesce({t}household_id, 'r' || {t}rowid)",
                       "{t}birth_date IS NOT NULL"),
    "dup_phone": ("person", "phone", "name", "{t}household_id",
                  "{t}phone LIKE '1__________' AND {t}household_id IS NOT NULL"),
    "dup_plate": ("vehicle", "plate_no", "plate_no", "{t}rowid", "{t}plate_no <> ''"),
}
DUP_REASONS = tuple(_DUPS)
_DUP_ITEMS = {
    "dup_cert": ("person", "cert_no", "同一证件号码登记了 {n} 次"),
    "dup_name_birth": ("person", "name", "同名同出生日期的人员分属 {n} 条记录、不同的户"),
    "dup_phone": ("person", "phone", "同一手机号出现在 {n} 名不同户的人员上"),
    "dup_plate": ("vehicle", "plate_no", "同一号牌登记了 {n} 次"),
}
_HEADS = ("(SELECT count(*) FROM person p WHERE p.household_id = r.id AND p.deleted_at IS NULL "
          "AND p.relation IN ('01','02','03'))")


def _having(distinct: str) -> str:
    """A group is a duplicate when it has two rows (two of `distinct` where that is not the row)."""
    if distinct == "{t}rowid":
        return "count(*) > 1"
    return f"count(DISTINCT {distinct.format(t='')}) > 1"


def _in(codes: tuple[str, ...]) -> str:
    return ",".join(f"'{c}'" for c in codes)


def _scan_specs(months: int) -> dict[str, dict[str, Any]]:
    """Per table: the join, the title, extra columns and (reason, condition) flags, with each
    reason's (field to focus, sentence) from the extra columns."""
    stale = "(r.verified_on IS NULL OR r.verified_on < :stale)"

    def stale_item(ex: list[Any]) -> tuple[str, str]:
        when = f"上次核实 {str(ex[0])[:10]}" if ex[0] else "从未核实"
        return "verified_on", f"{when},超过 {months} 个月"

    return {
        "person": {
            "join": f"{PERSON_JOIN} LEFT JOIN person h ON h.id = hh.head_person_id AND h.deleted_at IS NULL",
            "title": "r.name", "extra": ["r.verified_on", "r.residence_card_until"],
            "flags": [
                ("person_no_house", "r.house_id IS NULL"),
                ("child_older", f"r.relation IN ({_in(CHILD_RELATIONS)}) AND r.birth_date < h.birth_date"),
                ("spouse_minor", f"r.relation IN ({_in(SPOUSE_RELATIONS)}) AND r.birth_date > :cut16"),
                ("too_old", "r.birth_date < :cut110"),
                ("floating_no_arrival", f"r.person_type = '{FLOATING_TYPE}' AND r.arrived_on IS NULL"),
                ("card_expired", f"r.person_type = '{FLOATING_TYPE}' AND r.residence_card_until < :today"),
                ("stale", stale),
            ],
            "items": {
                "person_no_house": lambda ex: ("house_id", "未填写现住房屋"),
                "child_older": lambda ex: ("birth_date", "登记为子女,但出生早于户主"),
                "spouse_minor": lambda ex: ("birth_date", "登记为配偶,但未满16周岁"),
                "too_old": lambda ex: ("birth_date", "出生日期显示年龄超过110岁"),
                "floating_no_arrival": lambda ex: ("arrived_on", "流动人口未填写来本地日期"),
                "card_expired": lambda ex: ("residence_card_until", f"居住证有效期至 {str(ex[1])[:10]},已过期"),
                "stale": stale_item,
            },
        },
        "household": {
            "join": "", "title": "'户号 ' || r.hh_no", "extra": [],
            "flags": [
                ("no_head", "NOT EXISTS (SELECT 1 FROM person p WHERE p.id = r.head_person_id AND p.deleted_at IS NULL) "
                            f"AND {_HEADS} = 0"),
                ("two_heads", f"{_HEADS} > 1"),
            ],
            "items": {
                "no_head": lambda ex: ("head_person_id", "该户没有户主"),
                "two_heads": lambda ex: ("head_person_id", "该户有两人以上登记为户主"),
            },
        },
        "house": {
            "join": "LEFT JOIN address a ON a.id = r.address_id", "title": "a.full_text", "extra": ["r.verified_on"],
            "flags": [
                ("house_no_resident", f"r.use IN ({_in(RESIDENTIAL_USES)}) AND NOT (r.use = '{VACANT_USE}' AND "
                                      "r.verified_on IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM person p "
                                      "WHERE p.house_id = r.id AND p.deleted_at IS NULL)"),
                ("stale", stale),
            ],
            "items": {
                "house_no_resident": lambda ex: ("use", "没有现住人员;如确为空置,请核实后把房屋用途改为空置并填写核实日期"),
                "stale": stale_item,
            },
        },
        "vehicle": {
            "join": "", "title": "r.plate_no", "extra": ["r.verified_on"],
            "flags": [("vehicle_no_owner", "r.owner_person_id IS NULL"), ("stale", stale)],
            "items": {"vehicle_no_owner": lambda ex: ("owner_person_id", "车辆未关联车主"), "stale": stale_item},
        },
        "org_unit": {"join": "", "title": "r.name", "extra": [], "flags": [], "items": {}},
    }

# The rows of each table that belong to a set of households (``:households``, one JSON list): the
# household itself, its live members and its house (the 楼盘表 and the map, `household_problems`).
_OF_HOUSEHOLDS = {
    "person": "r.household_id IN (SELECT value FROM json_each(:households))",
    "household": "r.id IN (SELECT value FROM json_each(:households))",
    "house": ("r.id IN (SELECT o.house_id FROM household o WHERE o.deleted_at IS NULL "
              "AND o.id IN (SELECT value FROM json_each(:households)))"),
}


def _scan(conn: Connection, sc: Scope, reasons: set[str] | None, *, count: bool,
          within: dict[str, str] | None = None) -> Iterator[Any]:
    """Every reason but the duplicates, per table in one pass: in count mode (reason, n) pairs,
    else the items. `reasons` keeps those reasons only (None: all); `within` (table -> SQL over the
    row ``r``) reads only those tables' rows that match instead of the scope's grids."""
    for table, spec in _scan_specs(sc.params["months"]).items():
        if within is not None and table not in within:
            continue
        flags = [(code, cond) for code, cond in spec["flags"] if reasons is None or code in reasons]
        req = _required_sql(table) if table in QUALITY_KINDS else []
        want_missing = (reasons is None or "missing" in reasons) and bool(req)
        if not flags and not want_missing:
            continue
        rows_of = within[table] if within is not None else "r.grid_id IN :grids"
        any_missing = " OR ".join(f"({m})" for _, m in req) or "0"
        if count:
            sums = [f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)" for _code, cond in flags]
            if want_missing:
                sums.append(f"sum(CASE WHEN {any_missing} THEN 1 ELSE 0 END)")
            row = Quality._rows(conn, sc, f"SELECT {', '.join(sums)} FROM {table} r {spec['join']} "
                                          f"WHERE r.deleted_at IS NULL AND {rows_of}")[0]
            codes = [c for c, _ in flags] + (["missing"] if want_missing else [])
            yield from ((c, n or 0) for c, n in zip(codes, row, strict=True))
            continue
        cols = [f"CASE WHEN {cond} THEN 1 ELSE 0 END" for _code, cond in flags]
        if want_missing:
            cols += [f"CASE WHEN {m} THEN 1 ELSE 0 END" for _, m in req]
        where = " OR ".join([f"({cond})" for _c, cond in flags] + ([f"({any_missing})"] if want_missing else []))
        extra = spec["extra"]
        for row in Quality._rows(conn, sc, (
            f"SELECT r.id, r.grid_id, {spec['title']}, {', '.join(extra) or 'NULL'}, {', '.join(cols)} "
            f"FROM {table} r {spec['join']} WHERE r.deleted_at IS NULL AND {rows_of} AND ({where}) "
            "ORDER BY r.grid_id, r.id")):
            rid, gid, title, *rest = row
            ex = rest[:max(len(extra), 1)]
            bits = rest[max(len(extra), 1):]
            for (code, _cond), bit in zip(flags, bits, strict=False):
                if bit:
                    fld, text_ = spec["items"][code](ex)
                    yield Quality._item(code, table, rid, gid, fld, title or kinds.label(table), text_)
            miss = bits[len(flags):]
            if want_missing and any(miss):
                cols_missing = [col for (col, _), bit in zip(req, miss, strict=True) if bit]
                labels_ = "、".join(kinds.field_label(table, c) for c in cols_missing)
                yield Quality._item("missing", table, rid, gid, cols_missing[0], title or kinds.label(table),
                                    f"{kinds.label(table)}缺少:{labels_}", fields=cols_missing)


# The queue's groups that make a room 信息不全 (缺) on the 楼盘表 and the map: missing required
# fields, unlinked records and inconsistencies. Duplicates (street-wide, fixed by merging) and
# 久未核实 (a matter of time, not of content) do not.
ROOM_GROUPS = ("missing", "unlinked", "inconsistent")
ROOM_REASONS = frozenset(code for code, (group, _label) in REASONS.items() if group in ROOM_GROUPS
                         and code not in DUP_REASONS)


def household_problems(conn: Connection, household_ids: list[str], today: date | None = None
                       ) -> dict[str, list[dict[str, Any]]]:
    """{household id: [queue item, …]}: the queue's items of `ROOM_REASONS` for each household's own
    record, its live members and its house, by the queue's own checks (`_scan`: the registry's
    required fields with their conditions, no head or two heads, …). What colours a room 缺 on the
    楼盘表 and the map (desktop/services/room_status.py), so that they and the queue agree. The
    caller has already decided the households may be seen: no actor here."""
    if not household_ids:
        return {}
    today = today or date.today()
    ids = json.dumps(sorted(set(household_ids)))
    sc = Scope([], None, today, today, years_before(today, ADULT_CERT_AGE))
    sc.params = {"cut16": sc.cut16.isoformat(), "today": today.isoformat(), "months": DEFAULT_STALE_MONTHS,
                 "stale": today.isoformat(), "cut110": years_before(today, MAX_AGE).isoformat(), "households": ids}
    items = list(_scan(conn, sc, set(ROOM_REASONS), count=False, within=_OF_HOUSEHOLDS))
    if not items:
        return {}
    owner: dict[tuple[str, str], list[str]] = defaultdict(list)  # (kind, record id) -> its households
    for hid, pid in Quality._rows(conn, sc, (
            "SELECT household_id, id FROM person WHERE deleted_at IS NULL "
            "AND household_id IN (SELECT value FROM json_each(:households))")):
        owner[("person", pid)].append(hid)
    for hid, house in Quality._rows(conn, sc, (
            "SELECT id, house_id FROM household WHERE deleted_at IS NULL AND house_id IS NOT NULL "
            "AND id IN (SELECT value FROM json_each(:households))")):
        owner[("house", house)].append(hid)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        group, label = REASONS[it["reason"]]
        it["group"], it["reason_label"] = group, label
        for hid in ([it["id"]] if it["kind"] == "household" else owner.get((it["kind"], it["id"]), [])):
            out[hid].append(it)
    return dict(out)


def problem_text(item: dict[str, Any]) -> str:
    """One queue item as a short sentence for a room's hover line (a member's name first)."""
    return f"{item['title']}:{item['detail']}" if item["kind"] == "person" else item["detail"]


def _add(into: dict[str, Any], c: dict[str, Any]) -> None:
    for k, v in c.items():
        into[k] += v


def _finish(head: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    complete = {}
    for kind in QUALITY_KINDS:
        n = c.get(f"rec:{kind}", 0)
        complete[kind] = {"label": kinds.label(kind), "records": n, "complete": c.get(f"ok:{kind}", 0),
                          "rate": _rate(c.get(f"ok:{kind}", 0), n)}
    ver_n = sum(c.get(f"ver:{k}", 0) for k in VERIFIED_KINDS)
    ver_ok = sum(c.get(f"verok:{k}", 0) for k in VERIFIED_KINDS)
    return {
        **head,
        "link_houses": {"num": c.get("houses_res_linked", 0), "den": c.get("houses_res", 0),
                        "rate": _rate(c.get("houses_res_linked", 0), c.get("houses_res", 0))},
        "link_people": {"num": c.get("people_linked", 0), "den": c.get("people", 0),
                        "rate": _rate(c.get("people_linked", 0), c.get("people", 0))},
        "complete": complete,
        "known": {"num": c.get("key_known", 0), "den": c.get("key_people", 0),
                  "rate": _rate(c.get("key_known", 0), c.get("key_people", 0))},
        "verified": {"num": ver_ok, "den": ver_n, "rate": _rate(ver_ok, ver_n)},
    }
