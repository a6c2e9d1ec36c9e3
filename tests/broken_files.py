"""Damaged, odd and unavailable database files for the tests of every command and of the app's
start-up: a folder, random bytes, a truncated file, a zero-byte file, a newer schema, a read-only
file and a database locked by another process."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CASES = ("folder", "random", "truncated", "zero", "newer", "readonly", "locked")
NEWER_REVISION = "9999_from_the_future"
NEWER_VERSION = "99.0.0"


def make_template(folder: Path, households: int = 12) -> Path:
    """A small plain demo database, closed and checkpointed (one self-contained file)."""
    from desktop.services.demo import generate
    from desktop.services.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "template.db"
    store = Store.open(path, create=True)
    generate(store, households=households, seed=5)
    store.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def fingerprint(path: Path) -> str:
    """What must not change: the file's bytes (a folder: its listing)."""
    if path.is_dir():
        return "dir:" + ",".join(sorted(p.name for p in path.iterdir()))
    if not path.exists():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _immutable(path: Path, on: bool) -> None:
    """Read-only even for root: chattr +i (root ignores permission bits)."""
    if os.geteuid() != 0:
        path.chmod((0o555 if path.is_dir() else 0o444) if on else (0o755 if path.is_dir() else 0o644))
        return
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file read-only for root here: {done.stderr.decode(errors='replace')}")


HOLDER = textwrap.dedent("""
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("PRAGMA locking_mode=EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    print("locked", flush=True)
    sys.stdin.read()
    con.execute("ROLLBACK")
    con.close()
""")


@contextmanager
def broken(kind: str, template: Path, folder: Path) -> Iterator[Path]:
    """The database path for case `kind` inside `folder` (restored to normal afterwards)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}.db"
    if kind == "folder":
        path.mkdir()
        yield path
        return
    if kind == "random":
        path.write_bytes(os.urandom(16 * 1024))
        yield path
        return
    if kind == "zero":
        path.write_bytes(b"")
        yield path
        return
    shutil.copyfile(template, path)
    if kind == "truncated":
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size // 2)
        yield path
        return
    if kind == "newer":
        con = sqlite3.connect(path)
        with con:
            con.execute("UPDATE alembic_version SET version_num = ?", (NEWER_REVISION,))
            con.execute("INSERT OR REPLACE INTO local_meta(key, value) VALUES ('app_version', ?)", (NEWER_VERSION,))
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        yield path
        return
    if kind == "readonly":
        _immutable(path, True)
        try:
            yield path
        finally:
            _immutable(path, False)
        return
    if kind == "locked":
        with subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) as holder:
            assert holder.stdin is not None and holder.stdout is not None
            try:
                assert holder.stdout.readline().strip() == "locked"
                yield path
            finally:
                holder.stdin.close()
                holder.wait(timeout=60)
        return
    raise ValueError(kind)
