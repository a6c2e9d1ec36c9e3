"""The gridledger command line, run in-process and as a real console script."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import main
from tests.factories import id_number, years_ago


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_id_reports_derived_facts_and_exit_status(capsys):
    good = id_number(years_ago(33), "2")
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    code, out, _ = run(capsys, "validate", "id", good, "--json")
    assert code == 0
    data = json.loads(out)[0]
    assert data["ok"] and data["normalized"] == good
    assert data["details"]["gender"] == "2" and data["details"]["region_name"] == "甘肃省兰州市西固区"
    assert data["details"]["birth_date"] == years_ago(33).isoformat()
    code, out, _ = run(capsys, "validate", "id", good, bad)
    assert code == 1
    assert "有效" in out and "无效" in out and "校验" in out


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [("plate", "甘a·12345", True), ("plate", "甘A1234I", False), ("phone", "138 1234 5678", True),
     ("phone", "12345", False), ("uscc", "91350100M000100Y43", True), ("uscc", "91350100M000100Y44", False)],
)
def test_validate_other_kinds(capsys, kind, value, ok):
    code, out, _ = run(capsys, "validate", kind, value, "--json")
    assert code == (0 if ok else 1)
    assert json.loads(out)[0]["ok"] is ok


def test_demo_stats_search_end_to_end(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    code, out, _ = run(capsys, "--db", db, "demo", "--households", "300", "--seed", "3", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["households"] == 300 and 600 < report["people"] < 1300
    code, out, _ = run(capsys, "--db", db, "stats", "--json")
    stats = json.loads(out)
    assert stats["total"]["households"] == 300 and stats["total"]["people"] == report["people"]
    assert len(stats["grids"]) == 2
    code, out, _ = run(capsys, "--db", db, "search", "王", "--json", "--limit", "5")
    hits = json.loads(out)
    assert code == 0 and hits and all("王" in h["title"] or "王" in h["subtitle"] for h in hits)
    code, out, _ = run(capsys, "--db", db, "stats")
    assert "人房关联完善率" in out and "办结率" in out
    # a grid worker's stats cover their own grid only
    code, out, _ = run(capsys, "--db", db, "stats", "--json", "--user", "wgy002")
    assert len(json.loads(out)["grids"]) == 1
    # generating into a database that already has people is refused
    code, _, err = run(capsys, "--db", db, "demo", "--households", "10")
    assert code == 2 and "已有" in err


def test_missing_and_corrupt_database_give_chinese_errors(capsys, tmp_path):
    code, out, err = run(capsys, "--db", str(tmp_path / "none.db"), "stats")
    assert code == 2 and "数据库文件不存在" in err and "Traceback" not in err
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    code, out, err = run(capsys, "--db", str(bad), "search", "张")
    assert code == 2 and "已损坏或不是网格台账数据库" in err


def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).with_name("gridledger")
    env = {**os.environ, "GRIDLEDGER_DB": str(tmp_path / "env.db")}
    done = subprocess.run([str(exe), "init", "--community", "620104001001", "--community-name", "福利路社区",
                           "--grids", "2", "--admin", "zhang", "--password-stdin"], input="secret123\n",
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "已新建社区 福利路社区" in done.stdout and (tmp_path / "env.db").exists()
    assert (tmp_path / "env.db.keys").exists()  # encrypted unless --no-encrypt
    done = subprocess.run([str(exe), "init"], capture_output=True, text=True, timeout=120,
                          env={**env, "GRIDLEDGER_USER": "zhang", "GRIDLEDGER_PASSWORD": "secret123"})
    assert done.returncode == 0 and "数据库已就绪" in done.stdout, done.stderr  # an existing one is upgraded
    done = subprocess.run([str(exe), "validate", "phone", "0931-8123456"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "固定电话" in done.stdout


def test_the_command_is_assembled_from_registrations(monkeypatch, capsys):
    """Each part registers its own sub-commands (entry points gridledger.commands); a part that
    is not installed is left out and the others still work."""
    from importlib.metadata import EntryPoint

    from desktop.cli.main import GROUP, build_parser, registrations

    cli_main = importlib.import_module("desktop.cli.main")  # the module (desktop.cli.main is also the function)

    names = [ep.name for ep in registrations()]
    assert names[:4] == ["core", "print", "exchange", "sync"] and {"gui", "server"} <= set(names)
    sub_commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"init", "print", "import", "sync", "gui", "serve", "server"} <= set(sub_commands)

    missing = EntryPoint("server", "no_such_package.cli:register", GROUP)
    monkeypatch.setattr(cli_main, "registrations", lambda: [*registrations()[:4], missing])
    parser = build_parser(extra=[lambda sub, root: sub.add_parser("hello").set_defaults(func=lambda a: 7)])
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "serve" not in choices and "gui" not in choices and "hello" in choices
    args = parser.parse_args([])
    assert not hasattr(args, "func")  # no app installed: no default command (main() says so)


def test_no_command_without_the_app_is_one_chinese_sentence(monkeypatch, capsys):
    cli_main = importlib.import_module("desktop.cli.main")

    core_only = [ep for ep in cli_main.registrations() if ep.name in cli_main.CORE]
    monkeypatch.setattr(cli_main, "registrations", lambda: core_only)
    assert cli_main.main([]) == 2
    assert capsys.readouterr().err == "错误:请指定要执行的命令(gridledger --help 列出全部命令)\n"


# --- personal data off the command line (`ps` and the shell history show the arguments) -------

EXE = Path(sys.executable).with_name("gridledger")


def _gl(*args: str, stdin: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], input=stdin.encode() if isinstance(stdin, str) else stdin,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})})


def test_validate_reads_values_from_stdin(capsys, monkeypatch):
    good = id_number(years_ago(40), "1")
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    done = _gl("validate", "id", "--query-stdin", "--json", stdin=f"{good}\n\n  {bad}  \n")
    assert done.returncode == 1, done.stderr.decode()
    assert [r["raw"] for r in json.loads(done.stdout)] == [good, bad]
    assert not any(good in a or bad in a for a in done.args)  # nothing personal among the arguments
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(good + "\n"))
    code, out, _ = run(capsys, "validate", "id", "--query-stdin")
    assert code == 0 and f"{good}:有效" in out


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["validate", "id"], "", "请在命令后写出要校验的值,或用 --query-stdin 从标准输入逐行读取"),
    (["validate", "id", "--query-stdin"], "\n \n", "标准输入中没有要校验的值"),
    (["validate", "id", "110101199001011234", "--query-stdin"], "x\n", "不能同时"),
    (["search"], "", "请在命令后写出检索词,或用 --query-stdin 从标准输入读取"),
    (["search", "--query-stdin"], "   \n", "标准输入中没有检索词"),
    (["search", "王", "--query-stdin"], "王\n", "不能同时"),
])
def test_query_stdin_mistakes_are_one_chinese_sentence(capsys, monkeypatch, tmp_path, argv, stdin, message):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code, out, err = run(capsys, "--db", str(tmp_path / "none.db"), *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_stdin_that_is_not_text_is_refused_in_chinese():
    done = _gl("validate", "id", "--query-stdin", stdin=b"\xff\xfe\xfa\n")
    err = done.stderr.decode()
    assert done.returncode == 2 and "标准输入" in err and "编码" in err and "Traceback" not in err


def test_search_reads_its_query_from_stdin(capsys, monkeypatch, tmp_path):
    import io

    db = str(tmp_path / "demo.db")
    assert run(capsys, "--db", db, "demo", "--households", "40", "--seed", "3", "--encrypt")[0] == 0
    # the password on the first line, the query after it: neither among the arguments (and the
    # first line is the password even with $GRIDLEDGER_PASSWORD set: it never becomes the query)
    done = _gl("--db", db, "search", "--user", "admin", "--password-stdin", "--query-stdin", "--json", "--limit", "5",
               stdin="demo1234\n王\n", env={"GRIDLEDGER_PASSWORD": "not-this-one"})
    assert done.returncode == 0, done.stderr.decode()
    hits = json.loads(done.stdout)
    assert hits and all("王" in h["title"] or "王" in h["subtitle"] for h in hits)
    assert "王" not in " ".join(done.args) and "demo1234" not in " ".join(done.args)
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "demo1234")
    monkeypatch.setattr(sys, "stdin", io.StringIO("zzzzqqq\n"))
    code, out, _ = run(capsys, "--db", db, "search", "--user", "admin", "--query-stdin")
    assert code == 0 and "没有找到与“zzzzqqq”相符的" in out
