"""Kind-specific validation and derivation, run inside the write transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, func, select, text
from sqlalchemy.orm import Session

from desktop.db.sql import sql
from desktop.domain.geo import SPACES, GeoError, check_polygons, dump_polygons
from desktop.domain.marks import (
    DERIVED_MARKS,
    FLOATING_TYPE,
    UNEMPLOYED_STATUS,
    elder_cutoff,
    marks_text,
)
from desktop.kinds import field_label
from desktop.models import (
    Address,
    Area,
    Attachment,
    GridEvent,
    House,
    Household,
    HouseholdLedger,
    Person,
    User,
    Vehicle,
    Visit,
    utcnow,
)
from desktop.services.draft import Draft
from desktop.services.errors import DuplicateRecord, ServiceError
from desktop.services.pinyin import name_pinyin
from desktop.validation import check_id_number, check_phone, check_plate, check_uscc, code_table

if TYPE_CHECKING:
    from desktop.services.store import Actor

ID_CERT_TYPES = {"111", "553"}  # checked with the GB 11643 rules (553: 外国人永久居留身份证)


def _merge_checks(draft: Draft, fld: str, result: Any) -> None:
    for issue in result.errors:
        draft.error(fld, issue.code, issue.message)
    for issue in result.warnings:
        draft.warn(fld, issue.code, issue.message)


def _grid_from(s: Session, draft: Draft, model: type, ref_field: str) -> None:
    if draft.get("grid_id") is None and draft.get(ref_field) is not None:
        row = s.get(model, draft.get(ref_field))
        if row is not None and getattr(row, "grid_id", None):
            draft.values["grid_id"] = row.grid_id


def _phone(draft: Draft, fld: str) -> None:
    if draft.values.get(fld) is not None:
        result = check_phone(str(draft.values[fld]), field=_label(draft, fld))
        _merge_checks(draft, fld, result)
        if result.ok:
            draft.values[fld] = result.normalized


def _label(draft: Draft, fld: str) -> str:
    return field_label(draft.kind, fld)


def _not_future(draft: Draft, fld: str) -> None:
    value = draft.values.get(fld)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and value > date.today():
        draft.error(fld, "date.future", f"{_label(draft, fld)}:{value.isoformat()} 晚于今天")


# --- person -----------------------------------------------------------------------------------


def person_hook(s: Session, draft: Draft) -> None:
    v = draft.values
    if "name" in v and v["name"] is not None:
        name = re.sub(r"\s+", "", v["name"]).replace("•", "·")
        v["name"] = name
        v["name_py"], v["name_initials"] = name_pinyin(name)
    if draft.get("household_id") is not None:
        hh = s.get(Household, draft.get("household_id"))
        if hh is not None:
            if draft.get("grid_id") is None:
                v["grid_id"] = hh.grid_id
            if draft.get("house_id") is None and hh.house_id and "house_id" not in v:
                v["house_id"] = hh.house_id
    _grid_from(s, draft, House, "house_id")
    cert_type = draft.get("cert_type") or "111"
    if "cert_no" in v or "cert_type" in v or "birth_date" in v or "gender" in v:
        raw = draft.get("cert_no")
        if raw is not None and cert_type in ID_CERT_TYPES:
            typed_birth = v.get("birth_date") if "birth_date" in v else None
            typed_gender = v.get("gender") if "gender" in v else None
            result = check_id_number(
                str(raw), field=_label(draft, "cert_no"), birth_date=typed_birth, gender=typed_gender
            )
            _merge_checks(draft, "cert_no", result)
            if result.normalized and not result.errors:
                v["cert_no"] = result.normalized
                d = result.details
                if d.get("birth_date"):
                    v["birth_date"] = date.fromisoformat(d["birth_date"])
                if d.get("gender"):
                    v["gender"] = d["gender"]
                if draft.get("native_region") is None and d.get("kind") == "resident" and d.get("region_name"):
                    v["native_region"] = d.get("region_code")
        elif raw is not None:
            v["cert_no"] = re.sub(r"\s+", "", str(raw)).upper()
    if "cert_no" in v:
        v["cert_no_rev"] = v["cert_no"][::-1] if v["cert_no"] else None
    _phone(draft, "phone")
    if "phone" in v:
        digits = re.sub(r"\D", "", v["phone"] or "")
        v["phone_rev"] = digits[::-1] or None
    _not_future(draft, "birth_date")
    _not_future(draft, "arrived_on")
    if "marks" in v:
        raw_marks = v["marks"]
        items = raw_marks if isinstance(raw_marks, list | tuple) else re.split(r"[,,、;;\s]+", raw_marks or "")
        table = code_table("care_mark")
        codes: list[str] = []
        for item in items:
            if not item:
                continue
            code = table.code_for(str(item))
            if code is None:
                draft.error("marks", "marks.unknown", f"关注标识:“{item}”不是已知的关注类别")
            elif code in DERIVED_MARKS:
                draft.warn("marks", "marks.derived", f"关注标识:“{table.label(code)}”由系统根据资料自动判断,无需手工勾选")
            else:
                codes.append(code)
        v["marks"] = marks_text(codes)
    if draft.get("person_type") == FLOATING_TYPE and draft.get("residence_reason") is None:
        draft.warn("residence_reason", "floating.reason", "流动人口请填写居住事由")
    if draft.get("disability_category") and not draft.get("disability_grade"):
        draft.warn("disability_grade", "disability.grade", "已填写残疾类别,请同时填写残疾等级")


def household_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, House, "house_id")
    _phone(draft, "phone")
    if draft.existing is None and draft.get("hh_no") is None and draft.get("grid_id"):
        draft.values["hh_no"] = next_household_no(s, draft.get("grid_id"))
    if "head_person_id" in draft.values and draft.values["head_person_id"] is not None:
        head = s.get(Person, draft.values["head_person_id"])
        if draft.existing is not None and head is not None and head.household_id != draft.existing["id"]:
            draft.error("head_person_id", "household.head", "户主必须是本户成员")


def next_household_no(s: Session, grid_id: str) -> str:
    grid = s.get(Area, grid_id)
    prefix = (grid.code if grid else "HH")[-8:]
    count = s.scalar(select(func.count()).select_from(Household).where(Household.grid_id == grid_id)) or 0
    n = count + 1
    while s.scalar(select(func.count()).select_from(Household).where(Household.hh_no == f"{prefix}{n:04d}")):
        n += 1
    return f"{prefix}{n:04d}"


def compose_address(estate: str | None, building: Any, unit: Any, room: Any) -> str:
    def part(value: Any, suffix: str, known: tuple[str, ...]) -> str:
        if value in (None, ""):
            return ""
        t = str(value)
        return t if t.endswith(known) else t + suffix

    return (
        (estate or "")
        + part(building, "栋", ("栋", "幢", "号楼", "座", "楼"))
        + part(unit, "单元", ("单元",))
        + part(room, "室", ("室", "号", "户"))
    )


def address_hook(s: Session, draft: Draft) -> None:
    v = draft.values
    parts_changed = any(k in v for k in ("estate", "building", "unit", "room"))
    if v.get("full_text") is None and (draft.existing is None or parts_changed):
        composed = compose_address(draft.get("estate"), draft.get("building"), draft.get("unit"), draft.get("room"))
        if composed:
            v["full_text"] = composed
    if draft.get("floor") is None and draft.get("room") and str(draft.get("room"))[:-2].isdigit():
        v["floor"] = int(str(draft.get("room"))[:-2])
    full = draft.get("full_text")
    if full and draft.get("grid_id") and ("full_text" in v or draft.existing is None):
        dup = s.scalar(
            select(Address.id).where(
                Address.grid_id == draft.get("grid_id"), Address.full_text == full,
                Address.deleted_at.is_(None), Address.cancelled.is_(False),
                Address.id != ((draft.existing or {}).get("id") or ""),
            )
        )
        if dup:
            draft.error("full_text", "address.duplicate", f"地址全称:“{full}”已存在于本网格,请直接选用")


def house_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Address, "address_id")
    _phone(draft, "owner_phone")
    if draft.values.get("owner_cert_no"):
        result = check_id_number(str(draft.values["owner_cert_no"]), field="房主证件号码")
        _merge_checks(draft, "owner_cert_no", result)
        if result.normalized and not result.errors:
            draft.values["owner_cert_no"] = result.normalized
    if draft.get("owner_person_id") and draft.get("owner_name") is None:
        owner = s.get(Person, draft.get("owner_person_id"))
        if owner is not None:
            draft.values["owner_name"] = owner.name
    if draft.get("use") == "2" and not draft.get("tenant_name"):
        draft.warn("tenant_name", "house.tenant", "出租房屋请填写承租人")
    area = draft.get("area_m2")
    if area is not None and not (0 < area < 10000):
        draft.error("area_m2", "house.area", f"建筑面积:{area} 平方米不合常理")
    year = draft.get("built_year")
    if year is not None and not (1900 <= year <= date.today().year + 1):
        draft.error("built_year", "house.year", f"建成年份:{year} 不合常理")


def vehicle_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Person, "owner_person_id")
    _grid_from(s, draft, Household, "household_id")
    if draft.values.get("plate_no") is not None:
        result = check_plate(str(draft.values["plate_no"]), field="号牌号码")
        _merge_checks(draft, "plate_no", result)
        if result.normalized and not result.errors:
            draft.values["plate_no"] = result.normalized
            guessed = result.details.get("plate_type_code")
            if draft.get("plate_type") is None and guessed and guessed in code_table("plate_type"):
                draft.values["plate_type"] = guessed
    if draft.get("owner_person_id") and draft.get("household_id") is None:
        owner = s.get(Person, draft.get("owner_person_id"))
        if owner is not None and owner.household_id:
            draft.values["household_id"] = owner.household_id


def org_unit_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Address, "address_id")
    _phone(draft, "contact_phone")
    if draft.values.get("uscc"):
        result = check_uscc(str(draft.values["uscc"]), field="统一社会信用代码")
        _merge_checks(draft, "uscc", result)
        if result.normalized and not result.errors:
            draft.values["uscc"] = result.normalized


def visit_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Household, "household_id")
    _not_future(draft, "visited_on")
    if draft.existing is None and draft.get("visited_on") is None:
        draft.values["visited_on"] = date.today()
    dur = draft.get("duration_min")
    if dur is not None and not (0 < dur <= 24 * 60):
        draft.error("duration_min", "visit.duration", f"时长(分钟):{dur} 不合常理")


def visit_need_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Visit, "visit_id")
    status = draft.get("status")
    if status is not None and status not in ("open", "resolved", "escalated"):
        draft.error("status", "need.status", f"办理状态:“{status}”应为 open、resolved 或 escalated")


def ledger_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Household, "household_id")
    period = draft.get("period")
    if period is not None:
        period = str(period).replace("/", "-").replace("年", "-").rstrip("月-")
        m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", period)
        if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
            draft.error("period", "ledger.period", f"统计期:“{draft.get('period')}”应写成 2026 或 2026-03")
        else:
            period = m.group(1) + (f"-{int(m.group(2)):02d}" if m.group(2) else "")
            draft.values["period"] = period
            dup = s.scalar(
                select(HouseholdLedger.id).where(
                    HouseholdLedger.household_id == draft.get("household_id"),
                    HouseholdLedger.period == period, HouseholdLedger.deleted_at.is_(None),
                    HouseholdLedger.id != ((draft.existing or {}).get("id") or ""),
                )
            )
            if dup:
                draft.error("period", "ledger.duplicate", f"统计期:该户 {period} 的户情台账已存在,请直接修改")


def event_hook(s: Session, draft: Draft) -> None:
    _grid_from(s, draft, Household, "household_id")
    _grid_from(s, draft, Address, "address_id")
    if draft.existing is not None and "state" in draft.values and draft.values["state"] != draft.existing["state"]:
        draft.error("state", "event.state", "办理状态:请通过事件流转(受理、派遣、处置……)改变状态")
    if draft.existing is None:
        draft.values.setdefault("state", "reported")
        if draft.values["state"] != "reported":
            draft.error("state", "event.state", "办理状态:新事件只能从“上报”开始")
        draft.values.setdefault("reported_at", datetime.now().replace(microsecond=0))
    deadline, reported = draft.get("deadline"), draft.get("reported_at")
    if isinstance(deadline, date) and isinstance(reported, datetime) and deadline < reported.date():
        draft.error("deadline", "event.deadline", f"办理期限:不能早于上报日期 {reported.date().isoformat()}")
    handler = draft.get("handler")
    if isinstance(handler, str) and handler.strip() and len(handler.strip()) > 32:
        draft.error("handler", "event.handler", "处置人:请填写处置人的姓名(不超过 32 个字)")


def dispute_hook(s: Session, draft: Draft) -> None:
    _not_future(draft, "occurred_on")
    if draft.get("result") == "1" and draft.get("agreement_form") is None:
        draft.warn("agreement_form", "dispute.form", "调解成功请填写协议形式(口头或书面)")


# The levels of an area row, top down: a 小区 (estate) sits in a grid; buildings, units and rooms
# are the parts of the standard addresses (see desktop.services.areas).
AREA_LEVELS = ("district", "street", "community", "grid", "estate")


def area_hook(s: Session, draft: Draft) -> None:
    level = draft.get("level")
    if level is not None and level not in AREA_LEVELS:
        draft.error("level", "area.level", f"层级:“{level}”应为 {'、'.join(AREA_LEVELS[:-1])} 或 {AREA_LEVELS[-1]}")


# A grid's background plan: an attachment of the grid (desktop.services.map_shapes).
PLAN_OWNER, PLAN_PURPOSE = "area", "map_plan"
MAP_SHAPE_WHAT = {"building": "楼栋轮廓", "grid_outline": "网格边界"}


def current_plan(s: Session, grid_id: str) -> Attachment | None:
    """The grid's background plan: its newest live one (two laptops that each set one before
    syncing both keep theirs; the newer is the plan)."""
    return s.scalars(select(Attachment).where(
        Attachment.owner_kind == PLAN_OWNER, Attachment.owner_id == grid_id, Attachment.purpose == PLAN_PURPOSE,
        Attachment.deleted_at.is_(None)).order_by(Attachment.created_at.desc(), Attachment.id.desc()).limit(1)).first()


def map_shape_hook(s: Session, draft: Draft) -> None:
    """A shape names what it is, its coordinate space and a geometry of real polygons; a building's
    shape links to a building of its grid; image pixels lie on the grid's background plan."""
    what, space, grid = draft.get("what"), draft.get("space"), draft.get("grid_id")
    if what not in MAP_SHAPE_WHAT:
        draft.error("what", "map.what", f"形状类型:“{what}”应为 building(楼栋轮廓)或 grid_outline(网格边界)")
        return
    if space not in SPACES:
        draft.error("space", "map.space", f"坐标空间:“{space}”应为 wgs84(经纬度)或 image(底图像素)")
        return
    estate, building = draft.get("estate"), draft.get("building")
    if what == "grid_outline":
        if estate is not None or building is not None:
            draft.error("building", "map.outline", "网格边界不链接楼栋:小区和楼栋应留空")
    elif not estate or not building:
        draft.error("building", "map.building", "楼栋轮廓要链接到本网格的一栋楼:请选择小区和楼栋")
    elif grid and s.scalar(select(Address.id).where(
            Address.grid_id == grid, Address.estate == estate, Address.building == building,
            Address.deleted_at.is_(None), Address.cancelled.is_(False)).limit(1)) is None:
        draft.error("building", "map.building",
                    f"楼栋:本网格没有“{compose_address(estate, building, None, None)}”,请从本网格已有的楼栋中选择")
    if not ({"geometry", "space"} & set(draft.values)) and draft.existing is not None:
        return
    bounds = None
    if space == "image" and grid:
        plan = current_plan(s, grid)
        if plan is None:
            draft.error("geometry", "map.plan", "本网格还没有底图:请先设置底图,再在底图上绘制")
            return
        bounds = (float(plan.width), float(plan.height))
    try:
        polygons = check_polygons(draft.get("geometry"), space, bounds=bounds)
        draft.values["geometry"] = dump_polygons(polygons, space)
    except GeoError as exc:
        draft.error("geometry", "map.geometry", str(exc))


