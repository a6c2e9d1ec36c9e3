"""A server database as a released GridLedger made it (tables by `create_all`, no alembic_version),
for tests/sync/test_server_migrations.py.

The committed dumps in tests/sync/fixtures/ were made by running this file with the release's own
code (commit 8814df6, before the server had migrations), so they hold exactly what that release
wrote:

    cd <checkout of 8814df6> && PYTHONPATH=. python <this file> OUT_DIR [POSTGRES_URL]

It writes server-release.sqlite.sql (sqlite3's dump) and, given a PostgreSQL database, fills it
and writes server-release.postgresql.sql (pg_dump --inserts). Only the server's public use cases
are called (service.add_user, service.enrol, service.push, service.receive_audit), so the file runs
on the release and on any later code alike.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

GRIDS = ("grid-release-1", "grid-release-2")
AT = "2026-11-20T08:00:00.000Z"


def _vehicle(seq: int, row: str, grid: str, plate: str) -> dict:
    return {"seq": seq, "table": "vehicle", "id": row, "op": "I", "known": 0, "at": AT, "by": "w", "prev": 0,
            "fields": {"grid_id": [None, grid], "plate_no": [None, plate], "deleted_at": [None, None]}}


def fill(url: str) -> dict[str, int]:
    """Users, two devices, 40 vehicles, one field clash, one set-aside change, one deletion, audit."""
    from server import service
    from server.store import ServerStore

    store = ServerStore(url)
    try:
        service.add_user(store, "admin", "release-pass-1", "community_admin", display_name="王主任")
        service.add_user(store, "sup", "release-pass-2", "supervisor", display_name="李督导")
        admin = service.authenticate(store, "admin", "release-pass-1")
        sup = service.authenticate(store, "sup", "release-pass-2")
        dev_a = service.enrol(store, admin, "file-a", "办公室电脑", "11" * 32, "22" * 32, None)
        dev_b = service.enrol(store, sup, "file-b", "督导笔记本", "33" * 32, "44" * 32, None)
        who_a = service.caller(store, "admin", dev_a.id)
        who_b = service.caller(store, "sup", dev_b.id)
        service.push(store, who_a, [_vehicle(i + 1, f"veh-{i:03d}", GRIDS[i % 2], f"甘A{i:05d}") for i in range(40)])
        # the supervisor had not pulled: a clash on veh-000's plate (and a deletion of veh-001)
        service.push(store, who_b, [
            {"seq": 1, "table": "vehicle", "id": "veh-000", "op": "U", "known": 0, "at": AT, "by": "sup", "prev": 0,
             "fields": {"plate_no": ["甘A00000", "甘B99999"]}},
        ])
        service.push(store, who_a, [
            {"seq": 41, "table": "vehicle", "id": "veh-001", "op": "U", "known": 40, "at": AT, "by": "admin",
             "prev": 0, "fields": {"deleted_at": [None, "2026-11-20 09:00:00"]}},
            # an update of a record the server never had: set aside for review
            {"seq": 42, "table": "vehicle", "id": "veh-missing", "op": "U", "known": 40, "at": AT, "by": "admin",
             "prev": 0, "fields": {"plate_no": ["甘A1", "甘A2"]}},
        ])
        service.receive_audit(store, who_a, [{"seq": 1, "at": AT, "actor": "admin", "action": "print",
                                              "entity": "vehicle", "entity_id": "veh-002", "summary": "打印车辆台账"}])
    finally:
        store.close()
    return {"vehicles": 40}


FIXTURES = Path(__file__).parent / "fixtures"


def load_release(kind: str, tmp_path: Path, pg_cluster=None) -> str:
    """A fresh database holding the committed release dump; its URL."""
    if kind == "sqlite":
        db = tmp_path / "server.db"
        con = sqlite3.connect(db)
        con.executescript((FIXTURES / "server-release.sqlite.sql").read_text(encoding="utf-8"))
        con.close()
        return f"sqlite:///{db}"
    import uuid

    import psycopg

    url = pg_cluster.create_database("gl_" + uuid.uuid4().hex[:12])
    script = "\n".join(line for line in (FIXTURES / "server-release.postgresql.sql").read_text(encoding="utf-8")
                       .splitlines() if not line.startswith("\\"))  # psql's own commands (\restrict)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(script)
    return url


def snapshot(url: str, tables: tuple[str, ...] = ("srv_record", "srv_conflict", "srv_device", "srv_user")) -> dict:
    """Every row of `tables`, for "nothing changed" checks."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: sorted(tuple(map(str, r)) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        engine.dispose()


def main(out_dir: str, pg_url: str | None = None) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "release.db"
    db.unlink(missing_ok=True)
    fill(f"sqlite:///{db}")
    con = sqlite3.connect(db)
    try:
        (out / "server-release.sqlite.sql").write_text("\n".join(con.iterdump()) + "\n", encoding="utf-8")
    finally:
        con.close()
    db.unlink()
    if pg_url:
        fill(pg_url)
        from sqlalchemy.engine import make_url

        u = make_url(pg_url)
        dump = subprocess.run(
            ["pg_dump", "--inserts", "--no-owner", "--no-privileges", "-h", u.host or "127.0.0.1",
             "-p", str(u.port or 5432), "-U", u.username or "postgres", u.database or ""],
            capture_output=True, text=True, check=True).stdout
        (out / "server-release.postgresql.sql").write_text(dump, encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
