"""The bundle file format on its own (desktop/sync/bundle_file.py): round trips, every refusal with its
Chinese message, and the atomic write. No server, no database."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop.sync import bundle_file
from desktop.sync.bundle_file import (
    BundleError,
    box_public,
    new_box_key,
    new_signing_key,
    read_bundle,
    signing_public,
    write_bundle,
)

BIG = bytes(range(256)) * 8192  # 2 MiB
PARTS = {"changes.json": '[{"姓名": "张三"}]'.encode(), "empty": b"", "blob-big": BIG}
META = {"bundle_id": "b-1", "device_id": "dev-1", "note": "社区网格"}


@pytest.fixture
def keys():
    sign, box = new_signing_key(), new_box_key()
    return sign, signing_public(sign), box, box_public(box)


@pytest.fixture
def plain(tmp_path, keys):
    path = tmp_path / "plain.glb"
    write_bundle(path, META, {"a.json": b"{}", "b.json": b"[1, 2]"}, signing_key=keys[0])
    return path


@pytest.fixture
def sealed(tmp_path, keys):
    path = tmp_path / "sealed.glb"
    write_bundle(path, META, {"a.json": b'{"a": 1}', "b.json": b'{"b": 2}'}, signing_key=keys[0],
                 recipient_box_public=keys[3])
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _rewrite(src: Path, dst: Path, *, drop=(), add=None, change=None) -> Path:
    """Copy a bundle's members into a new zip, dropping, adding or changing some."""
    members = {n: d for n, d in _members(src).items() if n not in drop}
    for name, fn in (change or {}).items():
        members[name] = fn(members[name])
    return _zip(dst, {**members, **(add or {})})


def _resign(src: Path, dst: Path, sign: bytes, *, manifest=None, parts=None) -> Path:
    """What only the signer could do: change the manifest and/or the stored parts (hashes
    recomputed) and sign again, to reach the checks that come after the signature."""
    members = _members(src)
    m = json.loads(members[bundle_file.MANIFEST])
    for name, data in (parts or {}).items():
        members[bundle_file.PARTS + name] = data
        m["parts"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    m.update(manifest or {})
    body = json.dumps(m, ensure_ascii=False, sort_keys=True).encode()
    members[bundle_file.MANIFEST] = body
    members[bundle_file.SIGNATURE] = Ed25519PrivateKey.from_private_bytes(sign).sign(body)
    return _zip(dst, members)


def _refused(path: Path, keys, message: str, **kw) -> str:
    kw.setdefault("verify_key", keys[1])
    with pytest.raises(BundleError) as info:
        read_bundle(path, **kw)
    assert message in str(info.value)
    return str(info.value)


# --- keys and round trips -------------------------------------------------------------------


def test_keys_are_raw_32_bytes_and_fresh(keys):
    sign, pub, box, boxpub = keys
    assert {len(sign), len(pub), len(box), len(boxpub)} == {32}
    assert signing_public(sign) == pub and box_public(box) == boxpub
    assert new_signing_key() != sign and new_box_key() != box
    assert pub != sign and boxpub != box


def test_round_trip_plain(tmp_path, keys):
    sign, pub, _, _ = keys
    path = tmp_path / "usb" / "w1.glb"
    given = dict(META)
    manifest = write_bundle(path, given, PARTS, signing_key=sign)
    assert given == META  # the caller's dict is not modified
    assert manifest == {**META, "format": "gridledger-bundle", "format_version": 1,
                        "encrypted": False,
                        "parts": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                                  for n, d in PARTS.items()}}
    got_manifest, got = read_bundle(path, verify_key=pub)
    assert got_manifest == manifest and got == PARTS
    members = _members(path)
    assert set(members) == {"manifest.json", "signature"} | {f"parts/{n}" for n in PARTS}
    # manifest.json is UTF-8 with sorted keys, and the signature is over exactly those bytes
    body = members["manifest.json"]
    assert body == json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode("utf-8")
    assert "社区网格".encode() in body
    Ed25519PrivateKey.from_private_bytes(sign).public_key().verify(members["signature"], body)
    assert list(tmp_path.joinpath("usb").iterdir()) == [path]


