"""Blank import workbooks: the expected headers, one example row (synthetic: the ID number has a
valid check character but is the fixed example number the importer skips) and a sheet with the
code-table values to choose from."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from desktop.exchange.base_importer import EXAMPLE_CERT
from desktop.exchange.fields import field_choices, import_fields
from desktop.exchange.formulas import inert
from desktop.exchange.xlsxout import Col, Workbook, width_for
from desktop.kinds import choices_text, code_fields, import_labels, model
from desktop.models import BOOKKEEPING_COLUMNS
from desktop.services.errors import ServiceError
from desktop.validation import code_table, uscc_check_char

_USCC17 = "91620104MA7" + "ABCD12"
EXAMPLE_USCC = _USCC17 + uscc_check_char(_USCC17)

# (field key, header, example value); the header is what the importer suggests for the field
TEMPLATE_COLUMNS: dict[str, list[tuple[str, str, Any]]] = {
    "person": [
        ("name", "姓名", "张示例"), ("cert_no", "公民身份号码", EXAMPLE_CERT), ("gender", "性别", "男"),
        ("birth_date", "出生日期", date(1985, 3, 2)), ("ethnicity", "民族", "汉族"),
        ("phone", "联系电话", "13800000000"), ("relation", "与户主关系", "户主"), ("hh_no", "户号", "示例0001"),
        ("grid", "网格", "第1网格"), ("estate", "小区", "幸福小区"), ("building", "楼栋", "3"), ("unit", "单元", "1"),
        ("room", "户室", "101"), ("person_type", "人员类型", "户籍人口"), ("hukou_address", "户籍地址", "甘肃省兰州市西固区"),
        ("education", "文化程度", "大学本科"), ("political", "政治面貌", "群众"), ("marital", "婚姻状况", "已婚"),
        ("employment", "就业状况", "在业"), ("employer", "工作单位", "示例公司"), ("occupation", "职业", "职员"),
        ("residence_reason", "居住事由", ""), ("arrived_on", "来本地日期", ""), ("residence_card_no", "居住证号", ""),
        ("marks", "关注标识", ""), ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "household": [
        ("hh_no", "户号", "示例0001"), ("hh_type", "户别", "家庭户"), ("head_name", "户主姓名", "张示例"),
        ("head_cert_no", "户主身份证号", EXAMPLE_CERT), ("phone", "联系电话", "13800000000"),
        ("grid", "网格", "第1网格"), ("estate", "小区", "幸福小区"), ("building", "楼栋", "3"), ("unit", "单元", "1"),
        ("room", "户室", "101"), ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "house": [
        ("grid", "网格", "第1网格"), ("estate", "小区", "幸福小区"), ("building", "楼栋", "3"), ("unit", "单元", "1"),
        ("room", "户室", "101"), ("use", "房屋用途", "自住"), ("nature", "房屋性质", "商品房"), ("area_m2", "建筑面积", 89.5),
        ("layout", "户型", "两室一厅"), ("built_year", "建成年份", 2005), ("title_no", "产权证号", ""),
        ("owner_name", "房主姓名", "张示例"), ("owner_cert_no", "房主身份证号", EXAMPLE_CERT),
        ("owner_phone", "房主电话", "13800000000"), ("tenant_name", "承租人", ""), ("rent_start", "租赁开始日期", ""),
        ("rent_months", "租期(月)", ""), ("rent_monthly", "月租金", ""), ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "area": [
        ("community", "社区", "兰化22街区社区"), ("community_code", "社区代码", "620104001001"),
        ("grid_name", "网格", "第1网格"), ("grid_code", "网格代码", "62010400100101"), ("estate", "小区", "幸福小区"),
        ("building", "楼栋", "3"), ("units", "单元数", 3), ("floors", "层数", 6), ("per_floor", "每层户数", 2),
        ("unit", "单元", ""), ("room", "户室", ""), ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "vehicle": [
        ("plate_no", "号牌号码", "甘A12345"), ("plate_type", "号牌种类", "小型汽车"), ("vehicle_type", "车辆类型", "小型轿车"),
        ("brand", "品牌型号", "示例牌"), ("colour", "车身颜色", "白"), ("owner_name", "车主姓名", "张示例"),
        ("owner_cert_no", "车主身份证号", EXAMPLE_CERT), ("hh_no", "户号", ""), ("grid", "网格", "第1网格"),
        ("parking", "停放位置", "小区地面车位"), ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "org_unit": [
        ("name", "单位名称", "示例便民超市"), ("uscc", "统一社会信用代码", EXAMPLE_USCC), ("kind", "单位类型", "个体工商户"),
        ("legal_person", "法定代表人", "张示例"), ("contact_phone", "联系电话", "13800000000"), ("employees", "从业人数", 3),
        ("grid", "网格", "第1网格"), ("address", "单位地址", "幸福小区3栋1单元101室"),
        ("note", "备注", "示例行,导入时自动跳过,可删除"),
    ],
    "visit": [
        ("visited_on", "走访日期", date(2026, 1, 15)), ("hh_no", "户号", "示例0001"),
        ("head_cert_no", "户主身份证号", EXAMPLE_CERT), ("method", "走访方式", "入户"), ("visitor", "走访人", ""),
        ("companions", "同行人员", ""), ("duration_min", "时长(分钟)", 30), ("situation", "家庭情况", "家庭和睦,生活正常"),
        ("need_category", "诉求类别", "就业"), ("need", "诉求内容", "希望了解公益性岗位"), ("actions", "办理情况", "已登记,转社区就业服务"),
        ("follow_up_on", "跟进日期", ""), ("satisfaction", "满意度", "满意"),
    ],
}
EXAMPLE_KEYS = {"area": "note", "person": "cert_no", "household": "head_cert_no", "house": "owner_cert_no",
                "vehicle": "owner_cert_no", "org_unit": "uscc", "visit": "head_cert_no"}
REQUIRED = {"area": set(), "person": {"name"}, "household": set(), "house": {"estate"}, "vehicle": {"plate_no"},
            "org_unit": {"name"}, "visit": {"hh_no"}}


def write_template(kind: str, out: str | Path) -> Path:
    """A blank workbook for importing `kind` (an importable kind of desktop/kinds.py); returns the path written."""
    if kind not in import_labels():
        raise ServiceError(f"没有“{kind}”的导入模板(可选:{choices_text(import_labels())})")
    out = Path(out)
    cols = TEMPLATE_COLUMNS.get(kind) or _generic_columns(kind)
    known = {f.key for f in import_fields(kind)}
    assert all(k in known for k, _h, _v in cols), kind
    example = kind in TEMPLATE_COLUMNS  # a kind added by one registry entry has no example row
    book = Workbook(out, constant_memory=False)
    kinds_of = {"birth_date": "date", "arrived_on": "date", "visited_on": "date", "follow_up_on": "date",
                "rent_start": "date", "area_m2": "number", "built_year": "int", "employees": "int",
                "duration_min": "int", "rent_months": "int", "rent_monthly": "number",
                "units": "int", "floors": "int", "per_floor": "int"}
    required = REQUIRED[kind] if kind in REQUIRED else _required_columns(kind)
    headers = [f"{h}*" if k in required else h for k, h, _v in cols]
    sheet = book.sheet(
        f"{import_labels()[kind]}信息",
        [Col(h, width_for(h, [v]), kinds_of.get(k, "text")) for (k, _h, v), h in zip(cols, headers, strict=True)],
        title=f"{import_labels()[kind]}信息导入模板(带*的列必填;"
              + ("第3行是示例,导入时自动跳过;" if example else "") + "代码类的列可填名称或代码,见“填写说明”)",
    )
    if example:
        sheet.write([v if v != "" else None for _k, _h, v in cols])
    # code values to choose from: a drop-down per code column, fed from the 填写说明 sheet
    codes = code_fields(kind)
    help_rows: list[tuple[str, str, list[str]]] = []
    for i, (k, h, _v) in enumerate(cols):
        table = codes.get(k) or {"hh_type": "household_type"}.get(k)
        if table:
            help_rows.append((h, table, code_table(table).labels()))
            col_letter = xl_col_to_name(len(help_rows) - 1)
            n = len(code_table(table).labels())
            sheet.ws.data_validation(sheet.header_row + 1, i, sheet.header_row + 1000, i, {
                "validate": "list", "source": f"='填写说明'!${col_letter}$3:${col_letter}${n + 2}",
                "error_type": "warning", "error_title": "不在代码表中",
                "error_message": "该值不在代码表中,导入时会报错;也可以填写代码",
            })
    help_ws = book.wb.add_worksheet("填写说明")
    help_ws.write_string(0, 0, "下列各列可从下拉框选择,也可填写代码或常见写法(如“汉”“男”“1”);"
                               "日期可写 1985-03-02、1985/3/2、1985.3.2、19850302 或 1985年3月2日", book.f_title)
    for c, (h, _table, labels) in enumerate(help_rows):
        help_ws.write_string(1, c, inert(h), book.f_head)
        help_ws.set_column(c, c, max(10, max((len(x) for x in labels), default=4) * 2 + 2))
        for r, label_ in enumerate(labels):
            help_ws.write_string(r + 2, c, inert(label_))
    book.close()
    return out


def _generic_columns(kind: str) -> list[tuple[str, str, str]]:
    """A kind without a tuned template: every field it imports, under its label, no example."""
    return [(key, label, "") for key, label in field_choices(kind)]


def _required_columns(kind: str) -> set[str]:
    table = model(kind).__table__
    return {c.key for c in table.c
            if not c.nullable and c.default is None and not c.primary_key and c.key != "grid_id"
            and c.key not in BOOKKEEPING_COLUMNS}
