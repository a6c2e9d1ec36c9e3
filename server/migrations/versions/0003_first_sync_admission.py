"""first syncs: the leases of admission control (server/admission.py), shared by every server process

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 16:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a database stamped as the baseline may have it already (created by a build that made its
    # tables with create_all): only what is missing is added, as in the baseline
    if sa.inspect(op.get_bind()).has_table('srv_first_sync'):
        return
    op.create_table(
        'srv_first_sync',
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('device_id'),
    )


def downgrade() -> None:
    op.drop_table('srv_first_sync')
