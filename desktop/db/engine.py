"""Engine factory. SQLite in WAL mode with foreign keys on; ready for an encryption key (SQLCipher)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from desktop.db.functions import cjk_grams


class StorageError(Exception):
    """A storage problem explained in Chinese for the user (missing, corrupt or locked file):
    `message` is the sentence (as for desktop.services.errors.ServiceError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# How long a statement waits for another connection's lock before "database is locked" (tests that
# hold a lock on purpose lower it).
BUSY_TIMEOUT_MS = 10_000


def busy_seconds() -> float:
    return BUSY_TIMEOUT_MS / 1000


def _register(dbapi_conn: Any, record: Any) -> None:
    state = {"capture": 1, "search": 1}
    record.info["capture_state"] = state
    dbapi_conn.create_function("gl_capture", 0, lambda: state["capture"])
    dbapi_conn.create_function("gl_search", 0, lambda: state["search"])
    dbapi_conn.create_function("gl_grams", 1, cjk_grams, deterministic=True)
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-32000")
    finally:
        cur.close()


# An encrypted page costs a decryption (AES + HMAC check) every time SQLite reads it from the
# file, a plain page only a copy (and the OS cache keeps plain pages warm): encrypted connections
# keep more pages. Allocated only as used; no change to the file format.
ENCRYPTED_CACHE_KIB = 128_000


def _encrypted_tuning(dbapi_conn: Any, record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA cache_size=-{ENCRYPTED_CACHE_KIB}")
    finally:
        cur.close()


def make_engine(path: str | Path, *, key: str | None = None, echo: bool = False) -> Engine:
    """Engine on a local SQLite file (or ':memory:').

    With `key`, the file is opened through SQLCipher (the `sqlcipher3` module) and the key is
    applied before any other statement; everything else (pragmas, functions, triggers) is the
    same, so the rest of the code does not change shape when encryption is switched on."""
    database = str(path)
    if key is None:
        url = URL.create("sqlite", database=database)
        engine = create_engine(url, echo=echo, hide_parameters=True)  # no record values in errors or logs
    else:
        try:
            import sqlcipher3  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on an optional package
            raise StorageError("无法打开加密数据库:未安装 sqlcipher3 组件。") from exc
        # The pysqlcipher dialect escapes the key and sends PRAGMA key before anything else.
        url = URL.create("sqlite+pysqlcipher", password=key, database=database)
        # Its default pool (SingletonThreadPool) keeps one connection per thread, five at most: the
        # sixth thread to connect closes another thread's connection, even in the middle of a query
        # ("Cannot operate on a closed database", then a segmentation fault). The app's background
        # jobs run on pool threads that come and go, so a file gets a queue of connections, as a
        # plain one does (SQLAlchemy's choice for file databases; the dialect connects with
        # check_same_thread off for a file).
        extra: dict[str, Any] = {} if database == ":memory:" else {"poolclass": QueuePool}
        engine = create_engine(url, echo=echo, hide_parameters=True, **extra)  # no record values in errors or logs

    event.listen(engine, "connect", _register)
    if key is not None:
        event.listen(engine, "connect", _encrypted_tuning)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def capture_suspended(session: Session) -> Iterator[None]:
    """Apply rows without writing them to the sync outbox (used when applying pulled changes).

    Only this session's connection is affected; the flag is restored even on error."""
    conn = session.connection()
    state = conn.connection._connection_record.info["capture_state"]
    state["capture"] = 0
    try:
        yield
    finally:
        state["capture"] = 1


@contextmanager
def switches_off(dbapi_record_info: dict, *names: str) -> Iterator[None]:
    """Turn per-connection trigger switches ("capture", "search") off for one block."""
    state = dbapi_record_info["capture_state"]
    before = {n: state[n] for n in names}
    for n in names:
        state[n] = 0
    try:
        yield
    finally:
        state.update(before)


def probe_writable(engine: Engine) -> None:
    """Fail now, before anything is done, when the file cannot be written (read-only, locked by
    another writer): a header field is rewritten with its own value inside a transaction that is
    rolled back (not a savepoint, whose release would commit), so the file's bytes never change."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        try:
            raw.rollback()
            cur.execute("BEGIN IMMEDIATE")
            try:
                version = cur.execute("PRAGMA user_version").fetchone()[0]
                cur.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                raw.rollback()
        finally:
            cur.close()
    finally:
        raw.close()
