"""An encryption killed at any step (kill -9 of a real process) is finished or undone at the next
start, and no plain copy of the data stays anywhere: not the database, not a backup, not the
safety copy taken just before, not a draft (docs/design/STORAGE.md § Encryption journal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.db.keys import SQLITE_HEADER, is_encrypted, journal_path, keyring_path, recovery_path
from desktop.services.backup import backup_now, list_backups
from desktop.services.demo import DEMO_PASSWORD, generate
from desktop.services.session import LocalDatabase, encrypt
from desktop.services.store import SYSTEM, Store

ROOT = Path(__file__).resolve().parents[2]

# The child encrypts the database and kills itself (SIGKILL: no handler, no cleanup runs) at one
# point of the conversion, found by wrapping the functions the conversion calls.
CHILD = textwrap.dedent('''
    import os, shutil, signal, sys
    from pathlib import Path
    import desktop.db.keys as keys
    from desktop.services.session import encrypt

    point, db = sys.argv[1], Path(sys.argv[2])

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def after(obj, name, when=lambda *a, **k: True, before=False):
        real = getattr(obj, name)
        def wrapped(*a, **k):
            if before and when(*a, **k):
                die()
            out = real(*a, **k)
            if not before and when(*a, **k):
                die()
            return out
        setattr(obj, name, wrapped)

    if point == "begin":
        after(keys, "_write_journal", lambda db_path, step, **info: step == "begin")
    elif point == "exported":
        after(shutil, "copyfile", before=True)
    elif point == "one-backup":
        after(keys, "encrypt_copy")
    elif point == "keyring":
        after(keys.Keyring, "save")
    elif point == "switch":
        after(keys, "_write_journal", lambda db_path, step, **info: step == "switch")
    elif point == "renamed":
        after(keys, "finish_forward", before=True)
    elif point == "forward":
        seen = []
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if str(src).endswith(".encrypting"):
                seen.append(src)
                if len(seen) == 3:  # the database and one backup are renamed, the others not yet
                    die()
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    encrypt(db, "admin", "demo1234")
    print("finished without being killed")
''')

ROLLED_BACK = ("begin", "exported", "one-backup", "keyring", "switch")
FINISHED = ("renamed", "forward")


@pytest.fixture
def laptop(tmp_path):
    """A plain street with two plain backups and a plain draft holding an ID number."""
    from desktop.services.drafts import save_draft

    path = tmp_path / "laptop.db"
    st = Store.open(path, create=True)
    generate(st, households=8, seed=4)
    backup_now(st, SYSTEM)
    backup_now(st, SYSTEM, label="second")
    with st.engine.connect() as c:
        cert = c.exec_driver_sql("SELECT cert_no FROM person WHERE cert_no IS NOT NULL LIMIT 1").scalar()
        people = c.exec_driver_sql("SELECT count(*) FROM person").scalar()
    st.close()
    save_draft("person-new", {"user": "admin", "kind": "person"}, {"name": "草稿", "cert_no": cert})
    return path, cert, people


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _kill_at(point: str, path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, point, str(path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stdout, done.stderr[-2000:])


def _start_again(path: Path, capsys) -> None:
    """The next start: any command (here `keys status`, a reading one) finishes or undoes it."""
    from desktop.cli import main

    capsys.readouterr()
    assert main(["--db", str(path), "keys", "status"]) == 0


def _no_leftovers(path: Path) -> None:
    names = [p.name for p in _files(path.parent)]
    assert not journal_path(path).exists()
    assert not [n for n in names if n.endswith((".encrypting", ".part", "-journal", ".lock", ".restoring"))], names


@pytest.mark.parametrize("point", ROLLED_BACK + FINISHED)
def test_a_conversion_killed_at_any_step_is_finished_or_undone(laptop, point, capsys):
    path, cert, people = laptop
    before = sorted(b.path.name for b in list_backups(path))
    _kill_at(point, path)
    assert journal_path(path).exists()  # killed halfway: the journal says so
    _start_again(path, capsys)
    _no_leftovers(path)
    if point in ROLLED_BACK:
        # fully undone: the plain file as it was, its backups as they were, no keyring
        assert not is_encrypted(path) and path.read_bytes()[:16] == SQLITE_HEADER
        assert not keyring_path(path).exists() and not recovery_path(path).exists()
        assert sorted(b.path.name for b in list_backups(path)) == before
        st = Store.open(path)
        with st.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM person").scalar() == people
        st.close()
        # and encrypting again simply works (never "already encrypted")
        encrypt(path, "admin", DEMO_PASSWORD)
    assert is_encrypted(path)
    # fully encrypted: no file beside it (database, backups, safety copy) holds the data in clear
    store, _actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)  # the next unlock finishes drafts
    try:
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM person").scalar() == people
            assert c.exec_driver_sql("SELECT count(*) FROM audit_log WHERE action = 'encrypt'").scalar() >= 1
    finally:
        store.close()
    backups = list_backups(path)
    assert len(backups) == len(before) + 1  # the encrypted safety copy, and every older one
    for f in _files(path.parent) + _files(Path(os.environ["GRIDLEDGER_DATA_DIR"])):
        body = f.read_bytes()
        assert cert.encode() not in body and not body.startswith(SQLITE_HEADER), f
    _no_leftovers(path)


def test_a_rerun_after_an_older_version_left_plain_backups_finishes_them(laptop):
    """An encrypted database with plain backups beside it (what the previous version left when
    killed after the rename): they are encrypted at the next unlock."""
    import shutil

    path, cert, _ = laptop
    plain_copy = path.with_name("plain-copy.db")
    shutil.copyfile(list_backups(path)[0].path, plain_copy)
    encrypt(path, "admin", DEMO_PASSWORD)
    stale = list_backups(path)[0].path.with_name("laptop-20200101-000000-000000-manual.db")
    shutil.copyfile(plain_copy, stale)
    plain_copy.unlink()
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    store.close()
    assert not stale.read_bytes().startswith(SQLITE_HEADER) and cert.encode() not in stale.read_bytes()


def test_leftovers_of_interrupted_backups_and_restores_are_removed(laptop, capsys):
    path, *_ = laptop
    folder = path.parent / "backups"
    half = [folder / "laptop-20260101-000000-000000-manual.part", path.with_name(path.name + ".restoring"),
            path.with_name(path.name + ".encrypting"), folder / "laptop-20260101-000000-000000-x.db.encrypting"]
    for f in half:
        f.write_bytes(SQLITE_HEADER + b"half")
    _start_again(path, capsys)
    assert not any(f.exists() for f in half)


# A backup or a restore killed halfway: the next start removes what it left, and the database is
# the old one or the restored one, whole.
COPY_CHILD = textwrap.dedent('''
    import os, pathlib, signal, sys
    from pathlib import Path
    import desktop.services.backup as backup

    point, db, source = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "backup":
        real = pathlib.Path.replace
        def replace(self, target):
            if self.name.endswith(".part"):
                die()
            return real(self, target)
        pathlib.Path.replace = replace
        from desktop.services.store import SYSTEM, Store
        st = Store.open(db)
        backup.backup_now(st, SYSTEM)
    else:
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if str(src).endswith(".restoring") and point == "restore-before-rename":
                die()
            out = real_replace(src, dst, *a, **k)
            if str(src).endswith(".restoring") and point == "restore-after-rename":
                die()
            return out
        backup.os.replace = replace
        from desktop.services.store import SYSTEM
        backup.restore(db, source, SYSTEM)
''')


@pytest.mark.parametrize("point", ["backup", "restore-before-rename", "restore-after-rename"])
def test_a_backup_or_restore_killed_halfway(laptop, point, capsys):
    path, _, people = laptop
    source = list_backups(path)[-1].path
    st = Store.open(path)  # the capture triggers need the store's functions
    with st.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM visit_need")
    st.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", COPY_CHILD, point, str(path), str(source)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    left = [p.name for p in _files(path.parent) if p.name.endswith((".part", ".restoring"))]
    assert left or point == "restore-after-rename"  # the kill left a half-made copy behind
    _start_again(path, capsys)
    _no_leftovers(path)
    st = Store.open(path)
    try:
        with st.engine.connect() as c:
            restored = c.exec_driver_sql("SELECT count(*) FROM visit_need").scalar() > 0
            assert c.exec_driver_sql("SELECT count(*) FROM person").scalar() == people
        assert restored == (point == "restore-after-rename")  # the old database or the restored one
        if restored:  # prepared before the rename: a new file for sync already
            assert st.meta("restored_from") == source.name
    finally:
        st.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system of its own (as in tests/core/test_storage_failures.py)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_disk_that_fills_during_the_conversion_leaves_it_undone(tmp_path, small_disk):
    """Room for the encrypted database but not for its safety copy: the failure is one sentence,
    the database is plain and unchanged, and nothing the conversion wrote stays."""
    import shutil as sh

    from desktop.services.failures import user_message
    from tests.core.test_storage_failures import _fill

    src = tmp_path / "src.db"
    st = Store.open(src, create=True)
    generate(st, households=8, seed=4)
    st.close()
    path = small_disk / "laptop.db"
    sh.copyfile(src, path)
    _fill(small_disk, int(path.stat().st_size * 1.5))
    before = path.read_bytes()
    with pytest.raises(Exception) as caught:
        encrypt(path, "admin", DEMO_PASSWORD)
    assert "磁盘空间已满" in (user_message(caught.value, path) or "")
    assert path.read_bytes() == before
    left = sorted(p.name for p in small_disk.rglob("*") if p.is_file())
    assert left == ["filler", "laptop.db"], left