def user_hook(s: Session, draft: Draft) -> None:
    _phone(draft, "phone")
    name = draft.values.get("username")
    if name is not None:
        dup = s.scalar(select(User.id).where(User.username == name, User.id != ((draft.existing or {}).get("id") or "")))
        if dup:
            draft.error("username", "user.duplicate", f"用户名:“{name}”已被使用")


HOOKS = {
    "person": person_hook, "household": household_hook, "address": address_hook,
    "house": house_hook, "vehicle": vehicle_hook, "org_unit": org_unit_hook,
    "visit": visit_hook, "visit_need": visit_need_hook, "household_ledger": ledger_hook,
    "grid_event": event_hook, "dispute": dispute_hook, "area": area_hook, "app_user": user_hook,
    "map_shape": map_shape_hook,
}


# --- cross-record rules -----------------------------------------------------------------------


def person_summary(p: Person) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "household_id": p.household_id, "grid_id": p.grid_id}


def find_by_cert(s: Session, cert_no: str, exclude_id: str | None = None) -> Person | None:
    q = select(Person).where(Person.cert_no == cert_no, Person.deleted_at.is_(None))
    if exclude_id:
        q = q.where(Person.id != exclude_id)
    return s.scalars(q.limit(1)).first()


def before_write(s: Session, actor: Actor, draft: Draft, *, allow_duplicate: bool = False) -> None:
    own_id = (draft.existing or {}).get("id")
    if draft.kind == "person" and draft.values.get("cert_no") and not allow_duplicate:
        other = find_by_cert(s, draft.values["cert_no"], own_id)
        if other is not None:
            raise DuplicateRecord(
                f"证件号码 {draft.values['cert_no'][:6]}…{draft.values['cert_no'][-4:]} 已登记为“{other.name}”,"
                "请打开已有人员,不要重复登记",
                person_summary(other),
            )
    if draft.kind == "vehicle" and draft.values.get("plate_no") and not allow_duplicate:
        q = select(Vehicle).where(Vehicle.plate_no == draft.values["plate_no"], Vehicle.deleted_at.is_(None))
        if own_id:
            q = q.where(Vehicle.id != own_id)
        other_v = s.scalars(q.limit(1)).first()
        if other_v is not None:
            raise DuplicateRecord(
                f"号牌号码 {other_v.plate_no} 已登记,请打开已有车辆",
                {"id": other_v.id, "plate_no": other_v.plate_no, "grid_id": other_v.grid_id},
            )


