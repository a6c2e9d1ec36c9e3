"""Dates, times, ages and care marks as the user reads them (lists, printing, export, the UI).

1. A day (`day`) is ``YYYY-MM-DD``; a moment (`minute`) is ``YYYY-MM-DD HH:MM``, in the time the
   value holds (no time-zone conversion). ``None`` and ``""`` show as ``""``; a stored text is cut
   to its first 10 (day) or 16 (minute, ``T`` shown as a space) characters.
2. An age (`age`) is the whole years completed on the given day (`desktop.validation.dates.age_on`);
   a missing or unreadable birth date has no age (None).
3. Care marks (`care_mark_labels`) are shown by their labels joined with "、", each once, in the
   order of the 关注标识 code table (流动人口, 失业人员, 帮扶人员, 重点人员, 残障人员, 独居老人, 留守儿童,
   空巢老人, 退役军人, 刑满释放人员, 社区矫正对象, 严重精神障碍患者, 吸毒人员) - the order of the
   printed key-person roster's sections and of the lists - whatever order they were stored in and
   whether they were chosen (``marks``) or derived (``derived_marks``). Unknown codes come last,
   by code, shown as the code.

This module is the only place that turns care-mark codes into label text:
tests/core/test_domain_formatting.py fails when a label of the table appears in code elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from desktop.validation.codes import code_table
from desktop.validation.dates import age_on

__all__ = ["age", "care_mark_code", "care_mark_codes", "care_mark_labels", "care_mark_table", "day", "minute"]


def day(value: Any) -> str:
    """``YYYY-MM-DD`` of a date, datetime or stored text; ``""`` for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def minute(value: Any) -> str:
    """``YYYY-MM-DD HH:MM`` of a datetime or stored text; ``""`` for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).replace("T", " ")[:16]


def age(birth: Any, today: date | None = None) -> int | None:
    """Whole years on `today` (default: today) of a birth date (date or stored ISO text)."""
    if birth is None or birth == "":
        return None
    if isinstance(birth, datetime):
        birth = birth.date()
    if not isinstance(birth, date):
        s = str(birth)
        try:
            birth = date(int(s[:4]), int(s[5:7]), int(s[8:10]))
        except ValueError:
            return None
    return age_on(birth, today or date.today())


@cache
def _order() -> dict[str, int]:
    return {c: i for i, (c, _) in enumerate(code_table("care_mark").items)}


def care_mark_table() -> list[tuple[str, str]]:
    """(code, label) of every care mark, in the one display order."""
    return list(code_table("care_mark").items)


def care_mark_code(text: str | None) -> str | None:
    """The code of one care mark written as its label, an alias or the code; None if unknown."""
    return code_table("care_mark").code_for(text)


def care_mark_codes(*values: str | list[str] | None) -> list[str]:
    """The distinct codes in stored ``",a,b,"`` texts (or lists of codes), in display order."""
    codes: set[str] = set()
    for v in values:
        items = v if isinstance(v, list | tuple) else (v or "").split(",")
        codes.update(c for c in items if c)
    order = _order()
    return sorted(codes, key=lambda c: (order.get(c, len(order)), c))


def care_mark_labels(*values: str | list[str] | None) -> str:
    """The labels of the marks in `values` (stored texts or code lists), "、"-joined, display order."""
    ct = code_table("care_mark")
    return "、".join(ct.label(c) for c in care_mark_codes(*values))
