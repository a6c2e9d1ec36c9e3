"""The office's server commands (server/cli_office.py, server/office.py) on a database made by the
release (tests/sync/release_fixture.py), on SQLite and PostgreSQL: what they show, what they
change, and that bad input is one Chinese sentence, exit status 2 and nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from desktop.cli import main
from desktop.services.store import Store
from server import service
from server.running import SERVE_APPLICATION, hold_serving
from server.store import ServerStore
from tests.sync.harness import ThreadServer
from tests.sync.release_fixture import load_release, snapshot


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    cluster = request.getfixturevalue("pg_cluster") if request.param == "postgresql" else None
    db = load_release(request.param, tmp_path, cluster)
    ServerStore(db).close()  # brought to head once, so the snapshots below compare like with like
    return db


def run(url: str, *args: str) -> int:
    return main(["server", "--database", url, *args])


def refused(capsys, url: str, *args: str, says: str) -> None:
    """The command exits 2 with one Chinese sentence saying `says`, and changes nothing."""
    before = snapshot(url)
    assert run(url, *args) == 2
    out = capsys.readouterr()
    assert says in out.err and "Traceback" not in out.err + out.out, out.err
    assert snapshot(url) == before


def conflicts(url: str, capsys, *extra: str) -> list[dict]:
    assert run(url, "conflicts", "--json", *extra) == 0
    return json.loads(capsys.readouterr().out)


def test_conflicts_are_listed_and_filtered(url, capsys):
    rows = conflicts(url, capsys)
    assert sorted(c["kind"] for c in rows) == ["field", "rejected"]
    assert [c["id"] for c in conflicts(url, capsys, "--kind", "车辆")] == [c["id"] for c in rows]
    assert conflicts(url, capsys, "--kind", "vehicle") == rows
    assert conflicts(url, capsys, "--kind", "person") == []
    assert run(url, "conflicts") == 0
    text = capsys.readouterr().out
    assert "字段冲突" in text and "号牌号码" in text and "甘B99999" in text
    refused(capsys, url, "conflicts", "--kind", "飞机", says="没有名为“飞机”的同步数据种类")
    refused(capsys, url, "conflicts", "--grid", "G99", says="没有编号或代码为“G99”")


def test_resolve_keeps_the_chosen_side(url, capsys):
    field, rejected = sorted(conflicts(url, capsys), key=lambda c: c["kind"] != "field")
    refused(capsys, url, "resolve", "999", "--keep", "server", says="找不到编号为 999 的冲突")
    refused(capsys, url, "resolve", str(rejected["id"]), "--value", "x", says="不是字段冲突")
    assert run(url, "resolve", str(field["id"]), "--keep", "laptop") == 0
    assert "已处理" in capsys.readouterr().out
    store = ServerStore(url)
    try:
        with store.session() as s:
            from server.models import Record

            rec = json.loads(s.get(Record, ("vehicle", "veh-000")).data)
        assert rec["plate_no"] == "甘B99999"  # the laptop's value, written as a new change
        audit = service.list_audit(store, service.Scope("x", "supervisor", None), action="resolve_conflict")
        assert audit and audit[0]["actor"] == "admin"
    finally:
        store.close()
    refused(capsys, url, "resolve", str(field["id"]), "--keep", "server", says="已处理过")
    assert run(url, "resolve", str(rejected["id"]), "--keep", "server") == 0  # discard the set-aside change
    assert "记录保持原样" in capsys.readouterr().out
    assert conflicts(url, capsys) == []
    assert len(conflicts(url, capsys, "--status", "resolved")) == 2


def test_a_custom_value_is_checked_like_the_api(url, capsys):
    field = next(c for c in conflicts(url, capsys) if c["kind"] == "field")
    refused(capsys, url, "resolve", str(field["id"]), "--value", "甘" * 200, says="最多 16 个字符")
    assert run(url, "resolve", str(field["id"]), "--value", "甘C12345") == 0


def _client(url: str) -> tuple[httpx.Client, ThreadServer]:
    srv = ThreadServer(url).start()
    return httpx.Client(base_url=srv.url, timeout=30), srv


def test_devices_and_a_revoked_device_is_refused(url, capsys):
    assert run(url, "devices", "--json") == 0
    devices = json.loads(capsys.readouterr().out)
    assert {(d["username"], d["state"]) for d in devices} == {("admin", "active"), ("sup", "active")}
    admin_dev = next(d for d in devices if d["username"] == "admin")
    assert admin_dev["set_aside"] == 1
    client, srv = _client(url)
    try:
        token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "release-pass-1",
                                                        "device_id": admin_dev["id"]}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        from desktop.sync.protocol import SCHEMA_VERSION
        from server.models import Device

        with srv.store.session() as s:
            epoch = s.get(Device, admin_dev["id"]).epoch
        hello = {"file_id": "file-a", "epoch": epoch, "schema_version": SCHEMA_VERSION, "cursor": 2, "pending": 7}
        assert client.post("/api/v1/sync/hello", json=hello, headers=auth).json()["status"] == "ok"
        assert run(url, "devices", "--json") == 0
        seen = next(d for d in json.loads(capsys.readouterr().out) if d["id"] == admin_dev["id"])
        assert seen["schema_version"] == SCHEMA_VERSION and seen["unsent_changes"] == 7 and seen["last_sync"]
        assert seen["to_pull"] == service.stats(srv.store)["seq"] - 2
        refused(capsys, url, "revoke-device", "nosuchdevice", says="找不到编号为“nosuchdevice”的设备")
        refused(capsys, url, "revoke-device", "8d", says="至少写前 8 位")
        assert run(url, "revoke-device", admin_dev["id"][:8]) == 0
        assert "已吊销设备" in capsys.readouterr().out
        answer = client.post("/api/v1/sync/hello", json=hello, headers=auth)
        assert answer.status_code == 403 and answer.json()["code"] == "device_disabled"
        assert client.post("/api/v1/auth/token", json={"username": "admin", "password": "release-pass-1",
                                                       "device_id": admin_dev["id"]}).status_code == 403
    finally:
        client.close()
        srv.stop()
    assert run(url, "devices") == 0
    assert "已吊销" in capsys.readouterr().out
    assert run(url, "revoke-device", admin_dev["id"]) == 0
    assert "早已吊销" in capsys.readouterr().out


def test_a_script_token_reads_figures_and_conflicts_only(url):
    client, srv = _client(url)
    store = srv.store
    try:
        service.add_user(store, "w1", "worker-pass-1", "grid_worker")
        answer = client.post("/api/v1/auth/token", json={"username": "sup", "password": "release-pass-2"})
        assert answer.status_code == 200 and answer.json()["read_only"] is True
        auth = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        stats = client.get("/api/v1/stats", headers=auth).json()
        assert stats["records"]["vehicle"] == 39 and stats["deleted"]["vehicle"] == 1  # live ones only
        assert len(client.get("/api/v1/conflicts", headers=auth).json()["conflicts"]) == 2
        for method, path, body in (("POST", "/api/v1/sync/push", {"changes": []}),
                                   ("POST", "/api/v1/conflicts/1/resolve", {"choice": "server"})):
            refusal = client.request(method, path, json=body, headers=auth)
            assert refusal.status_code == 403 and refusal.json()["code"] == "read_only"
        worker = client.post("/api/v1/auth/token", json={"username": "w1", "password": "worker-pass-1"})
        assert worker.status_code == 403 and "只有" in worker.json()["message"]
        bad = client.post("/api/v1/auth/token", json={"username": "sup", "password": "wrong-pass"})
        assert bad.status_code == 401
    finally:
        client.close()
        srv.stop()


def test_list_users_names_grids_by_code_and_name(url, capsys):
    store = ServerStore(url)
    try:
        admin = service.authenticate(store, "admin", "release-pass-1")
        dev = service.enrol(store, admin, "file-c", "c", "55" * 32, "66" * 32, None)
        service.push(store, service.caller(store, "admin", dev.id), [
            {"seq": 1, "table": "area", "id": "grid-release-1", "op": "I", "known": 0, "at": "2026-11-20T08:00:00Z",
             "fields": {"level": [None, "grid"], "code": [None, "G01"], "name": [None, "一网格"],
                        "parent_id": [None, None]}}])
        service.add_user(store, "w1", "worker-pass-1", "grid_worker", display_name="赵网格员", areas=["G01"])
    finally:
        store.close()
    assert run(url, "list-users") == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("w1"))
    assert "赵网格员" in line and "G01 一网格" in line and "grid-release-1" not in line and "网格员" in line


def test_backup_and_restore(url, tmp_path, capsys):
    is_sqlite = url.startswith("sqlite")
    out = tmp_path / ("copy.db" if is_sqlite else "copy.dump")
    assert run(url, "backup", "--out", str(out)) == 0 and out.is_file()
    assert out.stat().st_mode & 0o077 == 0  # it holds the signing keys and password hashes
    capsys.readouterr()
    original = snapshot(url)
    refused(capsys, url, "backup", "--out", str(out), says="已存在")
    refused(capsys, url, "backup", "--out", str(tmp_path / "nope" / "x.db"), says="不存在")
    assert run(url, "resolve", "1", "--keep", "laptop") == 0  # a change after the backup
    changed = snapshot(url)
    assert changed != original
    refused(capsys, url, "restore", str(tmp_path / "missing.db"), "--yes", says="找不到备份文件")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    refused(capsys, url, "restore", str(junk), "--yes", says="不是" if is_sqlite else "失败")
    refused(capsys, url, "restore", str(out), says="--yes")  # asks first
    if is_sqlite:
        laptop = tmp_path / "laptop.db"
        Store.open(laptop, create=True).close()  # a laptop's database, not a server's
        refused(capsys, url, "restore", str(laptop), "--yes", says="不是网格台账服务器的数据库")
        serving = hold_serving(url)  # as `gridledger serve` does
    else:
        serving = ServerStore(url, application_name=SERVE_APPLICATION)
        with serving.session() as s:  # hold a connection, as a running server does
            s.connection()
            refused(capsys, url, "restore", str(out), "--yes", says="服务器正在使用该数据库")
    try:
        if is_sqlite:
            refused(capsys, url, "restore", str(out), "--yes", says="服务器正在使用该数据库")
    finally:
        serving.close()
    assert run(url, "restore", str(out), "--yes") == 0
    assert "已从" in capsys.readouterr().out
    assert snapshot(url) == original
    ServerStore(url).close()  # and it opens (schema at head)
    if is_sqlite:
        kept = list((Path(url[len("sqlite:///"):]).parent / "backups").glob("*before-restore*"))
        assert len(kept) == 1 and kept[0].stat().st_mode & 0o077 == 0  # the database before the restore


@pytest.mark.parametrize("args", [["backup"], ["conflicts"], ["devices"], ["resolve", "1", "--keep", "server"],
                                  ["revoke-device", "12345678"]])
def test_a_missing_database_is_named_not_made(args, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert run(url, *args) == 2
    assert "找不到服务器数据库" in capsys.readouterr().err
    assert {p.name for p in tmp_path.iterdir()} <= {"data"}  # (the tests' app data folder)
