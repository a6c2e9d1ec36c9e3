"""Every file the program writes (database, keyring, recovery record, backups, drafts, exports,
logs) is readable by its user alone on POSIX: 0600 in 0700 folders, whatever the umask it was
started with; files an older version left 0644 are tightened at the next start
(docs/design/SECURITY.md § Files on disk)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes (Windows: the profile's ACL)")

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, preexec_fn=lambda: os.umask(0o022))  # a usual, permissive umask


def _modes(*folders: Path) -> dict[str, int]:
    out = {}
    for folder in folders:
        for p in [folder, *folder.rglob("*")]:
            out[str(p)] = stat.S_IMODE(p.lstat().st_mode)
    return out


def test_everything_written_is_private(tmp_path):
    data, logs, work = tmp_path / "data", tmp_path / "logs", tmp_path / "work"
    work.mkdir(mode=0o755)
    db = work / "street.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRIDLEDGER_DATA_DIR": str(data), "GRIDLEDGER_LOG_DIR": str(logs),
           "GRIDLEDGER_PASSWORD": "demo1234", "GRIDLEDGER_USER": "admin"}
    for args in (["demo", "--households", "5", "--encrypt"], ["backup", "--user", "admin"],
                 ["export", "house", "--out", str(work / "houses.xlsx")], ["stats", "--user", "nobody"]):
        done = _cli("--db", str(db), *args, env=env)
        assert done.returncode in (0, 2), done.stderr
    from desktop.services.drafts import save_draft

    os.environ["GRIDLEDGER_DATA_DIR"] = str(data)
    old = os.umask(0o022)
    try:
        save_draft("person-new", {"user": "admin"}, {"name": "草稿"})
    finally:
        os.umask(old)
    modes = _modes(work, data, logs)
    written = [p for p in modes if Path(p) != work]
    assert any(p.endswith(".keys") for p in written) and any("backups" in p for p in written)
    assert any(p.endswith(".xlsx") for p in written) and any(p.endswith("gridledger.log") for p in written)
    assert any(p.endswith(".json") for p in written)
    loose = {p: oct(m) for p, m in modes.items() if Path(p) != work and m & 0o077}
    assert loose == {}
    assert all(modes[p] == 0o700 for p in written if Path(p).is_dir())


def test_files_an_older_version_left_readable_are_tightened(tmp_path):
    from desktop.services.backup import backup_now
    from desktop.services.demo import generate
    from desktop.services.store import SYSTEM, Store

    db = tmp_path / "old.db"
    old = os.umask(0o022)
    try:
        st = Store.open(db, create=True)
        generate(st, households=3, seed=1)
        backup = backup_now(st, SYSTEM)
        st.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o644
    (tmp_path / "backups").chmod(0o755)
    done = _cli("--db", str(db), "stats", env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700
