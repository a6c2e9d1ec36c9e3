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
    (关注标识, typed or derived) other than 流动人口 (`key_group`). The interval comes from
    `visit_interval_days` and the check from `last_visit_within`: both isolated here until the
    visit rules of desktop/services/plan.py replace them.
核实率 (``verified``) — people, houses and vehicles whose 核实日期 is within the last
    `stale_months` months (12 by default; the setting ``quality.stale_months``) ÷ those records.

The queue (`Quality.queue`): one item per problem with its reason (``REASONS``), the record and
the field to focus. Groups: 重复 (duplicates), 缺项 (missing required fields), 未关联 (unlinked),
不一致 (inconsistent), 久未核实 (stale). Duplicates list every record of the group.
"""

from __future__ import annotations

from collections import defaultdict
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
QUALITY_KINDS = ("person", "household", "house", "vehicle", "org_unit")  # 信息完整率 by kind
VERIFIED_KINDS = ("person", "house", "vehicle")  # 核实率

# condition name -> (SQL over the row ``r`` with :cut16 bound, in words)
CONDITIONS: dict[str, tuple[str, str]] = {
    "has_cert": ("(r.birth_date IS NULL OR r.birth_date <= :cut16) AND coalesce(r.no_cert_reason, '') = ''",
                 "年满16周岁且未注明无证件原因"),
    "head": ("EXISTS (SELECT 1 FROM household hh WHERE hh.head_person_id = r.id AND hh.deleted_at IS NULL)",
             "户主"),
    "floating": (f"r.person_type = '{FLOATING_TYPE}'", "流动人口"),
}

# key-group visit intervals (days) until the plan's rules take over: the shortest of the marks
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
    return f"(r.{col} IS NULL OR CAST(r.{col} AS TEXT) = '')"


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
    "verified": ("核实率", "最近12个月内核实过的人员、房屋、车辆 ÷ 人员、房屋、车辆"),
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
        sc = Scope(grids, tree, today, stale_since, years_before(today, ADULT_CERT_AGE))
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
        p = sc.params

        def rows(statement: str) -> list[Any]:
            return conn.execute(sql(statement, "grids"), p).all()

        bld = ("coalesce(a.estate, '') || CASE WHEN coalesce(a.building, '') <> '' "
               "THEN ' ' || a.building ELSE '' END")
        # houses: residential, verified vacant, with residents, verified, complete
        h_missing = " OR ".join(f"({m})" for _, m in _required_sql("house")) or "0"
        for gid, b, res, vacant_ok, linked, n, verified, complete in rows(
            f"SELECT r.grid_id, {bld}, sum(r.use IN ('1','2','3')), "
            f"sum(r.use = '{VACANT_USE}' AND r.verified_on IS NOT NULL), "
            f"sum(r.use IN ('1','2','3') AND NOT (r.use = '{VACANT_USE}' AND r.verified_on IS NOT NULL) "
            "AND EXISTS (SELECT 1 FROM person p WHERE p.house_id = r.id AND p.deleted_at IS NULL)), "
            f"count(*), sum(r.verified_on >= :stale), sum(NOT ({h_missing})) "
            "FROM house r LEFT JOIN address a ON a.id = r.address_id "
            f"WHERE r.deleted_at IS NULL AND r.grid_id IN :grids GROUP BY r.grid_id, {bld}"
        ):
            c = cells[(gid, b or "")]
            c["houses_res"] += (res or 0) - (vacant_ok or 0)
            c["houses_res_linked"] += linked or 0
            c["rec:house"] += n
            c["ok:house"] += complete or 0
            c["ver:house"] += n
            c["verok:house"] += verified or 0
        # people
        p_missing = " OR ".join(f"({m})" for _, m in _required_sql("person")) or "0"
        for gid, b, n, linked, verified, complete in rows(
            f"SELECT r.grid_id, {bld}, count(*), sum(r.house_id IS NOT NULL), sum(r.verified_on >= :stale), "
            f"sum(NOT ({p_missing})) FROM person r LEFT JOIN house h ON h.id = r.house_id AND h.deleted_at IS NULL "
            "LEFT JOIN address a ON a.id = h.address_id "
            f"WHERE r.deleted_at IS NULL AND r.grid_id IN :grids GROUP BY r.grid_id, {bld}"
        ):
            c = cells[(gid, b or "")]
            c["people"] += n
            c["people_linked"] += linked or 0
            c["rec:person"] += n
            c["ok:person"] += complete or 0
            c["ver:person"] += n
            c["verok:person"] += verified or 0
        # the other kinds: per grid
        for kind in ("household", "vehicle", "org_unit"):
            missing = " OR ".join(f"({m})" for _, m in _required_sql(kind)) or "0"
            verified = "sum(r.verified_on >= :stale)" if kind in VERIFIED_KINDS else "0"
            for gid, n, complete, ver in rows(
                f"SELECT r.grid_id, count(*), sum(NOT ({missing})), {verified} FROM {kind} r "
                "WHERE r.deleted_at IS NULL AND r.grid_id IN :grids GROUP BY r.grid_id"
            ):
                c = cells[(gid, "")]
                c[f"rec:{kind}"] += n
                c[f"ok:{kind}"] += complete or 0
                if kind in VERIFIED_KINDS:
                    c[f"ver:{kind}"] += n
                    c[f"verok:{kind}"] += ver or 0
        # key groups and their households' last visits
        for gid, b, marks, last in rows(
            f"SELECT r.grid_id, {bld}, r.marks || r.derived_marks, "
            "(SELECT max(v.visited_on) FROM visit v WHERE v.household_id = r.household_id AND v.deleted_at IS NULL) "
            "FROM person r LEFT JOIN house h ON h.id = r.house_id AND h.deleted_at IS NULL "
            "LEFT JOIN address a ON a.id = h.address_id "
            "WHERE r.deleted_at IS NULL AND r.grid_id IN :grids AND (r.marks <> '' OR r.derived_marks <> '')"
        ):
            if not key_group(marks):
                continue
            c = cells[(gid, b or "")]
            c["key_people"] += 1
            if last_visit_within(last, visit_interval_days(marks), sc.today):
                c["key_known"] += 1

    # --- the queue ---------------------------------------------------------------------------
    def counts(self, *, grid_id: str | None = None, today: date | None = None) -> dict[str, Any]:
        """Items per reason and per group (the dashboard's click-through figures)."""
        items = self.queue(grid_id=grid_id, today=today)
        by_reason: dict[str, int] = {r: 0 for r in REASONS}
        by_group: dict[str, int] = {g: 0 for g in GROUPS}
        for it in items:
            by_reason[it["reason"]] += 1
            by_group[REASONS[it["reason"]][0]] += 1
        return {"total": len(items), "by_reason": by_reason, "by_group": by_group}

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
            items: list[dict[str, Any]] = []
            for code in REASONS:
                if reason is None or reason == code:
                    items.extend(getattr(self, f"_q_{code}")(conn, sc))
        for it in items:
            group, label = REASONS[it["reason"]]
            it["group"], it["reason_label"] = group, label
            it["grid"] = sc.tree.grid_label(it["grid_id"]) if sc.tree.get(it["grid_id"]) else ""
        return items

    def _rows(self, conn: Connection, sc: Scope, statement: str) -> list[Any]:
        return conn.execute(sql(statement, *(["grids"] if ":grids" in statement else [])), sc.params).all()

    @staticmethod
    def _item(reason: str, kind: str, rid: str, grid_id: str, fld: str | None, title: str, detail: str,
              **extra: Any) -> dict[str, Any]:
        return {"reason": reason, "kind": kind, "id": rid, "grid_id": grid_id, "field": fld,
                "title": title, "detail": detail, **extra}

    def _dups(self, conn: Connection, sc: Scope, reason: str, kind: str, fld: str, statement: str,
              describe: str) -> list[dict[str, Any]]:
        # statement selects (group value, id, grid_id, title) of the records in duplicate groups
        out = []
        groups: dict[Any, list[Any]] = defaultdict(list)
        for row in self._rows(conn, sc, statement):
            groups[row[0]].append(row)
        for value, members in groups.items():
            ids = [m[1] for m in members]
            for m in members:
                if m[2] in sc.grids:
                    out.append(self._item(reason, kind, m[1], m[2], fld, m[3],
                                          describe.format(n=len(members)), group_key=str(value),
                                          others=[i for i in ids if i != m[1]]))
        return out

    def _q_dup_cert(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        # compared across the whole street (a duplicate may sit in another grid); listed in scope
        return self._dups(conn, sc, "dup_cert", "person", "cert_no", (
            "SELECT r.cert_no, r.id, r.grid_id, r.name FROM person r WHERE r.deleted_at IS NULL AND r.cert_no IN "
            "(SELECT cert_no FROM person WHERE deleted_at IS NULL AND coalesce(cert_no, '') <> '' "
            "GROUP BY cert_no HAVING count(*) > 1) ORDER BY r.cert_no, r.id"), "同一证件号码登记了 {n} 次")

    def _q_dup_name_birth(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return self._dups(conn, sc, "dup_name_birth", "person", "name", (
            "SELECT r.name || '|' || r.birth_date, r.id, r.grid_id, r.name FROM person r "
            "JOIN (SELECT name, birth_date FROM person WHERE deleted_at IS NULL AND birth_date IS NOT NULL "
            "GROUP BY name, birth_date HAVING count(DISTINCT coalesce(household_id, id)) > 1) d "
            "ON d.name = r.name AND d.birth_date = r.birth_date WHERE r.deleted_at IS NULL ORDER BY 1, r.id"),
            "同名同出生日期的人员分属 {n} 条记录、不同的户")

    def _q_dup_phone(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return self._dups(conn, sc, "dup_phone", "person", "phone", (
            "SELECT r.phone, r.id, r.grid_id, r.name FROM person r WHERE r.deleted_at IS NULL "
            "AND r.household_id IS NOT NULL AND r.phone IN (SELECT phone FROM person WHERE deleted_at IS NULL "
            "AND phone LIKE '1__________' AND household_id IS NOT NULL "
            "GROUP BY phone HAVING count(DISTINCT household_id) > 1) ORDER BY r.phone, r.id"),
            "同一手机号出现在 {n} 名不同户的人员上")

    def _q_dup_plate(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return self._dups(conn, sc, "dup_plate", "vehicle", "plate_no", (
            "SELECT r.plate_no, r.id, r.grid_id, r.plate_no FROM vehicle r WHERE r.deleted_at IS NULL AND r.plate_no IN "
            "(SELECT plate_no FROM vehicle WHERE deleted_at IS NULL AND coalesce(plate_no, '') <> '' "
            "GROUP BY plate_no HAVING count(*) > 1) ORDER BY r.plate_no, r.id"), "同一号牌登记了 {n} 次")

    def _q_missing(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        out = []
        titles = {"person": "r.name", "household": "r.hh_no", "house": "coalesce(a.full_text, '')",
                  "vehicle": "r.plate_no", "org_unit": "r.name"}
        for kind in QUALITY_KINDS:
            req = _required_sql(kind)
            if not req:
                continue
            flags = ", ".join(f"CASE WHEN {m} THEN 1 ELSE 0 END" for _, m in req)
            join = "LEFT JOIN address a ON a.id = r.address_id" if kind == "house" else ""
            any_missing = " OR ".join(f"({m})" for _, m in req)
            for row in self._rows(conn, sc, (
                f"SELECT r.id, r.grid_id, {titles[kind]}, {flags} FROM {kind} r {join} "
                f"WHERE r.deleted_at IS NULL AND r.grid_id IN :grids AND ({any_missing}) ORDER BY r.grid_id, r.id"
            )):
                cols = [col for (col, _), flag in zip(req, row[3:], strict=True) if flag]
                labels = "、".join(kinds.field_label(kind, c) for c in cols)
                out.append(self._item("missing", kind, row[0], row[1], cols[0], row[2] or kinds.label(kind),
                                      f"{kinds.label(kind)}缺少:{labels}", fields=cols))
        return out

    def _q_person_no_house(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("person_no_house", "person", r[0], r[1], "house_id", r[2], "未填写现住房屋")
                for r in self._rows(conn, sc, "SELECT id, grid_id, name FROM person WHERE deleted_at IS NULL "
                                              "AND grid_id IN :grids AND house_id IS NULL ORDER BY grid_id, id")]

    def _q_house_no_resident(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("house_no_resident", "house", r[0], r[1], "use", r[2] or "房屋",
                           "没有现住人员;如确为空置,请核实后把房屋用途改为空置并填写核实日期")
                for r in self._rows(conn, sc, (
                    "SELECT r.id, r.grid_id, a.full_text FROM house r LEFT JOIN address a ON a.id = r.address_id "
                    f"WHERE r.deleted_at IS NULL AND r.grid_id IN :grids AND r.use IN ('1','2','3') "
                    f"AND NOT (r.use = '{VACANT_USE}' AND r.verified_on IS NOT NULL) "
                    "AND NOT EXISTS (SELECT 1 FROM person p WHERE p.house_id = r.id AND p.deleted_at IS NULL) "
                    "ORDER BY r.grid_id, r.id"))]

    _HEADS = ("(SELECT count(*) FROM person p WHERE p.household_id = r.id AND p.deleted_at IS NULL "
              "AND p.relation IN ('01','02','03'))")

    def _q_no_head(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("no_head", "household", r[0], r[1], "head_person_id", f"户号 {r[2]}", "该户没有户主")
                for r in self._rows(conn, sc, (
                    "SELECT r.id, r.grid_id, r.hh_no FROM household r WHERE r.deleted_at IS NULL AND r.grid_id IN :grids "
                    "AND NOT EXISTS (SELECT 1 FROM person p WHERE p.id = r.head_person_id AND p.deleted_at IS NULL) "
                    f"AND {self._HEADS} = 0 ORDER BY r.grid_id, r.id"))]

    def _q_two_heads(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("two_heads", "household", r[0], r[1], "head_person_id", f"户号 {r[2]}",
                           f"该户有 {r[3]} 人登记为户主")
                for r in self._rows(conn, sc, (
                    f"SELECT r.id, r.grid_id, r.hh_no, {self._HEADS} FROM household r WHERE r.deleted_at IS NULL "
                    f"AND r.grid_id IN :grids AND {self._HEADS} > 1 ORDER BY r.grid_id, r.id"))]

    def _q_child_older(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        rel = ",".join(f"'{c}'" for c in CHILD_RELATIONS)
        return [self._item("child_older", "person", r[0], r[1], "birth_date", r[2], "登记为子女,但出生早于户主")
                for r in self._rows(conn, sc, (
                    "SELECT r.id, r.grid_id, r.name FROM person r JOIN household hh ON hh.id = r.household_id "
                    "AND hh.deleted_at IS NULL JOIN person h ON h.id = hh.head_person_id AND h.deleted_at IS NULL "
                    f"WHERE r.deleted_at IS NULL AND r.grid_id IN :grids AND r.relation IN ({rel}) "
                    "AND r.birth_date < h.birth_date ORDER BY r.grid_id, r.id"))]

    def _q_spouse_minor(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        rel = ",".join(f"'{c}'" for c in SPOUSE_RELATIONS)
        return [self._item("spouse_minor", "person", r[0], r[1], "birth_date", r[2], "登记为配偶,但未满16周岁")
                for r in self._rows(conn, sc, (
                    f"SELECT id, grid_id, name FROM person WHERE deleted_at IS NULL AND grid_id IN :grids "
                    f"AND relation IN ({rel}) AND birth_date > :cut16 ORDER BY grid_id, id"))]

    def _q_too_old(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("too_old", "person", r[0], r[1], "birth_date", r[2], "出生日期显示年龄超过110岁")
                for r in self._rows(conn, sc, (
                    "SELECT id, grid_id, name FROM person WHERE deleted_at IS NULL AND grid_id IN :grids "
                    "AND birth_date < :cut110 ORDER BY grid_id, id"))]

    def _q_floating_no_arrival(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("floating_no_arrival", "person", r[0], r[1], "arrived_on", r[2], "流动人口未填写来本地日期")
                for r in self._rows(conn, sc, (
                    "SELECT id, grid_id, name FROM person WHERE deleted_at IS NULL AND grid_id IN :grids "
                    f"AND person_type = '{FLOATING_TYPE}' AND arrived_on IS NULL ORDER BY grid_id, id"))]

    def _q_card_expired(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("card_expired", "person", r[0], r[1], "residence_card_until", r[2],
                           f"居住证有效期至 {str(r[3])[:10]},已过期")
                for r in self._rows(conn, sc, (
                    "SELECT id, grid_id, name, residence_card_until FROM person WHERE deleted_at IS NULL "
                    f"AND grid_id IN :grids AND person_type = '{FLOATING_TYPE}' AND residence_card_until < :today "
                    "ORDER BY grid_id, id"))]

    def _q_vehicle_no_owner(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        return [self._item("vehicle_no_owner", "vehicle", r[0], r[1], "owner_person_id", r[2], "车辆未关联车主")
                for r in self._rows(conn, sc, (
                    "SELECT id, grid_id, plate_no FROM vehicle WHERE deleted_at IS NULL AND grid_id IN :grids "
                    "AND owner_person_id IS NULL ORDER BY grid_id, id"))]

    def _q_stale(self, conn: Connection, sc: Scope) -> list[dict[str, Any]]:
        out = []
        months = sc.params["months"]
        titles = {"person": "name", "house": "id", "vehicle": "plate_no"}
        for kind in VERIFIED_KINDS:
            for r in self._rows(conn, sc, (
                f"SELECT id, grid_id, {titles[kind]}, verified_on FROM {kind} WHERE deleted_at IS NULL "
                "AND grid_id IN :grids AND (verified_on IS NULL OR verified_on < :stale) ORDER BY grid_id, id"
            )):
                when = f"上次核实 {str(r[3])[:10]}" if r[3] else "从未核实"
                title = kinds.label(kind) if kind == "house" else r[2]
                out.append(self._item("stale", kind, r[0], r[1], "verified_on", title,
                                      f"{when},超过 {months} 个月"))
        return out


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
