"""The bundle file: a zip with a manifest, one member per part, and an Ed25519 signature over the
exact manifest bytes (the manifest holds each stored part's sha256 and size, so the signature covers
every byte). Parts are optionally encrypted to the recipient: X25519 with a fresh ephemeral key,
HKDF-SHA256, AES-256-GCM per part (fresh nonce, the part's name as associated data). All
primitives come from the `cryptography` package; nothing here touches Qt or a database."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

FORMAT = "gridledger-bundle"
FORMAT_VERSION = 1
ALG = "X25519-HKDF-SHA256-AESGCM"
MANIFEST = "manifest.json"
SIGNATURE = "signature"
PARTS = "parts/"
NONCE = 12  # AES-GCM nonce, stored in front of each encrypted part
TAG = 16  # AES-GCM tag, at the end of each encrypted part

VerifyKey = bytes | Callable[[dict[str, Any]], bytes]

# zip errors that mean "damaged file" once the archive itself has opened
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)
_NOT_A_BUNDLE = "不是有效的同步包文件(无法作为压缩包打开)"
_OTHER_RECIPIENT = "该同步包是加密给其他接收方的,本机无法解密"
_TOO_BIG = "同步包过大(超过允许的大小,可能是恶意构造的压缩包),已拒绝"
_BAD_SIGNATURE = "签名无效:同步包已被修改或来自其他设备"
MAX_MANIFEST = 16 * 1024**2  # a part's entry is ~150 bytes: room for 100,000 photos
SIGNATURE_SIZE = 64  # Ed25519


class BundleError(Exception):
    """A refused bundle; str(exc) is a clear message in simplified Chinese for the user."""


def _raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def new_signing_key() -> bytes:
    return _raw_private(Ed25519PrivateKey.generate())


def signing_public(private: bytes) -> bytes:
    return _raw_public(Ed25519PrivateKey.from_private_bytes(private))


def new_box_key() -> bytes:
    return _raw_private(X25519PrivateKey.generate())


def box_public(private: bytes) -> bytes:
    return _raw_public(X25519PrivateKey.from_private_bytes(private))


def _part_key(shared: bytes, ephemeral_public: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public,
                info=b"gridledger-bundle-v1")
    return hkdf.derive(shared)


def _unsafe(name: str) -> bool:
    """A member or part name that could escape a folder if anyone ever extracted it."""
    segments = name.split("/")
    return (not name or name.startswith("/") or "\\" in name or ":" in name
            or any(ord(c) < 32 for c in name) or any(s in ("", ".", "..") for s in segments))


def write_bundle(path: str | os.PathLike[str], manifest: dict[str, Any], parts: dict[str, bytes],
                 *, signing_key: bytes,
                 recipient_box_public: bytes | None = None) -> dict[str, Any]:
    """Write the bundle atomically (temp file in the same folder, then os.replace; nothing is left
    behind on error). Returns the final manifest as signed."""
    for name in parts:
        if _unsafe(name):
            raise ValueError(f"unsafe part name: {name!r}")
    path = Path(path)
    out = dict(manifest)
    out.update(format=FORMAT, format_version=FORMAT_VERSION,
               encrypted=recipient_box_public is not None)
    out.pop("enc", None)
    stored: dict[str, bytes] = dict(parts)
    if recipient_box_public is not None:
        eph = X25519PrivateKey.generate()
        eph_pub = _raw_public(eph)
        shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient_box_public))
        aead = AESGCM(_part_key(shared, eph_pub))
        for name, data in parts.items():
            nonce = os.urandom(NONCE)
            stored[name] = nonce + aead.encrypt(nonce, data, name.encode())
        out["enc"] = {"alg": ALG, "ephemeral": eph_pub.hex(),
                      "recipient": recipient_box_public.hex()}
    out["parts"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                    for n, d in stored.items()}
    body = json.dumps(out, ensure_ascii=False, sort_keys=True, allow_nan=False).encode("utf-8")
    signature = Ed25519PrivateKey.from_private_bytes(signing_key).sign(body)
    # ciphertext does not compress: store it as is
    method = zipfile.ZIP_STORED if recipient_box_public is not None else zipfile.ZIP_DEFLATED
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST, body)
                zf.writestr(SIGNATURE, signature)
                for name, data in stored.items():
                    zf.writestr(PARTS + name, data, compress_type=method)
            fh.flush()
            os.fsync(fh.fileno())  # a USB stick may be pulled right after "done"
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """One member, at most `limit` + 1 bytes however large it claims or turns out to be (zipfile
    also stops at the declared size, so this is a second fence against zip bombs)."""
    try:
        with zf.open(info) as fh:
            return fh.read(limit + 1)
    except _ZIP_ERRORS as exc:
        raise BundleError(f"同步包文件已损坏:无法读取其中的“{info.filename}”") from exc


def _listed_parts(manifest: dict[str, Any]) -> dict[str, tuple[str, int]]:
    listed = manifest.get("parts")
    if not isinstance(listed, dict):
        raise BundleError("同步包清单缺少内容列表")
    out: dict[str, tuple[str, int]] = {}
    for name, meta in listed.items():
        sha = meta.get("sha256") if isinstance(meta, dict) else None
        size = meta.get("size") if isinstance(meta, dict) else None
        if _unsafe(name):
            raise BundleError(f"同步包中含有不安全的文件名:{name}")
        if not isinstance(sha, str) or not isinstance(size, int) or isinstance(size, bool) \
                or size < 0:
            raise BundleError(f"同步包清单中“{name}”的校验信息无法识别")
        out[name] = (sha, size)
    return out


def _mb(size: int) -> str:
    return f"{size / 1024**2:.0f} MB" if size >= 1024**2 else f"{size} 字节"


def read_bundle(path: str | os.PathLike[str], *, verify_key: VerifyKey,
                box_key: bytes | None = None,
                max_total_bytes: int = 2 * 1024**3) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Verify and open a bundle; returns the manifest and the plaintext parts. Every refusal is
    a BundleError with a Chinese message. `verify_key` is the signer's raw Ed25519 public key, or a
    callable that gets the not yet verified manifest and returns the key of the signer it claims.

    Nothing is inflated before the zip's declared sizes pass (the manifest at most MAX_MANIFEST,
    the signature exactly SIGNATURE_SIZE, everything within `max_total_bytes`); with a key the
    signature is checked before the manifest is parsed (a callable needs the claimed signer, so
    there the capped manifest is parsed first); every part's size is checked against the signed
    manifest before any part is inflated."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise BundleError(_NOT_A_BUNDLE) from exc
    with zf:
        infos: dict[str, zipfile.ZipInfo] = {}
        info: zipfile.ZipInfo | None
        for info in zf.infolist():
            if _unsafe(info.filename):
                raise BundleError(f"同步包中含有不安全的文件名:{info.filename}")
            if info.filename in infos:
                raise BundleError(f"同步包中有重复的文件:{info.filename}")
            infos[info.filename] = info
        if MANIFEST not in infos or SIGNATURE not in infos:
            raise BundleError("同步包不完整:缺少清单或签名")
        # declared sizes first, so nothing is inflated from a zip bomb
        declared = infos[MANIFEST].file_size
        if declared > MAX_MANIFEST:
            raise BundleError(f"同步包清单过大(展开后 {_mb(declared)},最多 {_mb(MAX_MANIFEST)}),"
                              "不是网格台账写出的同步包,已拒绝")
        if infos[SIGNATURE].file_size != SIGNATURE_SIZE:
            raise BundleError(_BAD_SIGNATURE)
        if sum(i.file_size for i in infos.values()) > max_total_bytes:
            raise BundleError(_TOO_BIG)
        body = _read(zf, infos[MANIFEST], MAX_MANIFEST)
        signature = _read(zf, infos[SIGNATURE], SIGNATURE_SIZE)
        if len(body) > MAX_MANIFEST or len(signature) != SIGNATURE_SIZE:
            raise BundleError("同步包文件已损坏:清单或签名的实际大小与声明不符")
        if callable(verify_key):
            public = verify_key(_parse_manifest(body))
            _verify(public, signature, body)
            manifest = _parse_manifest(body)
        else:
            _verify(verify_key, signature, body)
            manifest = _parse_manifest(body)
        # from here on the manifest is the signer's own
        listed = _listed_parts(manifest)
        budget = max_total_bytes - len(body) - len(signature)
        if sum(size for _, size in listed.values()) > budget:
            raise BundleError(_TOO_BIG)
        extra = sorted(n for n in infos if n not in (MANIFEST, SIGNATURE)
                       and not (n.startswith(PARTS) and n[len(PARTS):] in listed))
        if extra:
            raise BundleError(f"同步包中有清单之外的文件:{extra[0]}")
        for name, (_, size) in listed.items():  # every size before any part is inflated
            info = infos.get(PARTS + name)
            if info is None:
                raise BundleError(f"同步包不完整:缺少“{name}”")
            if info.file_size != size:
                raise BundleError(f"同步包内容“{name}”校验失败:大小不符,文件已损坏或被修改")
        stored: dict[str, bytes] = {}
        for name, (sha, size) in listed.items():
            data = _read(zf, infos[PARTS + name], size)  # never more than its signed size
            if len(data) != size:
                raise BundleError(f"同步包内容“{name}”校验失败:大小不符,文件已损坏或被修改")
            if hashlib.sha256(data).hexdigest() != sha:
                raise BundleError(f"同步包内容“{name}”校验失败:文件已损坏或被修改")
            stored[name] = data
    encrypted = manifest.get("encrypted")
    if encrypted is False:
        return manifest, stored
    if encrypted is not True:
        raise BundleError("同步包清单无法识别:未说明是否加密")
    return manifest, _decrypt(manifest.get("enc"), stored, box_key)


def _verify(public: bytes, signature: bytes, body: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, body)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise BundleError(_BAD_SIGNATURE) from exc


def _parse_manifest(body: bytes) -> dict[str, Any]:
    """The manifest (at most MAX_MANIFEST bytes); not yet verified when a callable names the
    signer, so it may be hostile."""
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise BundleError("同步包清单无法识别") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError("这不是网格台账的同步包")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"同步包格式版本 {manifest.get('format_version')} 不受支持,请升级软件")
    return manifest


def _decrypt(enc: Any, stored: dict[str, bytes], box_key: bytes | None) -> dict[str, bytes]:
    if not isinstance(enc, dict):
        raise BundleError("同步包清单无法识别:缺少加密信息")
    if enc.get("alg") != ALG:
        raise BundleError(f"同步包的加密方式 {enc.get('alg')} 不受支持,请升级软件")
    if box_key is None:
        raise BundleError("该同步包已加密,但没有提供本机的解密密钥,无法解密")
    try:
        me = X25519PrivateKey.from_private_bytes(box_key)
        eph_pub = bytes.fromhex(enc["ephemeral"])
        aead = AESGCM(_part_key(me.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub))
        plain: dict[str, bytes] = {}
        for name, data in stored.items():
            if len(data) < NONCE + TAG:
                raise BundleError(_OTHER_RECIPIENT)
            plain[name] = aead.decrypt(data[:NONCE], data[NONCE:], name.encode())
    except (InvalidTag, ValueError, TypeError, KeyError) as exc:
        raise BundleError(_OTHER_RECIPIENT) from exc
    return plain
