"""visit plan: visit rules (走访频次规则), life events (情况变化), residence-card end date

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.db import ddl

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _bookkeeping() -> list[sa.Column]:
    return [
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.Column('deleted_by', sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        'visit_rule',
        sa.Column('target_kind', sa.String(length=16), nullable=False),
        sa.Column('target_value', sa.String(length=32), nullable=False),
        sa.Column('interval_days', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        *_bookkeeping(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_rule')),
    )
    with op.batch_alter_table('visit_rule', schema=None) as batch_op:
        batch_op.create_index('ix_visit_rule_target', ['target_kind', 'target_value'], unique=False)

    op.create_table(
        'life_event',
        sa.Column('grid_id', sa.String(length=36), nullable=False),
        sa.Column('household_id', sa.String(length=36), nullable=False),
        sa.Column('person_id', sa.String(length=36), nullable=True),
        sa.Column('event_type', sa.String(length=16), nullable=False),
        sa.Column('occurred_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_life_event_grid_id_area')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_life_event_household_id_household')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_life_event_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_life_event')),
    )
    with op.batch_alter_table('life_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_life_event_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_life_event_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_life_event_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_life_event_occurred_on'), ['occurred_on'], unique=False)

    # add_column keeps the person table (and its search triggers) in place
    op.add_column('person', sa.Column('residence_card_until', sa.Date(), nullable=True))
    # the plan reads a period's live visits by day (covering: no table lookups)
    op.create_index('ix_visit_live_day', 'visit', ['visited_on', 'household_id', 'grid_id'], unique=False,
                    sqlite_where=sa.text('deleted_at IS NULL'))

    bind = op.get_bind()
    for table in ('visit_rule', 'life_event', 'person'):
        ddl.install_capture(bind, table)


def downgrade() -> None:
    bind = op.get_bind()
    ddl.drop_capture(bind, 'visit_rule')
    ddl.drop_capture(bind, 'life_event')
    op.drop_index('ix_visit_live_day', table_name='visit')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('residence_card_until')
    ddl.install_capture(bind, 'person')
    ddl.install_search(bind)
    op.drop_table('life_event')
    op.drop_table('visit_rule')
