"""The first-run service: the only ways a database is made, each complete or absent; the demo never
mixes with real data and says what it is in every print and export."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from desktop.db.engine import StorageError
from desktop.services import first_run
from desktop.services.errors import PermissionDenied, ValidationFailed
from desktop.services.session import LocalDatabase

CODE = "620104001007"
PLAN = first_run.CommunityPlan(CODE, "福利东社区", "福利路街道", tuple(first_run.suggested_grids(CODE, 2)))
ADMIN = first_run.AdminPlan("zhangli", "张丽", "abcDEF-2026x")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_grid_codes_follow_the_community_code():
    assert [(g.code, g.name) for g in first_run.suggested_grids(CODE, 3)] == [
        (CODE + "01", "第1网格"), (CODE + "02", "第2网格"), (CODE + "03", "第3网格")]
    bad = first_run.CommunityPlan(CODE, "福利东社区", "", (first_run.GridPlan(CODE + "01", "甲"),
                                                        first_run.GridPlan("62010400100801", "乙"),
                                                        first_run.GridPlan(CODE + "01", "甲")))
    messages = [i.message for i in first_run.check_community(bad)]
    assert any("第 2 个网格的代码" in m for m in messages) and any("第 3 个网格的代码" in m and "重复" in m for m in messages)
    assert any("名称“甲”与前面的网格重复" in m for m in messages)
    unknown = first_run.CommunityPlan("999999001001", "x", "", PLAN.grids)
    assert "999999 不是已知的区县代码" in first_run.check_community(unknown)[0].message


def test_a_new_community_is_encrypted_from_its_first_byte(tmp_path):
    from desktop.services.areas import area_tree

    db = tmp_path / "gridledger.db"
    assert first_run.is_new(db)
    first_run.create_community(db, PLAN, ADMIN)
    assert names(tmp_path) == ["gridledger.db", "gridledger.db.keys"]
    assert db.read_bytes()[:16] != b"SQLite format 3\x00" and not first_run.is_new(db)
    store, actor = LocalDatabase(db).open("zhangli", "abcDEF-2026x")
    try:
        assert actor.role == "community_admin" and actor.display_name == "张丽"
        with store.session() as s:
            tree = area_tree(s)
        assert [g.code for g in tree.grids()] == [CODE + "01", CODE + "02"]
        levels = {n.level: n.name for n in tree.nodes.values() if n.level != "grid"}
        assert levels == {"district": "西固区", "street": "福利路街道", "community": "福利东社区"}
    finally:
        store.close()
    with pytest.raises(StorageError, match="已有数据库"):  # never over a database with users
        first_run.create_community(db, PLAN, ADMIN)


def test_a_refused_plan_makes_no_file(tmp_path):
    db = tmp_path / "gridledger.db"
    with pytest.raises(ValidationFailed, match="密码:至少需要 8 个字符"):
        first_run.create_community(db, PLAN, first_run.AdminPlan("zhangli", "张丽", "short"))
    assert names(tmp_path) == []


def test_a_failure_halfway_leaves_nothing(tmp_path, monkeypatch):
    from desktop.services import key_grants

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(key_grants, "grant", broken)
    with pytest.raises(OSError):
        first_run.create_community(tmp_path / "gridledger.db", PLAN, ADMIN)
    assert names(tmp_path) == []


def test_password_strength_grows_with_length_and_variety():
    scores = [first_run.password_strength(p)[0] for p in ("abc", "abcdefgh", "abcdefg1", "abcDEF12", "abcDEF-2026x")]
    assert scores == sorted(scores) and scores[0] == 0 and scores[-1] == 4


def test_a_plain_backup_restores_onto_an_empty_laptop_only_with_a_users_password(tmp_path, store, admin):
    from desktop.services.backup import backup_now
    from desktop.services.users import Users

    Users(store, admin).create("zhangli", "张丽", "community_admin", "abcDEF-2026x")
    backup = backup_now(store, admin)
    db = tmp_path / "new" / "gridledger.db"
    with pytest.raises(PermissionDenied):
        first_run.restore_first(db, backup, "zhangli", "wrong-password")
    assert names(db.parent) in ([], ["backups"])
    first_run.restore_first(db, backup, "zhangli", "abcDEF-2026x")
    restored, actor = LocalDatabase(db).open("zhangli", "abcDEF-2026x")
    try:
        assert restored.meta("restored_from") == backup.name and restored.meta("sync_device_id") is None
    finally:
        restored.close()


def test_an_encrypted_backup_restores_with_its_own_keyring_or_with_the_recovery_key(tmp_path):
    """The keyring kept beside an encrypted backup is used without being chosen; when the user's
    entry in it is gone, the recovery key printed at encryption opens it, the password is checked
    against the database, and the user gets their entry back. A wrong key leaves nothing."""
    import json

    from desktop.db.keys import backup_keyring_path, keyring_path
    from desktop.services.backup import backup_now
    from desktop.services.session import new_recovery_key_for

    old = tmp_path / "old" / "gridledger.db"
    first_run.create_community(old, PLAN, ADMIN)
    recovery = new_recovery_key_for(old, ADMIN.username, ADMIN.password)
    store, actor = LocalDatabase(old).open(ADMIN.username, ADMIN.password)
    try:
        backup = backup_now(store, actor)
    finally:
        store.close()
    assert backup_keyring_path(backup).exists()
    # 1. the keyring beside the backup, found by itself
    first = tmp_path / "a" / "gridledger.db"
    first_run.restore_first(first, backup, ADMIN.username, ADMIN.password)
    LocalDatabase(first).open(ADMIN.username, ADMIN.password)[0].close()
    # 2. the user's entry lost: the password alone cannot open it, the recovery key can
    ring = json.loads(backup_keyring_path(backup).read_text(encoding="utf-8"))
    ring["users"] = {}
    backup_keyring_path(backup).write_text(json.dumps(ring), encoding="utf-8")
    second = tmp_path / "b" / "gridledger.db"
    with pytest.raises(PermissionDenied):
        first_run.restore_first(second, backup, ADMIN.username, ADMIN.password)
    with pytest.raises(PermissionDenied, match="恢复密钥"):
        first_run.restore_first(second, backup, ADMIN.username, ADMIN.password, recovery_key="2345-" * 4 + "23456")
    with pytest.raises(PermissionDenied):  # the right key, a wrong password: checked against the database
        first_run.restore_first(second, backup, ADMIN.username, "wrong-password-1", recovery_key=recovery)
    assert names(second.parent) in ([], ["backups"])
    first_run.restore_first(second, backup, ADMIN.username, ADMIN.password, recovery_key=recovery.lower())
    restored, _ = LocalDatabase(second).open(ADMIN.username, ADMIN.password)
    restored.close()
    assert ADMIN.username in json.loads(keyring_path(second).read_text(encoding="utf-8"))["users"]


def test_the_demo_never_joins_real_data(tmp_path, capsys, monkeypatch):
    from desktop.cli.main import main

    db = tmp_path / "gridledger.db"
    first_run.create_community(db, PLAN, ADMIN, encrypt=False)
    with pytest.raises(StorageError, match="已有数据库"):
        first_run.make_demo(db, households=5)
    assert main(["--db", str(db), "demo", "--households", "5"]) == 2
    assert "已有用户或记录" in capsys.readouterr().err
    assert not first_run.is_new(db)


def test_init_asks_the_same_questions_and_refuses_plain_without_no_encrypt(tmp_path, capsys, monkeypatch):
    from desktop.cli.main import main

    db = tmp_path / "laptop" / "gridledger.db"
    args = ["--db", str(db), "init", "--community", CODE, "--community-name", "福利东社区", "--grids", "3",
            "--admin", "zhangli", "--admin-name", "张丽", "--password-stdin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(args) == 2 and "至少需要 8 个字符" in capsys.readouterr().err and names(db.parent) == []
    monkeypatch.setattr(sys, "stdin", io.StringIO("abcDEF-2026x\n"))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 个网格" in out and CODE + "03" in out and "已加密" in out
    assert LocalDatabase(db).encrypted and LocalDatabase(db).users() == [("zhangli", "张丽", "community_admin")]
    plain = db.parent / "plain.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO("abcDEF-2026x\n"))
    assert main(["--db", str(plain), *args[2:], "--no-encrypt"]) == 0
    assert not LocalDatabase(plain).encrypted and "未加密" in capsys.readouterr().err


# --- the demo says what it is in every print and export ----------------------------------------------

@pytest.fixture
def demo_store(tmp_path):
    from desktop.services.store import Store

    db = tmp_path / "demo.db"
    first_run.make_demo(db, households=12, encrypt=False)
    s = Store.open(db)
    yield s
    s.close()


def test_prints_and_exports_of_the_demo_are_marked(demo_store, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from desktop.exchange.export import export
    from desktop.printing import batch
    from desktop.printing.fonts import resolve_font
    from desktop.printing.ledgers import build_ledger
    from desktop.printing.text import Guard
    from desktop.services.auth import actor_for
    from desktop.services.demo import DEMO_MARK

    admin = actor_for(demo_store, "admin")
    ledger = build_ledger(demo_store, admin, "house", None, None, None, Guard(resolve_font(None), allow=True), False)
    assert DEMO_MARK in ledger.title  # first line of the first page, and the footer of every page
    out = tmp_path / "p.xlsx"
    export(demo_store, admin, "person", out)
    first_row = [c.value for c in next(load_workbook(out).active.iter_rows(max_row=1))]
    assert any(DEMO_MARK in str(v) for v in first_row if v)
    rendered: list = []
    real_render = batch.render
    monkeypatch.setattr(batch, "render", lambda cs, *a, **k: (rendered.extend(cs), real_render(cs, *a, **k))[1])
    with demo_store.session() as s:
        hh = s.connection().exec_driver_sql("SELECT id FROM household LIMIT 1").scalar()
    batch.print_archives(demo_store, admin, [hh], tmp_path / "a.pdf")
    assert rendered and all(c.header.startswith(DEMO_MARK) and c.printed.startswith(DEMO_MARK) for c in rendered)


def test_a_real_database_is_not_marked(store, community, admin, tmp_path):
    from openpyxl import load_workbook

    from desktop.exchange.export import export
    from desktop.services.demo import DEMO_MARK, demo_mark

    assert demo_mark(store) is None
    out = tmp_path / "p.xlsx"
    export(store, admin, "person", out)
    first_row = [c.value for c in next(load_workbook(out).active.iter_rows(max_row=1))]
    assert not any(DEMO_MARK in str(v) for v in first_row if v)


def test_a_demo_cancelled_while_its_tables_are_written_leaves_nothing(tmp_path):
    import threading

    cancel = threading.Event()
    written: list[str] = []

    def progress(table: str, rows: int) -> None:
        written.append(table)
        cancel.set()  # the user clicks 取消 after the first table

    with pytest.raises(first_run.DemoCancelled):
        first_run.make_demo(tmp_path / "laptop" / "gridledger.db", households=5, progress=progress, cancel=cancel)
    assert len(written) == 1 and names(tmp_path / "laptop") == []


def test_an_encrypted_file_nobody_can_unlock_is_never_taken_for_new(tmp_path):
    import json

    db = tmp_path / "gridledger.db"
    first_run.create_community(db, PLAN, ADMIN)
    ring = db.with_name("gridledger.db.keys")
    ring.write_text(json.dumps({"version": 1, "users": {}}), encoding="utf-8")  # every key removed
    before = db.read_bytes()
    assert not first_run.is_new(db)
    with pytest.raises(StorageError, match="已有数据库"):
        first_run.make_demo(db, households=5)
    assert db.read_bytes() == before


def test_init_on_a_terminal_asks_each_question(tmp_path, capsys, monkeypatch):
    import builtins
    import getpass

    from desktop.cli.main import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter([CODE, "福利东社区", "福利路街道", "2", "zhangli", "张丽"])
    asked: list[str] = []
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr(builtins, "input", lambda prompt="": (asked.append(prompt), next(answers))[1])
    passwords = iter(["abcDEF-2026x", "abcDEF-2026y"])  # typed differently the second time
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(passwords))
    db = tmp_path / "laptop" / "gridledger.db"
    assert main(["--db", str(db), "init"]) == 2
    assert "两次输入的密码不一致" in capsys.readouterr().err and names(db.parent) == []
    assert any("社区代码" in q for q in asked) and any("网格数量" in q for q in asked)
    answers = iter([CODE, "福利东社区", "", "", "zhangli", "张丽"])  # the defaults: no street, one grid
    passwords = iter(["abcDEF-2026x", "abcDEF-2026x"])
    assert main(["--db", str(db), "init"]) == 0
    out = capsys.readouterr().out
    assert "1 个网格" in out and LocalDatabase(db).users() == [("zhangli", "张丽", "community_admin")]
