"""`gridledger server import`: a ledger file straight into the server, with the laptop import's
checks and report; a wrong row or --dry-run changes nothing; imported records reach laptops
through their next sync (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select

from desktop.cli import main
from desktop.services.store import Store
from server.models import Device, Record
from tests.exchange.conftest import person_ids, write_xlsx
from tests.sync.harness import demo_file, laptop, running_server, sync

GRID = "62010400100101"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _people(srv) -> int:
    with srv.store.session() as s:
        return s.scalar(select(func.count()).select_from(Record).where(Record.table_name == "person")) or 0


def test_server_import_checks_reports_and_reaches_laptops(server_db, tmp_path, capsys):
    with running_server(server_db) as srv:
        srv.add_user("admin", "community_admin")
        admin = Store.open(demo_file(tmp_path / "admin.db", 20, 3))
        sync(admin, srv.url, "admin")  # the community's areas and people reach the server
        admin.close()
        srv.add_user("wgy", "grid_worker", [GRID])
        worker = laptop(tmp_path / "worker.db")
        sync(worker, srv.url, "wgy")
        before, devices = _people(srv), _devices(srv)
        ids = person_ids(3, seed=91)
        good = write_xlsx(tmp_path / "good.xlsx", [["姓名", "身份证号", "户号"], ["甲", ids[0][0], "S1"], ["乙", ids[1][0], "S1"]])
        bad = write_xlsx(tmp_path / "bad.xlsx", [["姓名", "身份证号"], ["丙", ids[2][0]], ["丁", "12345"]])
        cmd = ("server", "--database", server_db, "import")

        code, out, err = _run(capsys, *cmd, str(bad), "--kind", "person", "--grid", GRID, "--user", "admin")
        assert code == 3 and "未导入" in out and "第 3 行" in out  # the laptop's report, word for word
        code, out, err = _run(capsys, *cmd, str(good), "--kind", "person", "--grid", GRID, "--user", "admin", "--dry-run")
        assert code == 0 and "检查结果" in out and "新增 2" in out and "列对应" in out
        assert _people(srv) == before and _devices(srv) == devices  # neither changed anything

        code, out, err = _run(capsys, *cmd, str(good), "--kind", "person", "--grid", GRID, "--user", "admin")
        assert code == 0, err
        assert "新增 2" in out and "服务器已记录" in out and "各电脑下次同步时取回" in out
        assert _people(srv) == before + 2
        result = sync(worker, srv.url, "wgy")  # the grid's laptop pulls them like any edit
        assert result.pulled.get("person", 0) >= 2
        with worker.engine.connect() as c:
            names = {r[0] for r in c.exec_driver_sql(
                "SELECT name FROM person WHERE cert_no IN (?, ?)", (ids[0][0], ids[1][0]))}
        assert names == {"甲", "乙"}
        # the same file again: the people are known now (the checks saw the server's data)
        code, out, err = _run(capsys, *cmd, str(good), "--kind", "person", "--user", "admin", "--on-existing", "skip")
        assert code == 0 and "跳过 2" in out and _people(srv) == before + 2

        code, out, err = _run(capsys, *cmd, str(good), "--kind", "person", "--user", "nobody")
        assert code != 0 and "服务器上没有启用的用户“nobody”" in err and "Traceback" not in err
        code, out, err = _run(capsys, *cmd, str(tmp_path / "missing.xlsx"), "--kind", "person", "--user", "admin")
        assert code == 2 and err.strip() and "Traceback" not in err
        code, out, err = _run(capsys, *cmd, str(good), "--kind", "person", "--grid", "nope", "--user", "admin")
        assert code != 0 and "找不到代码为 nope" in err
        worker.close()


def _devices(srv) -> int:
    with srv.store.session() as s:
        return s.scalar(select(func.count()).select_from(Device)) or 0
