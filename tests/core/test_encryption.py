"""Encryption at rest: the file reads as noise without the key, opens with a user's password,
several users each unlock it, a password change re-wraps without re-encrypting, a wrong password
changes nothing, an existing plain file is converted with a backup first, backups stay encrypted."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from desktop.db.engine import StorageError
from desktop.db.keys import Keyring, is_encrypted, keyring_path
from desktop.services.backup import backup_now, restore
from desktop.services.demo import DEMO_PASSWORD, generate
from desktop.services.errors import PermissionDenied
from desktop.services.session import LocalDatabase, add_local_user, change_password, encrypt
from desktop.services.store import Store


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "laptop.db"
    st = Store.open(path, create=True)
    generate(st, households=40, seed=9)
    with st.engine.connect() as c:
        name, cert = c.exec_driver_sql("SELECT name, cert_no FROM person WHERE cert_no IS NOT NULL LIMIT 1").one()
    st.close()
    return path, name, cert


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_encrypted_file_is_noise_without_the_key(plain):
    path, name, cert = plain
    assert cert.encode() in path.read_bytes()
    backup = encrypt(path, "admin", DEMO_PASSWORD).backup
    assert is_encrypted(path)
    from desktop.services.backup import list_backups

    backups = list_backups(path)
    assert backup in [b.path for b in backups]  # the backup before conversion, and every other, is encrypted
    assert all(not b.path.read_bytes().startswith(b"SQLite format 3") for b in backups)
    assert all(cert.encode() not in b.path.read_bytes() for b in backups)
    raw = path.read_bytes()
    assert cert.encode() not in raw and name.encode() not in raw and b"SQLite format 3" not in raw
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT count(*) FROM person").fetchone()
    with pytest.raises(StorageError, match="已加密"):
        Store.open(path)
    store, actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM person WHERE cert_no = ?", (cert,)).scalar() == 1
        assert actor.role == "community_admin"
    finally:
        store.close()


def test_wrong_password_says_so_and_changes_nothing(plain):
    path, *_ = plain
    encrypt(path, "admin", DEMO_PASSWORD)
    before = (_sha(path), _sha(keyring_path(path)))
    with pytest.raises(PermissionDenied, match="用户名或密码不正确"):
        LocalDatabase(path).open("admin", "wrong-password")
    with pytest.raises(PermissionDenied, match="还没有本机数据库的解锁密钥"):
        LocalDatabase(path).open("wgy001", DEMO_PASSWORD)
    assert (_sha(path), _sha(keyring_path(path))) == before


def test_several_users_and_a_password_change_without_reencryption(plain):
    path, *_ = plain
    encrypt(path, "admin", DEMO_PASSWORD)
    with pytest.raises(PermissionDenied):  # a grid worker cannot open the laptop for others
        add_local_user(path, "wgy001", DEMO_PASSWORD, "wgz001", DEMO_PASSWORD)
    add_local_user(path, "admin", DEMO_PASSWORD, "wgy001", DEMO_PASSWORD)
    store, actor = LocalDatabase(path).open("wgy001", DEMO_PASSWORD)
    store.close()
    assert actor.role == "grid_worker" and len(actor.grid_ids) == 1
    assert [u for u, _, _ in LocalDatabase(path).users()] == ["admin", "wgy001"]
    db_before = _sha(path)
    change_password(path, "wgy001", DEMO_PASSWORD, "a-new-password")
    assert _sha(path) != "" and Keyring.load(path).users["wgy001"]
    with pytest.raises(PermissionDenied):
        LocalDatabase(path).open("wgy001", DEMO_PASSWORD)
    store, _ = LocalDatabase(path).open("wgy001", "a-new-password")
    store.close()
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)  # the others are untouched
    store.close()
    # the key did not change, so the file was not re-encrypted (only the sign-in row changed)
    assert db_before and Keyring.load(path).unlock("admin", DEMO_PASSWORD) == Keyring.load(path).unlock(
        "wgy001", "a-new-password")


def test_backups_of_an_encrypted_file_stay_encrypted_and_restore(plain):
    path, name, cert = plain
    encrypt(path, "admin", DEMO_PASSWORD)
    store, actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    key = store.key
    try:
        b = backup_now(store, actor)
        with store.engine.begin() as c:
            c.exec_driver_sql("DELETE FROM visit_need")
    finally:
        store.close()
    assert not b.read_bytes().startswith(b"SQLite format 3") and cert.encode() not in b.read_bytes()
    restore(path, b, actor, key=key)
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM visit_need").scalar() > 0
        assert store.meta("restored_from") == b.name
    finally:
        store.close()


def test_a_backup_from_before_encryption_is_restored_encrypted(plain):
    path, name, cert = plain
    import sqlite3 as sq

    before = path.with_name("copied-before-encryption.db")  # a plain copy kept elsewhere
    src, dst = sq.connect(path), sq.connect(before)
    src.backup(dst)
    src.close()
    dst.close()
    encrypt(path, "admin", DEMO_PASSWORD)
    store, actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    key = store.key
    with store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM visit_need")
    store.close()
    restore(path, before, actor, key=key)
    raw = path.read_bytes()
    assert is_encrypted(path) and cert.encode() not in raw and b"SQLite format 3" not in raw
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM visit_need").scalar() > 0
    finally:
        store.close()


def test_cli_on_an_encrypted_file(plain, monkeypatch, capsys):
    from desktop.cli import main

    path, *_ = plain
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    assert main(["--db", str(path), "encrypt", "--user", "admin"]) == 0
    assert main(["--db", str(path), "stats", "--user", "admin"]) == 0
    assert "人口" in capsys.readouterr().out
    assert main(["--db", str(path), "stats"]) == 2
    assert "已加密" in capsys.readouterr().err
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "wrong")
    assert main(["--db", str(path), "search", "张", "--user", "admin"]) == 2
    assert "不正确" in capsys.readouterr().err


def test_cli_on_an_encrypted_file_acts_as_who_unlocked_it(plain, monkeypatch, capsys, tmp_path):
    """Unlocked by a grid worker's password (GRIDLEDGER_USER, no --user), a command runs with that
    worker's grids, not as the all-grids system actor; printing works on an encrypted laptop."""
    import json

    from desktop.cli import main
    from desktop.services.auth import actor_for
    from desktop.services.records import Records

    path, *_ = plain
    store = Store.open(path)
    r = Records(store, actor_for(store, "admin"))
    with store.engine.connect() as c:
        community = c.exec_driver_sql("SELECT parent_id FROM area WHERE level = 'grid' LIMIT 1").scalar()
        surname = c.exec_driver_sql("SELECT substr(name, 1, 1) FROM person GROUP BY 1 ORDER BY count(*) DESC").scalar()
    other = r.create("area", {"name": "第九网格", "code": "G99", "level": "grid", "parent_id": community})
    r.create("person", {"grid_id": other["id"], "name": surname + "别格"})
    store.close()
    encrypt(path, "admin", DEMO_PASSWORD, others={"wgy001": DEMO_PASSWORD})
    store, admin = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    with store.engine.connect() as c:
        own_grid = c.exec_driver_sql(
            "SELECT ug.grid_id FROM user_grid ug JOIN app_user u ON u.id = ug.user_id WHERE u.username = 'wgy001'").scalar()
        grids = c.exec_driver_sql("SELECT count(DISTINCT grid_id) FROM person WHERE name LIKE ?", (surname + "%",)).scalar()
    store.close()
    assert grids > 1  # the surname is found in more than the worker's grid
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("GRIDLEDGER_USER", "wgy001")
    capsys.readouterr()
    assert main(["--db", str(path), "search", surname, "--json", "--limit", "200"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {h["grid_id"] for h in hits} == {own_grid}
    out = tmp_path / "ledger.pdf"
    assert main(["--db", str(path), "print", "ledger", "house", "--out", str(out)]) == 0
    assert out.exists() and out.stat().st_size > 1000


# an encrypted file used from many threads at once: the app's background jobs run on pool threads
# that come and go. SQLCipher's default SQLAlchemy pool kept one connection per thread, five at most,
# and the sixth thread closed another's connection mid-query ("Cannot operate on a closed database",
# then a segmentation fault of the whole process: run in a child process to see it as a failure).
MANY_THREADS = r'''
import sys, threading
from pathlib import Path
from desktop.services.session import LocalDatabase

store, _actor = LocalDatabase(Path(sys.argv[1])).open("admin", sys.argv[2])
errors = []

def work():
    try:
        for _ in range(6):
            with store.engine.connect() as c:
                c.exec_driver_sql("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000) "
                                  "SELECT count(*) FROM n, person WHERE person.rowid = 1").scalar()
    except Exception as exc:
        errors.append(repr(exc))

for _round in range(3):  # new threads each round, as the app's job threads expire and come back
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
store.close()
print(type(store.engine.pool).__name__, len(errors), errors[:1])
'''


def test_an_encrypted_file_serves_many_threads_at_once(plain):
    import subprocess
    import sys
    from pathlib import Path

    path, _name, _cert = plain
    encrypt(path, "admin", DEMO_PASSWORD)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", MANY_THREADS, str(path), DEMO_PASSWORD], capture_output=True,
                          text=True, cwd=root, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:2] == ["QueuePool", "0"], done.stdout
