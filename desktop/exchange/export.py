"""Export of the standard ledgers to .xlsx for a grid, a community or everything the actor sees.

Code-table fields are written as labels, dates as Excel dates, ID and phone numbers as text
(masked - ID first 6 + last 4, phone 3 + 4 - unless `unmask=True` and the actor may reveal).
Every export leaves one audit entry (kind, scope, row count, masked or not) and no value. The
ledger is written to a temporary file beside `out`, audited, and only then renamed onto `out`:
an export the trail cannot record (a locked or read-only database) leaves no file."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from desktop import kinds
from desktop.db.sql import sql as sql_text
from desktop.domain.formatting import age, care_mark_labels
from desktop.exchange.xlsxout import Col, Workbook
from desktop.kinds import canonical, choices_text, ledger_titles
from desktop.models import Area
from desktop.policy import Ability
from desktop.services.areas import area_tree
from desktop.services.audit import write_audit
from desktop.services.demo import demo_mark
from desktop.services.errors import PermissionDenied, ServiceError, require
from desktop.services.store import Actor, Store
from desktop.validation import code_table, mask_id, mask_phone
from desktop.validation.dates import DateError, parse_date

CHUNK = 2000

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]

log = logging.getLogger(__name__)


# --- value helpers ------------------------------------------------------------------------------

def _label(table: str) -> Callable[[Any], str]:
    ct = code_table(table)
    cache: dict[Any, str] = {}

    def f(code: Any) -> str:
        if code is None or code == "":
            return ""
        hit = cache.get(code)
        if hit is None:
            hit = cache[code] = ct.label(str(code))
        return hit
    return f


def _marks(value: Any) -> str:
    return care_mark_labels(value) if value else ""


def _day(value: Any) -> Any:
    """A stored date as a date (an Excel date cell); a text that is no date stays text."""
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except DateError:
        return str(value)


def _yes(value: Any) -> str:
    if value is None:
        return ""
    return "是" if value in (1, True, "1") else "否"


@dataclass(frozen=True)
class Out:
    """One exported column: header, source column of the query, how to show it."""

    title: str
    src: str
    show: Callable[[Any], Any] | None = None
    kind: str = "text"  # text | date | number | int
    width: float = 10
    mask: str | None = None  # "id" | "phone"


C = Out


_PERSON_FROM = (
    "FROM person p JOIN area g ON g.id = p.grid_id LEFT JOIN household hh ON hh.id = p.household_id "
    "LEFT JOIN house h ON h.id = p.house_id LEFT JOIN address a ON a.id = h.address_id"
)
_PERSON_ORDER = "g.code, hh.hh_no, p.household_id, p.relation, p.birth_date, p.id"
_L = {name: _label(name) for name in (
    "gender", "ethnicity", "political", "education", "marital", "relation", "cert_type", "person_type",
    "residence_reason", "household_type", "house_use", "house_nature", "plate_type", "vehicle_type",
    "visit_method", "satisfaction", "assistance_type", "disability_category", "disability_grade",
    "employment_status", "need_category",
)}

PERSON_COLS = [
    C("网格", "g.name", width=10), C("网格代码", "g.code", width=16), C("户号", "hh.hh_no", width=14),
    C("与户主关系", "p.relation", _L["relation"], width=8), C("姓名", "p.name", width=8),
    C("证件类型", "p.cert_type", _L["cert_type"], width=10), C("证件号码", "p.cert_no", width=21, mask="id"),
    C("性别", "p.gender", _L["gender"], width=5), C("出生日期", "p.birth_date", _day, "date", 11),
    C("民族", "p.ethnicity", _L["ethnicity"], width=7), C("联系电话", "p.phone", width=13, mask="phone"),
    C("人员类型", "p.person_type", _L["person_type"], width=9), C("籍贯代码", "p.native_region", width=9),
    C("户籍地址", "p.hukou_address", width=24), C("小区", "a.estate", width=14), C("楼栋", "a.building", width=6),
    C("单元", "a.unit", width=5), C("户室", "a.room", width=6), C("现住址", "a.full_text", width=26),
    C("文化程度", "p.education", _L["education"], width=9), C("政治面貌", "p.political", _L["political"], width=9),
    C("婚姻状况", "p.marital", _L["marital"], width=8), C("宗教信仰", "p.religion", width=8),
    C("健康状况", "p.health", width=8), C("就业状况", "p.employment", _L["employment_status"], width=8),
    C("工作单位", "p.employer", width=20), C("职业", "p.occupation", width=10),
    C("居住事由", "p.residence_reason", _L["residence_reason"], width=9),
    C("来本地日期", "p.arrived_on", _day, "date", 11), C("拟居住期限", "p.intended_stay", width=10),
    C("居住证号", "p.residence_card_no", width=18, mask="id"), C("关注标识", "p.marks", _marks, width=14),
    C("自动标识", "p.derived_marks", _marks, width=12), C("帮扶类型", "p.assistance_type", _L["assistance_type"], width=8),
    C("残疾类别", "p.disability_category", _L["disability_category"], width=8),
    C("残疾等级", "p.disability_grade", _L["disability_grade"], width=8),
    C("残疾人证号", "p.disability_cert_no", width=22, mask="id"), C("备注", "p.note", width=20),
]


def _pick(*titles: str) -> list[Out]:
    by = {c.title: c for c in PERSON_COLS}
    return [by[t] for t in titles]


@dataclass(frozen=True)
class Spec:
    """How one ledger is read; its title is the ledger's in desktop/kinds.py (LEDGERS)."""

    cols: list[Out]
    from_sql: str
    grid_col: str
    order: str
    where: str = ""
    date_col: str | None = None  # filtered by date_from / date_to
    period_col: str | None = None  # household_ledger.period ("2026" or "2026-03")
    extra: Callable[[dict[str, Any], date], dict[str, Any]] | None = None


