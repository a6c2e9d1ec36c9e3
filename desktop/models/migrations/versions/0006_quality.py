"""quality: 无证件 reason, residence-card end date, the date a record was last verified (核实), merges

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 16:30:00.000000

person.residence_card_until, which the queue also reads, came with the visit plan (0004).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.db import ddl

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # add_column keeps the tables (and their search triggers) in place
    op.add_column('person', sa.Column('no_cert_reason', sa.String(length=64), nullable=True))
    for table in ('person', 'house', 'vehicle'):
        op.add_column(table, sa.Column('verified_on', sa.Date(), nullable=True))
        # a merged duplicate: the tombstone names the record it was merged into
        op.add_column(table, sa.Column('merged_into', sa.String(length=36), nullable=True))
    # the queue's duplicate checks group live people by these, from the index alone
    # (covering: deleted_at in the index, else SQLite reads every row to check it)
    op.create_index('ix_person_live_cert', 'person', ['cert_no', 'deleted_at'], unique=False)
    op.create_index('ix_person_live_name_birth', 'person', ['name', 'birth_date', 'deleted_at', 'household_id'],
                    unique=False)
    op.create_index('ix_person_live_phone', 'person', ['phone', 'deleted_at', 'household_id'], unique=False)
    bind = op.get_bind()
    for table in ('person', 'house', 'vehicle'):
        ddl.install_capture(bind, table)


def downgrade() -> None:
    bind = op.get_bind()
    for name in ('ix_person_live_phone', 'ix_person_live_name_birth', 'ix_person_live_cert'):
        op.drop_index(name, table_name='person')
    for table in ('person', 'house', 'vehicle'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('merged_into')
            batch_op.drop_column('verified_on')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('no_cert_reason')
    for table in ('person', 'house', 'vehicle'):
        ddl.install_capture(bind, table)
    ddl.install_search(bind)
