"""Storage: engine factory, pragmas, change capture, search index, migrations, backups."""

from desktop.db.engine import (
    StorageError,
    capture_suspended,
    make_engine,
    session_factory,
)

__all__ = ["StorageError", "capture_suspended", "make_engine", "session_factory"]
