"""Alembic environment of the server's own chain: runs on the connection handed over by
server.schema (which takes the lock and makes the backup first)."""

from __future__ import annotations

from alembic import context

from server.models import ServerBase


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - server.schema always hands a connection over
        raise RuntimeError("server.schema must provide a connection")
    context.configure(
        connection=connection,
        target_metadata=ServerBase.metadata,
        render_as_batch=True,
        compare_type=True,
        version_table="srv_alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
