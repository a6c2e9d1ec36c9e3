"""Once-a-day upkeep: marks that depend on the calendar (独居老人 at 60) are recomputed."""

from __future__ import annotations

from datetime import date

from desktop.services import rules
from desktop.services.store import Actor, Store

META_KEY = "derived_marks_refreshed_on"


def daily(store: Store, actor: Actor, *, today: date | None = None) -> int:
    """Refresh derived care marks if that has not happened today; returns the rows changed."""
    today = today or date.today()
    if store.path is not None and str(store.path) != ":memory:":
        from desktop.services.backup import backup_if_due

        backup_if_due(store, actor)  # the scheduled backup: once a day, kept with the last ten
    if store.meta(META_KEY) == today.isoformat():
        return 0
    with store.transaction() as s:
        changed = rules.refresh_derived_marks(s, actor, today=today)
    store.set_meta(META_KEY, today.isoformat())
    return changed
