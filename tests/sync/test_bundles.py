"""USB bundles: round trip, replay (docs/design/SYNC.md, scenario 9), tampered / foreign / wrong-recipient / out-of-scope
bundles refused whole (docs/design/SYNC.md, scenario 12). The file format itself: test_bundle_format.py."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from desktop.services.auth import actor_for
from desktop.services.records import Records
from desktop.sync import bundle_sync, replica
from server.bundle_import import import_bundle
from server.service import ApiError
from tests.sync.harness import assert_converged, person_in, server_snapshot


def _person(store, grid):
    return person_in(store, grid)[0]


def _edit(store, user, pid, **values):
    return Records(store, actor_for(store, user)).update("person", pid, values)


@pytest.fixture
def offline(world):
    """A grid worker's laptop, enrolled online once, then working offline."""
    w = world.laptop("w1")
    world.sync(w, "w1")
    return w


def test_bundle_round_trip(world, offline, tmp_path):
    g1 = world.grids[0]
    pid = _person(offline, g1)
    for k in range(3):  # three weeks of edits
        _edit(offline, "w1", pid, occupation=f"第{k + 1}周")
    visits = Records(offline, actor_for(offline, "w1"))
    with offline.engine.connect() as c:
        hid = c.exec_driver_sql("SELECT id FROM household WHERE grid_id = ? LIMIT 1", (g1,)).scalar()
    visits.create("visit", {"grid_id": g1, "household_id": hid, "visited_on": "2026-11-20", "visitor": "w1",
                            "situation": "离线走访"})
    out = tmp_path / "w1.glb"
    info = bundle_sync.export_bundle(offline, out)
    assert info["changes"] == 4
    assert replica.pending_count(offline) == 4  # written to the bundle, not yet acknowledged
    # meanwhile the supervisor edits another field of the same person online
    sup = world.laptop("sup")
    world.sync(sup, "sup")
    _edit(sup, "sup", pid, phone="13900001111")
    world.sync(sup, "sup")
    reply = tmp_path / "reply.glb"
    summary = import_bundle(world.server.store, out, reply)
    assert "已导入 4 条修改" in summary["lines"][0]
    res = bundle_sync.import_reply(offline, reply)
    assert sum(res["acknowledged"].values()) == 4 and replica.pending_count(offline) == 0
    p = Records(offline, actor_for(offline, "w1")).get("person", pid)
    assert (p["occupation"], p["phone"]) == ("第3周", "13900001111")
    world.sync(sup, "sup")
    assert_converged(world.server, (offline, [g1]), (sup, None))


def test_replayed_three_week_old_bundle_changes_nothing(world, offline, tmp_path):
    g1 = world.grids[0]
    pid = _person(offline, g1)
    _edit(offline, "w1", pid, occupation="三周前")
    old = tmp_path / "old.glb"
    bundle_sync.export_bundle(offline, old)
    import_bundle(world.server.store, old, tmp_path / "r1.glb")
    bundle_sync.import_reply(offline, tmp_path / "r1.glb")
    # newer edits afterwards, online, from the same laptop and from the supervisor
    _edit(offline, "w1", pid, occupation="今天")
    world.sync(offline, "w1")
    before = server_snapshot(world.server)
    summary = import_bundle(world.server.store, old, tmp_path / "r2.glb")  # replayed
    assert "此前已导入过" in summary["lines"][0]
    assert server_snapshot(world.server) == before
    res = bundle_sync.import_reply(offline, tmp_path / "r1.glb")  # the old reply replayed too
    assert res["skipped"]
    assert Records(offline, actor_for(offline, "w1")).get("person", pid)["occupation"] == "今天"
    assert_converged(world.server, (offline, [g1]))


