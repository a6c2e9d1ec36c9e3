"""What a spreadsheet cell holds, turned into what the core's validation expects.

Excel gives numbers as floats (a phone 13812345678.0, a code 1.0), dates as date objects when
the cell is formatted as a date and as serial numbers (31108) when it is not, and 19850302 as a
number; CSV gives text. The core's `coerce` reads the usual written forms (1985-03-02,
1985/3/2, 1985.3.2, 19850302, 1985年3月2日); this module only does what needs the cell's type."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric
from sqlalchemy.sql.type_api import TypeEngine

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (with Excel's 1900 leap-year bug from 61 on)
MAX_SERIAL = 2958465  # 9999-12-31
_SERIAL_TEXT = re.compile(r"^\d{5}(\.0+)?$")
_WITH_TIME = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_YEAR_MONTH = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})月?|(\d{2}))$")


@dataclass(frozen=True)
class YearMonth:
    """A 出生年月 cell with no day (1985.03, 198503, 1985年3月)."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year}年{self.month}月"


class CellError(ValueError):
    """A cell that cannot be used as it is (the message is Chinese, without the field label)."""


def serial_to_date(value: float) -> date:
    return EXCEL_EPOCH + timedelta(days=int(value))


def as_text(value: Any) -> Any:
    """A text field's cell: numbers without the ".0", dates in ISO form, booleans as 是/否."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_date(value: Any, *, year_month: bool = False) -> Any:
    """A date field's cell: date objects pass; Excel serials and 19850302 as a number become a
    date or the digits; "1985-03-02 00:00:00" loses its time. With `year_month`, a month
    without a day gives a `YearMonth`."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if float(value).is_integer() and 10000101 <= value <= 99991231:
            return str(int(value))
        if year_month and float(value).is_integer() and 100001 <= value <= 999912:
            return _year_month(str(int(value)), value)
        if 1 <= value <= MAX_SERIAL:
            return serial_to_date(value)
        return as_text(value)
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().rstrip(".")
        if _SERIAL_TEXT.match(text):
            return serial_to_date(float(text))
        m = _WITH_TIME.match(text)
        if m:
            return m.group(1)
        if year_month:
            return _year_month(text, value)
        return text
    return value


def _year_month(text: str, original: Any) -> Any:
    m = _YEAR_MONTH.match(text)
    if not m:
        return text
    year, month = int(m.group(1)), int(m.group(2) or m.group(3))
    if 1 <= month <= 12 and 1800 < year < 2200:
        return YearMonth(year, month)
    return original


def long_number(value: Any) -> bool:
    """An ID number Excel stored as a number: 15+ digits of float precision are gone."""
    return isinstance(value, float) and value >= 1e15


def prepare(value: Any, type_: TypeEngine, *, year_month: bool = False) -> Any:
    """Cell value -> the input `coerce` expects for a column of `type_`."""
    if value is None:
        return None
    if isinstance(type_, DateTime | Date):
        return as_date(value, year_month=year_month)
    if isinstance(type_, Integer | Float | Numeric):
        return value
    if isinstance(type_, Boolean):
        return value if isinstance(value, bool) else as_text(value)
    return as_text(value)


# Common written variants of code-table values that the tables' aliases do not cover.
_VARIANTS: dict[str, dict[str, str]] = {
    "person_type": {"暂住": "流动人口", "暂住人口": "流动人口", "外来": "流动人口", "外地": "流动人口",
                    "本地": "户籍人口", "常住": "户籍人口", "境外": "境外人员"},
    "political": {"共产党员": "中共党员", "中国共产党员": "中共党员", "团员": "共青团员", "民主党派": "无党派人士"},
    "marital": {"已婚有配偶": "已婚", "离异": "离婚", "单身": "未婚"},
    "employment_status": {"无": "无业", "待业": "失业", "退休人员": "退休", "学生": "在校学生", "上学": "在校学生"},
    "gender": {"男士": "男", "女士": "女"},
}


def code_variant(table: str, value: Any) -> Any:
    """A code-table cell: "之子" -> "子", "暂住人口" -> 流动人口, 1.0 -> "1"."""
    text = as_text(value)
    if not isinstance(text, str):
        return text
    t = unicodedata.normalize("NFKC", text).strip()
    if table == "relation" and len(t) >= 2 and t[0] in "之系":
        t = t[1:]
    return _VARIANTS.get(table, {}).get(t, t)
