"""The demo street is deterministic, realistic and internally consistent."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from desktop.models import Area, GridEvent, Household, Person, User, UserGrid, Vehicle, Visit
from desktop.services import rules
from desktop.services.demo import generate
from desktop.services.store import SYSTEM, Store
from desktop.validation import check_id_number, check_plate, check_uscc

TODAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    store = Store.open(path, create=True)
    report = generate(store, households=450, seed=11, today=TODAY)
    yield store, report
    store.close()


def rows(store, model):
    with store.session() as s:
        return list(s.scalars(select(model)))


def test_sizes_and_structure(demo):
    store, report = demo
    assert report.households == 450 and report.grids == 3
    grids = [a for a in rows(store, Area) if a.level == "grid"]
    per_grid = Counter(h.grid_id for h in rows(store, Household))
    assert sorted(per_grid.values()) == [50, 200, 200]
    users = rows(store, User)
    workers = [u for u in users if u.role == "grid_worker"]
    assert len(workers) == len(grids)
    assigned = {ug.grid_id for ug in rows(store, UserGrid)}
    assert assigned == {g.id for g in grids}


def test_people_are_valid_and_consistent(demo):
    store, _ = demo
    people = rows(store, Person)
    by_hh: dict[str, list[Person]] = {}
    certs = set()
    for p in people:
        result = check_id_number(p.cert_no, today=TODAY, birth_date=p.birth_date, gender=p.gender)
        assert result.ok, (p.cert_no, result.errors)
        assert not result.warnings, result.warnings  # real county codes
        if p.household_id is None:  # the demo's deliberate duplicates (desktop.services.demo._defects)
            continue
        certs.add(p.cert_no)
        by_hh.setdefault(p.household_id, []).append(p)
    members = [p for p in people if p.household_id is not None]
    assert len(certs) == len(members)
    # every person outside a household is a copy of one inside: same name, birth date and number
    copies = [p for p in people if p.household_id is None]
    assert copies and {(p.name, p.birth_date, p.cert_no) for p in copies} <= {(p.name, p.birth_date, p.cert_no) for p in members}
    households = {h.id: h for h in rows(store, Household)}
    sizes = Counter(len(m) for m in by_hh.values())
    assert set(sizes) <= {1, 2, 3, 4, 5, 6} and len(sizes) >= 5
    for hh_id, members in by_hh.items():
        heads = [m for m in members if m.relation == "02"]
        assert len(heads) == 1 and households[hh_id].head_person_id == heads[0].id
        head = heads[0]
        for m in members:
            if m.relation in ("20", "30"):  # children are younger than the head
                assert m.birth_date > head.birth_date
            if m.relation == "50":
                assert m.birth_date < head.birth_date
    floating = sum(p.person_type == "2" for p in people) / len(people)
    assert 0.15 <= floating <= 0.25


def test_vehicles_events_visits(demo):
    store, report = demo
    vehicles = rows(store, Vehicle)
    assert 0.25 <= len(vehicles) / report.households <= 0.42
    assert all(check_plate(v.plate_no).ok for v in vehicles)
    from desktop.validation import code_table

    assert all(v.vehicle_type in code_table("vehicle_type") and v.plate_type in code_table("plate_type")
               for v in vehicles)
    states = Counter((e.grid_id, e.state) for e in rows(store, GridEvent))
    for g in {e.grid_id for e in rows(store, GridEvent)}:
        assert {s for (gg, s) in states if gg == g} == {
            "reported", "accepted", "dispatched", "handling", "verified", "closed", "evaluated"}
    visits = rows(store, Visit)
    assert visits and all(v.visited_on <= TODAY for v in visits)
    assert all(v.method in code_table("visit_method") for v in visits)


def test_derived_marks_already_consistent(demo):
    store, _ = demo
    with store.transaction() as s:
        assert rules.refresh_derived_marks(s, SYSTEM, today=TODAY) == 0
        s.rollback()


def test_units_have_valid_credit_codes(demo):
    from desktop.models import OrgUnit

    store, _ = demo
    assert all(check_uscc(u.uscc).ok for u in rows(store, OrgUnit))


def test_same_seed_same_data(tmp_path):
    def snapshot(path):
        store = Store.open(path, create=True)
        generate(store, households=60, seed=5, today=TODAY)
        with store.session() as s:
            data = [(p.id, p.name, p.cert_no, p.phone) for p in s.scalars(select(Person).order_by(Person.id))]
        store.close()
        return data

    assert snapshot(tmp_path / "a.db") == snapshot(tmp_path / "b.db")


def test_demo_rows_are_in_the_sync_outbox_and_search_index(demo):
    store, report = demo
    with store.session() as s:
        conn = s.connection()
        n_out = conn.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE table_name = 'person'").scalar()
        n_doc = conn.exec_driver_sql("SELECT count(*) FROM search_doc WHERE kind = 'person'").scalar()
    assert n_out == report.people == n_doc
