"""srv_record.field_meta may write an entry several fields share once (server.models.dump_meta)

Nothing in the tables changes: this revision marks the databases whose records may hold the
shared form, so that an older server, which reads only the one-entry-per-field form, refuses
them (server.schema: a database stamped by a newer server) instead of misreading them. Records
in the older form stay as they are; the merge reads both.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 19:10:00.000000
"""

from collections.abc import Sequence

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
