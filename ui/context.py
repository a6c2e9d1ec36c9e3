"""What every page needs: the opened store, the signed-in actor, settings and the thread pool."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings, QThreadPool

from desktop.paths import data_dir
from desktop.services.store import Actor, Store


def app_settings() -> QSettings:
    """Settings live in the app's data folder (overridable for tests and portable installs)."""
    return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)


@dataclass
class AppContext:
    store: Store
    actor: Actor
    settings: QSettings = field(default_factory=app_settings)
    pool: QThreadPool = field(default_factory=QThreadPool.globalInstance)

    @property
    def draft_secret(self) -> bytes | None:
        """The key form drafts are encrypted with on an encrypted laptop (None on a plain one)."""
        return self.store.derived_key("drafts")

    @property
    def is_admin(self) -> bool:
        return self.actor.grid_ids is None
