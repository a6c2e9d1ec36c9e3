"""The bundle file: a zip with a manifest, one member per part, and an Ed25519 signature over the
manifest (which holds each part's sha256 and size). Parts are optionally encrypted to the
recipient: X25519 with a fresh ephemeral key, HKDF-SHA256, AES-256-GCM per part with the part's
name as associated data. All primitives come from the `cryptography` package."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "gridledger-bundle"
FORMAT_VERSION = 1
ALG = "X25519-HKDF-SHA256-AESGCM"
MANIFEST = "manifest.json"
SIGNATURE = "signature"
PARTS = "parts/"


class BundleError(Exception):
    """A refused bundle; str(exc) is a clear message in Chinese for the user."""


def new_signing_key() -> bytes:
    return os.urandom(32)


def signing_public(private: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_box_key() -> bytes:
    return os.urandom(32)


def box_public(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _part_key(shared: bytes, ephemeral_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public, info=b"gridledger-bundle-v1").derive(shared)


def write_bundle(path: str | Path, manifest: dict[str, Any], parts: dict[str, bytes], *,
                 signing_key: bytes, recipient_box_public: bytes | None = None) -> dict[str, Any]:
    """Write the bundle atomically (a temporary file renamed into place); returns the manifest."""
    path = Path(path)
    out = dict(manifest)
    out.update(format=FORMAT, format_version=FORMAT_VERSION, encrypted=recipient_box_public is not None)
    stored: dict[str, bytes] = {}
    if recipient_box_public is not None:
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key = _part_key(eph.exchange(X25519PublicKey.from_public_bytes(recipient_box_public)), eph_pub)
        aead = AESGCM(key)
        for name, data in parts.items():
            nonce = os.urandom(12)
            stored[name] = nonce + aead.encrypt(nonce, data, name.encode())
        out["enc"] = {"alg": ALG, "ephemeral": eph_pub.hex(), "recipient": recipient_box_public.hex()}
    else:
        stored = dict(parts)
    out["parts"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in stored.items()}
    body = json.dumps(out, ensure_ascii=False, sort_keys=True).encode()
    signature = Ed25519PrivateKey.from_private_bytes(signing_key).sign(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, body)
            zf.writestr(SIGNATURE, signature)
            for name, data in stored.items():
                zf.writestr(PARTS + name, data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def read_bundle(path: str | Path, *, verify_key: bytes | Callable[[dict[str, Any]], bytes],
                box_key: bytes | None = None, max_total_bytes: int = 2 * 1024**3) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Verify and open a bundle; every refusal is a BundleError with a Chinese message."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError("不是有效的同步包文件(无法作为压缩包打开)") from exc
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        for name in infos:
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise BundleError(f"同步包中含有不安全的文件名:{name}")
        if MANIFEST not in infos or SIGNATURE not in infos:
            raise BundleError("同步包不完整:缺少清单或签名")
        if sum(i.file_size for i in infos.values()) > max_total_bytes:
            raise BundleError("同步包过大,已拒绝")
        body = zf.read(MANIFEST)
        signature = zf.read(SIGNATURE)
        try:
            manifest = json.loads(body)
            assert isinstance(manifest, dict)
        except (ValueError, AssertionError) as exc:
            raise BundleError("同步包清单无法识别") from exc
        if manifest.get("format") != FORMAT:
            raise BundleError("这不是网格台账的同步包")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"同步包格式版本 {manifest.get('format_version')} 不受支持,请升级软件")
        public = verify_key(manifest) if callable(verify_key) else verify_key
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, body)
        except (InvalidSignature, ValueError) as exc:
            raise BundleError("签名无效:同步包已被修改或来自其他设备") from exc
        listed = manifest.get("parts")
        if not isinstance(listed, dict):
            raise BundleError("同步包清单缺少内容列表")
        members = {n[len(PARTS):] for n in infos if n.startswith(PARTS)}
        extra = (members - set(listed)) | {n for n in infos if n not in (MANIFEST, SIGNATURE) and not n.startswith(PARTS)}
        if extra:
            raise BundleError(f"同步包中有清单之外的文件:{sorted(extra)[0]}")
        stored: dict[str, bytes] = {}
        for name, meta in listed.items():
            if name not in members:
                raise BundleError(f"同步包不完整:缺少“{name}”")
            data = zf.read(PARTS + name)
            if len(data) != meta.get("size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise BundleError(f"同步包内容“{name}”校验失败:文件已损坏或被修改")
            stored[name] = data
    if not manifest.get("encrypted"):
        return manifest, stored
    enc = manifest.get("enc") or {}
    if box_key is None or enc.get("alg") != ALG:
        raise BundleError("该同步包是加密给其他接收方的,本机无法解密")
    try:
        eph_pub = bytes.fromhex(enc["ephemeral"])
        shared = X25519PrivateKey.from_private_bytes(box_key).exchange(X25519PublicKey.from_public_bytes(eph_pub))
        aead = AESGCM(_part_key(shared, eph_pub))
        plain = {n: aead.decrypt(d[:12], d[12:], n.encode()) for n, d in stored.items()}
    except (InvalidTag, ValueError, KeyError) as exc:
        raise BundleError("该同步包是加密给其他接收方的,本机无法解密") from exc
    return manifest, plain
