"""baseline: the server's tables as the releases before migrations made them with create_all

An unversioned database made by such a release is brought here in place (tables, nullable
columns and indexes that are missing are added; nothing is dropped or rewritten) and stamped; a
new database is created. The table definitions are frozen here: later changes are revisions of
their own.

Revision ID: 0001
Revises:
Create Date: 2026-12-05 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _baseline() -> sa.MetaData:
    m = sa.MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s",
                                       "uq": "uq_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s"})
    C, S, T, INT, B, BI, DT = sa.Column, sa.String, sa.Text, sa.Integer, sa.Boolean, sa.BigInteger, sa.DateTime
    sa.Table("srv_record", m,
             C("table_name", S(32), primary_key=True), C("row_id", S(36), primary_key=True),
             C("grid_id", S(36)), C("prev_grid_id", S(36)), C("version", INT, nullable=False),
             C("server_seq", BI, nullable=False), C("deleted", B, nullable=False), C("data", T, nullable=False),
             C("field_meta", T, nullable=False), C("last_device", S(36)), C("other_seq", BI, nullable=False),
             sa.Index("ix_srv_record_seq", "server_seq", "table_name", "row_id"),
             sa.Index("ix_srv_record_grid_seq", "grid_id", "server_seq"),
             sa.Index("ix_srv_record_prev_grid_seq", "prev_grid_id", "server_seq"))
    sa.Table("srv_counter", m, C("name", S(32), primary_key=True), C("value", BI, nullable=False))
    sa.Table("srv_received", m,
             C("device_id", S(36), primary_key=True), C("device_seq", BI, primary_key=True),
             C("digest", S(64), nullable=False), C("status", S(16), nullable=False), C("version", INT),
             C("server_seq", BI), C("message", T), C("received_at", DT, nullable=False))
    sa.Table("srv_conflict", m,
             C("id", INT, primary_key=True, autoincrement=True), C("kind", S(16), nullable=False),
             C("table_name", S(32), nullable=False), C("row_id", S(36), nullable=False, index=True),
             C("grid_id", S(36), index=True), C("fields", T, nullable=False), C("base_value", T),
             C("server_value", T), C("server_by", S(64)), C("server_device", S(36)), C("server_at", S(32)),
             C("client_value", T), C("client_by", S(64)), C("client_device", S(36)), C("client_at", S(32)),
             C("server_claimed_by", S(64)), C("client_claimed_by", S(64)), C("winner", S(16), nullable=False),
             C("reason", T), C("change", T), C("status", S(16), nullable=False, index=True),
             C("created_seq", BI, nullable=False), C("created_at", DT, nullable=False), C("resolved_by", S(64)),
             C("resolved_at", DT), C("resolution", T),
             sa.Index("ix_srv_conflict_device", "client_device", "kind", "status"))
    sa.Table("srv_user", m,
             C("id", INT, primary_key=True, autoincrement=True), C("username", S(64), nullable=False, unique=True),
             C("display_name", S(64), nullable=False), C("role", S(24), nullable=False),
             C("password_hash", S(256), nullable=False), C("areas", T, nullable=False),
             C("active", B, nullable=False), C("failed_logins", INT, nullable=False), C("locked_until", DT),
             C("created_at", DT, nullable=False))
    sa.Table("srv_signin_limit", m,
             C("key", S(160), primary_key=True), C("failures", INT, nullable=False),
             C("first_at", DT, nullable=False), C("blocked_until", DT))
    sa.Table("srv_device", m,
             C("id", S(36), primary_key=True), C("user_id", INT, nullable=False, index=True),
             C("file_id", S(36), nullable=False), C("name", S(128)), C("predecessor", S(36)),
             C("sign_public", S(64), nullable=False), C("box_public", S(64), nullable=False),
             C("epoch", S(36), nullable=False), C("active", B, nullable=False),
             C("enrolled_at", DT, nullable=False), C("last_seen", DT))
    sa.Table("srv_blob_part", m,
             C("sha256", S(64), primary_key=True), C("offset", BI, primary_key=True),
             C("data", sa.LargeBinary, nullable=False))
    sa.Table("srv_blob", m,
             C("sha256", S(64), primary_key=True), C("size", BI, nullable=False),
             C("received", BI, nullable=False), C("complete", B, nullable=False))
    sa.Table("srv_attachment", m,
             C("row_id", S(36), primary_key=True), C("sha256", S(64), nullable=False, index=True),
             C("grid_id", S(36)), C("device_id", S(36)), C("deleted", B, nullable=False))
    sa.Table("srv_bundle", m,
             C("bundle_id", S(36), primary_key=True), C("device_id", S(36), nullable=False),
             C("imported_at", DT, nullable=False), C("summary", T, nullable=False))
    sa.Table("srv_key", m, C("name", S(32), primary_key=True), C("value", T, nullable=False))
    sa.Table("srv_audit", m,
             C("id", INT, primary_key=True, autoincrement=True), C("at", DT, nullable=False, index=True),
             C("actor", S(64), nullable=False, index=True), C("device_id", S(36)),
             C("action", S(24), nullable=False, index=True), C("detail", T), C("entity", S(32)),
             C("entity_id", S(36)), C("summary", T), C("source_seq", BI), C("sent_by", S(64)),
             C("claimed_actor", S(64)), C("claimed_at", S(40)),
             sa.Index("ux_srv_audit_source", "device_id", "source_seq", unique=True))
    return m


def upgrade() -> None:
    bind = op.get_bind()
    baseline = _baseline()
    baseline.create_all(bind, checkfirst=True)
    # A database from an older release: its tables exist but may lack columns (all nullable) and
    # indexes that later releases added with create_all and an in-place ALTER.
    have = sa.inspect(bind)
    for table in baseline.sorted_tables:
        cols = {c["name"] for c in have.get_columns(table.name)}
        for col in table.columns:
            if col.name not in cols and col.nullable:
                op.add_column(table.name, sa.Column(col.name, col.type, nullable=True))
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    for table in reversed(_baseline().sorted_tables):
        op.drop_table(table.name)
