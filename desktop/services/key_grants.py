"""Each local user's wrapped copy of an encrypted database's key (desktop.db.keys.Keyring).

Below both desktop.services.session (which opens and encrypts the file) and
desktop.services.users (which adds users and changes passwords): both hand out keys here."""

from __future__ import annotations

from desktop.db.keys import Keyring
from desktop.services.store import Store


def grant(store: Store, username: str, password: str, *, display: str | None = None, role: str | None = None) -> None:
    """Give `username` their own wrapped copy of this (unlocked, encrypted) database's key."""
    if store.key is None or store.path is None:
        return
    ring = Keyring.load(store.path)
    ring.add(username, password, store.key)
    entry = ring.users[username]
    entry.update(display=display or username, role=role or "")
    ring.save()