def before_delete(s: Session, actor: Actor, kind: str, row: dict[str, Any]) -> None:
    if kind == "household":
        members = s.scalar(
            select(func.count()).select_from(Person).where(
                Person.household_id == row["id"], Person.deleted_at.is_(None)
            )
        )
        if members:
            raise ServiceError(f"该户还有 {members} 名成员,请先迁出或删除成员后再删除该户")
    if kind == "person":
        head_of = s.scalar(
            select(Household.hh_no).where(Household.head_person_id == row["id"], Household.deleted_at.is_(None))
        )
        if head_of:
            raise ServiceError(f"该人员是户 {head_of} 的户主,请先变更户主后再删除")
    if kind == "area":
        used = s.scalar(select(func.count()).select_from(Area).where(Area.parent_id == row["id"], Area.deleted_at.is_(None)))
        if used:
            raise ServiceError("该区域下还有下级区域,不能删除")
    if kind == "grid_event":
        pass


def _attachments_follow(s: Session, actor: Actor, kind: str, before: dict | None, after: dict[str, Any]) -> None:
    """Photos belong to their owner's grid: when the owner moves grids, its photos move too."""
    if before is None or before.get("grid_id") == after.get("grid_id") or not after.get("grid_id"):
        return
    s.flush()
    s.execute(
        text(
            "UPDATE attachment SET grid_id = :g, version = version + 1, updated_at = :now, updated_by = :actor "
            "WHERE owner_kind = :k AND owner_id = :o AND grid_id IS NOT :g"
        ),
        {"g": after["grid_id"], "now": str(utcnow()), "actor": actor.username, "k": kind, "o": after["id"]},
    )
    s.expire_all()


