"""What print_archives would refuse: characters the print font lacks, found before printing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from desktop.printing import archive
from desktop.printing.common import actor_label
from desktop.printing.data import load_archives, reference
from desktop.printing.fonts import resolve_font
from desktop.printing.text import Guard
from desktop.services.store import Actor, Store

BATCH = 100


def check_glyphs(store: Store, actor: Actor, household_ids: Iterable[str], *,
                 font_path: str | None = None) -> list[tuple[str, str, str]]:
    """(who/where, field label, character) for every character of these archives that the print
    font cannot draw; empty when they can be printed as they are."""
    ids = list(dict.fromkeys(household_ids))
    guard = Guard(resolve_font(font_path))
    now = datetime.now()
    with store.session() as s:
        conn = s.connection()
        ref = reference(conn)
        for k in range(0, len(ids), BATCH):
            for d in load_archives(conn, actor, ids[k : k + BATCH], ref):
                archive.content(d, guard, unmask=False, printed_by=actor_label(actor), printed_at=now,
                                users=ref["users"])
    return list(guard.items)
