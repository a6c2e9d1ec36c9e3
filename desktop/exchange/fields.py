"""What an import file's columns can mean, per kind: field keys, Chinese labels, header synonyms.

A field is either a column of the kind's table (validated by the core's `clean`) or one of the
import's own helpers: the grid (by name or code), the address parts used to find or create the
standard address and house, the 户号 used to group people into households, the head, owner or
household a row refers to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from desktop import kinds
from desktop.kinds import field_label as kind_field_label
from desktop.kinds import import_labels


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    column: bool = True  # a column of the kind's table (else an import helper)
    priority: int = 0  # wins over other fields matching the same header equally well


def _col(kind: str, key: str, *synonyms: str, label: str | None = None) -> Field:
    return Field(key, label or kind_field_label(kind, key), synonyms)


def _aux(key: str, label: str, *synonyms: str, priority: int = 0) -> Field:
    return Field(key, label, synonyms, column=False, priority=priority)


GRID = _aux("grid", "网格", "网格", "所属网格", "网格名称", "网格名", "所在网格")
GRID_CODE = _aux("grid", "网格代码", "网格代码", "网格编码", "网格编号", priority=1)
ADDRESS = (
    _aux("address", "地址全称", "现住址", "居住地址", "住址", "现居住地址", "家庭住址", "地址", "详细地址",
         "现居住地", "居住地", "现住地址", "房屋地址", "地址全称", "标准地址", "单位地址", "经营地址"),
    _aux("estate", "小区", "小区", "小区名称", "街路巷", "小区/街路巷", "小区(街路巷)", "街路巷(小区)", "所在小区"),
    _aux("building", "楼栋", "楼栋", "栋", "楼号", "栋号", "幢", "楼栋号", "幢号", "楼"),
    _aux("unit", "单元", "单元", "单元号"),
    _aux("room", "户室", "户室", "房号", "门牌", "门牌号", "室", "房间号", "室号", "户室号", "房间"),
)
HH_NO = _aux("hh_no", "户号", "户号", "户编号", "家庭编号", "户编码", "家庭户号")

IMPORT_FIELDS: dict[str, tuple[Field, ...]] = {
    "person": (
        _col("person", "name", "姓名", "名字", "人员姓名", "居民姓名", "姓 名"),
        _col("person", "cert_type", "证件类型", "证件种类"),
        _col("person", "cert_no", "证件号码", "公民身份号码", "身份证号", "身份证号码", "身份证", "证件号",
             "身份号码", "居民身份证号码", "公民身份证号码", "身份证件号码"),
        _col("person", "gender", "性别"),
        _col("person", "birth_date", "出生日期", "出生年月", "出生年月日", "生日", "出生时间"),
        _col("person", "ethnicity", "民族"),
        _col("person", "phone", "联系电话", "手机号", "手机号码", "电话", "联系方式", "手机", "电话号码"),
        _col("person", "relation", "与户主关系", "关系", "家庭关系", "与户主的关系"),
        _col("person", "person_type", "人员类型", "人口类型", "人员类别", "人口类别"),
        _col("person", "hukou_address", "户籍地址", "户籍地", "户籍所在地", "户口所在地", "户籍详址", "户籍地详址"),
        _col("person", "education", "文化程度", "学历"),
        _col("person", "political", "政治面貌"),
        _col("person", "marital", "婚姻状况", "婚姻状态", "婚姻"),
        _col("person", "religion", "宗教信仰", "宗教"),
        _col("person", "health", "健康状况", "身体状况"),
        _col("person", "employment", "就业状况", "就业情况", "就业状态"),
        _col("person", "employer", "工作单位", "就业单位", "服务处所", "工作单位名称", "工作单位(学校)"),
        _col("person", "occupation", "职业"),
        _col("person", "residence_reason", "居住事由", "暂住事由", "来本地事由"),
        _col("person", "arrived_on", "来本地日期", "来本地时间", "到达日期", "来本地居住日期"),
        _col("person", "intended_stay", "拟居住期限", "拟住期限", "拟居住时间"),
        _col("person", "residence_card_no", "居住证号", "居住证号码", "居住证编号"),
        _col("person", "residence_card_until", "居住证有效期至", "居住证有效期", "居住证到期日期", "居住证有效期限"),
        _col("person", "no_cert_reason", "无证件原因", "无证件说明", "无身份证原因"),
        _col("person", "verified_on", "核实日期", "最近核实日期"),
        _col("person", "marks", "关注标识", "人员标签", "标签", "关注类别", "重点人群"),
        _col("person", "assistance_type", "帮扶类型", "救助类型"),
        _col("person", "disability_category", "残疾类别"),
        _col("person", "disability_grade", "残疾等级"),
        _col("person", "disability_cert_no", "残疾人证号", "残疾证号"),
        _col("person", "native_region", "籍贯代码", "户籍地区划代码", label="籍贯(行政区划代码)"),
        _col("person", "note", "备注"),
        GRID, GRID_CODE, HH_NO,
        _aux("hh_type", "户别", "户别", "户类型", "户口类别"),
        *ADDRESS,
    ),
    "household": (
        _col("household", "hh_no", "户号", "户编号", "家庭编号", "户编码"),
        _col("household", "hh_type", "户别", "户类型", "户口类别"),
        _col("household", "phone", "联系电话", "户主电话", "电话", "手机号", "联系方式"),
        _col("household", "note", "备注"),
        _aux("head_name", "户主姓名", "户主姓名", "户主", "户主名字"),
        _aux("head_cert_no", "户主证件号码", "户主身份证号", "户主身份证号码", "户主公民身份号码", "户主证件号码"),
        GRID, GRID_CODE, *ADDRESS,
    ),
    "house": (
        _col("house", "area_m2", "建筑面积", "面积", "房屋面积", "建筑面积(平方米)", "面积(㎡)"),
        _col("house", "layout", "户型"),
        _col("house", "built_year", "建成年份", "建成年代", "建造年份"),
        _col("house", "use", "房屋用途", "用途", "使用情况", "房屋使用情况"),
        _col("house", "nature", "房屋性质", "性质", "房屋类别", "产权性质"),
        _col("house", "title_no", "产权证号", "房产证号", "不动产权证号", "权证号"),
        _col("house", "title_date", "发证日期"),
        _col("house", "owner_name", "房主姓名", "房主", "产权人", "业主", "业主姓名", "所有权人"),
        _col("house", "owner_cert_no", "房主证件号码", "房主身份证号", "产权人身份证号", "业主身份证号", "房主身份证号码"),
        _col("house", "owner_phone", "房主电话", "业主电话", "房主联系电话", "产权人电话"),
        _col("house", "tenant_name", "承租人", "租户", "租户姓名", "承租人姓名"),
        _col("house", "rent_start", "租赁开始日期", "起租日期", "租赁日期"),
        _col("house", "rent_months", "租期(月)", "租期", "租赁期限"),
        _col("house", "rent_monthly", "月租金", "租金"),
        _col("house", "rent_rooms", "出租间数"),
        _col("house", "rent_registered", "已登记备案", "是否备案", "租赁备案"),
        _col("house", "security_pledge", "已签治安责任书", "治安责任书"),
        _col("house", "note", "备注"),
        GRID, GRID_CODE, *ADDRESS,
    ),
    "vehicle": (
        _col("vehicle", "plate_no", "号牌号码", "车牌号", "车牌号码", "车牌", "号牌"),
        _col("vehicle", "plate_type", "号牌种类", "车牌类型", "号牌类型"),
        _col("vehicle", "vehicle_type", "车辆类型", "车型"),
        _col("vehicle", "brand", "品牌型号", "品牌", "厂牌型号"),
        _col("vehicle", "colour", "车身颜色", "颜色"),
        _col("vehicle", "vin", "车辆识别代号", "车架号", "VIN"),
        _col("vehicle", "parking", "停放位置", "停车位置", "车位"),
        _col("vehicle", "note", "备注"),
        _aux("owner_name", "车主姓名", "车主姓名", "车主", "所有人"),
        _aux("owner_cert_no", "车主证件号码", "车主身份证号", "车主身份证号码", "车主证件号码", "所有人身份证号"),
        HH_NO, GRID, GRID_CODE,
    ),
    "org_unit": (
        _col("org_unit", "name", "单位名称", "名称", "企业名称", "商户名称", "店名"),
        _col("org_unit", "uscc", "统一社会信用代码", "信用代码", "社会信用代码", "营业执照号"),
        _col("org_unit", "kind", "单位类型", "类型", "单位性质", "企业类型"),
        _col("org_unit", "legal_person", "法定代表人", "法人", "负责人", "法人代表"),
        _col("org_unit", "contact_phone", "联系电话", "电话", "联系方式", "手机号"),
        _col("org_unit", "employees", "从业人数", "员工人数", "职工人数", "人数"),
        _col("org_unit", "note", "备注"),
        GRID, GRID_CODE, *ADDRESS,
    ),
    "visit": (
        _col("visit", "visited_on", "走访日期", "走访时间", "日期"),
        _col("visit", "duration_min", "时长(分钟)", "时长", "走访时长"),
        _col("visit", "visitor", "走访人", "走访人员", "网格员"),
        _col("visit", "companions", "同行人员", "陪同人员"),
        _col("visit", "method", "走访方式", "方式"),
        _col("visit", "situation", "家庭情况", "走访情况", "基本情况", "民情记录"),
        _col("visit", "actions", "办理情况", "处理情况", "办理结果"),
        _col("visit", "follow_up_on", "跟进日期"),
        _col("visit", "return_visit", "回访情况"),
        _col("visit", "satisfaction", "满意度", "群众满意度"),
        _aux("need_category", "诉求类别", "诉求类别", "诉求类型"),
        _aux("need", "诉求内容", "诉求内容", "诉求", "群众诉求", "反映问题"),
        HH_NO,
        _aux("head_name", "户主姓名", "户主姓名", "户主", "走访户", "被走访人"),
        _aux("head_cert_no", "户主证件号码", "户主身份证号", "户主身份证号码", "户主证件号码"),
        GRID, GRID_CODE, *ADDRESS,
    ),
    "area": (
        _aux("community", "社区", "社区", "社区名称", "所属社区"),
        _aux("community_code", "社区代码", "社区代码", "社区编码", "社区编号", priority=1),
        _aux("grid_name", "网格", "网格", "网格名称", "所属网格", "网格名"),
        _aux("grid_code", "网格代码", "网格代码", "网格编码", "网格编号", priority=1),
        *ADDRESS[1:],
        _aux("units", "单元数", "单元数", "单元数量", "单元个数"),
        _aux("floors", "层数", "层数", "楼层数", "总层数"),
        _aux("per_floor", "每层户数", "每层户数", "每层户室数", "每层几户", "一梯几户"),
        _aux("note", "备注", "备注", "说明"),
    ),
}

# Headers that never carry data for an import (numbering, derived or ignored columns).
IGNORED_HEADERS = frozenset({
    "序号", "编号", "no", "no.", "错误原因", "未通过原因", "原行号", "年龄", "自动标识", "导入结果", "说明",
})
# Headers that start like this name someone else's attributes (the head's name, the owner's ID...):
# they are only matched by a synonym that starts the same way.
_OTHER_PERSON = ("户主", "房主", "车主", "业主", "产权人", "法定代表人", "法人", "承租人")


def normalize_header(text: object) -> str:
    """Full-width to half-width, no spaces, no required-marks, no trailing colon; lower case."""
    t = unicodedata.normalize("NFKC", str(text or "")).strip()
    t = re.sub(r"\s+", "", t)
    t = t.strip("*★※:").replace("*", "")
    t = re.sub(r"\((必填|选填|可选|必须填写|非必填)\)$", "", t)
    return t.lower()


def _without_note(t: str) -> str:
    """"联系电话(手机)" -> "联系电话"."""
    return re.sub(r"\(.*?\)$", "", t)


@dataclass(frozen=True)
class _Match:
    field: Field
    score: float


def match_header(kind: str, header: object) -> _Match | None:
    """The best field for one header, with a score (exact synonym 100+, contained 50+)."""
    return _match(kind, normalize_header(header))


@lru_cache(maxsize=4096)
def _match(kind: str, h: str) -> _Match | None:
    if not h or h in IGNORED_HEADERS:
        return None
    bare = _without_note(h)
    best: _Match | None = None
    for f in import_fields(kind):
        for syn in (f.label, *f.synonyms):
            s = normalize_header(syn)
            if h == s or bare == s:
                score: float = 100 + f.priority + (1 if h == s else 0)
            elif len(s) >= 2 and s in bare and (not bare.startswith(_OTHER_PERSON) or s.startswith(_OTHER_PERSON)):
                score = 50 + len(s) / max(len(bare), 1) * 10 + f.priority
            else:
                continue
            if best is None or score > best.score:
                best = _Match(f, score)
    return best


def suggest_mapping(kind: str, headers: list[str]) -> dict[int, str | None]:
    """Column index -> field key (None: ignore). Each field is given to one column only: the one
    whose header matches it best (e.g. 网格代码 beats 网格 for the grid)."""
    _check_kind(kind)
    matches = {i: match_header(kind, h) for i, h in enumerate(headers)}
    out: dict[int, str | None] = dict.fromkeys(range(len(headers)))
    taken: set[str] = set()
    ranked = sorted((m.score, -i, i, m.field.key) for i, m in matches.items() if m is not None)
    for _score, _neg, i, key in reversed(ranked):
        if key not in taken:
            out[i] = key
            taken.add(key)
    return out


def field_choices(kind: str) -> list[tuple[str, str]]:
    """(field key, Chinese label) of every field a column can be mapped to, in form order."""
    _check_kind(kind)
    seen: dict[str, str] = {}
    for f in import_fields(kind):
        seen.setdefault(f.key, f.label)
    return list(seen.items())


def field_label(kind: str, key: str) -> str:
    return dict(field_choices(kind)).get(key, key)


def known_header_score(headers: Sequence[object], kinds: tuple[str, ...] | None = None) -> float:
    """How much a row looks like a header row: distinct fields matched (exact 1, contained 0.5)."""
    best = 0.0
    for kind in kinds or tuple(import_labels()):
        fields: dict[str, float] = {}
        for h in headers:
            if not isinstance(h, str) or not h.strip():
                continue
            m = match_header(kind, h)
            if m is not None:
                fields[m.field.key] = max(fields.get(m.field.key, 0.0), 1.0 if m.score >= 100 else 0.5)
        best = max(best, sum(fields.values()))
    return best


def exact_header(headers_kind: tuple[str, ...] | None, text: object) -> bool:
    """True when `text` is exactly a known header (used to recognise a second header row)."""
    if not isinstance(text, str) or not text.strip():
        return False
    return any(
        (m := match_header(kind, text)) is not None and m.score >= 100
        for kind in headers_kind or tuple(import_labels())
    )


def import_fields(kind: str) -> tuple[Field, ...]:
    """The fields of an importable kind: the tuned table above, or for a kind added by one
    registry entry, its grid and every labelled column that is typed (not an id, not derived)."""
    fields = IMPORT_FIELDS.get(kind)
    if fields is not None:
        return fields
    entry = kinds.get(kind)
    return (GRID, GRID_CODE, *(
        _col(kind, column) for column in entry.fields
        if column != "grid_id" and not column.endswith("_id") and column not in entry.derived
    ))


def _check_kind(kind: str) -> None:
    if kind not in import_labels():
        from desktop.services.errors import ServiceError

        raise ServiceError(f"不支持导入的类型:{kind}")