def test_round_trip_encrypted(tmp_path, keys):
    sign, pub, box, boxpub = keys
    path = tmp_path / "w1.glb"
    manifest = write_bundle(path, META, PARTS, signing_key=sign, recipient_box_public=boxpub)
    assert manifest["encrypted"] is True
    assert manifest["enc"]["alg"] == "X25519-HKDF-SHA256-AESGCM"
    assert len(bytes.fromhex(manifest["enc"]["ephemeral"])) == 32
    got_manifest, got = read_bundle(path, verify_key=pub, box_key=box)
    assert got_manifest == manifest and got == PARTS
    members = _members(path)
    for name, data in PARTS.items():
        stored = members[f"parts/{name}"]
        # hashes and sizes are of the bytes as stored: nonce + ciphertext + tag
        assert manifest["parts"][name] == {"sha256": hashlib.sha256(stored).hexdigest(),
                                           "size": len(data) + 12 + 16}
    assert b"\xe5\xbc\xa0\xe4\xb8\x89" not in members["parts/changes.json"]  # 张三
    assert bytes(range(256)) * 4 not in members["parts/blob-big"]
    nonces = {members[f"parts/{n}"][:12] for n in PARTS}
    assert len(nonces) == len(PARTS)  # a fresh nonce per part
    again = write_bundle(tmp_path / "again.glb", META, PARTS, signing_key=sign,
                         recipient_box_public=boxpub)
    assert again["enc"]["ephemeral"] != manifest["enc"]["ephemeral"]  # a fresh ephemeral key


def test_verify_key_callable_gets_the_claimed_signer(plain, keys):
    seen = []

    def lookup(manifest):
        seen.append(manifest["device_id"])
        return keys[1]

    manifest, parts = read_bundle(plain, verify_key=lookup)
    assert seen == ["dev-1"] and parts == {"a.json": b"{}", "b.json": b"[1, 2]"}


def test_verify_key_callable_may_refuse(plain, keys):
    def lookup(manifest):
        raise BundleError("来自未登记的设备")

    _refused(plain, keys, "来自未登记的设备", verify_key=lookup)


def test_verify_key_callable_returning_another_key(plain, keys):
    other = signing_public(new_signing_key())
    _refused(plain, keys, "签名无效:同步包已被修改或来自其他设备", verify_key=lambda m: other)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"not a zip at all", b"", b"PK\x03\x04" + b"\0" * 40])
def test_not_a_zip(tmp_path, keys, content):
    junk = tmp_path / "junk.glb"
    junk.write_bytes(content)
    _refused(junk, keys, "不是有效的同步包文件")


def test_truncated_or_missing_file(tmp_path, plain, keys):
    cut = tmp_path / "cut.glb"
    cut.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    _refused(cut, keys, "不是有效的同步包文件")
    _refused(tmp_path / "nowhere.glb", keys, "不是有效的同步包文件")


def test_corrupted_byte_on_disk(tmp_path, keys):
    """A bit flipped by a bad USB stick, not a rewritten zip: zipfile's CRC check fires first and
    must still come out as a BundleError."""
    path = tmp_path / "b.glb"
    write_bundle(path, META, {"x": b"hello world " * 200}, signing_key=keys[0])
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"parts/x") + len("parts/x") + 8] ^= 0xFF
    path.write_bytes(bytes(raw))
    _refused(path, keys, "同步包文件已损坏:无法读取其中的“parts/x”")


@pytest.mark.parametrize("member", ["manifest.json", "signature"])
def test_missing_manifest_or_signature(tmp_path, plain, keys, member):
    bad = _rewrite(plain, tmp_path / "bad.glb", drop=[member])
    _refused(bad, keys, "同步包不完整:缺少清单或签名")


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000])
def test_manifest_unreadable(tmp_path, plain, keys, body):
    bad = _rewrite(plain, tmp_path / "bad.glb", change={"manifest.json": lambda _: body})
    _refused(bad, keys, "签名无效")  # the signer's key known: checked before parsing
    _refused(bad, keys, "同步包清单无法识别", verify_key=lambda m: pytest.fail("the signer was asked"))
    signed = _rewrite(plain, tmp_path / "signed.glb", change={
        "manifest.json": lambda _: body,
        "signature": lambda _: Ed25519PrivateKey.from_private_bytes(keys[0]).sign(body)})
    _refused(signed, keys, "同步包清单无法识别")


@pytest.mark.parametrize("body", [b"[]", b'{"format": "other-app", "format_version": 1}'])
def test_wrong_format(tmp_path, plain, keys, body):
    bad = _rewrite(plain, tmp_path / "bad.glb", change={"manifest.json": lambda _: body})
    _refused(bad, keys, "签名无效")
    _refused(bad, keys, "这不是网格台账的同步包", verify_key=lambda m: pytest.fail("the signer was asked"))
    signed = _rewrite(plain, tmp_path / "signed.glb", change={
        "manifest.json": lambda _: body,
        "signature": lambda _: Ed25519PrivateKey.from_private_bytes(keys[0]).sign(body)})
    _refused(signed, keys, "这不是网格台账的同步包")


