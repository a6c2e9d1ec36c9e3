"""SyncError: what stops a sync, as one Chinese message and a stable code (its own module, so
that desktop/sync/trust.py and desktop/sync/client.py can both raise it; client re-exports it)."""

from __future__ import annotations


class SyncError(Exception):
    """A sync that could not finish; str() is the Chinese message shown to the user."""

    def __init__(self, message: str, code: str = "error", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after  # a busy server's Retry-After, in seconds
