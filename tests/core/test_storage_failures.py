"""Every `gridledger` command on a database it cannot use (a folder, random bytes, a truncated
file, a zero-byte file, a newer schema, a read-only file, a locked database), a damaged page,
odd paths and a full disk: exit status 2, one Chinese line on stderr, no traceback (that goes to
the log file), the database's bytes unchanged and nothing half-written left behind."""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import main
from tests.broken_files import CASES, broken, fingerprint, make_template

HAN = re.compile(r"[\u4e00-\u9fff]")
# commands that never open the laptop's database (the server's have their own --database)
NO_DATABASE = {"validate", "template", "gui", "serve", "server"}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def side(tmp_path, template):
    """Input files the commands are given (a valid backup, a CSV), and where outputs would go."""
    folder = tmp_path / "side"
    folder.mkdir()
    shutil.copyfile(template, folder / "backup.db")
    (folder / "people.csv").write_text("姓名,公民身份号码\n张三,110101199003077777\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _no_prompts(monkeypatch):
    from desktop.db import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200)  # the locked case waits this long, not 10 s
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "demo1234")
    monkeypatch.setenv("GRIDLEDGER_NEW_PASSWORD", "demo12345")
    monkeypatch.setattr(sys, "stdin", io.StringIO("demo1234\n" * 10))


def commands(side: Path) -> list[list[str]]:
    return [
        ["init"], ["demo", "--households", "5"], ["demo", "--households", "5", "--replace", "--yes"], ["stats"], ["search", "王"], ["reindex"],
        ["quality"], ["merge", "person", "x", "y", "--reason", "重复登记"],
        ["backup"], ["backup", "--list"], ["restore", str(side / "backup.db"), "--yes"],
        ["encrypt", "--user", "admin"], ["keys", "status"], ["keys", "--user", "admin", "add-user", "wgy001"],
        ["keys", "--user", "admin", "passwd"], ["users", "--user", "admin", "list"],
        ["users", "--user", "admin", "add", "newbie", "--role", "community_admin"],
        ["purge", "x", "--reason", "本人申请删除个人信息", "--user", "admin", "--yes"],
        ["rules", "set", "mark:残障人员", "14"], ["plan", "--print", str(side / "out" / "r.pdf")],
        ["print", "archive", "--all", "--out", str(side / "out" / "a.pdf")],
        ["print", "ledger", "visit", "--grid", "x", "--from", "2026-01-01", "--to", "2026-06-30",
         "--out", str(side / "out" / "l.pdf")],
        ["import", str(side / "people.csv"), "--kind", "person", "--grid", "x"],
        ["export", "person", "--out", str(side / "out" / "p.xlsx")],
        ["sync", "--bundle-out", str(side / "out" / "b.glb")],
        ["sync", "--bundle-in", str(side / "backup.db")],
        ["sync", "--server", "http://127.0.0.1:9", "--user", "admin", "--password-stdin"],
    ]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(code: int, err: str, *, progress: bool = False) -> str | None:
    """What is wrong with a refusal (None: exit 2, one Chinese line, no traceback); with
    `progress`, the progress lines printed before the failure are allowed."""
    lines = [line for line in err.splitlines() if line.strip()]
    if progress:
        lines = [line for line in lines if not line.startswith("正在")]
    if code != 2:
        return f"exit {code}"
    if "Traceback" in err or "[SQL:" in err or "sqlalche.me" in err:
        return "traceback or SQL on stderr"
    if len(lines) != 1 or not lines[0].startswith("错误:") or not HAN.search(lines[0][3:]):
        return f"not one Chinese line: {lines!r}"
    return None


def test_the_list_covers_every_command(side):
    from desktop.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) - NO_DATABASE == {c[0] for c in commands(side)}


@pytest.mark.parametrize("kind", CASES)
def test_every_command_on_a_database_it_cannot_use(kind, template, side, tmp_path, capsys):
    problems = []
    for i, argv in enumerate(commands(side)):
        with broken(kind, template, tmp_path / f"c{i}") as path:
            before = fingerprint(path)
            code, _, err = run(capsys, "--db", str(path), *argv)
            after = fingerprint(path)
        problem = refused(code, err)
        if after != before:
            problem = "the database changed"
        if (side / "out").exists() and any((side / "out").iterdir()):
            problem = f"left {sorted(p.name for p in (side / 'out').iterdir())}"
        if problem:
            problems.append(f"{' '.join(argv[:3])}: {problem}: {err.strip()[:200]}")
    assert not problems, "\n".join(problems)