def test_unsupported_format_version(tmp_path, plain, keys):
    bad = _resign(plain, tmp_path / "bad.glb", keys[0], manifest={"format_version": 2})
    _refused(bad, keys, "同步包格式版本 2 不受支持,请升级软件")


def test_tampered_manifest(tmp_path, plain, keys):
    bad = _rewrite(plain, tmp_path / "bad.glb",
                   change={"manifest.json": lambda d: d.replace(b'"b-1"', b'"b-2"')})
    assert _members(bad)["manifest.json"] != _members(plain)["manifest.json"]
    _refused(bad, keys, "签名无效:同步包已被修改或来自其他设备")


def test_signature_swapped_from_another_bundle(tmp_path, plain, keys):
    other = tmp_path / "other.glb"
    write_bundle(other, {**META, "bundle_id": "b-2"}, {"a.json": b"{}"}, signing_key=keys[0])
    sig = _members(other)["signature"]
    bad = _rewrite(plain, tmp_path / "bad.glb", change={"signature": lambda _: sig})
    read_bundle(other, verify_key=keys[1])  # the signature itself is genuine
    _refused(bad, keys, "签名无效:同步包已被修改或来自其他设备")


def test_signed_by_another_device(tmp_path, keys):
    path = tmp_path / "b.glb"
    write_bundle(path, META, {"a.json": b"{}"}, signing_key=new_signing_key())
    _refused(path, keys, "签名无效:同步包已被修改或来自其他设备")


def test_tampered_part_byte(tmp_path, plain, keys):
    flip = {"parts/b.json": lambda d: d[:-1] + bytes([d[-1] ^ 1])}
    bad = _rewrite(plain, tmp_path / "bad.glb", change=flip)
    msg = _refused(bad, keys, "同步包内容“b.json”校验失败")
    assert "大小不符" not in msg


def test_part_size_changed(tmp_path, plain, keys):
    bad = _rewrite(plain, tmp_path / "bad.glb", change={"parts/b.json": lambda d: d + b" "})
    _refused(bad, keys, "同步包内容“b.json”校验失败:大小不符")


def test_part_missing(tmp_path, plain, keys):
    bad = _rewrite(plain, tmp_path / "bad.glb", drop=["parts/a.json"])
    _refused(bad, keys, "同步包不完整:缺少“a.json”")


@pytest.mark.parametrize("extra", ["parts/extra.json", "readme.txt"])
def test_extra_member(tmp_path, plain, keys, extra):
    bad = _rewrite(plain, tmp_path / "bad.glb", add={extra: b"x"})
    _refused(bad, keys, f"同步包中有清单之外的文件:{extra}")


def test_duplicate_member(tmp_path, plain, keys):
    bad = _rewrite(plain, tmp_path / "bad.glb")
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("parts/a.json", b'{"evil": 1}')
    _refused(bad, keys, "同步包中有重复的文件:parts/a.json")


@pytest.mark.parametrize("name", ["../evil.txt", "parts/../../evil.txt", "/etc/passwd",
                                  "parts/..\\..\\evil.txt", "C:/evil.txt", "parts//x"])
def test_traversal_member_name(tmp_path, plain, keys, name):
    bad = _rewrite(plain, tmp_path / "bad.glb", add={name: b"x"})
    assert name in zipfile.ZipFile(bad).namelist()
    _refused(bad, keys, f"同步包中含有不安全的文件名:{name}")


def test_traversal_part_name_in_signed_manifest(tmp_path, plain, keys):
    m = json.loads(_members(plain)["manifest.json"])
    m["parts"]["../evil"] = {"sha256": "00" * 32, "size": 0}
    bad = _resign(plain, tmp_path / "bad.glb", keys[0], manifest={"parts": m["parts"]})
    _refused(bad, keys, "同步包中含有不安全的文件名:../evil")


def test_unsafe_part_name_not_written(tmp_path, keys):
    with pytest.raises(ValueError, match="unsafe part name"):
        write_bundle(tmp_path / "b.glb", META, {"../x": b"1"}, signing_key=keys[0])
    assert list(tmp_path.iterdir()) == []


