"""grid events get a handler (处置人)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.db import ddl

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('grid_event', sa.Column('handler', sa.String(length=64), nullable=True))
    # the capture triggers list the table's columns: rebuilt so a handler travels with the event
    bind = op.get_bind()
    ddl.drop_capture(bind, 'grid_event')
    ddl.install_capture(bind, 'grid_event')


def downgrade() -> None:
    bind = op.get_bind()
    ddl.drop_capture(bind, 'grid_event')
    with op.batch_alter_table('grid_event', schema=None) as batch_op:
        batch_op.drop_column('handler')
    ddl.install_capture(bind, 'grid_event')
