"""The server holds a pushed change to the core's field lengths: a 5-million-character note that
reached a laptop's outbox past the forms (an older version, a hand-edited file) is refused and set
aside, never stored or handed on to other laptops (item 4 of the hardening issue)."""

from __future__ import annotations

from sqlalchemy import select

from desktop.models import TEXT_MAX_CHARS
from server.models import Conflict, Record
from tests.sync.harness import person_in


def test_an_overlong_note_is_refused_by_the_server(world):
    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = person_in(w, world.grids[0])[0]
    with w.engine.begin() as c:  # past the Cleaner: the change-capture triggers still log it
        c.exec_driver_sql("UPDATE person SET note = ? WHERE id = ?", ("长" * 5_000_000, pid))
    res = world.sync(w, "w1")
    assert res.push_status.get("rejected") == 1
    with world.server.store.session() as s:
        stored = s.get(Record, ("person", pid))
        assert len(stored.data) < 100_000
        aside = s.scalars(select(Conflict).where(Conflict.kind == "rejected")).all()
        assert len(aside) == 1 and f"{TEXT_MAX_CHARS:,}" in (aside[0].reason or "")