def test_encrypted_without_box_key(sealed, keys):
    _refused(sealed, keys, "该同步包已加密,但没有提供本机的解密密钥")


def test_encrypted_for_another_recipient(sealed, keys):
    _refused(sealed, keys, "该同步包是加密给其他接收方的,本机无法解密", box_key=new_box_key())
    assert read_bundle(sealed, verify_key=keys[1], box_key=keys[2])[1]["a.json"] == b'{"a": 1}'


def test_decryption_failing(tmp_path, sealed, keys):
    """The recipient matches but a part does not decrypt (here: a part the signer re-signed
    without encrypting properly, and one too short to hold a nonce and tag)."""
    for i, junk in enumerate([os.urandom(64), b"short"]):
        bad = _resign(sealed, tmp_path / f"bad{i}.glb", keys[0], parts={"b.json": junk})
        _refused(bad, keys, "该同步包是加密给其他接收方的,本机无法解密", box_key=keys[2])


def test_part_name_is_bound_to_its_ciphertext(tmp_path, sealed, keys):
    """Swapping two encrypted parts (even re-signed) fails: the name is the associated data."""
    members = _members(sealed)
    swapped = {"a.json": members["parts/b.json"], "b.json": members["parts/a.json"]}
    bad = _resign(sealed, tmp_path / "bad.glb", keys[0], parts=swapped)
    _refused(bad, keys, "该同步包是加密给其他接收方的,本机无法解密", box_key=keys[2])


def test_unsupported_encryption(tmp_path, sealed, keys):
    enc = json.loads(_members(sealed)["manifest.json"])["enc"]
    bad = _resign(sealed, tmp_path / "bad.glb", keys[0], manifest={"enc": {**enc, "alg": "ROT13"}})
    _refused(bad, keys, "同步包的加密方式 ROT13 不受支持", box_key=keys[2])