def after_write(s: Session, actor: Actor, kind: str, before: dict | None, after: dict[str, Any]) -> None:
    if kind in ("person", "house", "vehicle", "org_unit", "grid_event"):
        _attachments_follow(s, actor, kind, before, after)
    if kind == "person":
        households = {h for h in ((before or {}).get("household_id"), after.get("household_id")) if h}
        refresh_derived_marks(s, actor, household_ids=households, person_ids={after["id"]})
    if kind == "household" and before is not None and before.get("deleted_at") != after.get("deleted_at"):
        refresh_derived_marks(s, actor, household_ids={after["id"]})


# Derived marks (the rule: desktop.domain.marks), computed set-based in SQL so one statement
# keeps a whole street consistent. tests/core/test_domain_marks.py checks it against
# desktop.domain.marks.derived_marks.
_DERIVED_SQL = """
UPDATE person SET
  derived_marks = {expr},
  version = version + 1,
  updated_at = :now,
  updated_by = :actor
WHERE deleted_at IS NULL AND ({where}) AND derived_marks IS NOT {expr}
"""
_LONE_ELDERLY = """birth_date <= :elder_cutoff AND household_id IS NOT NULL AND
    (SELECT count(*) FROM person m WHERE m.household_id = person.household_id AND m.deleted_at IS NULL) = 1"""
