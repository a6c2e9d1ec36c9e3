"""Alembic environment: runs on the connection handed over by desktop.db.migrate."""

from __future__ import annotations

from alembic import context

from desktop.db.migrate import include_name
from desktop.models import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - the app always hands a connection over
        raise RuntimeError("desktop.db.migrate must provide a connection")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
