"""The household archive (户档案): from the loaded data to strings, masked and checked against
the font. The pages themselves are laid out by desktop.printing.archive_pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desktop.domain.formatting import care_mark_labels, day, minute
from desktop.printing.archive_pages import ArchiveContent
from desktop.printing.text import Guard
from desktop.validation import code_table, mask_id, mask_phone, region_name

PRIVACY_MASKED = "已脱敏(证件号码保留前6位和后4位,电话保留前3位和后4位)"
PRIVACY_FULL = "未脱敏:含完整证件号码和联系电话,请妥善保管,用后按规定销毁"
NEED_STATUS = {"open": "待办", "resolved": "已解决", "escalated": "已转事件"}


def label(table: str, code: Any) -> str:
    """The code's label; a code stored without its leading zero ("1" for "01") still finds it."""
    if code in (None, ""):
        return ""
    ct = code_table(table)
    code = str(code)
    return ct.label(code if code in ct else (ct.code_for(code) or code))


def num(v: Any, unit: str = "") -> str:
    if v in (None, ""):
        return ""
    if isinstance(v, float) and v == int(v):
        v = int(v)
    return f"{v}{unit}"


def money(v: Any, unit: str = "") -> str:
    """Amounts with thousands separators: 1,500 / 1,234.5."""
    if v in (None, ""):
        return ""
    text_ = f"{float(v):,.2f}"
    if text_.endswith(".00"):
        text_ = text_[:-3]
    elif text_.endswith("0"):
        text_ = text_[:-1]
    return text_ + unit


def yes_no(v: Any) -> str:
    return "" if v is None else ("是" if v else "否")


@dataclass
class Masker:
    unmask: bool

    def id(self, v: Any) -> str:
        return "" if not v else (str(v) if self.unmask else mask_id(str(v)))

    def phone(self, v: Any) -> str:
        return "" if not v else (str(v) if self.unmask else mask_phone(str(v)))


