"""An export is audited before its file appears: when the audit cannot be written (the database is
locked or read-only) no file is left, neither under its name nor as a temporary one (item 13 of
the hardening issue). Printing does the same."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from desktop.cli import main
from desktop.exchange import export
from desktop.services.demo import generate
from desktop.services.errors import ServiceError
from desktop.services.store import Actor, Store


@pytest.fixture
def demo(tmp_path):
    store = Store.open(tmp_path / "demo.db", create=True)
    generate(store, households=15, seed=4, today=date(2026, 6, 30))
    yield store
    store.close()


def _refuse_audit(store):
    with store.transaction() as s:  # the way a read-only or locked file refuses a write
        s.execute(text("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END"))


def test_no_file_when_the_audit_fails(demo, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    _refuse_audit(demo)
    with pytest.raises(ServiceError, match="审计") as caught:
        export(demo, Actor("admin", "community_admin"), "person", folder / "people.xlsx", unmask=True)
    assert "未生成文件" in caught.value.message
    assert list(folder.iterdir()) == []


def test_a_failed_export_leaves_an_existing_file_alone(demo, tmp_path):
    out = tmp_path / "people.xlsx"
    out.write_bytes(b"yesterday's export")
    _refuse_audit(demo)
    with pytest.raises(ServiceError):
        export(demo, Actor("admin", "community_admin"), "person", out)
    assert out.read_bytes() == b"yesterday's export"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []


def test_the_cli_says_so_and_writes_nothing(demo, tmp_path, capsys):
    _refuse_audit(demo)
    out = tmp_path / "cli.xlsx"
    code = main(["--db", str(tmp_path / "demo.db"), "export", "person", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "审计" in err and "Traceback" not in err
    assert not out.exists()


def test_a_good_export_is_audited_and_in_place(demo, tmp_path):
    out = tmp_path / "people.xlsx"
    n = export(demo, Actor("admin", "community_admin"), "person", out)
    assert n > 0 and out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []
    with demo.session() as s:
        assert s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'export'")).scalar_one() == 1
