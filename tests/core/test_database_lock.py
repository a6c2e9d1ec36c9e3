"""One process at a time writes a database: while another process holds it (the app, a writing
command), encrypting and restoring are refused in Chinese, naming that program, its user and since
when, and nothing changes; the lock of a killed process never blocks
(docs/design/STORAGE.md § One writer process)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.db.lock import DatabaseInUse, lock_path
from desktop.services.backup import backup_now, restore
from desktop.services.demo import DEMO_PASSWORD, generate
from desktop.services.session import encrypt
from desktop.services.store import SYSTEM, Store

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from desktop.services.session import start_using
    start_using(Path(sys.argv[1]), "网格台账桌面程序")
    print("holding", flush=True)
    time.sleep(120)
''')


@pytest.fixture
def street(tmp_path):
    path = tmp_path / "street.db"
    st = Store.open(path, create=True)
    generate(st, households=6, seed=2)
    backup = backup_now(st, SYSTEM)
    st.close()
    return path, backup


@pytest.fixture
def holder(street):
    """Another process holding the database, as the desktop app does for its lifetime."""
    path, _ = street
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_encryption_is_refused_while_another_process_has_the_database(street, holder):
    path, _ = street
    before = _sha(path)
    with pytest.raises(DatabaseInUse) as caught:
        encrypt(path, "admin", DEMO_PASSWORD)
    message = caught.value.message
    assert "网格台账桌面程序" in message and f"进程 {holder.pid}" in message and "加密没有执行" in message
    assert "用户" in message and "起" in message  # who and since when
    assert _sha(path) == before and not Path(f"{path}.keys").exists()


def test_restore_is_refused_while_another_process_has_the_database(street, holder):
    path, backup = street
    before = _sha(path)
    with pytest.raises(DatabaseInUse, match="恢复备份没有执行"):
        restore(path, backup, SYSTEM)
    assert _sha(path) == before


def test_the_command_line_says_who_holds_it(street, holder, capsys, monkeypatch):
    from desktop.cli import main

    path, backup = street
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    assert main(["--db", str(path), "encrypt", "--user", "admin"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误:数据库") and "网格台账桌面程序" in err and "Traceback" not in err
    assert main(["--db", str(path), "restore", str(backup), "--yes"]) == 2
    assert "网格台账桌面程序" in capsys.readouterr().err
    assert main(["--db", str(path), "stats"]) == 0  # reading goes on meanwhile


def test_the_lock_of_a_killed_process_does_not_block(street, holder):
    path, _ = street
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock_path(path).exists()  # its file stays behind, with its (dead) holder's name
    result = encrypt(path, "admin", DEMO_PASSWORD)
    assert result.backup.exists()
    assert not lock_path(path).exists()  # released, and removed, when done


def test_the_lock_is_taken_again_within_one_process(street):
    """The app encrypting the database it holds (its settings page) is not refused by itself."""
    from desktop.services.session import start_using, stop_using

    path, _ = street
    start_using(path, "网格台账桌面程序")
    try:
        encrypt(path, "admin", DEMO_PASSWORD)
    finally:
        stop_using(path)
    assert not lock_path(path).exists()


SYNCING = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from desktop.sync.lock import holding
    with holding(Path(sys.argv[1])):
        print("holding", flush=True)
        time.sleep(120)
''')

REPLACING = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from desktop.db.lock import acquire
    acquire(Path(sys.argv[1]), "网格台账(加密数据库)", doing="加密", replacing=sys.argv[2] == "yes")
    print("holding", flush=True)
    time.sleep(120)
''')


def _hold(script: str, *args: str):
    proc = subprocess.Popen([sys.executable, "-c", script, *args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def _stop(proc) -> None:
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_encryption_and_restore_wait_for_a_running_sync(street):
    """A sync (the app's sync page, `gridledger sync --every`) holds its own lock, not the
    database's; encrypting or restoring under it would lose what it writes."""
    path, backup = street
    before = _sha(path)
    proc = _hold(SYNCING, str(path))
    try:
        with pytest.raises(DatabaseInUse, match="正在同步.*加密没有执行"):
            encrypt(path, "admin", DEMO_PASSWORD)
        with pytest.raises(DatabaseInUse, match="正在同步.*恢复备份没有执行"):
            restore(path, backup, SYSTEM)
    finally:
        _stop(proc)
    assert _sha(path) == before
    encrypt(path, "admin", DEMO_PASSWORD)  # once it is over


@pytest.mark.parametrize("replacing", [True, False])
def test_a_sync_waits_for_an_encryption_or_restore_elsewhere(street, replacing):
    from desktop.db.lock import refuse_while_replacing

    path, _ = street
    proc = _hold(REPLACING, str(path), "yes" if replacing else "no")
    try:
        if replacing:
            with pytest.raises(DatabaseInUse, match="同步没有执行"):
                refuse_while_replacing(path, "同步")
        else:  # the app (or a command) merely having the database open does not stop a sync
            refuse_while_replacing(path, "同步")
    finally:
        _stop(proc)
