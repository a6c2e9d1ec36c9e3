"""The laptop client as a user meets it: every failure a clear Chinese message with nothing lost;
photos in their own resumable batches; the supervisor's resolutions synced and audited; the
server's own rules (secrets, sign-in slow-down, schema range)."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from desktop.services.auth import actor_for
from desktop.services.photos import Photos
from desktop.services.records import Records
from desktop.services.store import Store
from desktop.sync import replica
from desktop.sync.client import SyncClient, SyncError, SyncResult
from server import service
from server.app import ConfigError, Settings
from server.models import Blob, Conflict, Device, ServerAudit
from tests.sync.harness import PASSWORD, assert_converged, free_port, person_in


def _person(store, grid):
    return person_in(store, grid)[0]


def _photo(size=(900, 700)) -> bytes:
    """A noisy picture (so its JPEG spans many 4 KiB chunks)."""
    buf = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


# --- failures ---------------------------------------------------------------------------------

def test_wrong_password_no_network_not_a_server(world, tmp_path):
    w = world.laptop("w1")
    with pytest.raises(SyncError, match="用户名或密码不正确"), SyncClient(w, world.url, "w1", "wrong-password") as c:
        c.run()
    with pytest.raises(SyncError, match="无法连接服务器"), SyncClient(w, f"http://127.0.0.1:{free_port()}", "w1", PASSWORD) as c:
        c.run()
    assert replica.pending_count(w) == 0


def test_edits_survive_failed_syncs(world):
    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = _person(w, world.grids[0])
    Records(w, actor_for(w, "w1")).update("person", pid, {"occupation": "断网时"})
    with pytest.raises(SyncError), SyncClient(w, f"http://127.0.0.1:{free_port()}", "w1", PASSWORD) as c:
        c.run()
    assert replica.pending_count(w) == 1
    world.sync(w, "w1")
    assert replica.pending_count(w) == 0


def test_disabled_user_and_schema_range(world, monkeypatch):
    w = world.laptop("w1")
    world.sync(w, "w1")
    import desktop.sync.client as client_mod

    monkeypatch.setattr(client_mod, "SCHEMA_VERSION", 99)
    with pytest.raises(SyncError, match="服务器版本过旧"):
        world.sync(w, "w1")
    monkeypatch.setattr(client_mod, "SCHEMA_VERSION", 1)
    with pytest.raises(SyncError, match="请先升级软件"):
        world.sync(w, "w1")
    monkeypatch.undo()
    service.set_active(world.server.store, "w1", False)
    with pytest.raises(SyncError, match="已停用"):
        world.sync(w, "w1")


def test_expired_token_is_renewed(world, monkeypatch):
    import server.app as app_mod

    w = world.laptop("w1")
    monkeypatch.setattr(app_mod, "TOKEN_SECONDS", -1)  # every token is born expired
    client = SyncClient(w, world.url, "w1", PASSWORD)
    try:
        with pytest.raises(SyncError, match="登录已过期"):
            client.run()
    finally:
        client.close()
    monkeypatch.undo()
    assert world.sync(w, "w1").pulled["person"] > 0


def test_failed_sign_ins_are_slowed_down(world):
    for _ in range(service.MAX_FAILED):
        with pytest.raises(service.ApiError, match="用户名或密码不正确"):
            service.authenticate(world.server.store, "w1", "guess")
    with pytest.raises(service.ApiError, match="登录失败次数过多"):
        service.authenticate(world.server.store, "w1", PASSWORD)
    with pytest.raises(service.ApiError, match="用户名或密码不正确"):
        service.authenticate(world.server.store, "nobody", "guess")


def test_server_refuses_default_secret_outside_development(monkeypatch):
    monkeypatch.delenv("GRIDLEDGER_SECRET", raising=False)
    monkeypatch.delenv("GRIDLEDGER_ENV", raising=False)
    with pytest.raises(ConfigError, match="拒绝启动"):
        Settings.load("sqlite://")
    with pytest.raises(ConfigError, match="太短"):
        Settings.load("sqlite://", secret="short")
    with pytest.raises(ConfigError, match="太弱"):
        Settings.load("sqlite://", secret="x" * 40)
    strong = "q0Zr8vJ2mT6yB1nX4kW9sD3fH7gL5pC-uE"
    assert Settings.load("sqlite://", secret=strong).secret == strong
    assert Settings.load("sqlite://", development=True).development


def test_serve_command_refuses_without_secret(tmp_path, monkeypatch):
    from desktop.cli import main

    monkeypatch.delenv("GRIDLEDGER_SECRET", raising=False)
    monkeypatch.delenv("GRIDLEDGER_ENV", raising=False)
    assert main(["serve", "--database", f"sqlite:///{tmp_path / 's.db'}"]) == 2


def test_a_second_sync_of_the_same_file_is_refused_while_one_runs(world, tmp_path):
    """Another thread (the app's 同步 page while a bundle or a second sync runs) or another opening
    of the same file: refused with code "busy", nothing sent, no new enrolment."""
    import threading

    w = world.laptop("w1")
    world.sync(w, "w1")
    device = w.meta("sync_device_id")
    again = Store.open(w.path)
    seen: list[BaseException | None] = []

    def second(store) -> None:
        try:
            with SyncClient(store, world.url, "w1", PASSWORD) as c:
                c.run()
            seen.append(None)
        except SyncError as exc:
            seen.append(exc)

    def progress(stage, done, total):
        if stage == "连接服务器" and not seen:  # the first sync holds the lock now
            for store in (w, again):
                t = threading.Thread(target=second, args=(store,))
                t.start()
                t.join()

    try:
        with SyncClient(w, world.url, "w1", PASSWORD, progress=progress) as c:
            result = c.run()
        assert len(seen) == 2
        for exc in seen:
            assert isinstance(exc, SyncError) and exc.code == "busy" and "正在同步" in str(exc)
        assert not result.reenrolled and w.meta("sync_device_id") == device
        assert world.sync(again, "w1").reenrolled is False  # free again once the first ended
    finally:
        again.close()
    with world.server.store.session() as s:  # never enrolled again
        assert s.scalar(select(func.count()).select_from(Device).where(Device.predecessor == device)) == 0


def test_a_laptop_the_server_no_longer_knows_is_told_so(world):
    """Enrolled again because the server has no record of the device (its data was reset): the
    result says that, not that the file is a copy or a backup."""
    from desktop.sync.summary import result_lines

    w = world.laptop("w1")
    world.sync(w, "w1")
    device = w.meta("sync_device_id")
    with world.server.store.transaction() as s:
        s.delete(s.get(Device, device))
    res = world.sync(w, "w1")
    assert res.reenrolled and w.meta("sync_device_id") != device
    lines = result_lines(res.as_dict())
    assert any("服务器上已没有本机的登记" in line for line in lines), lines
    assert not any("副本" in line for line in lines)
    # a copied file still says it is a copy
    import shutil

    w.close()
    shutil.copy(w.path, w.path.with_name("copy.db"))
    copy = Store.open(w.path.with_name("copy.db"))
    try:
        lines = result_lines(world.sync(copy, "w1").as_dict())
        assert any("副本" in line for line in lines), lines
    finally:
        copy.close()


def test_progress_and_cancel(world):
    import threading

    w = world.laptop("w1")
    cancel = threading.Event()
    stages = []

    def progress(stage, done, total):
        stages.append(stage)
        if stage == "下载更新":
            cancel.set()

    with pytest.raises(SyncError, match="已取消"), SyncClient(
        w, world.url, "w1", PASSWORD, progress=progress, cancel=cancel, page_size=100
    ) as c:
        c.run()
    cursor = int(w.meta(replica.CURSOR) or 0)
    assert cursor > 0  # the pages before the cancel are kept, with their cursor
    res = world.sync(w, "w1")
    assert res.pulled
    assert_converged(world.server, (w, [world.grids[0]]))


# --- photos -----------------------------------------------------------------------------------

def test_photos_travel_in_their_own_resumable_batches(world, monkeypatch):
    import desktop.sync.client as client_mod

    g1 = world.grids[0]
    a, b = world.laptop("a"), world.laptop("b")
    world.sync(a, "w1")
    world.sync(b, "w1")
    pid = _person(a, g1)
    meta = Photos(a, actor_for(a, "w1")).attach("person", pid, _photo(), filename="p.png")
    monkeypatch.setattr(client_mod, "BLOB_CHUNK", 4096)  # many chunks
    # the line drops after three chunks: the records still got through
    calls = {"n": 0}
    real = client_mod.Connection.request

    def flaky(self, method, path, **kw):
        if method == "PUT" and path.startswith("/blobs/"):
            calls["n"] += 1
            if calls["n"] == 4:
                raise SyncError("与服务器的连接中断(ReadError),可稍后重试(会从断点继续)。", "network")
        return real(self, method, path, **kw)

    monkeypatch.setattr(client_mod.Connection, "request", flaky)
    with pytest.raises(SyncError, match="连接中断"):
        world.sync(a, "w1")
    assert replica.pending_count(a) == 0  # the records were pushed before the photo
    with world.server.store.session() as s:
        blob = s.get(Blob, meta["sha256"])
        assert blob is not None and not blob.complete and blob.received == 3 * 4096
    res = world.sync(a, "w1")  # resumes at the fourth chunk
    assert res.blobs_up == 1 and calls["n"] > 4
    res = world.sync(b, "w1")
    assert res.blobs_down == 1
    got = Photos(b, actor_for(b, "w1")).full(meta["id"])
    assert got == Photos(a, actor_for(a, "w1")).full(meta["id"])
    thumbs = Photos(b, actor_for(b, "w1")).list_for("person", pid)
    assert thumbs and thumbs[0]["thumb"]
    # a worker of the other grid cannot fetch it
    c = world.laptop("c")
    world.sync(c, "w2")
    client = SyncClient(c, world.url, "w2", PASSWORD)
    client.hello(SyncResult())
    with pytest.raises(SyncError):
        client.conn.request("GET", f"/blobs/{meta['sha256']}")
    client.close()


# --- resolution ---------------------------------------------------------------------------------

@pytest.mark.parametrize("choice, expected", [("server", "厨师"), ("client", "司机"), ("custom", "厨师兼司机")])
def test_supervisor_resolves_a_clash_in_one_step(world, choice, expected):
    g1 = world.grids[0]
    a, b = world.laptop("a"), world.laptop("b")
    world.sync(a, "w1")
    world.sync(b, "sup")
    pid = _person(a, g1)
    Records(a, actor_for(a, "w1")).update("person", pid, {"occupation": "厨师"})
    Records(b, actor_for(b, "sup")).update("person", pid, {"occupation": "司机"})
    world.sync(a, "w1")
    world.sync(b, "sup")
    client = SyncClient(b, world.url, "sup", PASSWORD)
    try:
        conflicts = client.conflicts()
        assert len(conflicts) == 1
        c = conflicts[0]
        assert c["server"]["value"] == {"occupation": "厨师"} and c["client"]["value"] == {"occupation": "司机"}
        assert c["record"]["id"] == pid
        values = {"occupation": expected} if choice == "custom" else None
        client.resolve(c["id"], choice, values)
        assert client.conflicts() == []
        with pytest.raises(SyncError, match="已处理过"):
            client.resolve(c["id"], choice, values)
    finally:
        client.close()
    world.sync(b, "sup")
    world.sync(a, "w1")
    assert Records(a, actor_for(a, "w1")).get("person", pid)["occupation"] == expected
    with world.server.store.session() as s:
        row = s.scalar(select(Conflict))
        assert row.status == "resolved" and row.resolved_by == "sup"
        audit = s.scalars(select(ServerAudit).where(ServerAudit.action == "resolve_conflict")).all()
        assert len(audit) == 1 and json.loads(audit[0].detail)["choice"] == choice
    assert_converged(world.server, (a, [g1]), (b, None))


def test_grid_worker_cannot_see_or_resolve_conflicts(world):
    w = world.laptop("w1")
    world.sync(w, "w1")
    client = SyncClient(w, world.url, "w1", PASSWORD)
    try:
        with pytest.raises(SyncError, match="只有社区管理员或网格长"):
            client.conflicts()
    finally:
        client.close()


def test_openapi_document_is_served(world):
    doc = httpx.get(world.url + "/api/v1/openapi.json").json()
    ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"info", "enrol", "token", "hello", "push", "pull", "conflicts", "resolve"} <= ops


def test_sync_command_prints_a_chinese_summary(world, tmp_path, monkeypatch, capsys):
    from desktop.cli import main

    # a new laptop whose first sync is refused (a mistyped password) leaves no file behind
    monkeypatch.setattr("sys.stdin", io.StringIO("mistyped-password\n"))
    code = main(["--db", str(tmp_path / "cli.db"), "sync", "--server", world.url, "--user", "w1",
                 "--password-stdin", "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "用户名或密码不正确" in err
    assert "新建的本机数据库 cli.db 已删除" in err  # not left believing the encrypted file is there
    assert not (tmp_path / "cli.db").exists() and not (tmp_path / "cli.db.keys").exists()
    assert not (tmp_path / "cli.db.sync-lock").exists()

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["--db", str(tmp_path / "cli.db"), "sync", "--server", world.url, "--user", "w1",
                 "--password-stdin", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "已下载" in out and "人员" in out
    assert "本机数据库已加密" in out  # a laptop set up by its first sync is encrypted
    from desktop.db.keys import is_encrypted

    assert is_encrypted(tmp_path / "cli.db") and not list((tmp_path / "backups").glob("*before-encryption*"))
    monkeypatch.setattr("sys.stdin", io.StringIO("bad-password\n"))
    code = main(["--db", str(tmp_path / "cli.db"), "sync", "--server", world.url, "--user", "w1",
                 "--password-stdin", "--quiet"])
    assert code == 2 and "用户名或密码不正确" in capsys.readouterr().err  # refused before any network
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["--db", str(tmp_path / "cli.db"), "sync", "--server", world.url, "--user", "w1",
                 "--password-stdin", "--quiet"])
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["--db", str(tmp_path / "plain.db"), "sync", "--server", world.url, "--user", "w1",
                 "--password-stdin", "--quiet", "--no-encrypt"])
    assert code == 0 and not is_encrypted(tmp_path / "plain.db")


def test_a_name_clash_is_one_conflict_and_a_typed_name_brings_its_pinyin(world):
    g1 = world.grids[0]
    a, b = world.laptop("a"), world.laptop("b")
    world.sync(a, "w1")
    world.sync(b, "sup")
    pid = _person(a, g1)
    Records(a, actor_for(a, "w1")).update("person", pid, {"name": "张三"})
    Records(b, actor_for(b, "sup")).update("person", pid, {"name": "李四"})
    world.sync(a, "w1")
    world.sync(b, "sup")
    with SyncClient(b, world.url, "sup", PASSWORD) as client:
        conflicts = client.conflicts()
        assert len(conflicts) == 1 and conflicts[0]["fields"][0] == "name"
        client.resolve(conflicts[0]["id"], "custom", {"name": "王五"})
    world.sync(b, "sup")
    world.sync(a, "w1")
    p = Records(a, actor_for(a, "w1")).get("person", pid)
    assert (p["name"], p["name_initials"]) == ("王五", "ww")
    assert_converged(world.server, (a, [g1]), (b, None))


def test_the_audit_trail_reaches_the_server(world, capsys):
    from desktop.services.privacy import reveal
    from desktop.services.store import Actor

    g1 = world.grids[0]
    sup = world.laptop("sup")
    world.sync(sup, "sup")
    pid = _person(sup, g1)
    reveal(sup, Actor("sup", "supervisor", None, sup.meta("device_id")), "person", pid, "cert_no")
    world.sync(sup, "sup")
    res = world.sync(sup, "sup")  # nothing new but its own sync entry: never sent twice
    assert res.audit_up == 1
    with SyncClient(sup, world.url, "sup", PASSWORD) as client:
        entries = client.audit(action="reveal")
    assert len(entries) == 1 and entries[0]["actor"] == "sup" and entries[0]["entity_id"] == pid
    assert entries[0]["device_id"] == sup.meta("sync_device_id")
    assert "cert_no" in entries[0]["detail"]
    w = world.laptop("w1")
    world.sync(w, "w1")
    with SyncClient(w, world.url, "w1", PASSWORD) as client, pytest.raises(SyncError, match="只有社区管理员或网格长"):
        client.audit()
    from desktop.cli import main

    assert main(["server", "--database", world.server.store.url, "audit", "--action", "reveal"]) == 0
    assert "reveal" in capsys.readouterr().out
