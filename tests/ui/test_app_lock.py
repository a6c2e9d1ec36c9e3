"""The app holds its database for its lifetime: a second program is refused while it runs, and
the app itself, started while another program holds the database, says who in one dialog
(docs/design/STORAGE.md § One writer process)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from desktop.services.demo import DEMO_PASSWORD
from ui import app as app_module

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from desktop.services.session import start_using
    start_using(Path(sys.argv[1]), "gridledger sync 命令")
    print("holding", flush=True)
    time.sleep(120)
''')


def _street(tmp_path: Path) -> Path:
    from desktop.services.demo import generate
    from desktop.services.store import Store

    path = tmp_path / "street.db"
    st = Store.open(path, create=True)
    generate(st, households=3, seed=1)
    st.close()
    return path


def test_the_app_started_while_another_program_holds_the_database(tmp_path, answers):
    path = _street(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        answers.critical()
        code = app_module.main(argparse.Namespace(db=str(path), user=None, password_stdin=False, quit_after=None))
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert code == 2
    [shown] = answers.texts("critical")
    assert "gridledger sync 命令" in shown and f"进程 {proc.pid}" in shown and "Traceback" not in shown


def test_while_the_app_runs_encryption_elsewhere_is_refused(tmp_path, monkeypatch, qtbot):
    """The app signed in (holding the lock); another process's `gridledger encrypt` is refused and
    names the app; after the app quits, the lock is gone."""
    from PySide6.QtCore import QTimer

    from desktop.db.lock import lock_path

    path = _street(tmp_path)
    seen = {}

    def try_encrypt_elsewhere() -> None:
        seen["run"] = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "--db", str(path), "encrypt", "--user", "admin", "--password-stdin"],
            input=DEMO_PASSWORD + "\n", env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
            timeout=120)

    QTimer.singleShot(200, try_encrypt_elsewhere)
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(DEMO_PASSWORD + "\n"))
    monkeypatch.setattr(app_module, "offer_encryption", lambda window, ctx: None)
    code = app_module.main(argparse.Namespace(db=str(path), user="admin", password_stdin=True, quit_after=3000))
    assert code == 0
    run = seen["run"]
    assert run.returncode == 2 and "网格台账桌面程序" in run.stderr and "加密没有执行" in run.stderr, run.stderr
    assert run.stdout == ""
    assert not lock_path(path).exists()
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
