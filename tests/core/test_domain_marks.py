"""The derived marks have one rule (desktop.domain.marks.derived_marks); the SQL that keeps the
stored marks current (rules.refresh_derived_marks) must give the same text for every person."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select

from desktop.domain.marks import derived_marks, elder_cutoff, marks_list, marks_text
from desktop.models import Household, Person, new_id, utcnow
from desktop.services import rules
from desktop.services.demo import generate
from desktop.validation.dates import age_on

# days around which the 60th birthday falls differently: leap days, month ends, new year
TODAYS = [date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2026, 1, 1), date(2026, 12, 31)]
TYPES = ["1", "2", None]
EMPLOYMENT = ["10", "20", None]


def _births() -> list[date | None]:
    out: set[date] = {date(1964, 2, 29), date(1965, 2, 28), date(1965, 3, 1), date(1950, 6, 1), date(2000, 6, 1)}
    for today in TODAYS:
        c = elder_cutoff(today)
        out.update({c - timedelta(days=1), c, c + timedelta(days=1)})
    return [*sorted(out), None]


def test_the_sql_gives_what_derived_marks_gives(store, admin, community):
    """Every person type × employment × birth date around the 60th birthday × household
    situation (none, alone, alone beside a deleted member, two or three members), on days
    around leap days and year ends."""
    grid = community.grid1["id"]
    now = utcnow()
    stamp = {"version": 1, "created_at": now, "created_by": "t", "updated_at": now, "updated_by": "t"}
    people: list[dict] = []
    households: list[dict] = []
    situations = ["none", "alone", "alone_beside_deleted", "pair", "three"]
    for n, (ptype, emp, born, where) in enumerate(itertools.product(TYPES, EMPLOYMENT, _births(), situations)):
        me = {"id": new_id(), "grid_id": grid, "name": f"人{n}", "person_type": ptype, "employment": emp,
              "birth_date": born, "household_id": None, "derived_marks": "", "deleted_at": None, **stamp}
        people.append(me)
        if where == "none":
            continue
        hh = {"id": new_id(), "grid_id": grid, "hh_no": f"T{n}", **stamp}
        households.append(hh)
        me["household_id"] = hh["id"]
        others = {"alone": 0, "alone_beside_deleted": 1, "pair": 1, "three": 2}[where]
        for k in range(others):
            people.append({**me, "id": new_id(), "name": f"伴{n}-{k}", "birth_date": date(1940, 1, 1),
                           "deleted_at": now if where == "alone_beside_deleted" else None})
    with store.transaction() as s:
        s.execute(insert(Household), households)
        s.execute(insert(Person), people)
    sizes: dict[str, int] = {}
    for p in people:
        if p["household_id"] and p["deleted_at"] is None:
            sizes[p["household_id"]] = sizes.get(p["household_id"], 0) + 1
    seen: set[str] = set()
    for today in TODAYS:
        with store.transaction() as s:
            rules.refresh_derived_marks(s, admin, today=today)
            stored = dict(s.execute(select(Person.id, Person.derived_marks).where(Person.deleted_at.is_(None))).all())
        cutoff = elder_cutoff(today)
        for p in people:
            if p["deleted_at"] is not None:
                continue
            size = sizes.get(p["household_id"]) if p["household_id"] else None
            want = derived_marks(p["person_type"], p["employment"], p["birth_date"], size, cutoff)
            assert stored[p["id"]] == want, (today, p, size)
            seen.add(want)
    assert seen == {"", ",floating,", ",unemployed,", ",lone_elderly,", ",floating,unemployed,",
                    ",floating,lone_elderly,", ",unemployed,lone_elderly,", ",floating,unemployed,lone_elderly,"}


def test_the_sql_and_the_rule_agree_on_a_generated_street(store):
    """A demo street (random people, households of every size) refreshed by SQL, compared."""
    generate(store, households=60, seed=11)
    today = date.today()
    with store.session() as s:
        rows = s.execute(select(Person.person_type, Person.employment, Person.birth_date, Person.household_id,
                                Person.derived_marks).where(Person.deleted_at.is_(None))).all()
    sizes: dict[str, int] = {}
    for r in rows:
        if r.household_id:
            sizes[r.household_id] = sizes.get(r.household_id, 0) + 1
    cutoff = elder_cutoff(today)
    for r in rows:
        size = sizes.get(r.household_id) if r.household_id else None
        assert r.derived_marks == derived_marks(r.person_type, r.employment, r.birth_date, size, cutoff)
    assert any("lone_elderly" in r.derived_marks for r in rows)


def test_elder_cutoff_is_the_60th_birthday():
    day = date(2023, 1, 1)
    while day < date(2029, 1, 1):
        cutoff = elder_cutoff(day)
        assert age_on(cutoff, day) >= 60 and age_on(cutoff + timedelta(days=1), day) < 60, day
        day += timedelta(days=1)


def test_birth_date_forms_give_the_same_marks():
    cutoff = elder_cutoff(date(2026, 3, 1))
    for born in (cutoff, cutoff + timedelta(days=1)):
        forms = [born, born.isoformat(), datetime(born.year, born.month, born.day, 8, 30)]
        assert len({derived_marks("1", "10", b, 1, cutoff) for b in forms}) == 1
    assert derived_marks("2", "20", "", 1, cutoff) == ",floating,unemployed,"


def test_marks_text_round_trip():
    assert marks_text(["veteran", "", "key_person", "veteran"]) == ",veteran,key_person,"
    assert marks_text([]) == ""
    assert marks_list(",veteran,key_person,") == ["veteran", "key_person"]
    assert marks_list(None) == []
