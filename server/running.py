"""Whether a server process (`gridledger serve`) is using a database, so that `gridledger server
restore` refuses to replace it under a running server.

SQLite: each serve process holds a shared lock on `<database>.serving` beside the file while it
runs (the OS drops it when the process ends, even when killed); restore asks for an exclusive
lock and is refused while any serve holds it. PostgreSQL: serve connects with the application
name `gridledger-serve`, and restore looks for such sessions in pg_stat_activity."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, text

from server.schema import sqlite_path

SERVE_APPLICATION = "gridledger-serve"


def marker_path(db: Path) -> Path:
    return db.with_name(db.name + ".serving")


def _lock(fh: IO[bytes], *, exclusive: bool) -> bool:
    """Take the lock without waiting; False when another process holds a conflicting one."""
    if sys.platform == "win32":  # pragma: no cover - Windows has no shared lock here: one serve per file
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def hold_serving(url: str) -> IO[bytes] | None:
    """Called by serve: hold the marker's shared lock for the life of the process (the returned
    file must stay open). None for PostgreSQL (the application name marks it there)."""
    path = sqlite_path(url)
    if path is None:
        return None
    try:
        fh = open(marker_path(path), "a+b")  # noqa: SIM115 - held open until the process ends
    except OSError:  # a read-only folder: restore then cannot tell, and says nothing wrong
        return None
    _lock(fh, exclusive=False)
    return fh


def serve_running(url: str) -> str | None:
    """A short description of the server processes using the database, or None."""
    path = sqlite_path(url)
    if path is not None:
        marker = marker_path(path)
        if not marker.exists():
            return None
        with open(marker, "a+b") as fh:
            if _lock(fh, exclusive=True):
                return None
        return f"锁文件 {marker} 被占用"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            n = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :app AND pid <> pg_backend_pid()"), {"app": SERVE_APPLICATION}).scalar_one()
    finally:
        engine.dispose()
    return f"{n} 个服务器连接" if n else None