def content(data: dict[str, Any], guard: Guard, *, unmask: bool, printed_by: str, printed_at: datetime,
            users: dict[str, str]) -> ArchiveContent:
    """Strings of one archive. Every value passes `guard` with the place it comes from."""
    g = guard
    notes_before = len(g.notes)
    m = Masker(unmask)
    hh, house, address = data["household"], data["house"], data["address"]
    members = data["members"]
    hh_no = hh["hh_no"] or ""
    here = f"户 {hh_no}"
    head = next((p for p in members if p["id"] == hh["head_person_id"]), None)
    head_name = g(head["name"], f"{here} 成员“{head['name']}”", "姓名") if head else ""
    addr_text = g(address["full_text"], f"{here} 的地址", "地址全称") if address else "(未关联房屋)"
    grid_name = g(data["grid"].get("name"), f"{here} 所属网格", "网格名称")
    community_name = g(data["community"].get("name"), f"{here} 所属社区", "社区名称")

    facts = [
        ("户号", hh_no), ("户别", label("household_type", hh["hh_type"])),
        ("户主", head_name or "(未指定)"), ("联系电话", m.phone(hh["phone"])),
        ("所属社区", community_name), ("所属网格", grid_name),
        ("现住地址", addr_text), ("家庭人数", f"{len(members)} 人"),
    ]
    if hh.get("note"):
        facts.append(("备注", g(hh["note"], here, "备注")))

    rows, extra = [], []
    for k, p in enumerate(members, 1):
        who = f"{here} 成员“{p['name']}”"
        name = g(p["name"], who, "姓名")
        marks = care_mark_labels(p["marks"], p["derived_marks"])
        rows.append([
            str(k), name, label("relation", p["relation"]), label("gender", p["gender"]), day(p["birth_date"]),
            m.id(p["cert_no"]), label("ethnicity", p["ethnicity"]), label("education", p["education"]),
            label("political", p["political"]), label("employment_status", p["employment"]),
            m.phone(p["phone"]), label("person_type", p["person_type"]), marks,
        ])
        bits = []
        if p["cert_type"] and p["cert_type"] != "111":
            bits.append(f"证件类型:{label('cert_type', p['cert_type'])}")
        if p["native_region"]:
            bits.append(f"籍贯:{g(region_name(p['native_region']) or p['native_region'], who, '籍贯')}")
        if p["hukou_address"]:
            bits.append(f"户籍地址:{g(p['hukou_address'], who, '户籍地址')}")
        if p["marital"]:
            bits.append(f"婚姻状况:{label('marital', p['marital'])}")
        for key, lbl in (("religion", "宗教信仰"), ("health", "健康状况"), ("employer", "工作单位"),
                         ("occupation", "职业")):
            if p[key]:
                bits.append(f"{lbl}:{g(p[key], who, lbl)}")
        if p["residence_reason"]:
            bits.append(f"居住事由:{label('residence_reason', p['residence_reason'])}")
        if p["arrived_on"]:
            bits.append(f"来本地日期:{day(p['arrived_on'])}")
        if p["intended_stay"]:
            bits.append(f"拟居住期限:{g(p['intended_stay'], who, '拟居住期限')}")
        if p["residence_card_no"]:
            bits.append(f"居住证号:{m.id(g(p['residence_card_no'], who, '居住证号'))}")
        if p["assistance_type"]:
            bits.append(f"帮扶类型:{label('assistance_type', p['assistance_type'])}")
        if p["disability_category"] or p["disability_grade"]:
            bits.append("残疾:" + label("disability_category", p["disability_category"])
                        + label("disability_grade", p["disability_grade"]))
        if p["disability_cert_no"]:
            bits.append(f"残疾人证号:{m.id(g(p['disability_cert_no'], who, '残疾人证号'))}")
        if p["note"]:
            bits.append(f"备注:{g(p['note'], who, '备注')}")
        if bits:
            extra.append([name, ";".join(bits)])

    house_pairs = None
    if house is not None:
        hw = f"{here} 的房屋"
        house_pairs = [
            ("房屋地址", addr_text), ("房屋用途", label("house_use", house["use"])),
            ("房屋性质", label("house_nature", house["nature"])), ("建筑面积", num(house["area_m2"], " 平方米")),
            ("户型", g(house["layout"], hw, "户型")), ("建成年份", num(house["built_year"])),
            ("产权证号", g(house["title_no"], hw, "产权证号")), ("发证日期", day(house["title_date"])),
            ("房主", g(house["owner_name"], hw, "房主姓名")), ("房主证件号码", m.id(house["owner_cert_no"])),
            ("房主电话", m.phone(house["owner_phone"])),
        ]
        if house["use"] == "2" or house["tenant_name"] or house["rent_start"]:
            house_pairs += [
                ("承租人", g(house["tenant_name"], hw, "承租人")), ("起租日期", day(house["rent_start"])),
                ("租期", num(house["rent_months"], " 个月")), ("月租金", money(house["rent_monthly"], " 元")),
                ("出租间数", num(house["rent_rooms"], " 间")), ("已登记备案", yes_no(house["rent_registered"])),
                ("已签治安责任书", yes_no(house["security_pledge"])),
            ]
        if house["note"]:
            house_pairs.append(("备注", g(house["note"], hw, "备注")))
        if len(house_pairs) % 2:
            house_pairs.append(("", ""))

    names = {p["id"]: p for p in members}
    vehicles = []
    for v in data["vehicles"]:
        vw = f"{here} 车辆 {v['plate_no']}"
        owner = names.get(v["owner_person_id"])
        vehicles.append([
            g(v["plate_no"], vw, "号牌号码"), label("plate_type", v["plate_type"]),
            label("vehicle_type", v["vehicle_type"]), g(v["brand"], vw, "品牌型号"), g(v["colour"], vw, "车身颜色"),
            g(owner["name"], vw, "车主") if owner else "", g(v["parking"], vw, "停放位置"),
        ])
    units = []
    for u in data["units"]:
        uw = f"{here} 同址单位“{u['name']}”"
        units.append([
            g(u["name"], uw, "单位名称"), u["uscc"] or "", g(u["kind"], uw, "单位类型"),
            g(u["legal_person"], uw, "法定代表人"), m.phone(u["contact_phone"]), num(u["employees"]),
        ])
    visits = []
    for v in data["visits"]:
        vw = f"{here} {day(v['visited_on'])} 的走访记录"
        needs = "\n".join(
            f"[{label('need_category', n['category'])}]{g(n['content'], vw, '诉求内容')}"
            f"({NEED_STATUS.get(n['status'], n['status'] or '')})"
            for n in v["needs"]
        )
        done = [g(v["actions"], vw, "办理情况")] if v["actions"] else []
        if v["follow_up_on"]:
            done.append(f"跟进日期 {day(v['follow_up_on'])}")
        if v["return_visit"]:
            done.append(f"回访:{g(v['return_visit'], vw, '回访情况')}")
        method = label("visit_method", v["method"])
        if v["duration_min"]:
            method += f" {v['duration_min']}分钟"
        visitor = g(users.get(v["visitor"]) or v["visitor"], vw, "走访人")
        if v["companions"]:
            visitor += f"(同行:{g(v['companions'], vw, '同行人员')})"
        visits.append([
            day(v["visited_on"]), method, visitor, g(v["situation"], vw, "家庭情况"), needs,
            ";".join(done), label("satisfaction", v["satisfaction"]),
        ])
    events = []
    for e in data["events"]:
        ew = f"{here} 事件“{e['title']}”"
        events.append([
            minute(e["reported_at"]), g(e["title"], ew, "事件标题"), label("event_category", e["category"]),
            label("event_state", e["state"]), g(e["responsible_unit"], ew, "责任单位"), day(e["deadline"]),
            label("event_source", e["source"]),
        ])
    ledgers = []
    for x in data["ledgers"]:
        xw = f"{here} {x['period']} 户情台账"
        work = ";".join(t for t in (
            g(x["farming"], xw, "种植情况"), g(x["breeding"], xw, "养殖情况"), g(x["work_notes"], xw, "务工就业情况"),
        ) if t)
        ledgers.append([
            x["period"] or "", money(x["income_total"]), money(x["income_wage"]), money(x["income_business"]),
            money(x["income_farming"]), money(x["income_transfer"]), num(x["workers"]), work,
        ])

    when = printed_at.strftime("%Y-%m-%d %H:%M")
    who_printed = guard.printable(printed_by)
    cover = [
        ("社区", community_name), ("网格", f"{grid_name}({data['grid'].get('code', '')})"),
        ("地址", addr_text), ("户号", hh_no), ("户主", head_name or "(未指定)"),
        ("家庭人数", f"{len(members)} 人"), ("打印人", who_printed), ("打印时间", when),
        ("信息脱敏", PRIVACY_FULL if unmask else PRIVACY_MASKED),
    ]
    summary = (
        f"本档案包括:户基本情况;家庭成员 {len(members)} 人;房屋情况;车辆 {len(vehicles)} 辆;"
        f"同址单位 {len(units)} 个;走访记录 {len(visits)} 次;在办事件 {len(events)} 件;"
        f"户情台账 {len(ledgers)} 期。"
    )
    # the footer names the household and the day it was printed (a reader compares two printouts
    # by date, not by the records' internal version counters)
    versions = f"户号 {hh_no} · 打印日期 {printed_at.strftime('%Y-%m-%d')}"
    return ArchiveContent(
        household_id=hh["id"], grid_id=hh["grid_id"], grid_code=data["grid"].get("code", ""),
        hh_no=hh_no, head_name=head_name, cover=cover, summary=summary, facts=facts,
        missing=[g(x, here, "待补充信息") for x in data["missing"]], members=rows, member_extra=extra,
        house=house_pairs, vehicles=vehicles, units=units, visits=visits, events=events, ledgers=ledgers,
        versions=versions, header=f"户档案 · 户号 {hh_no} · 户主 {head_name or '未指定'} · {addr_text}",
        printed=f"{who_printed} 打印于 {when} · {'未脱敏' if unmask else '已脱敏'}",
        notes=list(g.notes[notes_before:]),
    )


