"""Care marks (关注标识): how they are stored, and the three that follow from other data.

Storage: a person's marks are a text ``",code,code,"`` (empty text for none), in two columns:
``marks`` (chosen by a user) and ``derived_marks`` (computed, never typed). `marks_text` writes
that form (duplicates and blanks dropped, first occurrence kept), `marks_list` reads it.

Derived marks (`derived_marks`), for a live person, in this order:

1. ``floating`` (流动人口): person_type is ``"2"`` (流动人口).
2. ``unemployed`` (失业人员): employment is ``"20"`` (失业).
3. ``lone_elderly`` (独居老人): the person belongs to a household, is 60 or older today (born on or
   before `elder_cutoff(today)`, i.e. `years_before(today, 60)`), and is the only live member of
   that household.

No other condition counts: gender, relation, the household's type or its deletion do not matter.
The same rule runs set-based in SQL in `desktop.services.rules.refresh_derived_marks` (which
keeps stored marks current after every write and once a day); tests/core/test_domain_marks.py
computes both for a grid of persons and compares.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from desktop.validation.dates import years_before

FLOATING_TYPE = "2"  # person_type code of 流动人口
UNEMPLOYED_STATUS = "20"  # employment code of 失业
ELDER_AGE = 60
DERIVED_MARKS = ("floating", "unemployed", "lone_elderly")


def marks_text(codes: Iterable[str]) -> str:
    """``",a,b,"`` for the codes (blanks and repeats dropped), ``""`` for none."""
    codes = [c for c in dict.fromkeys(codes) if c]
    return "," + ",".join(codes) + "," if codes else ""


def marks_list(text_: str | None) -> list[str]:
    """The codes of a stored ``",a,b,"`` text, in stored order."""
    return [c for c in (text_ or "").split(",") if c]


def elder_cutoff(today: date | None = None) -> date:
    """The latest birth date of someone who is `ELDER_AGE` or older on `today`."""
    return years_before(today or date.today(), ELDER_AGE)


def derived_marks(person_type: str | None, employment: str | None, birth_date: date | str | None,
                  household_size: int | None, cutoff: date) -> str:
    """The stored ``derived_marks`` text of one person; see the module docstring.

    `household_size` is the number of live members of the person's household (None when the
    person has no household); `cutoff` is `elder_cutoff(today)`, passed in so that a bulk caller
    computes it once. `birth_date` may be a date or its ISO text."""
    out = []
    if person_type == FLOATING_TYPE:
        out.append("floating")
    if employment == UNEMPLOYED_STATUS:
        out.append("unemployed")
    if household_size == 1 and birth_date:
        if isinstance(birth_date, str):
            elder = birth_date <= cutoff.isoformat()  # how SQL compares the stored ISO text
        else:
            elder = (birth_date.date() if isinstance(birth_date, datetime) else birth_date) <= cutoff
        if elder:
            out.append("lone_elderly")
    return "," + ",".join(out) + "," if out else ""