DERIVED_EXPR = f"""(CASE WHEN person_type = '{FLOATING_TYPE}' OR employment = '{UNEMPLOYED_STATUS}' OR (
    {_LONE_ELDERLY})
  THEN ',' ||
    (CASE WHEN person_type = '{FLOATING_TYPE}' THEN 'floating,' ELSE '' END) ||
    (CASE WHEN employment = '{UNEMPLOYED_STATUS}' THEN 'unemployed,' ELSE '' END) ||
    (CASE WHEN {_LONE_ELDERLY}
      THEN 'lone_elderly,' ELSE '' END)
  ELSE '' END)"""


def refresh_derived_marks(
    s: Session, actor: Actor, *, household_ids: Iterable[str] | None = None,
    person_ids: Iterable[str] | None = None, today: date | None = None,
) -> int:
    """Recompute 流动人口 / 失业人员 / 独居老人 for the given households and people (all when both are None)."""
    params: dict[str, Any] = {
        "elder_cutoff": elder_cutoff(today).isoformat(), "now": str(utcnow()), "actor": actor.username,
    }
    clauses = []
    lists = []
    if household_ids is not None:
        params["hh"] = list(household_ids)
        if params["hh"]:
            clauses.append("household_id IN :hh")
            lists.append("hh")
    if person_ids is not None:
        params["ps"] = list(person_ids)
        if params["ps"]:
            clauses.append("id IN :ps")
            lists.append("ps")
    if household_ids is None and person_ids is None:
        where = "1"
    elif not clauses:
        return 0
    else:
        where = " OR ".join(clauses)
    statement = _DERIVED_SQL.format(expr=DERIVED_EXPR, where=where)
    s.flush()
    changed = cast(CursorResult[Any], s.execute(sql(statement, *lists), params)).rowcount or 0
    if changed:
        s.expire_all()  # rows changed under the identity map: reload before further ORM writes
    return changed


def event_exists(s: Session, event_id: str) -> bool:
    return s.get(GridEvent, event_id) is not None