def _damage_a_page(path: Path) -> None:
    """Overwrite one page in the middle of the person table's b-tree (the header stays valid)."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'person'").fetchone()[0]
    con.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)


@pytest.mark.parametrize("argv", [["stats"], ["search", "王"], ["reindex"], ["export", "person", "--out", "{out}"],
                                  ["print", "archive", "--all", "--out", "{out}.pdf"]])
def test_a_damaged_page(argv, template, tmp_path, capsys):
    path = tmp_path / "damaged.db"
    shutil.copyfile(template, path)
    _damage_a_page(path)
    before = fingerprint(path)
    out = tmp_path / "out" / "x.xlsx"
    out.parent.mkdir()
    code, _, err = run(capsys, "--db", str(path), *[a.format(out=out) for a in argv])
    assert refused(code, err, progress=True) is None, err
    assert "已损坏" in err and fingerprint(path) == before
    assert not any(out.parent.iterdir())


@pytest.mark.parametrize("where", ["under_a_file", "too_long", "device"])
@pytest.mark.parametrize("argv", [["init"], ["stats"], ["demo", "--households", "3"]])
def test_odd_database_paths(where, argv, tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    db = {"under_a_file": a_file / "gridledger.db", "too_long": tmp_path / ("长" * 200 + ".db"),
          "device": Path("/dev/null")}[where]
    code, _, err = run(capsys, "--db", str(db), *argv)
    assert refused(code, err) is None, err
    assert a_file.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"] \
        or where == "device"


@pytest.mark.parametrize("where", ["under_a_file", "too_long"])
@pytest.mark.parametrize("argv", [["print", "archive", "--all", "--out", "{out}.pdf"], ["backup"],
                                  ["sync", "--bundle-out", "{out}.glb"]])
def test_odd_output_paths(where, argv, template, tmp_path, capsys):
    db = tmp_path / "ok.db"
    shutil.copyfile(template, db)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    out = {"under_a_file": a_file / "x", "too_long": tmp_path / ("长" * 200)}[where]
    if argv == ["backup"]:  # the backups folder beside the database is in the way
        (tmp_path / "backups").write_text("not a folder")
    before = fingerprint(db)
    code, _, err = run(capsys, "--db", str(db), *[a.format(out=out) for a in argv])
    assert refused(code, err) is None, err
    assert fingerprint(db) == before or argv[0] == "print"  # it audits what it prints
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp") or ".~" in p.name]


# --- a full disk: a small tmpfs (root only) -------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system of its own: full after a few megabytes."""
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


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of `folder` until `leave` bytes are free."""
    free = shutil.disk_usage(folder).free - leave
    with open(folder / "filler", "wb") as fh:
        while free > 0:
            chunk = min(free, 1 << 20)
            fh.write(b"\0" * chunk)
            free -= chunk


@pytest.mark.parametrize("argv", [["backup"], ["encrypt", "--user", "admin"],
                                  ["import", "{csv}", "--kind", "person", "--grid", "{grid}"]])
def test_a_full_disk(argv, template, small_disk, tmp_path, capsys):
    db = small_disk / "full.db"
    shutil.copyfile(template, db)
    con = sqlite3.connect(db)
    grid = con.execute("SELECT code FROM area WHERE level = 'grid' ORDER BY code").fetchone()[0]
    con.close()
    csv = tmp_path / "many.csv"
    rows = [f"居民{i},{grid},兰园花园1栋1单元{100 + i}室" for i in range(3000)]
    csv.write_text("姓名,网格,地址\n" + "\n".join(rows) + "\n", encoding="utf-8")
    _fill(small_disk, 64 * 1024)
    before = fingerprint(db)
    code, _, err = run(capsys, "--db", str(db), *[a.format(csv=csv, grid=grid) for a in argv])
    assert refused(code, err) is None, err
    assert "磁盘空间已满" in err
    assert fingerprint(db) == before
    left = sorted(p.name for p in small_disk.rglob("*") if p.is_file())
    assert left == sorted(["filler", "full.db"] + [p for p in left if p.startswith("full.db-")]), left


# --- only init and the app's first start create a database -----------------------------------------

@pytest.mark.parametrize("argv", [["stats"], ["search", "王"], ["init"], ["demo", "--households", "3"],
                                  ["keys", "status"]])
def test_an_empty_or_missing_file_beside_a_keyring_is_never_replaced(argv, template, tmp_path, capsys):
    """`stats` used to turn an encrypted file truncated to zero into a fresh plain database."""
    from desktop.services.session import encrypt

    db = tmp_path / "enc.db"
    shutil.copyfile(template, db)
    encrypt(db, "admin", "demo1234")
    ring = (tmp_path / "enc.db.keys").read_bytes()
    db.write_bytes(b"")
    code, _, err = run(capsys, "--db", str(db), *argv)
    assert refused(code, err) is None, err
    assert "密钥文件" in err and db.read_bytes() == b"" and (tmp_path / "enc.db.keys").read_bytes() == ring
    db.unlink()
    code, _, err = run(capsys, "--db", str(db), *argv)
    assert refused(code, err) is None, err
    assert "密钥文件" in err and not db.exists()


def test_read_commands_never_create_a_database(tmp_path, capsys, monkeypatch):
    db = tmp_path / "none.db"
    for argv in (["stats"], ["search", "王"], ["backup"], ["reindex"], ["keys", "status"]):
        code, _, err = run(capsys, "--db", str(db), *argv)
        assert refused(code, err) is None and "数据库文件不存在" in err, err
        assert not db.exists()
    code, _, err = run(capsys, "--db", str(db), "init")  # bare init asks what to create: no silent empty file
    assert refused(code, err) is None and "--community" in err and not db.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO("secret123\n"))
    assert run(capsys, "--db", str(db), "init", "--community", "620104001001", "--community-name", "福利路社区",
               "--grids", "2", "--admin", "zhang", "--password-stdin")[0] == 0 and db.stat().st_size > 0


# --- a newer schema: said with both versions, no backup taken, none pruned --------------------------

def _old_backups(db: Path, n: int = 10) -> list[str]:
    folder = db.parent / "backups"
    folder.mkdir()
    for i in range(n):
        shutil.copyfile(db, folder / f"{db.stem}-20260101-0000{i:02d}-000000-auto.db")
    return sorted(p.name for p in folder.iterdir())


def test_a_newer_schema_is_named_and_backs_nothing_up(template, tmp_path, capsys):
    from desktop import __version__
    from tests.broken_files import NEWER_VERSION

    with broken("newer", template, tmp_path / "dbs") as db:
        kept = _old_backups(db)
        for argv in (["stats"], ["init"], ["backup"], ["encrypt", "--user", "admin"]):
            code, _, err = run(capsys, "--db", str(db), *argv)
            assert refused(code, err) is None, err
            assert "较新版本" in err and NEWER_VERSION in err and __version__ in err
        assert sorted(p.name for p in (db.parent / "backups").iterdir()) == kept


def test_a_failed_upgrade_prunes_no_backup(template, tmp_path, capsys, monkeypatch):
    from alembic import command

    db = tmp_path / "old.db"
    shutil.copyfile(template, db)
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE alembic_version SET version_num = '0002'")  # an older schema
    con.close()
    kept = _old_backups(db)

    def broken_upgrade(*args, **kwargs):
        raise RuntimeError("a migration that fails")

    monkeypatch.setattr(command, "upgrade", broken_upgrade)
    code, _, err = run(capsys, "--db", str(db), "stats")
    assert refused(code, err) is None and "升级失败" in err, err
    left = sorted(p.name for p in (db.parent / "backups").iterdir())
    assert set(kept) <= set(left) and len(left) == len(kept) + 1  # the one just taken, and all before it


# --- demo --replace deletes only a demo, only with --yes, an encrypted one only with its password ---

def test_demo_replace_refuses_a_real_database(template, tmp_path, capsys, monkeypatch):
    from desktop.services.session import encrypt
    from desktop.services.store import Store

    real = tmp_path / "real.db"
    Store.open(real, create=True).close()  # made by init (or a first sync), not by demo
    before = fingerprint(real)
    for argv in (["--replace"], ["--replace", "--yes"]):
        code, _, err = run(capsys, "--db", str(real), "demo", "--households", "3", *argv)
        assert refused(code, err) is None and fingerprint(real) == before, err
    assert "不是由 gridledger demo 生成" in err
    demo = tmp_path / "demo.db"
    shutil.copyfile(template, demo)
    code, _, err = run(capsys, "--db", str(demo), "demo", "--households", "3", "--replace")
    assert refused(code, err) is None and "--yes" in err
    encrypt(demo, "admin", "demo1234")
    before = fingerprint(demo)
    monkeypatch.delenv("GRIDLEDGER_USER", raising=False)
    code, _, err = run(capsys, "--db", str(demo), "demo", "--households", "3", "--replace", "--yes")
    assert refused(code, err) is None and "--user" in err and fingerprint(demo) == before
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "wrong-password")
    code, _, err = run(capsys, "--db", str(demo), "demo", "--households", "3", "--replace", "--yes", "--user", "admin")
    assert refused(code, err) is None and fingerprint(demo) == before
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "demo1234")
    code, out, err = run(capsys, "--db", str(demo), "demo", "--households", "3", "--replace", "--yes", "--user", "admin")
    assert code == 0, err
    assert fingerprint(demo) != before and not (tmp_path / "demo.db.keys").exists()


# --- messages that do not mislead ------------------------------------------------------------------

def test_a_read_only_folder_is_not_called_a_damaged_file(template, tmp_path, capsys):
    from tests.broken_files import _immutable

    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "x.db"
    shutil.copyfile(template, db)
    before = fingerprint(db)
    _immutable(folder, True)
    try:
        for argv in (["stats"], ["backup"], ["init"]):
            code, _, err = run(capsys, "--db", str(db), *argv)
            assert refused(code, err) is None, err
            assert "文件夹" in err and "只读" in err and "损坏" not in err
    finally:
        _immutable(folder, False)
    assert fingerprint(db) == before


def test_a_full_disk_during_demo_leaves_no_file_and_claims_no_backup(small_disk, capsys):
    _fill(small_disk, 256 * 1024)
    db = small_disk / "demo.db"
    code, _, err = run(capsys, "--db", str(db), "demo", "--households", "300")
    assert refused(code, err) is None, err
    assert "磁盘空间已满" in err and "备份" not in err and "升级" not in err
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
