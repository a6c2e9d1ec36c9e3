"""GridLedger core: models, storage, validation and services. Never imports Qt."""

__version__ = "0.1.0"
APP_NAME = "GridLedger"
APP_TITLE = "网格台账"


def disable_core_dumps() -> None:
    """No core file for this process: it would hold the database key and residents' data. Called
    first thing by the `gridledger` command and the desktop app (POSIX; Windows writes none)."""
    try:
        import resource
    except ImportError:  # Windows
        return
    import contextlib

    with contextlib.suppress(ValueError, OSError):  # a platform without the limit
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def private_files() -> None:
    """Every file this process creates is readable by its user alone (0600, folders 0700): the
    database, its keyring, backups, drafts, exports, settings and logs hold residents' data or
    keys. POSIX only: on Windows the files live in the user's profile folders, whose ACL already
    gives the user (and administrators) alone access (docs/design/SECURITY.md § Files on disk)."""
    import os

    if os.name == "posix":
        os.umask(0o077)
