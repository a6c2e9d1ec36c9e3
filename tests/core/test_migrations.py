"""Alembic: a linear chain, upgrade from empty equals the models, backup before upgrading."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from desktop.db.engine import make_engine
from desktop.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade_database,
)
from desktop.models import SYNCED_TABLES, Base
from desktop.services.store import Store


def test_revision_chain_is_linear():
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1
    revs = list(script.walk_revisions())
    assert sum(1 for r in revs if r.down_revision is None) == 1
    for r in revs:
        assert not isinstance(r.down_revision, tuple | list), f"merge revision {r.revision}"


def test_upgrade_from_empty_equals_models(tmp_path):
    engine = make_engine(tmp_path / "m.db")
    upgrade_database(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_every_synced_table_has_capture_triggers(tmp_path):
    engine = make_engine(tmp_path / "m.db")
    upgrade_database(engine)
    with engine.connect() as conn:
        triggers = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")}
    for table in SYNCED_TABLES:
        assert {f"cap_{table}_ins", f"cap_{table}_upd", f"cap_{table}_del"} <= triggers
    engine.dispose()


def test_wal_and_foreign_keys(store):
    with store.session() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


NEXT_REVISION = """
import sqlalchemy as sa
from alembic import op

from desktop.db import ddl

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("person") as batch_op:
        batch_op.add_column(sa.Column("nickname", sa.String(32)))
    # batch mode re-creates the table, which drops its triggers: install them again
    ddl.install_capture(op.get_bind(), "person")
    ddl.install_search(op.get_bind())


def downgrade():
    pass
"""


def test_older_file_is_backed_up_then_upgraded_with_triggers_intact(tmp_path, monkeypatch, admin):
    import shutil

    import desktop.db.migrate as migrate
    from desktop.services.records import Records
    from tests.factories import Community

    path = tmp_path / "old.db"
    store = Store.open(path, create=True)
    community = Community.build(store, admin)
    person = Records(store, admin).create("person", {"grid_id": community.grid1["id"], "name": "旧数据"})
    store.close()

    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    (scripts / "versions" / "9999_nickname.py").write_text(NEXT_REVISION.replace("{head}", head_revision()))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)

    upgraded = Store.open(path)
    assert upgraded.migration.from_revision != "9999" and upgraded.migration.to_revision == "9999"
    backup = upgraded.migration.backup
    assert backup is not None and backup.exists()
    con = sqlite3.connect(backup)
    assert con.execute("SELECT name FROM person").fetchall() == [("旧数据",)]
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] != "9999"
    con.close()
    with upgraded.transaction() as s:
        conn = s.connection()
        n = conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar()
        conn.exec_driver_sql("UPDATE person SET nickname = '小旧', version = version + 1 WHERE id = ?", (person["id"],))
        assert conn.exec_driver_sql("SELECT count(*) FROM sync_outbox").scalar() == n + 1
        conn.exec_driver_sql("UPDATE person SET name = '新名字' WHERE id = ?", (person["id"],))
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM search_doc WHERE body LIKE '新名字%'").scalar() == 1
    upgraded.close()


def test_file_identity_is_created_once(store, db_path):
    file_id = store.meta("file_id")
    assert file_id and store.meta("device_id")
    store.close()
    again = Store.open(db_path)
    assert again.meta("file_id") == file_id
    again.close()
