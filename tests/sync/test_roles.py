"""A grid worker reaches only their own grid, by every path: services (read, search, lists,
print, export, write), the command line, and the server API (pull, push, photos, conflicts,
audit). Each path is tried with a record of the other grid."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from desktop.services.errors import NotFound, PermissionDenied
from desktop.services.lists import Lists
from desktop.services.records import Records
from desktop.services.search import Search
from desktop.sync.client import SyncClient, SyncError, SyncResult
from tests.sync.harness import PASSWORD, person_in


@pytest.fixture
def setting(world):
    """wgy-style worker on the admin's full laptop copy (worst case: the other grid's rows are
    in the file), and the other grid's person."""
    g1, g2 = world.grids
    other = person_in(world.admin, g2)
    with world.admin.engine.connect() as c:
        hh = c.exec_driver_sql("SELECT id, hh_no FROM household WHERE grid_id = ? LIMIT 1", (g2,)).one()
    from desktop.services.store import Actor

    worker = Actor("w1", "grid_worker", frozenset({g1}), world.admin.meta("device_id"), "网格员一")
    return world, worker, other, hh


def test_services_refuse_the_other_grid(setting, tmp_path):
    world, worker, other, hh = setting
    store = world.admin
    r = Records(store, worker)
    with pytest.raises((PermissionDenied, NotFound)):
        r.get("person", other[0])
    with pytest.raises((PermissionDenied, NotFound)):
        r.update("person", other[0], {"occupation": "越权"})
    with pytest.raises((PermissionDenied, NotFound)):
        r.delete("person", other[0])
    hits = Search(store, worker).search(other[1], limit=50)
    assert other[0] not in {h.ref_id for h in hits}
    rows = Lists(store, worker).page("person", {}, limit=100000)
    assert other[0] not in {row["id"] for row in rows}
    from desktop.printing.batch import print_archives

    with pytest.raises(PermissionDenied):
        print_archives(store, worker, [hh[0]], tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
    from desktop.exchange.export import export

    out = tmp_path / "people.xlsx"
    export(store, worker, "person", out)
    wb = load_workbook(out, read_only=True)
    try:
        cells = {str(c.value) for row in wb.active.iter_rows() for c in row}
    finally:
        wb.close()
    # names that exist only in the other grid never appear in the worker's export
    with store.engine.connect() as c:
        names_g2_only = {n for (n,) in c.exec_driver_sql(
            "SELECT name FROM person WHERE grid_id = ? AND name NOT IN (SELECT name FROM person WHERE grid_id = ?)",
            (world.grids[1], world.grids[0]))}
    assert not (names_g2_only & cells)


def test_command_line_refuses_the_other_grid(setting, tmp_path, capsys):
    from desktop.cli import main

    world, worker, other, hh = setting
    # the CLI acts as a local user of this file: give w1 a local account first (as a sync would)
    from desktop.services.auth import hash_password
    from desktop.sync.replica import set_local_user

    set_local_user(world.admin, {"username": "w1", "role": "grid_worker", "grids": [world.grids[0]]},
                   hash_password(PASSWORD))
    db = str(world.admin.path)
    assert main(["--db", db, "print", "archive", "--household", hh[0], "--out", str(tmp_path / "a.pdf"),
                 "--user", "w1"]) == 2
    assert "不在您负责的网格内" in capsys.readouterr().err
    assert main(["--db", db, "search", other[1], "--json", "--user", "w1"]) == 0
    assert other[0] not in capsys.readouterr().out


def test_server_api_refuses_the_other_grid(world):
    g1, g2 = world.grids
    w = world.laptop("w1")
    world.sync(w, "w1")
    other = person_in(world.admin, g2)
    with SyncClient(w, world.url, "w1", PASSWORD) as client:
        client.hello(SyncResult())
        # pull: only grid 1 (and the community's areas)
        page = client.conn.json("POST", "/sync/pull", {"cursor": 0, "limit": 5000})
        grids = {r["d"].get("grid_id") for r in page["records"] if r["t"] != "area"}
        assert grids == {g1}
        page = client.conn.json("POST", "/sync/pull", {"cursor": 0, "limit": 5000, "only_grids": [g2]})
        assert page["records"] == []
        # push to the other grid: refused (set aside), nothing applied
        res = client.conn.json("POST", "/sync/push", {"changes": [{
            "seq": 999999, "table": "person", "id": other[0], "op": "U", "known": 10**6,
            "fields": {"occupation": [None, "越权"]}}]})
        assert res["results"][0]["status"] == "rejected"
        # conflicts and the audit trail are for supervisors
        with pytest.raises(SyncError, match="只有社区管理员或网格长"):
            client.conflicts()
        with pytest.raises(SyncError, match="只有社区管理员或网格长"):
            client.audit()
        with pytest.raises(SyncError):
            client.conn.request("GET", "/stats")
    from sqlalchemy import select

    from server.models import Record

    with world.server.store.session() as s:
        import json

        assert json.loads(s.scalar(select(Record.data).where(Record.row_id == other[0])))["occupation"] != "越权"
