"""The one module that owns file locations (platformdirs, overridable for tests and portable use)."""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
from pathlib import Path

from platformdirs import user_data_path, user_log_path

from desktop import APP_NAME

ENV_DB = "GRIDLEDGER_DB"
ENV_DATA_DIR = "GRIDLEDGER_DATA_DIR"
ENV_LOG_DIR = "GRIDLEDGER_LOG_DIR"
LOG_MAX_BYTES = 2_000_000  # gridledger.log is rotated at 2 MB, keeping four older files: 10 MB at most
LOG_BACKUPS = 4
CRASH_LOG = "crash.log"  # faulthandler's report of a hard crash, next to gridledger.log


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Make the folder (and its missing parents) for this program's own files, readable by the
    user alone on POSIX (0700). An existing one is tightened when it is ours by name (`tighten`:
    backups/, drafts/, the platform's folders), never a folder the user pointed us at."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and tighten:
        try:
            mode = path.stat().st_mode
            if path.stat().st_uid == os.getuid() and mode & 0o077:
                path.chmod(mode & 0o700)  # others' bits off; the user's own (read-only or not) kept
        except OSError:  # not ours to change: left as it is
            pass
    return path


def private_file(path: Path) -> None:
    """An existing file of ours (written by an older version, with 0644) readable by the user alone."""
    if os.name != "posix":
        return
    try:
        st = path.lstat()
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(st.st_mode & 0o700)  # others' bits off; a read-only file stays read-only
    except OSError:
        pass


def data_dir() -> Path:
    """Folder for the local database, backups and settings (0700 on POSIX)."""
    override = os.environ.get(ENV_DATA_DIR)
    path = Path(override) if override else user_data_path(APP_NAME, appauthor=False)
    return private_dir(path, tighten=not override)


def default_db_path() -> Path:
    """`--db` beats `GRIDLEDGER_DB`, which beats the platform's user data folder."""
    override = os.environ.get(ENV_DB)
    if override:
        return Path(override).expanduser()
    return data_dir() / "gridledger.db"


def backup_dir_for(db_path: Path) -> Path:
    return db_path.parent / "backups"


def tidy_path(path: Path | str | None) -> str | None:
    """A path with the home folder written as ~ (the account name is often a person's name)."""
    if path is None:
        return None
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home.rstrip("/\\") + ("\\" if "\\" in home else "/"))):
        return "~" + text[len(home):]
    return text


def resources_dir() -> Path:
    """Top-level `resources/` (icons, styles, fonts notes); inside a frozen bundle, under _MEIPASS."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def log_file() -> Path:
    """gridledger.log: `$GRIDLEDGER_LOG_DIR`, else `logs/` in an overridden data folder (tests,
    portable use), else the platform's user log folder."""
    override = os.environ.get(ENV_LOG_DIR)
    if override:
        return Path(override) / "gridledger.log"
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]) / "logs" / "gridledger.log"
    return user_log_path(APP_NAME, appauthor=False) / "gridledger.log"


def log_dir() -> Path:
    """The folder of gridledger.log, its rotated copies and crash.log."""
    return log_file().parent


# an ID number (18 characters) and a mainland mobile number, standing alone: masked in every log
# line as a safety net (the code logs counts and ids, never a person's values; names cannot be
# recognised by a pattern and are kept out by what is logged)
_PERSONAL = re.compile(r"(?<![0-9A-Za-z])(?:[1-9]\d{16}[0-9Xx]|1[3-9]\d{9})(?![0-9A-Za-z])")


def redact(text: str) -> str:
    return _PERSONAL.sub("[已隐去]", text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback alike) has ID and phone numbers masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def start_log_file() -> Path | None:
    """Send the log (our packages from INFO, everything else from WARNING, tracebacks included)
    to the rotating log file; the user's terminal and dialogs get one Chinese sentence instead.
    Once per process (again when the location changed); None when the file cannot be opened
    (nothing is logged then, and a log that cannot be written never bothers the user)."""
    from logging.handlers import RotatingFileHandler

    class Quiet(RotatingFileHandler):
        gridledger_log: Path | None = None  # the file it writes: our handler

        def handleError(self, record: logging.LogRecord) -> None:  # a full disk: no noise on stderr
            pass

    path = log_file()
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(mark := getattr(h, "gridledger_log", None), Path):
            if mark == path:
                return path
            root.removeHandler(h)
            h.close()
    try:
        private_dir(path.parent, tighten=not os.environ.get(ENV_LOG_DIR))
        handler = Quiet(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError:
        return None
    handler.gridledger_log = path
    handler.setFormatter(RedactingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for ours in ("desktop", "ui", "server"):
        if logging.getLogger(ours).level == logging.NOTSET:
            logging.getLogger(ours).setLevel(logging.INFO)
    return path
