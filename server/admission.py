"""Admission of first syncs: at most N laptops fetch (or send) their whole data at once.

A Monday-morning rush of new laptops would otherwise share the server's two cores N ways and
every one of them would time out. A first sync is a hello with cursor 0; it takes a lease, kept
alive by its pushes and pull pages and ended by its last pull page (or by itself after
LEASE_SECONDS of silence: a laptop that crashed or lost its network gives its place back). When
all N places are taken, the hello is answered 503 with Retry-After and a Chinese sentence; the
laptop waits (with jitter) and tries again (desktop/sync/client.py). Leases live in the database,
so several server processes on one PostgreSQL share the same N. Incremental syncs never wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, text, update
from sqlalchemy.orm import Session

from server.models import FirstSync, utcnow

LEASE_SECONDS = 120
RETRY_AFTER = 15  # seconds a refused laptop waits before asking again (it adds jitter)
DEFAULT_LIMIT = 8
_LOCK = 7433  # PostgreSQL advisory lock of the lease table (7431: the commit sequence)


class ServerBusy(Exception):
    """Every place is taken: answered 503 with Retry-After (server/app.py); str() is the Chinese
    sentence the laptop shows."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Admission:
    limit: int = DEFAULT_LIMIT  # 0: no limit
    lease_seconds: int = LEASE_SECONDS
    retry_after: int = RETRY_AFTER

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def admit(self, s: Session, device_id: str, *, is_sqlite: bool) -> None:
        """Take (or keep) a place for `device_id`'s first sync, or refuse with 503. Runs in the
        hello's transaction (on SQLite every transaction holds the write lock from its start)."""
        if not self.enabled:
            return
        if not is_sqlite:
            s.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
        now = utcnow()
        s.execute(delete(FirstSync).where(FirstSync.until < now))
        until = now + timedelta(seconds=self.lease_seconds)
        taken = s.execute(update(FirstSync).where(FirstSync.device_id == device_id).values(until=until))
        if cast(CursorResult[Any], taken).rowcount:
            return
        busy = s.scalar(select(func.count()).select_from(FirstSync)) or 0
        if busy >= self.limit:
            raise ServerBusy(f"服务器繁忙:已有 {busy} 台电脑正在首次同步(上限 {self.limit} 台),"
                             f"请 {self.retry_after} 秒后重试;网格台账会自动重试,本机数据未受影响。",
                             self.retry_after)
        s.add(FirstSync(device_id=device_id, until=until))

    def renew(self, s: Session, device_id: str) -> None:
        """A push or a pull page of a first sync in progress: its lease runs on."""
        if self.enabled:
            until = utcnow() + timedelta(seconds=self.lease_seconds)
            s.execute(update(FirstSync).where(FirstSync.device_id == device_id).values(until=until))

    def release(self, s: Session, device_id: str) -> None:
        """The last pull page: the first sync is done, its place is free."""
        if self.enabled:
            s.execute(delete(FirstSync).where(FirstSync.device_id == device_id))
