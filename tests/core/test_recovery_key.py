"""The keyring is no single point of failure: every encrypted backup keeps a copy of it (wrapped
keys only), and the recovery key shown once at encryption unlocks the database, rebuilds a lost
keyring and restores a backup; the messages name the keyring file and the recovery key
(docs/design/SECURITY.md § Recovery key)."""

from __future__ import annotations

import re

import pytest

from desktop.db.keys import Keyring, backup_keyring_path, is_encrypted, keyring_path, recovery_path
from desktop.services.backup import backup_now, list_backups
from desktop.services.demo import DEMO_PASSWORD, generate
from desktop.services.errors import PermissionDenied
from desktop.services.session import (
    LocalDatabase,
    encrypt,
    recover_keyring,
    restore_with_recovery_key,
    unlock_with_recovery_key,
)
from desktop.services.store import Store


@pytest.fixture
def encrypted(tmp_path):
    path = tmp_path / "laptop.db"
    st = Store.open(path, create=True)
    generate(st, households=6, seed=3)
    with st.engine.connect() as c:
        people = c.exec_driver_sql("SELECT count(*) FROM person").scalar()
    st.close()
    done = encrypt(path, "admin", DEMO_PASSWORD)
    return path, done.recovery_key, people


def _people(store):
    with store.engine.connect() as c:
        return c.exec_driver_sql("SELECT count(*) FROM person").scalar()


def test_encryption_hands_out_a_recovery_key_and_backups_keep_the_keyring(encrypted):
    path, recovery, _ = encrypted
    assert re.fullmatch(r"([2-9A-HJKMNP-Z]{5}-){4}[2-9A-HJKMNP-Z]{5}", recovery)
    assert recovery not in keyring_path(path).read_text() and recovery not in recovery_path(path).read_text()
    assert Keyring.load(path).recovery is not None
    store, actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        b = backup_now(store, actor)
    finally:
        store.close()
    for info in list_backups(path):  # the safety copy of the conversion, and this one
        assert backup_keyring_path(info.path).exists()
    assert Keyring.load_file(backup_keyring_path(b)).unlock("admin", DEMO_PASSWORD)


def test_a_lost_keyring_is_named_and_rebuilt_with_the_recovery_key(encrypted, monkeypatch, capsys):
    from desktop.cli import main

    path, recovery, people = encrypted
    keyring_path(path).unlink()
    assert not is_encrypted(path)
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    assert main(["--db", str(path), "stats", "--user", "admin"]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}.keys" in err and "恢复密钥" in err and "keys recover" in err
    assert "已损坏" not in err  # not called damaged: it is encrypted and its keyring is gone

    monkeypatch.setenv("GRIDLEDGER_RECOVERY_KEY", recovery.lower().replace("-", " "))  # as typed from paper
    assert main(["--db", str(path), "keys", "--user", "admin", "recover"]) == 0
    capsys.readouterr()
    assert main(["--db", str(path), "stats", "--user", "admin"]) == 0
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        assert _people(store) == people
    finally:
        store.close()
    # the same recovery key still works afterwards (it is the one in the safe)
    assert unlock_with_recovery_key(path, recovery)


def test_keyring_and_recovery_file_lost_the_backup_copy_still_holds_the_way_in(encrypted):
    path, recovery, people = encrypted
    keyring_path(path).unlink()
    recovery_path(path).unlink()
    recover_keyring(path, recovery, "admin", DEMO_PASSWORD)
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    store.close()


def test_a_wrong_or_mistyped_recovery_key_is_refused(encrypted):
    path, recovery, _ = encrypted
    other = "22222-22222-22222-22222-22222"
    with pytest.raises(PermissionDenied, match="恢复密钥不正确"):
        unlock_with_recovery_key(path, other)
    with pytest.raises(PermissionDenied, match="格式不对"):
        unlock_with_recovery_key(path, recovery[:-1])
    with pytest.raises(PermissionDenied, match="用户名或密码不正确"):
        recover_keyring(path, recovery, "admin", "not-the-password")


def test_restore_with_the_recovery_key_when_the_keyring_is_lost(encrypted, monkeypatch, capsys):
    from desktop.cli import main

    path, recovery, people = encrypted
    store, actor = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        backup = backup_now(store, actor)
        with store.engine.begin() as c:
            c.exec_driver_sql("DELETE FROM visit_need")
    finally:
        store.close()
    keyring_path(path).unlink()
    recovery_path(path).unlink()
    monkeypatch.setenv("GRIDLEDGER_RECOVERY_KEY", recovery)
    assert main(["--db", str(path), "restore", str(backup), "--recovery-key", "--yes"]) == 0
    assert "已从" in capsys.readouterr().out
    # the keyring came back with the backup: the users' passwords unlock again
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        assert _people(store) == people
        with store.engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM visit_need").scalar() > 0
    finally:
        store.close()


def test_restore_with_the_recovery_key_service_without_any_keyring_copy(encrypted):
    """The keyring and the backup's keyring copy are gone, the .recovery file is left: the backup
    is restored, the new keyring holds the recovery entry alone (nobody's password opens it yet),
    and a user's entry is rebuilt from it."""
    path, recovery, people = encrypted
    backup = list_backups(path)[0].path
    keyring_path(path).unlink()
    backup_keyring_path(backup).unlink()
    safety = restore_with_recovery_key(path, backup, recovery)
    assert safety.exists() and is_encrypted(path)
    assert Keyring.load(path).users == {} and Keyring.load(path).recovery is not None
    with pytest.raises(PermissionDenied):
        LocalDatabase(path).open("admin", DEMO_PASSWORD)
    recover_keyring(path, recovery, "admin", DEMO_PASSWORD)
    store, _ = LocalDatabase(path).open("admin", DEMO_PASSWORD)
    try:
        assert _people(store) == people
    finally:
        store.close()


def test_a_damaged_keyring_points_to_the_recovery_key(encrypted):
    path, *_ = encrypted
    keyring_path(path).write_text("{not json")
    with pytest.raises(PermissionDenied, match="恢复密钥") as caught:
        LocalDatabase(path).open("admin", DEMO_PASSWORD)
    assert "可从备份恢复" not in str(caught.value)


def test_a_new_recovery_key_for_a_laptop_encrypted_without_one(encrypted, monkeypatch, capsys):
    """A laptop encrypted by an earlier version has no recovery entry: an admin makes one; the
    old key (here: the one from encryption) stops opening the keyring and the recovery record."""
    from desktop.cli import main
    from desktop.services.session import new_recovery_key_for

    path, old, _ = encrypted
    with pytest.raises(PermissionDenied):
        new_recovery_key_for(path, "admin", "wrong-password")
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    capsys.readouterr()
    assert main(["--db", str(path), "keys", "--user", "admin", "recovery-key"]) == 0
    out = capsys.readouterr().out
    new = re.search(r"([2-9A-HJKMNP-Z]{5}-){4}[2-9A-HJKMNP-Z]{5}", out).group(0)
    assert new != old and "保险柜" in out
    for b in list_backups(path):  # only the backups' own copies still know the old one
        backup_keyring_path(b.path).unlink()
    with pytest.raises(PermissionDenied, match="恢复密钥不正确"):
        unlock_with_recovery_key(path, old)
    assert unlock_with_recovery_key(path, new)
