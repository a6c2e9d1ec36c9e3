"""The registry of record kinds: one entry per kind, and every surface reads it.

A *kind* is one sort of record the grid keeps (人员, 房屋, 走访记录 …), stored in one table. Its
entry here says, once:

1. ``key`` — its one spelling everywhere: the table name, the service argument, the command line
   (``gridledger import person``), file names and settings. Always singular.
2. ``model`` — the SQLAlchemy class.
3. ``label`` — what the record is called in a sentence (“找不到该人员”); ``list_title`` the list
   page's heading and navigation entry; ``search_label`` the tag of a search hit.
4. ``fields`` — each column's Chinese label, in form order; ``code_fields`` the columns stored as a
   national code and shown by its label (code table name).
5. ``required`` — the fields a complete record has (信息完整率 and the 数据质量 queue,
   desktop.services.quality): column -> the name of the condition under which it is required
   (None: always). The conditions are defined, in SQL and in words, in
   ``desktop.services.quality.CONDITIONS``.
6. ``live_checks`` — fields checked as they are typed (ID number, phone, plate, credit code).
7. ``derived`` — columns the services compute (never typed, never imported).
8. Surfaces: ``listed`` (a list page, with ``list_hint``, ``new_label``, ``date_label``),
   ``searchable`` (with ``search_columns`` for the kinds that have no index of their own),
   ``importable`` (an Excel import and its template), ``export_ledger`` and ``print_ledger``
   (the keys of its ledgers in ``LEDGERS``).

The services and the layers above turn an entry into behaviour: ``desktop.services.lists`` shows a
listed kind (with its own tuned query where it has one, else one derived from ``fields``),
``desktop.services.search`` finds a searchable kind, ``desktop.exchange`` imports and exports it,
``desktop.printing`` prints its ledger. tests/core/test_kinds.py walks this registry across every
surface, and adds a throwaway kind to prove that one entry (plus model, migration and form) is
enough. README.md, “How to add a record kind”, lists the files.

Ledgers (``LEDGERS``) are the offices' tables over one kind (人员台账, 流动人口花名册 …): each has one
key and one title, whether it is printed as a PDF or exported to Excel.

Old spellings (``visits``, ``key_persons``, ``houses`` …) are accepted on the command line through
``ALIASES``, with a note that names the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from desktop.models import (
    Address,
    Area,
    Attachment,
    Base,
    Dispute,
    EventStep,
    GridEvent,
    House,
    Household,
    HouseholdLedger,
    LifeEvent,
    MapShape,
    OrgUnit,
    Person,
    User,
    UserGrid,
    Vehicle,
    Visit,
    VisitNeed,
    VisitRule,
)
from desktop.validation import check_id_number, check_phone, check_plate, check_uscc

Checker = Callable[[str], Any]


@dataclass(frozen=True)
class Kind:
    key: str
    model: type[Base]
    label: str
    fields: dict[str, str]
    code_fields: dict[str, str] = field(default_factory=dict)
    live_checks: dict[str, Checker] = field(default_factory=dict)
    required: dict[str, str | None] = field(default_factory=dict)
    derived: tuple[str, ...] = ()
    sensitive: frozenset[str] = frozenset()  # shown masked; the full value only through privacy.reveal
    # the list page
    listed: bool = False
    list_title: str | None = None
    list_hint: str | None = None
    new_label: str | None = None
    date_label: str | None = None
    list_columns: tuple[str, ...] = ()  # for a kind without a tuned list query: shown columns
    # search
    searchable: bool = False
    search_label: str | None = None
    search_columns: tuple[str, ...] = ()  # for a kind without a search index: matched columns
    search_rank: int = 9  # ties between hits of equal score: lower rank first
    # Excel and print
    importable: bool = False
    natural_key: tuple[str, ...] = ()  # columns that identify a registered record (generic import)
    export_ledger: str | None = None
    print_ledger: str | None = None
    # photos: purpose code -> label, the first offered by default (empty: no photos)
    photo_purposes: dict[str, str] = field(default_factory=dict)

    def label_of(self, column: str) -> str:
        return self.fields.get(column, column)

    @property
    def title(self) -> str:
        """The list heading (falls back to the label)."""
        return self.list_title or self.label


@dataclass(frozen=True)
class Ledger:
    key: str
    title: str
    kind: str
    exportable: bool = False
    printable: bool = False


_GRID = {"grid_id": "所属网格"}

_ENTRIES: tuple[Kind, ...] = (
    Kind(
        "area", Area, "区域",
        {"level": "层级", "code": "代码", "name": "名称", "parent_id": "上级", "note": "备注"},
        importable=True,  # the area tree: 社区, 网格, 小区, buildings and rooms (desktop/exchange/areas.py)
    ),
    Kind(
        "address", Address, "标准地址",
        {**_GRID, "code": "地址编码", "estate": "小区/街路巷", "building": "楼栋", "unit": "单元",
         "floor": "楼层", "room": "户室", "full_text": "地址全称", "longitude": "经度",
         "latitude": "纬度", "cancelled": "已注销"},
    ),
    Kind(
        "person", Person, "人员",
        {**_GRID, "household_id": "所属户", "house_id": "现住房屋", "name": "姓名",
         "cert_type": "证件类型", "cert_no": "证件号码", "gender": "性别", "birth_date": "出生日期",
         "ethnicity": "民族", "native_region": "籍贯", "phone": "联系电话",
         "person_type": "人员类型", "hukou_address": "户籍地址", "relation": "与户主关系",
         "education": "文化程度", "political": "政治面貌", "marital": "婚姻状况",
         "religion": "宗教信仰", "health": "健康状况", "employment": "就业状况",
         "employer": "工作单位", "occupation": "职业", "residence_reason": "居住事由",
         "arrived_on": "来本地日期", "intended_stay": "拟居住期限",
         "residence_card_no": "居住证号", "residence_card_until": "居住证有效期至",
         "no_cert_reason": "无证件原因", "verified_on": "核实日期", "merged_into": "已合并到", "marks": "关注标识", "derived_marks": "自动标识",
         "assistance_type": "帮扶类型", "disability_category": "残疾类别",
         "disability_grade": "残疾等级", "disability_cert_no": "残疾人证号", "note": "备注"},
        code_fields={
            "cert_type": "cert_type", "gender": "gender", "ethnicity": "ethnicity",
            "person_type": "person_type", "relation": "relation", "education": "education",
            "political": "political", "marital": "marital", "employment": "employment_status",
            "residence_reason": "residence_reason", "assistance_type": "assistance_type",
            "disability_category": "disability_category", "disability_grade": "disability_grade",
        },
        live_checks={"phone": check_phone},
        required={"name": None, "gender": None, "birth_date": None, "cert_no": "has_cert",
                  "phone": "head", "hukou_address": "floating", "arrived_on": "floating"},
        derived=("derived_marks", "name_py", "name_initials", "cert_no_rev", "phone_rev", "merged_into"),
        listed=True, list_title="人口", list_hint="姓名或地址", new_label="新建人员…",
        searchable=True, search_label="人员", search_rank=0, importable=True,
        export_ledger="person", print_ledger="key_person",
        photo_purposes={"photo": "本人照片"},
        sensitive=frozenset({"cert_no", "phone"}),
    ),
    Kind(
        "household", Household, "户",
        {**_GRID, "house_id": "所住房屋", "hh_no": "户号", "hh_type": "户别",
         "head_person_id": "户主", "phone": "联系电话", "note": "备注"},
        code_fields={"hh_type": "household_type"},
        live_checks={"phone": check_phone},
        required={"hh_no": None, "hh_type": None, "house_id": None},
        searchable=True, search_label="户", search_rank=1, importable=True,
        sensitive=frozenset({"phone"}),
    ),
    Kind(
        "house", House, "房屋",
        {**_GRID, "address_id": "房屋地址", "area_m2": "建筑面积", "layout": "户型",
         "built_year": "建成年份", "use": "房屋用途", "nature": "房屋性质", "title_no": "产权证号",
         "title_date": "发证日期", "owner_person_id": "房主", "owner_name": "房主姓名",
         "owner_cert_no": "房主证件号码", "owner_phone": "房主电话", "tenant_name": "承租人",
         "rent_start": "租赁开始日期", "rent_months": "租期(月)", "rent_monthly": "月租金",
         "rent_rooms": "出租间数", "rent_registered": "已登记备案",
         "security_pledge": "已签治安责任书", "note": "备注", "verified_on": "核实日期",
         "merged_into": "已合并到"},
        code_fields={"use": "house_use", "nature": "house_nature"},
        live_checks={"owner_phone": check_phone, "owner_cert_no": check_id_number},
        required={"address_id": None, "use": None, "owner_name": None, "area_m2": None},
        derived=("merged_into",),
        listed=True, list_title="房屋", list_hint="地址、房主或承租人", new_label="登记房屋…",
        searchable=True, search_label="房屋", search_rank=2, importable=True,
        export_ledger="house", print_ledger="house",
        photo_purposes={"house_front": "房屋外观", "door_plate": "门牌", "photo": "其他照片"},
        sensitive=frozenset({"owner_cert_no", "owner_phone"}),
    ),
    Kind(
        "vehicle", Vehicle, "车辆",
        {**_GRID, "owner_person_id": "车主", "household_id": "所属户", "plate_no": "号牌号码",
         "plate_type": "号牌种类", "vehicle_type": "车辆类型", "brand": "品牌型号",
         "colour": "车身颜色", "vin": "车辆识别代号", "parking": "停放位置", "note": "备注",
         "verified_on": "核实日期", "merged_into": "已合并到"},
        code_fields={"plate_type": "plate_type", "vehicle_type": "vehicle_type"},
        live_checks={"plate_no": check_plate},
        required={"plate_no": None, "plate_type": None, "vehicle_type": None},
        derived=("merged_into",),
        listed=True, list_title="车辆", list_hint="号牌、品牌或车主", new_label="登记车辆…",
        searchable=True, search_label="车辆", search_rank=3, importable=True,
        export_ledger="vehicle", print_ledger="vehicle",
        # the field asks for the plate photographed with the owner: offered first
        photo_purposes={"plate_with_owner": "车牌与车主合影", "photo": "车辆照片"},
    ),
    Kind(
        "org_unit", OrgUnit, "单位",
        {**_GRID, "address_id": "单位地址", "name": "单位名称", "uscc": "统一社会信用代码",
         "kind": "单位类型", "legal_person": "法定代表人", "contact_phone": "联系电话",
         "employees": "从业人数", "note": "备注"},
        live_checks={"uscc": check_uscc, "contact_phone": check_phone},
        required={"name": None, "uscc": None, "legal_person": None, "contact_phone": None},
        listed=True, list_title="单位", list_hint="单位名称、法定代表人或信用代码",
        new_label="登记单位…", importable=True, export_ledger="org_unit",
        photo_purposes={"photo": "单位照片"},
        sensitive=frozenset({"contact_phone"}),
    ),
    Kind(
        "visit", Visit, "走访记录",
        {**_GRID, "household_id": "走访户", "visited_on": "走访日期", "duration_min": "时长(分钟)",
         "visitor": "走访人", "companions": "同行人员", "method": "走访方式",
         "situation": "家庭情况", "actions": "办理情况", "follow_up_on": "跟进日期",
         "return_visit": "回访情况", "satisfaction": "满意度"},
        code_fields={"method": "visit_method", "satisfaction": "satisfaction"},
        listed=True, list_title="走访台账", list_hint="户主、地址、走访人或情况",
        new_label="登记走访…", date_label="走访日期", importable=True,
        export_ledger="visit", print_ledger="visit",
    ),
    Kind(
        "visit_need", VisitNeed, "走访诉求",
        {**_GRID, "visit_id": "所属走访", "category": "诉求类别", "content": "诉求内容",
         "status": "办理状态", "event_id": "转办事件"},
        code_fields={"category": "need_category"},
    ),
    Kind(
        "household_ledger", HouseholdLedger, "户情台账",
        {**_GRID, "household_id": "户", "period": "统计期", "income_total": "家庭总收入",
         "income_wage": "工资性收入", "income_business": "经营性收入",
         "income_farming": "种养殖收入", "income_transfer": "转移性收入", "farming": "种植情况",
         "breeding": "养殖情况", "workers": "务工人数", "work_notes": "务工就业情况"},
        export_ledger="household_ledger",
    ),
    Kind(
        "grid_event", GridEvent, "网格事件",
        {**_GRID, "address_id": "事发地址", "household_id": "相关户", "title": "事件标题",
         "category": "事件类别", "subcategory": "子类", "source": "事件来源",
         "description": "事件描述", "place": "发生地点", "responsible_unit": "责任单位",
         "handler": "处置人", "deadline": "办理期限", "state": "办理状态", "result_type": "办结类型",
         "satisfaction": "满意度", "reported_at": "上报时间", "reported_by": "上报人",
         "closed_at": "结案时间"},
        code_fields={"category": "event_category", "source": "event_source",
                     "result_type": "event_result_type", "satisfaction": "satisfaction",
                     "state": "event_state"},
        listed=True, list_title="网格事件", list_hint="标题、地点或责任单位", new_label="上报事件…",
        date_label="上报日期",
        photo_purposes={"photo": "现场照片"},
    ),
    Kind(
        "event_step", EventStep, "事件环节",
        {"state": "环节", "actor": "办理人", "acted_at": "办理时间", "note": "意见"},
    ),
    Kind(
        "dispute", Dispute, "矛盾纠纷",
        {**_GRID, "event_id": "关联事件", "dispute_type": "纠纷类型", "parties": "当事人",
         "place": "发生地点", "occurred_on": "发生日期", "people_involved": "涉及人数",
         "description": "纠纷简要情况", "mediator": "调解人", "result": "调解结果",
         "agreement_form": "协议形式", "fulfilled": "履行情况", "return_visit_on": "回访日期",
         "return_visit_note": "回访情况"},
        code_fields={"dispute_type": "dispute_type", "result": "dispute_result",
                     "agreement_form": "agreement_form"},
        listed=True, list_title="矛盾纠纷", list_hint="当事人、地点或调解人", new_label="登记纠纷…",
        date_label="发生日期",
    ),
    Kind(
        "app_user", User, "用户",
        {"username": "用户名", "display_name": "姓名", "role": "角色", "active": "启用",
         "phone": "联系电话", "password_hash": "密码"},
        code_fields={"role": "user_role"},
    ),
    Kind("user_grid", UserGrid, "网格分配", {"user_id": "用户", "grid_id": "网格"}),
    Kind("attachment", Attachment, "照片", {}),
    Kind(
        "visit_rule", VisitRule, "走访规则",
        {"target_kind": "对象类型", "target_value": "对象", "interval_days": "间隔(天)",
         "reason": "说明", "active": "启用"},
    ),
    Kind(
        "life_event", LifeEvent, "情况变化",
        {**_GRID, "household_id": "所属户", "person_id": "相关人员", "event_type": "变化类型",
         "occurred_on": "发生日期", "note": "备注"},
        date_label="发生日期",
    ),
    Kind(
        # 网格一张图: drawn or imported outlines (desktop.services.map_shapes); admins write them
        "map_shape", MapShape, "地图形状",
        {**_GRID, "what": "形状类型", "estate": "小区", "building": "楼栋", "space": "坐标空间",
         "geometry": "几何图形"},
    ),
)

LEDGERS: dict[str, Ledger] = {
    ledger.key: ledger
    for ledger in (
        Ledger("person", "人员台账", "person", exportable=True),
        Ledger("household_ledger", "户情台账", "household_ledger", exportable=True),
        Ledger("house", "实有房屋台账", "house", exportable=True, printable=True),
        Ledger("vehicle", "实有车辆台账", "vehicle", exportable=True, printable=True),
        Ledger("org_unit", "单位台账", "org_unit", exportable=True),
        Ledger("visit", "入户走访台账", "visit", exportable=True, printable=True),
        Ledger("key_person", "重点关注人员花名册", "person", exportable=True, printable=True),
        Ledger("floating", "流动人口花名册", "person", exportable=True, printable=True),
        Ledger("employment", "就业台账", "person", exportable=True),
        Ledger("visit_ontime", "按时走访统计表", "visit", exportable=True, printable=True),
    )
}

# Old command-line spellings -> the one key (kept working; the command line names the new one).
ALIASES: dict[str, str] = {
    "visits": "visit",
    "key_persons": "key_person",
    "houses": "house",
    "vehicles": "vehicle",
    "persons": "person",
    "people": "person",
}

_KINDS: dict[str, Kind] = {k.key: k for k in _ENTRIES}


class UnknownKind(KeyError):
    pass


def register(kind: Kind) -> None:
    """Add a kind (a plug-in or a test's throwaway kind). Its key must be new."""
    if kind.key in _KINDS:
        raise ValueError(f"kind {kind.key!r} is registered already")
    _KINDS[kind.key] = kind


def register_ledger(ledger: Ledger) -> None:
    if ledger.key in LEDGERS:
        raise ValueError(f"ledger {ledger.key!r} is registered already")
    LEDGERS[ledger.key] = ledger


def get(key: str) -> Kind:
    try:
        return _KINDS[key]
    except KeyError:
        raise UnknownKind(key) from None


def find(key: str) -> Kind | None:
    return _KINDS.get(key)


def all_kinds() -> Iterator[Kind]:
    return iter(tuple(_KINDS.values()))


def keys(*, where: Callable[[Kind], bool] | None = None) -> list[str]:
    return [k.key for k in _KINDS.values() if where is None or where(k)]


def label(key: str) -> str:
    """The kind's label (“人员”); an unknown key is shown as it is."""
    kind = _KINDS.get(key)
    return kind.label if kind else key


def field_label(key: str, column: str) -> str:
    kind = _KINDS.get(key)
    return kind.label_of(column) if kind else column


def code_fields(key: str) -> dict[str, str]:
    kind = _KINDS.get(key)
    return kind.code_fields if kind else {}


def model(key: str) -> type[Base]:
    return get(key).model


def listed() -> list[Kind]:
    return [k for k in _KINDS.values() if k.listed]


def searchable() -> list[Kind]:
    return [k for k in _KINDS.values() if k.searchable]


def photo_purposes() -> dict[str, dict[str, str]]:
    """Kinds that take photos: key -> {purpose: label}."""
    return {k.key: k.photo_purposes for k in _KINDS.values() if k.photo_purposes}


def importable() -> list[Kind]:
    return [k for k in _KINDS.values() if k.importable]


def ledgers(*, exportable: bool | None = None, printable: bool | None = None) -> list[Ledger]:
    return [
        ledger for ledger in LEDGERS.values()
        if (exportable is None or ledger.exportable == exportable)
        and (printable is None or ledger.printable == printable)
    ]


def ledger(key: str) -> Ledger:
    try:
        return LEDGERS[canonical(key)]
    except KeyError:
        raise UnknownKind(key) from None


def canonical(key: str) -> str:
    """The one key for `key`, which may be an old spelling (see ALIASES)."""
    return ALIASES.get(key, key)


def alias_note(key: str) -> str | None:
    """A note for the command line when an old spelling was used, else None."""
    new = ALIASES.get(key)
    return f"提示:“{key}”是旧的写法,已按“{new}”处理;以后请写 {new}。" if new else None


def import_labels() -> dict[str, str]:
    """Importable kinds: key -> label, in registry order."""
    return {k.key: k.label for k in _KINDS.values() if k.importable}


def ledger_titles(*, exportable: bool | None = None, printable: bool | None = None) -> dict[str, str]:
    """Ledgers: key -> title, in registry order."""
    return {led.key: led.title for led in ledgers(exportable=exportable, printable=printable)}


def choices_text(titles: dict[str, str]) -> str:
    """“visit(入户走访台账)、house(实有房屋台账)”: the keys a command accepts, with their names."""
    return "、".join(f"{k}({v})" for k, v in titles.items())