def test_tampered_bundle_refused_whole(world, offline, tmp_path):
    pid = _person(offline, world.grids[0])
    _edit(offline, "w1", pid, occupation="被篡改前")
    good = tmp_path / "good.glb"
    bundle_sync.export_bundle(offline, good)
    bad = tmp_path / "bad.glb"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("parts/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(item, data)
    before = server_snapshot(world.server)
    with pytest.raises(ApiError, match="校验失败"):
        import_bundle(world.server.store, bad, tmp_path / "r.glb")
    assert server_snapshot(world.server) == before
    assert not (tmp_path / "r.glb").exists()


def test_bundle_for_another_server_refused(world, offline, tmp_path, server_db):
    from tests.sync.harness import ThreadServer

    pid = _person(offline, world.grids[0])
    _edit(offline, "w1", pid, occupation="发错服务器")
    out = tmp_path / "w1.glb"
    bundle_sync.export_bundle(offline, out)
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    other = ThreadServer(other_db)
    try:
        with pytest.raises(ApiError, match="同步包被拒绝"):
            import_bundle(other.store, out, tmp_path / "r.glb")
    finally:
        other.store.close()


def test_bundle_from_unknown_device_refused(world, offline, tmp_path):
    pid = _person(offline, world.grids[0])
    _edit(offline, "w1", pid, occupation="冒名")
    offline.set_meta("sync_device_id", "00000000-0000-0000-0000-000000000000")
    out = tmp_path / "w1.glb"
    bundle_sync.export_bundle(offline, out)
    with pytest.raises(ApiError, match="未在本服务器登记的设备"):
        import_bundle(world.server.store, out, tmp_path / "r.glb")


def test_out_of_scope_bundle_refused_whole(world, offline, tmp_path):
    g1, g2 = world.grids
    pid = _person(offline, g1)
    _edit(offline, "w1", pid, occupation="在范围内")
    out = tmp_path / "w1.glb"
    bundle_sync.export_bundle(offline, out)
    world.server.set_grids("w1", [g2])  # reassigned before the bundle reached the office
    before = server_snapshot(world.server)
    with pytest.raises(ApiError, match="不属于该网格员负责网格"):
        import_bundle(world.server.store, out, tmp_path / "r.glb")
    assert server_snapshot(world.server) == before
    assert replica.pending_count(offline) == 1  # still queued on the laptop: nothing lost


def test_reply_for_another_laptop_refused(world, offline, tmp_path):
    pid = _person(offline, world.grids[0])
    _edit(offline, "w1", pid, occupation="回执")
    out, reply = tmp_path / "w1.glb", tmp_path / "reply.glb"
    bundle_sync.export_bundle(offline, out)
    import_bundle(world.server.store, out, reply)
    other = world.laptop("w1b")
    world.sync(other, "w1")
    with pytest.raises(bundle_sync.BundleRefused):
        bundle_sync.import_reply(other, reply)
    with pytest.raises(bundle_sync.BundleRefused, match="请先在有网络时同步一次"):
        bundle_sync.export_bundle(world.laptop("never"), tmp_path / "x.glb")


def test_cli_bundle_round_trip(world, offline, tmp_path):
    """The same through the commands a user types."""
    from desktop.cli import main

    pid = _person(offline, world.grids[0])
    _edit(offline, "w1", pid, occupation="命令行")
    offline.close()
    db = str(tmp_path / "w1.db")
    out, reply = tmp_path / "out.glb", tmp_path / "reply.glb"
    assert main(["--db", db, "sync", "--bundle-out", str(out)]) == 0
    server_url = world.server.store.url
    assert main(["server", "--database", server_url, "import-bundle", str(out), "--reply", str(reply)]) == 0
    assert main(["--db", db, "sync", "--bundle-in", str(reply)]) == 0
    shutil.copy(reply, tmp_path / "again.glb")
    assert main(["--db", db, "sync", "--bundle-in", str(tmp_path / "again.glb")]) == 0
    from desktop.services.store import Store

    st = Store.open(db)
    try:
        assert replica.pending_count(st) == 0
        assert json.loads(st.meta(replica.SCOPE)) == [world.grids[0]]
    finally:
        st.close()


def test_inflated_manifest_refused_by_both_commands(world, offline, tmp_path, capsys):
    """A 1 MB file whose manifest inflates to gigabytes: `server import-bundle` and `sync --bundle-in`
    refuse it in Chinese (exit 2, no traceback) on its declared size, before inflating it."""
    from desktop.cli import main
    from desktop.sync.bundle_file import MANIFEST, SIGNATURE

    bomb = tmp_path / "张三-1201.glb"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, b"{" + b" " * (64 * 1024 * 1024) + b"}")
        zf.writestr(SIGNATURE, bytes(64))
    assert bomb.stat().st_size < 1024 * 1024
    offline.close()
    before = server_snapshot(world.server)
    reply = tmp_path / "reply.glb"
    assert main(["server", "--database", world.server.store.url, "import-bundle", str(bomb), "--reply", str(reply)]) == 2
    err = capsys.readouterr().err
    assert "同步包被拒绝:同步包清单过大" in err and "Traceback" not in err
    assert not reply.exists() and server_snapshot(world.server) == before
    db = str(tmp_path / "w1.db")
    assert main(["--db", db, "sync", "--bundle-in", str(bomb)]) == 2
    err = capsys.readouterr().err
    assert "同步包清单过大" in err and "Traceback" not in err
