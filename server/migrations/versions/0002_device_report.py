"""devices: what the office's device list shows (schema version, cursor, unsent changes, last push) and revocation

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('srv_device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schema_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_cursor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('pending_changes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_push_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('srv_device', schema=None) as batch_op:
        for name in ('revoked_by', 'revoked_at', 'last_push_at', 'pending_changes', 'last_cursor', 'schema_version'):
            batch_op.drop_column(name)
