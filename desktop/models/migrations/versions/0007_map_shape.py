"""grid map: shapes drawn or imported (map_shape); the background plan is an attachment of the grid

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00.000000

The background plan needs no table of its own: it is an `attachment` row (owner_kind 'area',
owner_id the grid, purpose 'map_plan'), which syncs with its image bytes as photos do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.db import ddl

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'map_shape',
        sa.Column('grid_id', sa.String(length=36), nullable=False),
        sa.Column('what', sa.String(length=16), nullable=False),
        sa.Column('estate', sa.String(length=64), nullable=True),
        sa.Column('building', sa.String(length=16), nullable=True),
        sa.Column('space', sa.String(length=8), nullable=False),
        sa.Column('geometry', sa.String(length=16000), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.Column('deleted_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_map_shape_grid_id_area')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_map_shape')),
    )
    with op.batch_alter_table('map_shape', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_map_shape_grid_id'), ['grid_id'], unique=False)
    ddl.install_capture(op.get_bind(), 'map_shape')


def downgrade() -> None:
    ddl.drop_capture(op.get_bind(), 'map_shape')
    op.drop_table('map_shape')