def _visit_extra(row: dict[str, Any], today: date) -> dict[str, Any]:
    needs = row.get("needs") or ""
    cats, contents = [], []
    for item in needs.split("\x1e") if needs else []:
        cat, _, content = item.partition("\x1f")
        cats.append(_L["need_category"](cat))
        contents.append(content)
    return {"need_cat": "、".join(cats), "need_text": "；".join(contents)}


def _employment_extra(row: dict[str, Any], today: date) -> dict[str, Any]:
    return {"age": age(row.get("p.birth_date"), today)}


SPECS: dict[str, Spec] = {
    "person": Spec(PERSON_COLS, _PERSON_FROM, "p.grid_id", _PERSON_ORDER),
    "key_person": Spec(
        [*_pick("网格", "网格代码", "户号", "姓名", "性别", "出生日期", "证件号码", "联系电话", "人员类型",
                "现住址", "关注标识", "自动标识", "工作单位", "备注")],
        _PERSON_FROM, "p.grid_id", _PERSON_ORDER, where="instr(p.marks, ',key_person,') > 0",
    ),
    "floating": Spec(
        [*_pick("网格", "网格代码", "户号", "与户主关系", "姓名", "性别", "出生日期", "民族", "证件号码",
                "联系电话", "人员类型", "户籍地址", "现住址", "居住事由", "来本地日期", "拟居住期限", "居住证号",
                "工作单位", "职业")],
        _PERSON_FROM, "p.grid_id", _PERSON_ORDER,
        where="(p.person_type = '2' OR instr(p.derived_marks, ',floating,') > 0)",
    ),
    "employment": Spec(
        [*_pick("网格", "网格代码", "户号", "姓名", "性别", "出生日期"), C("年龄", "age", kind="int", width=5),
         *_pick("证件号码", "联系电话", "文化程度", "就业状况", "工作单位", "职业", "现住址")],
        _PERSON_FROM, "p.grid_id", _PERSON_ORDER,
        where="(p.employment IS NOT NULL OR coalesce(p.employer, '') <> '')", extra=_employment_extra,
    ),
    "household_ledger": Spec(
        [C("网格", "g.name"), C("网格代码", "g.code", width=16), C("户号", "hh.hh_no", width=14),
         C("户主", "hp.name", width=8), C("户主证件号码", "hp.cert_no", width=21, mask="id"),
         C("联系电话", "coalesce(hh.phone, hp.phone)", width=13, mask="phone"),
         C("地址", "a.full_text", width=26), C("家庭人口", "members", kind="int", width=6),
         C("统计期", "l.period", width=8), C("家庭总收入", "l.income_total", kind="number", width=10),
         C("工资性收入", "l.income_wage", kind="number", width=10),
         C("经营性收入", "l.income_business", kind="number", width=10),
         C("种养殖收入", "l.income_farming", kind="number", width=10),
         C("转移性收入", "l.income_transfer", kind="number", width=10), C("种植情况", "l.farming", width=16),
         C("养殖情况", "l.breeding", width=16), C("务工人数", "l.workers", kind="int", width=6),
         C("务工就业情况", "l.work_notes", width=20)],
        "FROM household_ledger l JOIN household hh ON hh.id = l.household_id JOIN area g ON g.id = l.grid_id "
        "LEFT JOIN person hp ON hp.id = hh.head_person_id LEFT JOIN house h ON h.id = hh.house_id "
        "LEFT JOIN address a ON a.id = h.address_id",
        "l.grid_id", "g.code, hh.hh_no, l.period", period_col="l.period",
    ),
    "house": Spec(
        [C("网格", "g.name"), C("网格代码", "g.code", width=16), C("小区", "a.estate", width=14),
         C("楼栋", "a.building", width=6), C("单元", "a.unit", width=5), C("户室", "a.room", width=6),
         C("地址全称", "a.full_text", width=26), C("房屋用途", "h.use", _L["house_use"], width=8),
         C("房屋性质", "h.nature", _L["house_nature"], width=8),
         C("建筑面积", "h.area_m2", kind="number", width=8), C("户型", "h.layout", width=9),
         C("建成年份", "h.built_year", kind="int", width=8), C("产权证号", "h.title_no", width=22),
         C("发证日期", "h.title_date", _day, "date", 11),
         C("房主姓名", "coalesce(h.owner_name, op.name)", width=8),
         C("房主证件号码", "coalesce(h.owner_cert_no, op.cert_no)", width=21, mask="id"),
         C("房主电话", "coalesce(h.owner_phone, op.phone)", width=13, mask="phone"),
         C("承租人", "h.tenant_name", width=8), C("租赁开始日期", "h.rent_start", _day, "date", 11),
         C("租期(月)", "h.rent_months", kind="int", width=7), C("月租金", "h.rent_monthly", kind="number", width=8),
         C("出租间数", "h.rent_rooms", kind="int", width=7), C("已登记备案", "h.rent_registered", _yes, width=8),
         C("已签治安责任书", "h.security_pledge", _yes, width=10), C("住户数", "residents", kind="int", width=6),
         C("备注", "h.note", width=20)],
        "FROM house h JOIN area g ON g.id = h.grid_id LEFT JOIN address a ON a.id = h.address_id "
        "LEFT JOIN person op ON op.id = h.owner_person_id",
        "h.grid_id", "g.code, a.estate, a.building, a.unit, a.room, h.id",
    ),
    "vehicle": Spec(
        [C("网格", "g.name"), C("网格代码", "g.code", width=16), C("号牌号码", "v.plate_no", width=10),
         C("号牌种类", "v.plate_type", _L["plate_type"], width=10),
         C("车辆类型", "v.vehicle_type", _L["vehicle_type"], width=9), C("品牌型号", "v.brand", width=14),
         C("车身颜色", "v.colour", width=6), C("车辆识别代号", "v.vin", width=19),
         C("车主姓名", "op.name", width=8), C("车主证件号码", "op.cert_no", width=21, mask="id"),
         C("车主电话", "op.phone", width=13, mask="phone"), C("户号", "hh.hh_no", width=14),
         C("停放位置", "v.parking", width=14), C("备注", "v.note", width=20)],
        "FROM vehicle v JOIN area g ON g.id = v.grid_id LEFT JOIN person op ON op.id = v.owner_person_id "
        "LEFT JOIN household hh ON hh.id = v.household_id",
        "v.grid_id", "g.code, v.plate_no",
    ),
    "org_unit": Spec(
        [C("网格", "g.name"), C("网格代码", "g.code", width=16), C("单位名称", "o.name", width=22),
         C("统一社会信用代码", "o.uscc", width=20), C("单位类型", "o.kind", width=10),
         C("法定代表人", "o.legal_person", width=8), C("联系电话", "o.contact_phone", width=13, mask="phone"),
         C("从业人数", "o.employees", kind="int", width=7), C("单位地址", "a.full_text", width=26),
         C("备注", "o.note", width=20)],
        "FROM org_unit o JOIN area g ON g.id = o.grid_id LEFT JOIN address a ON a.id = o.address_id",
        "o.grid_id", "g.code, o.name",
    ),
    "visit": Spec(
        [C("走访日期", "vi.visited_on", _day, "date", 11), C("网格", "g.name"), C("网格代码", "g.code", width=16),
         C("户号", "hh.hh_no", width=14), C("户主姓名", "hp.name", width=8), C("地址", "a.full_text", width=26),
         C("走访方式", "vi.method", _L["visit_method"], width=8),
         C("走访人", "coalesce(u.display_name, vi.visitor)", width=8), C("同行人员", "vi.companions", width=12),
         C("时长(分钟)", "vi.duration_min", kind="int", width=8), C("家庭情况", "vi.situation", width=30),
         C("诉求类别", "need_cat", width=10), C("诉求内容", "need_text", width=30),
         C("办理情况", "vi.actions", width=20), C("跟进日期", "vi.follow_up_on", _day, "date", 11),
         C("回访情况", "vi.return_visit", width=16), C("满意度", "vi.satisfaction", _L["satisfaction"], width=8)],
        "FROM visit vi JOIN area g ON g.id = vi.grid_id LEFT JOIN household hh ON hh.id = vi.household_id "
        "LEFT JOIN person hp ON hp.id = hh.head_person_id LEFT JOIN house h ON h.id = hh.house_id "
        "LEFT JOIN address a ON a.id = h.address_id LEFT JOIN app_user u ON u.username = vi.visitor",
        "vi.grid_id", "vi.visited_on, g.code, hh.hh_no", date_col="vi.visited_on", extra=_visit_extra,
    ),
}
# computed per row (not plain columns of the query)
_COMPUTED = {
    "members": "(SELECT count(*) FROM person m WHERE m.household_id = hh.id AND m.deleted_at IS NULL)",
    "residents": "(SELECT count(*) FROM person rp WHERE rp.house_id = h.id AND rp.deleted_at IS NULL)",
    "needs": "(SELECT group_concat(n.category || char(31) || n.content, char(30)) FROM visit_need n "
             "WHERE n.visit_id = vi.id AND n.deleted_at IS NULL)",
}