def test_zip_bomb_refused_before_inflating(tmp_path, keys, monkeypatch):
    path = tmp_path / "bomb.glb"
    write_bundle(path, META, {"zeros": bytes(8 * 1024 * 1024)}, signing_key=keys[0])
    assert path.stat().st_size < 100_000  # 8 MiB on the inside, tiny on the stick
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *a, **kw):
        opened.append(str(name))
        return real_open(self, name, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    _refused(path, keys, "同步包过大", max_total_bytes=1024 * 1024)
    assert opened == []  # refused on the declared sizes alone: not one member inflated
    monkeypatch.undo()
    assert read_bundle(path, verify_key=keys[1])[1]["zeros"] == bytes(8 * 1024 * 1024)


def _spy_opens(monkeypatch) -> list[str]:
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *a, **kw):
        opened.append(getattr(name, "filename", str(name)))
        return real_open(self, name, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_oversized_manifest_refused_before_inflating(tmp_path, keys, monkeypatch):
    """The issue's case: a small file whose manifest inflates to a huge one was inflated (up to the
    whole 2 GB budget) and parsed before anything was checked. Its declared size refuses it now."""
    manifest = b'{"format": "gridledger-bundle", "format_version": 1, "parts": {}}' + b" " * (64 * 1024 * 1024)
    path = _zip(tmp_path / "bomb.glb", {bundle_file.MANIFEST: manifest, bundle_file.SIGNATURE: bytes(64)})
    assert path.stat().st_size < 1024 * 1024
    opened = _spy_opens(monkeypatch)
    msg = _refused(path, keys, "同步包清单过大")
    assert "64 MB" in msg and "16 MB" in msg
    assert opened == []  # not one byte inflated
    _refused(path, keys, "同步包清单过大", verify_key=lambda m: pytest.fail("the signer was asked"))


def test_manifest_limit_is_exact(tmp_path, keys, monkeypatch):
    monkeypatch.setattr(bundle_file, "MAX_MANIFEST", 1000)
    path = tmp_path / "b.glb"
    write_bundle(path, {"pad": ""}, {"a": b"1"}, signing_key=keys[0])
    size = len(_members(path)[bundle_file.MANIFEST])
    pad = 1000 - size
    write_bundle(path, {"pad": "x" * pad}, {"a": b"1"}, signing_key=keys[0])
    assert len(_members(path)[bundle_file.MANIFEST]) == 1000
    read_bundle(path, verify_key=keys[1])
    write_bundle(path, {"pad": "x" * (pad + 1)}, {"a": b"1"}, signing_key=keys[0])
    _refused(path, keys, "同步包清单过大")


def test_signature_checked_before_the_manifest_is_parsed(tmp_path, plain, keys, monkeypatch):
    """With the signer's key known (the laptop importing a reply), a manifest that is not the
    signer's is never parsed."""
    bad = _rewrite(plain, tmp_path / "bad.glb", change={bundle_file.MANIFEST: lambda b: b.replace(b"b-1", b"b-2")})
    parsed: list[int] = []
    real_loads = json.loads
    monkeypatch.setattr(bundle_file.json, "loads", lambda *a, **kw: parsed.append(1) or real_loads(*a, **kw))
    _refused(bad, keys, "签名无效")
    assert parsed == []
    monkeypatch.undo()
    read_bundle(plain, verify_key=keys[1])


@pytest.mark.parametrize("size", [0, 63, 65, 10 * 1024 * 1024])
def test_a_signature_of_the_wrong_size_is_refused_unread(tmp_path, plain, keys, monkeypatch, size):
    bad = _rewrite(plain, tmp_path / "bad.glb", change={bundle_file.SIGNATURE: lambda b: bytes(size)})
    opened = _spy_opens(monkeypatch)
    _refused(bad, keys, "签名无效")
    assert opened == []


def test_part_sizes_checked_before_any_part_is_read(tmp_path, keys, monkeypatch):
    """A signed manifest whose sizes do not match the zip: refused before any part is inflated."""
    path = tmp_path / "p.glb"
    write_bundle(path, META, {"a.json": b"{}", "z.json": b"[1, 2, 3]"}, signing_key=keys[0])
    bad = _rewrite(path, tmp_path / "bad.glb", change={bundle_file.PARTS + "z.json": lambda b: b + b" "})
    opened = _spy_opens(monkeypatch)
    _refused(bad, keys, "“z.json”校验失败:大小不符")
    assert opened == [bundle_file.MANIFEST, bundle_file.SIGNATURE]


def test_size_limit_is_exact(tmp_path, plain, keys):
    total = sum(i.file_size for i in zipfile.ZipFile(plain).infolist())
    read_bundle(plain, verify_key=keys[1], max_total_bytes=total)
    _refused(plain, keys, "同步包过大", max_total_bytes=total - 1)


def test_declared_sizes_above_limit(tmp_path, plain, keys):
    """The signed manifest claims far more than the zip holds: refused as too big, not inflated."""
    m = json.loads(_members(plain)["manifest.json"])
    m["parts"]["a.json"]["size"] = 10**12
    bad = _resign(plain, tmp_path / "bad.glb", keys[0], manifest={"parts": m["parts"]})
    _refused(bad, keys, "同步包过大")


# --- writing ----------------------------------------------------------------------------------


def _fail_on_part(monkeypatch, written: list[str]) -> None:
    real = zipfile.ZipFile.writestr

    def writestr(self, name, data, *a, **kw):
        written.append(str(name))
        if str(name).startswith("parts/blob-big"):
            raise OSError("U 盘已拔出")
        return real(self, name, data, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


@pytest.mark.parametrize("encrypted", [False, True])
def test_write_is_atomic(tmp_path, keys, monkeypatch, encrypted):
    written: list[str] = []
    _fail_on_part(monkeypatch, written)
    with pytest.raises(OSError, match="U 盘已拔出"):
        write_bundle(tmp_path / "b.glb", META, PARTS, signing_key=keys[0],
                     recipient_box_public=keys[3] if encrypted else None)
    assert "manifest.json" in written and "parts/changes.json" in written  # failed midway
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_bundle(tmp_path, plain, keys, monkeypatch):
    before = plain.read_bytes()
    _fail_on_part(monkeypatch, [])
    with pytest.raises(OSError):
        write_bundle(plain, META, PARTS, signing_key=keys[0])
    assert plain.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [plain.name]


def test_failed_rename_leaves_no_temp_file(tmp_path, keys, monkeypatch):
    def replace(src, dst):
        raise PermissionError("只读")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        write_bundle(tmp_path / "b.glb", META, PARTS, signing_key=keys[0])
    assert list(tmp_path.iterdir()) == []


def test_rewrite_replaces_existing_bundle(plain, keys):
    write_bundle(plain, {**META, "bundle_id": "b-9"}, {"z": b"9"}, signing_key=keys[0])
    manifest, parts = read_bundle(plain, verify_key=keys[1])
    assert manifest["bundle_id"] == "b-9" and parts == {"z": b"9"}
