"""Every bundle the laptop refuses, through `gridledger sync --bundle-in/--bundle-out`: exit
status 2 and one Chinese sentence on stderr (never a traceback), nothing imported."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from desktop.cli import main
from desktop.sync import bundle_sync, replica
from server.bundle_import import import_bundle
from tests.sync.harness import person_in


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误:"), err
    assert "Traceback" not in err and "BundleRefused" not in err
    return lines[0]


@pytest.fixture
def laptop(world, tmp_path):
    """An enrolled grid worker's laptop with one change waiting, closed (the commands open it)."""
    from desktop.services.auth import actor_for
    from desktop.services.records import Records

    w = world.laptop("w1")
    world.sync(w, "w1")
    pid = person_in(w, world.grids[0])[0]
    Records(w, actor_for(w, "w1")).update("person", pid, {"occupation": "离线"})
    path = w.path
    w.close()
    return path


@pytest.mark.parametrize("server_db", ["sqlite"], indirect=True)
def test_refused_bundles_on_the_command_line(world, laptop, tmp_path, capsys):
    from desktop.services.store import Store

    db = str(laptop)
    out, reply = tmp_path / "out.glb", tmp_path / "reply.glb"
    assert main(["--db", db, "sync", "--bundle-out", str(out)]) == 0
    import_bundle(world.server.store, out, reply)
    capsys.readouterr()
    # not a bundle at all, a folder, a missing file, a tampered reply, the laptop's own bundle
    garbage = tmp_path / "garbage.glb"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    tampered = tmp_path / "tampered.glb"
    with zipfile.ZipFile(reply) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:-1] + bytes([data[-1] ^ 1]) if item.filename.startswith("parts/") else data)
    (tmp_path / "a-folder.glb").mkdir()
    for bad in (garbage, tmp_path / "a-folder.glb", tmp_path / "missing.glb", tampered, out):
        assert main(["--db", db, "sync", "--bundle-in", str(bad)]) == 2, bad
        _one_line(capsys)
    # a reply for another laptop
    other = world.laptop("w1b")
    world.sync(other, "w1")
    other_path = other.path
    other.close()
    assert main(["--db", str(other_path), "sync", "--bundle-in", str(reply)]) == 2
    assert "本机" in _one_line(capsys)  # not addressed to it, or encrypted for another recipient
    # a laptop never enrolled: neither out nor in
    never = world.laptop("never")
    never_path = never.path
    never.close()
    for argv in (["--bundle-out", str(tmp_path / "x.glb")], ["--bundle-in", str(reply)]):
        assert main(["--db", str(never_path), "sync", *argv]) == 2
        assert "请先在有网络时同步一次" in _one_line(capsys)
    assert not (tmp_path / "x.glb").exists()
    st = Store.open(laptop)
    try:
        assert replica.pending_count(st) == 1  # nothing was acknowledged by a refused bundle
    finally:
        st.close()
    shutil.rmtree(tmp_path / "a-folder.glb")
    _ = bundle_sync
