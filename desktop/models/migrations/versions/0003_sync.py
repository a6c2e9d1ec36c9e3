"""sync: outbox cursor and result, search triggers with a per-connection switch

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.db import ddl
from desktop.models import SYNCED_TABLES

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('known_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('result', sa.String(length=16), nullable=True))
    bind = op.get_bind()
    # Capture triggers now record the sync cursor; search triggers can be switched off while a
    # first sync fills an empty file (the index is rebuilt once at the end instead).
    existing = set(sa.inspect(bind).get_table_names())
    for table in SYNCED_TABLES:
        if table in existing:  # tables added by later migrations install their own capture
            ddl.install_capture(bind, table)
    ddl.install_search(bind)


def downgrade() -> None:
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.drop_column('result')
        batch_op.drop_column('known_seq')
