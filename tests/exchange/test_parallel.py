"""The parallel writer (a second process holding the transaction) writes exactly what the
in-process path writes, and a failure, a cancel or a rejected file leaves nothing behind."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select, text

from desktop.exchange import ImportOptions, read_sheet, run_import, suggest_mapping, writer
from desktop.exchange.writer import ChildSink
from desktop.models import AuditEntry
from desktop.services.errors import ServiceError
from desktop.services.households import Households
from desktop.services.store import Store
from tests.exchange.conftest import person_ids

SNAPSHOT = {
    "person": "SELECT p.name, p.cert_no, p.relation, p.derived_marks, p.marks, p.version, p.phone, p.birth_date, "
              "g.code, hh.hh_no, a.full_text, p.name_py FROM person p JOIN area g ON g.id = p.grid_id "
              "LEFT JOIN household hh ON hh.id = p.household_id LEFT JOIN house h ON h.id = p.house_id "
              "LEFT JOIN address a ON a.id = h.address_id ORDER BY p.cert_no",
    "household": "SELECT hh.hh_no, hh.version, hp.cert_no, a.full_text FROM household hh "
                 "LEFT JOIN person hp ON hp.id = hh.head_person_id LEFT JOIN house h ON h.id = hh.house_id "
                 "LEFT JOIN address a ON a.id = h.address_id ORDER BY hh.hh_no",
    "outbox": "SELECT table_name, op, new_version, count(*) FROM sync_outbox GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    "search": "SELECT kind, count(*) FROM search_doc GROUP BY kind ORDER BY kind",
}


def snapshot(store):
    with store.session() as s:
        return {k: [tuple(r) for r in s.execute(text(sql))] for k, sql in SNAPSHOT.items()}


@pytest.fixture
def register(make_xlsx, store, admin, community):
    ids = person_ids(40, seed=91)
    Households(store, admin).register(grid_id=community.grid1["id"], members=[
        {"name": "旧户主", "cert_no": ids[0][0]}], address={"estate": "老街", "building": "1", "unit": "1", "room": "101"},
        household={"hh_no": "OLD1"})
    rows = [["姓名", "身份证号", "与户主关系", "户号", "现住址", "联系电话", "就业状况", "人员类型"]]
    rows.append(["旧户主", ids[0][0], "户主", "OLD1", None, "13800000000", None, None])
    rows.append(["新成员", ids[1][0], "子", "OLD1", None, None, "失业", None])
    for i, (cert, _b, _g) in enumerate(ids[2:], 2):
        hh = f"N{i // 3}"
        rows.append([f"人{i}", cert, "户主" if i % 3 == 2 else "配偶", hh, f"新村{i // 3}栋1单元101室", None,
                     "在业" if i % 5 else "失业", "流动人口" if i % 7 == 0 else None])
    return make_xlsx(rows)


def _run(store, admin, community, path, **kw):
    sheet = read_sheet(path, kind="person")
    return run_import(store, admin, "person", sheet, suggest_mapping("person", sheet.headers),
                      ImportOptions(default_grid_id=community.grid1["id"], on_existing="update", **kw.pop("options", {})),
                      **kw)


def test_parallel_writer_writes_what_the_local_writer_writes(store, admin, community, register, db_path, tmp_path,
                                                             monkeypatch):
    store.close()
    shutil.copy(db_path, tmp_path / "twin.db")
    for suffix in ("-wal", "-shm"):
        if (db_path.parent / (db_path.name + suffix)).exists():
            shutil.copy(db_path.parent / (db_path.name + suffix), tmp_path / ("twin.db" + suffix))
    local = Store.open(db_path)
    twin = Store.open(tmp_path / "twin.db")
    try:
        monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 10**9)
        rep_local = _run(local, admin, community, register)
        monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 0)
        rep_par = _run(twin, admin, community, register)
        assert rep_local.counts == rep_par.counts and rep_par.written and rep_par.counts["updated"] == 1
        a, b = snapshot(local), snapshot(twin)
        assert a == b
        with twin.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert json.loads(entry.detail)["parallel"] is True
        with twin.session() as s:
            from desktop.services import rules

            assert rules.refresh_derived_marks(s, admin) == 0
    finally:
        local.close()
        twin.close()


def test_cancel_and_rejection_with_the_parallel_writer(store, admin, community, register, monkeypatch):
    monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr("desktop.exchange.base_importer.CHUNK", 5)  # stream early, cancel mid-way
    before = snapshot(store)
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 4

    with pytest.raises(ServiceError, match="已取消"):
        _run(store, admin, community, register, cancel=cancel)
    assert snapshot(store) == before
    # a rejected row without valid_only: the streamed rows are rolled back
    sheet = read_sheet(register, kind="person")
    sheet.rows[-1][1] = "12345"
    rep = run_import(store, admin, "person", sheet, suggest_mapping("person", sheet.headers),
                     ImportOptions(default_grid_id=community.grid1["id"]))
    assert not rep.written and rep.counts["rejected"] == 1 and snapshot(store) == before


def test_a_failed_write_rolls_everything_back(store, db_path):
    before = snapshot(store)
    sink = ChildSink(str(db_path))
    sink.send(("many", "INSERT INTO local_meta (key, value) VALUES (?, ?)", [("bench", "1")], None))
    sink.send(("many", "INSERT INTO no_such_table VALUES (?)", [(1,)], None))
    with pytest.raises(ServiceError, match="写入失败"):
        sink.finish(True)
    assert snapshot(store) == before
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM local_meta WHERE key = 'bench'")).scalar() == 0


def test_the_frozen_build_transport_multiprocessing(store, admin, community, register, monkeypatch):
    """Frozen builds use multiprocessing's spawn (the entry script calls freeze_support)."""
    monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(writer, "USE_MULTIPROCESSING", True)
    rep = _run(store, admin, community, register)
    assert rep.written and rep.counts["imported"] == 39
    with store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert json.loads(entry.detail)["parallel"] is True


@pytest.mark.parametrize("use_mp", [False, True])
def test_the_parallel_writer_on_an_encrypted_database(store, admin, community, register, db_path, monkeypatch,
                                                      use_mp):
    """The writer process opens an encrypted file with the key it reads from its pipe (never from
    its command line or environment) and writes exactly what the local writer writes."""
    from desktop.db.keys import encrypt_in_place, new_key

    store.close()
    key = new_key()
    twin_path = db_path.with_name("twin-plain.db")
    shutil.copy(db_path, twin_path)
    encrypt_in_place(db_path, key)
    monkeypatch.setattr(writer, "USE_MULTIPROCESSING", use_mp)
    seen_argv = []
    real_popen = writer.subprocess.Popen

    def watch(args, **kw):
        seen_argv.append((list(args), dict(kw.get("env") or {})))
        return real_popen(args, **kw)

    monkeypatch.setattr(writer.subprocess, "Popen", watch)
    enc = Store.open(db_path, key=key)
    plain = Store.open(twin_path)
    try:
        monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 0)
        rep = _run(enc, admin, community, register)
        monkeypatch.setattr(writer, "PARALLEL_MIN_ROWS", 10**9)
        rep_plain = _run(plain, admin, community, register)
        assert rep.written and rep.counts == rep_plain.counts
        with enc.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert json.loads(entry.detail)["parallel"] is True
        assert snapshot(enc) == snapshot(plain)
    finally:
        enc.close()
        plain.close()
    assert bool(seen_argv) is not use_mp
    for argv, env in seen_argv:
        assert key.hex() not in " ".join(argv) and key.hex() not in " ".join(env.values())
