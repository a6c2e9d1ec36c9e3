"""A bounded load test: 20 laptops sync at once against one real server process on loopback,
each with its own edits; no error, nothing lost, nothing doubled, all copies converge."""

from __future__ import annotations

import random
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from desktop.services.auth import actor_for
from desktop.services.records import Records
from desktop.services.store import Store
from server.models import Received, Record
from server.store import ServerStore
from tests.sync.harness import ServeProcess, laptop_snapshot, server_snapshot, sync

LAPTOPS = 20
EDITS = 15


@pytest.mark.slow
def test_twenty_laptops_at_once(demo_template, server_db, tmp_path):
    srv = ServeProcess(server_db).start()
    try:
        srv.add_user("admin", "community_admin")
        admin = Store.open(shutil.copy(demo_template, tmp_path / "admin.db"))
        sync(admin, srv.url, "admin")
        with admin.engine.connect() as c:
            grids = [r[0] for r in c.exec_driver_sql("SELECT id FROM area WHERE level = 'grid' ORDER BY code")]
        admin.close()
        users = []
        for i in range(LAPTOPS):
            name = f"u{i:02d}"
            srv.add_user(name, "grid_worker", grids[i % 2])
            users.append((name, grids[i % 2]))

        # Alembic's migration context is process-global: create the files one by one first
        for i in range(LAPTOPS):
            Store.open(tmp_path / f"l{i}.db", create=True).close()

        def first(i: int) -> None:
            st = Store.open(tmp_path / f"l{i}.db")
            try:
                sync(st, srv.url, users[i][0])
            finally:
                st.close()

        def edit_and_sync(i: int) -> list[tuple[str, str]]:
            name, grid = users[i]
            st = Store.open(tmp_path / f"l{i}.db")
            try:
                r = Records(st, actor_for(st, name))
                with st.engine.connect() as c:
                    people = [row[0] for row in c.exec_driver_sql(
                        "SELECT id FROM person WHERE grid_id = ? ORDER BY id", (grid,))]
                    households = [row[0] for row in c.exec_driver_sql(
                        "SELECT id FROM household WHERE grid_id = ? ORDER BY id", (grid,))]
                rng = random.Random(i)
                made = []
                for k in range(EDITS):
                    pid = rng.choice(people)
                    # each laptop writes its own field value; clashes between laptops are expected
                    r.update("person", pid, {"occupation": f"{name}-{k}"})
                    v = r.create("visit", {"grid_id": grid, "household_id": rng.choice(households),
                                           "visited_on": "2026-11-30", "method": "1", "visitor": name,
                                           "situation": f"{name} 第{k}次走访"})
                    made.append(v["id"])
                sync(st, srv.url, name)
                return made
            finally:
                st.close()

        with ThreadPoolExecutor(LAPTOPS) as pool:
            list(pool.map(first, range(LAPTOPS)))
        with ThreadPoolExecutor(LAPTOPS) as pool:
            visits = [v for made in pool.map(edit_and_sync, range(LAPTOPS)) for v in made]
        with ThreadPoolExecutor(LAPTOPS) as pool:  # everyone pulls everyone else's work
            list(pool.map(first, range(LAPTOPS)))

        st = ServerStore(server_db, create=False)
        try:
            with st.session() as s:
                n_visits = s.scalar(select(func.count()).select_from(Record).where(
                    Record.table_name == "visit", Record.row_id.in_(visits)))
                received = s.scalar(select(func.count()).select_from(Received))
                distinct = s.scalar(select(func.count()).select_from(
                    select(Received.device_id, Received.device_seq).distinct().subquery()))
        finally:
            st.close()
        assert n_visits == LAPTOPS * EDITS  # nothing lost
        assert received == distinct  # nothing doubled

        class View:
            def __init__(self, url):
                self.store = ServerStore(url, create=False)

        view = View(server_db)
        try:
            for i in range(LAPTOPS):
                st = Store.open(tmp_path / f"l{i}.db")
                try:
                    assert _norm(laptop_snapshot(st, [users[i][1]])) == _norm(server_snapshot(view, [users[i][1]]))
                finally:
                    st.close()
        finally:
            view.store.close()
    finally:
        srv.kill()


def _norm(snap):
    from tests.sync.harness import _norm as n

    return {k: {f: n(v) for f, v in d.items()} for k, d in snap.items()}