def _as_date(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except DateError:
        raise ServiceError(f"{what}“{value}”不是有效日期,请按 2026-01-31 的格式填写") from None


def _scope(store: Store, actor: Actor, grid_id: str | None, community_id: str | None) -> tuple[list[str] | None, str]:
    """Grid ids to export (None: all) and a Chinese name of the scope."""
    with store.session() as s:
        if grid_id is not None:
            g = s.get(Area, grid_id)
            if g is None or g.deleted_at is not None or g.level != "grid":
                raise ServiceError("所选网格不存在")
            if not actor.may_access(grid_id):
                raise PermissionDenied(f"您没有权限导出“{g.name}”的台账")
            return [grid_id], area_tree(s).grid_label(grid_id, "")
        if community_id is not None:
            c = s.get(Area, community_id)
            if c is None or c.deleted_at is not None:
                raise ServiceError("所选社区不存在")
            grids = area_tree(s).grids_under(community_id)
            if actor.grid_ids is not None:
                grids = [x for x in grids if x in actor.grid_ids]
                if not grids:
                    raise PermissionDenied(f"您没有权限导出“{c.name}”的台账")
            return grids, c.name
        if actor.grid_ids is not None:
            names = s.scalars(select(Area.name).where(Area.id.in_(sorted(actor.grid_ids)))).all()
            return sorted(actor.grid_ids), "、".join(names) or "本人网格"
        return None, "全部网格"


def spec_for(ledger_key: str) -> Spec:
    """The tuned reading of a ledger, or for a ledger over a kind that has none (a kind added
    by one registry entry), every labelled column of the kind with its code labels."""
    spec = SPECS.get(ledger_key)
    if spec is not None:
        return spec
    kind = kinds.get(kinds.ledger(ledger_key).kind)
    cols = [C("网格", "g.name"), C("网格代码", "g.code", width=16)]
    for column, title in kind.fields.items():
        if column == "grid_id" or column.endswith("_id") or column in kind.derived:
            continue
        table = kind.code_fields.get(column)
        cols.append(C(title, f"k.{column}", _label(table) if table else None, width=max(8, 2 * len(title))))
    return Spec(cols, f'FROM "{kind.key}" k JOIN area g ON g.id = k.grid_id', "k.grid_id", "g.code, k.id")


def export(store: Store, actor: Actor, kind: str, out: str | Path, *, grid_id: str | None = None,
           community_id: str | None = None, date_from: date | str | None = None, date_to: date | str | None = None,
           unmask: bool = False, progress: Progress | None = None, cancel: Cancel | None = None) -> int:
    """Write the ledger `kind` (an exportable ledger of desktop/kinds.py) to `out` (.xlsx); return the number of rows.

    Scope: one grid, one community, or everything the actor may see. `date_from`/`date_to`
    limit visits (走访日期) and household ledgers (统计期). ID and phone numbers are masked unless
    `unmask` is True, which needs an actor who may reveal them (PermissionDenied otherwise)."""
    kind = canonical(kind)
    titles = ledger_titles(exportable=True)
    if kind not in titles:
        raise ServiceError(f"不支持导出的台账:{kind}(可选:{choices_text(titles)})")
    if kind == "visit_ontime":
        return _export_ontime(store, actor, out, titles[kind], grid_id=grid_id, community_id=community_id,
                              date_from=date_from, date_to=date_to)
    spec, ledger_title = spec_for(kind), titles[kind]
    if unmask:
        require(actor, Ability.UNMASK_OUTPUT, act="导出完整证件号码和电话(未脱敏的台账)")
    d_from, d_to = _as_date(date_from, "起始日期"), _as_date(date_to, "截止日期")
    if d_from and d_to and d_from > d_to:
        raise ServiceError("起始日期晚于截止日期")
    out = Path(out)
    grids, scope_name = _scope(store, actor, grid_id, community_id)
    started = time.perf_counter()
    today = date.today()
    alias = spec.grid_col.split(".")[0]
    select_parts = []
    for c in spec.cols:
        expr = _COMPUTED.get(c.src, c.src) if c.src in _COMPUTED else c.src
        if c.src in ("age", "need_cat", "need_text"):
            continue
        select_parts.append(f"{expr} AS \"{c.src}\"")
    if kind == "visit":
        select_parts.append(f"{_COMPUTED['needs']} AS \"needs\"")
    where = [f"{alias}.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if spec.where:
        where.append(spec.where)
    if grids is not None:
        where.append(f"{spec.grid_col} IN :grids")
        params["grids"] = list(grids)  # an empty list matches nothing
    if spec.date_col:
        if d_from:
            where.append(f"{spec.date_col} >= :d_from")
            params["d_from"] = d_from.isoformat()
        if d_to:
            where.append(f"{spec.date_col} <= :d_to")
            params["d_to"] = d_to.isoformat()
    if spec.period_col:
        # "2026" covers 2026-01..2026-12; "2026-03" is one month
        if d_from:
            where.append(f"(CASE WHEN length({spec.period_col}) = 4 THEN {spec.period_col} || '-12' "
                         f"ELSE {spec.period_col} END) >= :p_from")
            params["p_from"] = d_from.isoformat()[:7]
        if d_to:
            where.append(f"(CASE WHEN length({spec.period_col}) = 4 THEN {spec.period_col} || '-01' "
                         f"ELSE {spec.period_col} END) <= :p_to")
            params["p_to"] = d_to.isoformat()[:7]
    statement = f"SELECT {', '.join(select_parts)} {spec.from_sql} WHERE {' AND '.join(where)} ORDER BY {spec.order}"
    period = ""
    if d_from or d_to:
        period = f",{d_from.isoformat() if d_from else '…'} 至 {d_to.isoformat() if d_to else '…'}"
    masked_note = "证件号码和电话已脱敏" if not unmask else "含完整证件号码和电话,请妥善保管,不得外传"
    mark = demo_mark(store)  # a demo street's workbook says so in its title row
    title = (f"{ledger_title}{f'【{mark}】' if mark else ''}"
             f"({scope_name}{period};导出于 {today.isoformat()};{masked_note})")
    book = Workbook(out)
    n = 0
    try:
        sheet = book.sheet(ledger_title, [Col(c.title, c.width, c.kind) for c in spec.cols], title=title)
        with store.session() as s:
            conn = s.connection()
            lists = ["grids"] if "grids" in params else []
            total = conn.execute(sql_text(f"SELECT count(*) {spec.from_sql} WHERE {' AND '.join(where)}", *lists),
                                 params).scalar_one()
            result = conn.execute(sql_text(statement, *lists), params)
            keys = list(result.keys())
            getters = []
            for c in spec.cols:
                show = c.show
                if c.mask == "id" and not unmask:
                    show = mask_id
                elif c.mask == "phone" and not unmask:
                    show = mask_phone
                getters.append((c.src, show))
            for rec in result:
                if n % CHUNK == 0:
                    if cancel is not None and cancel():
                        raise ServiceError("已取消导出,未生成文件")
                    if progress is not None:
                        progress(n, total, f"正在导出第 {n + 1} 行,共 {total} 行")
                row = dict(zip(keys, rec, strict=True))
                if spec.extra is not None:
                    row.update(spec.extra(row, today))
                sheet.write([show(row.get(src)) if show is not None else row.get(src) for src, show in getters])
                n += 1
        sheet.autofilter()
        book.close(publish=False)
        # the trail first: an export the audit cannot record is not handed out
        try:
            with store.transaction() as s:
                write_audit(
                    s, actor, "export", kind, None,
                    {"kind": kind, "title": ledger_title, "scope": {"grid_id": grid_id, "community_id": community_id,
                                                                  "grids": len(grids) if grids is not None else "all"},
                     "rows": n, "masked": not unmask, "date_from": d_from, "date_to": d_to,
                     "seconds": round(time.perf_counter() - started, 2)},
                    summary=f"导出{ledger_title}:{n} 行,{'已脱敏' if not unmask else '未脱敏'}",
                )
        except SQLAlchemyError as exc:
            raise ServiceError("导出未完成:无法写入审计记录(数据库可能被锁定或为只读),未生成文件。"
                               "请关闭其他正在使用数据库的程序后重试") from exc
        book.publish()
    finally:
        book.discard()  # the temporary file, whatever happened (after publish there is none)
    log.info("exported %s: %d rows, masked %s, %.2f s", kind, n, not unmask, time.perf_counter() - started)
    if progress is not None:
        progress(n, n, "导出完成")
    return n


def _export_ontime(store: Store, actor: Actor, out: str | Path, ledger_title: str, *, grid_id: str | None,
                   community_id: str | None, date_from: Any, date_to: Any) -> int:
    """按时走访统计表: desktop.services.plan's on-time figures of a period (default: this month)."""
    from desktop.services.plan import ONTIME_HEADERS, ONTIME_NOTE, VisitPlan, ontime_rows

    today = date.today()
    d_from = _as_date(date_from, "起始日期") or today.replace(day=1)
    d_to = _as_date(date_to, "截止日期") or today
    if d_from > d_to:
        raise ServiceError("起始日期晚于截止日期")
    grids, scope_name = _scope(store, actor, grid_id, community_id)
    result = VisitPlan(store, actor).on_time(d_from, d_to, today=today, grid_id=grid_id)
    if community_id is not None and grids is not None:
        keep = set(grids)
        result["grids"] = [g for g in result["grids"] if g["grid_id"] in keep]
    rows = ontime_rows(result)
    widths = [8, 16, 24, 8, 8, 8, 8, 12]
    kinds_ = ["text", "text", "text", "int", "int", "int", "int", "text"]
    title = f"{ledger_title}({scope_name},{d_from.isoformat()} 至 {d_to.isoformat()};导出于 {today.isoformat()};不含证件号码和电话,已脱敏)"
    book = Workbook(Path(out))
    try:
        sheet = book.sheet(ledger_title, [Col(h, w, k) for h, w, k in zip(ONTIME_HEADERS, widths, kinds_, strict=True)],
                           title=title)
        for r in rows:
            sheet.write(r)
        sheet.write(["注", ONTIME_NOTE, "", None, None, None, None, ""])  # one more row: counted below
        book.close(publish=False)
        try:
            with store.transaction() as s:
                write_audit(s, actor, "export", "visit", None,
                            {"kind": "visit_ontime", "title": ledger_title, "rows": len(rows),
                             "date_from": d_from, "date_to": d_to, "scope": {"grid_id": grid_id, "community_id": community_id}},
                            summary=f"导出{ledger_title}:{len(rows) + 1} 行")
        except SQLAlchemyError as exc:
            raise ServiceError("导出未完成:无法写入审计记录(数据库可能被锁定或为只读),未生成文件。"
                               "请关闭其他正在使用数据库的程序后重试") from exc
        book.publish()
    finally:
        book.discard()
    return len(rows) + 1  # the figures and the note
