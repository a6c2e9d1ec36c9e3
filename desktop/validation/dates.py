"""Calendar rules: reading a date someone typed (or an Excel cell held), ages, "N years before".

These are the bottom of the core (stdlib only) so that every layer - the ID-number checker, the
services, import and export, printing and the UI - reads dates and counts years the same way.

Reading a date (`parse_date`), step by step:

1. A ``datetime`` gives its date; a ``date`` is taken as it is (Excel cells arrive as these).
2. Anything else becomes text; full-width digits and signs are folded (NFKC) and the text trimmed.
3. The text must be one of: ``2024-03-15``, ``2024/3/15``, ``2024.3.15`` (one or two digit month
   and day), ``2024年3月15日`` (the 日 may be left out) or ``20240315``. A time after the date
   (``2024-03-15 08:30``, ``2024-03-15T08:30:00``: what an export or a timestamp column holds) is
   allowed and dropped.
4. The year, month and day must name a day that exists (no 2023-02-29).

A failure raises `DateError` (a ``ValueError``) whose message is a Chinese sentence quoting the
text. Callers that name the field add their own prefix.

Age (`age_on`): whole years completed on ``today``: the year difference, less one when the
birthday (month, day) has not come yet this year. Someone born on 29 February turns a year older
on 1 March in common years.

"N years before" (`years_before`): the same month and day N years earlier; 29 February becomes
28 February when that year has none. Someone born on or before ``years_before(today, 60)`` is
60 or older today (the two rules agree: see tests/validation/test_dates.py).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


class DateError(ValueError):
    """A text that is not a date; the message is a Chinese sentence for the user."""


def parse_date(value: Any) -> date:
    """The date in `value`; see the module docstring for what is accepted."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return date(y, mo, d)
            except ValueError as exc:
                raise DateError(f"“{text}”不是存在的日期") from exc
    raise DateError(f"“{text}”不是有效的日期,请按 2024-03-15 的格式填写")


def age_on(birth: date, today: date) -> int:
    """Whole years completed on `today` by someone born on `birth`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def years_before(today: date, years: int) -> date:
    """The same day `years` earlier (29 February -> 28 February in a common year)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return date(today.year - years, 2, 28)
