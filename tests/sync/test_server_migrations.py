"""The server's Alembic chain (server/schema.py, server/migrations): a database made by the release
before the chain (tests/sync/fixtures, made by tests/sync/release_fixture.py with that release's
code) is recognised and upgraded in place, keeping every record, conflict and device, on SQLite
and on PostgreSQL; several processes starting at once migrate once; a newer schema is refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from server import service
from server.models import ServerBase
from server.schema import VERSION_TABLE, SchemaError, head_revision
from server.store import ServerStore
from tests.sync.release_fixture import load_release

KEPT = {  # table -> order; every row of these must survive the upgrade unchanged
    "srv_record": "table_name, row_id", "srv_conflict": "id", "srv_device": "id", "srv_user": "id",
    "srv_received": "device_id, device_seq", "srv_audit": "id", "srv_key": "name", "srv_counter": "name",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def release_db(request, tmp_path) -> str:
    cluster = request.getfixturevalue("pg_cluster") if request.param == "postgresql" else None
    return load_release(request.param, tmp_path, cluster)


def _rows(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of the kept tables, in the release's columns (`columns`: those of the release)."""
    from sqlalchemy import inspect

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out: dict[str, list[tuple]] = {}
            for table, order in KEPT.items():
                cols = (columns or {}).get(table) or [c["name"] for c in inspect(conn).get_columns(table)]
                quoted = ", ".join(f'"{c}"' for c in cols)
                out[table] = [tuple(r) for r in conn.execute(text(f"SELECT {quoted} FROM {table} ORDER BY {order}"))]
                out[table + ":columns"] = [tuple(cols)]
            return out
    finally:
        engine.dispose()


def _columns(rows: dict[str, list[tuple]]) -> dict[str, list[str]]:
    return {t: list(rows[t + ":columns"][0]) for t in KEPT}


def test_release_database_is_upgraded_in_place(release_db):
    before = _rows(release_db)
    assert len(before["srv_record"]) == 40 and len(before["srv_conflict"]) == 2 and len(before["srv_device"]) == 2
    store = ServerStore(release_db)
    try:
        report = store.migration
        assert report.legacy and report.before is None and report.after == head_revision()
        if store.is_sqlite:
            assert report.backup is not None and report.backup.stat().st_mode & 0o077 == 0
            con = sqlite3.connect(report.backup)
            assert con.execute("SELECT count(*) FROM srv_record").fetchone()[0] == 40
            con.close()
        else:
            assert report.backup is None
        with store.engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == head_revision()
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert compare_metadata(ctx, ServerBase.metadata) == []  # exactly the models' schema
        assert _rows(release_db, _columns(before)) == before  # every record, conflict, device, user, audit entry kept
        # and the server works on it: the release's users, devices and conflicts are usable
        dev = next(r[0] for r in before["srv_device"] if r[1] == 1)  # (id, user_id, ...): admin's
        who = service.caller(store, "admin", dev)
        open_ = service.list_conflicts(store, who.scope)
        assert sorted(c["kind"] for c in open_) == ["field", "rejected"]
        field = next(c for c in open_ if c["kind"] == "field")
        service.resolve_conflict(store, who, field["id"], "client")
        assert service.stats(store)["open_conflicts"] == 1
    finally:
        store.close()
    again = ServerStore(release_db)  # the next start finds the schema at head: nothing to do
    try:
        assert again.migration.before == head_revision() and again.migration.backup is None
    finally:
        again.close()


def test_processes_starting_together_migrate_once(release_db):
    code = ("import json,sys; from server.store import ServerStore; s=ServerStore(sys.argv[1]); "
            "m=s.migration; print(json.dumps([m.before, m.after, m.legacy])); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, release_db], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(tuple(json.loads(out)))
    head = head_revision()
    assert sorted(results, key=str) == sorted([(None, head, True)] + [(head, head, False)] * 3, key=str)


def test_a_newer_schema_is_refused_unchanged(release_db):
    ServerStore(release_db).close()
    engine = create_engine(release_db)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    before = _rows(release_db)
    with pytest.raises(SchemaError, match="较新版本"):
        ServerStore(release_db)
    assert _rows(release_db, _columns(before)) == before
