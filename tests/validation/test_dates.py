"""One reading of typed dates and one calendar rule for ages (desktop.validation.dates)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from desktop.validation.dates import DateError, age_on, parse_date, years_before


@pytest.mark.parametrize("raw", [
    "2024-03-15", "2024/3/15", "2024.03.15", "2024-3-5".replace("5", "15"), "2024年3月15日", "2024年3月15",
    "20240315", " 2024-03-15 ", "２０２４－０３－１５", "2024-03-15 08:30", "2024-03-15T08:30:00",
    "2024-03-15 08:30:00.123456", date(2024, 3, 15), datetime(2024, 3, 15, 23, 59),
])
def test_the_forms_people_and_excel_use(raw):
    assert parse_date(raw) == date(2024, 3, 15)


@pytest.mark.parametrize(("raw", "message"), [
    ("2023-02-29", "不是存在的日期"), ("2024-13-01", "不是存在的日期"), ("三月", "不是有效的日期"),
    ("2024-03", "不是有效的日期"), ("15/03/2024", "不是有效的日期"), ("", "不是有效的日期"),
])
def test_what_is_not_a_date(raw, message):
    with pytest.raises(DateError, match=message):
        parse_date(raw)


def test_age_and_years_before_agree_every_day():
    """Born on or before years_before(today, n) <=> at least n years old today."""
    births = [date(1964, 2, 29), date(1965, 2, 28), date(1965, 3, 1), date(2000, 2, 29), date(1999, 12, 31)]
    day = date(2023, 1, 1)
    while day < date(2029, 1, 1):
        for n in (0, 1, 18, 59, 60, 61):
            cutoff = years_before(day, n)
            for born in [*births, cutoff, cutoff + timedelta(days=1), cutoff - timedelta(days=1)]:
                if born <= day:
                    assert (born <= cutoff) == (age_on(born, day) >= n), (born, day, n)
        day += timedelta(days=7 if day.month not in (2, 3) else 1)


def test_leap_day_birthdays():
    assert age_on(date(2000, 2, 29), date(2025, 2, 28)) == 24
    assert age_on(date(2000, 2, 29), date(2025, 3, 1)) == 25
    assert age_on(date(2000, 2, 29), date(2024, 2, 29)) == 24
    assert years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)
