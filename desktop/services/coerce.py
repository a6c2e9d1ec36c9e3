"""Turn what a user typed (or an Excel cell held) into column values, with Chinese messages."""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, String, Text
from sqlalchemy.sql.type_api import TypeEngine

from desktop.validation import dates

_TRUE = {"1", "true", "yes", "y", "是", "有", "已", "√", "对"}
_FALSE = {"0", "false", "no", "n", "否", "无", "未", "×", "不"}


class CoerceError(ValueError):
    pass


def normalize_text(value: str) -> str:
    """NFKC folds full-width letters, digits and spaces; then trim."""
    return unicodedata.normalize("NFKC", value).strip()


def parse_date(value: Any) -> date:
    """`desktop.validation.dates.parse_date`, failing with a CoerceError."""
    try:
        return dates.parse_date(value)
    except dates.DateError as exc:
        raise CoerceError(str(exc)) from None


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = normalize_text(str(value))
    try:
        return datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        d = parse_date(text)
        return datetime(d.year, d.month, d.day)


def coerce(value: Any, type_: TypeEngine) -> Any:
    """Return the column value, None for blank input; raise CoerceError with a Chinese reason."""
    if value is None:
        return None
    if isinstance(value, list | tuple | set):  # multi-choice fields (care marks) travel as lists
        value = ",".join(str(v) for v in value)
    if isinstance(value, str):
        value = normalize_text(value)
        if value == "":
            return None
    if isinstance(type_, Boolean):
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CoerceError(f"“{value}”应填“是”或“否”")
    if isinstance(type_, DateTime):
        try:
            return parse_datetime(value)
        except CoerceError:
            raise
        except ValueError as exc:
            raise CoerceError(f"“{value}”不是有效的时间") from exc
    if isinstance(type_, Date):
        return parse_date(value)
    if isinstance(type_, Integer):
        if isinstance(value, bool):
            raise CoerceError(f"“{value}”不是整数")
        digits = str(value).replace(",", "")
        try:
            return int(digits)  # exact, however many digits
        except ValueError:
            pass
        try:
            number = float(digits)
        except ValueError as exc:
            raise CoerceError(f"“{value}”不是整数") from exc
        if not math.isfinite(number):  # "nan", "inf", "1e400"
            raise CoerceError(f"“{value}”不是整数")
        if number != int(number):
            raise CoerceError(f"“{value}”应为整数")
        return int(number)
    if isinstance(type_, Float | Numeric):
        try:
            number = float(str(value).replace(",", ""))
        except ValueError as exc:
            raise CoerceError(f"“{value}”不是数字") from exc
        if not math.isfinite(number):  # "nan", "inf", "1e400": no number to store
            raise CoerceError(f"“{value}”不是数字")
        return number
    if isinstance(type_, String | Text):
        text = str(value)
        length = getattr(type_, "length", None)
        if length and len(text) > length:
            raise CoerceError(f"内容过长(最多 {length} 个字,现有 {len(text)} 个)")
        return text
    return value
