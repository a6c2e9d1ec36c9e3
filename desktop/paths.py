"""The one module that owns file locations (platformdirs, overridable for tests and portable use)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_data_path

from desktop import APP_NAME

ENV_DB = "GRIDLEDGER_DB"
ENV_DATA_DIR = "GRIDLEDGER_DATA_DIR"


def data_dir() -> Path:
    """Folder for the local database, backups and settings."""
    override = os.environ.get(ENV_DATA_DIR)
    path = Path(override) if override else user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """`--db` beats `GRIDLEDGER_DB`, which beats the platform's user data folder."""
    override = os.environ.get(ENV_DB)
    if override:
        return Path(override).expanduser()
    return data_dir() / "gridledger.db"


def backup_dir_for(db_path: Path) -> Path:
    return db_path.parent / "backups"


def resources_dir() -> Path:
    """Top-level `resources/` (icons, styles, fonts notes); inside a frozen bundle, under _MEIPASS."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
