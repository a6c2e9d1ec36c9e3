"""Draft autosave: what a form holds is written to disk as the user types, so a crash or a dead
battery loses nothing; on the next start the drafts are offered back.

On an encrypted laptop a draft (names, ID numbers being typed) is itself encrypted: AES-GCM
under a key derived from the database key (AppContext.draft_secret), in a `.gld` file. A plain
laptop writes `.json`. A draft that does not decrypt (another database's) is never shown. When
the laptop is encrypted, the plain drafts typed before are encrypted too (encrypt_plain_drafts),
so no name or ID number stays readable in the drafts folder. Here (not in ui) because encryption,
a service, converts them; ui.drafts re-exports it for the forms."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from desktop.paths import data_dir, private_dir


def drafts_dir() -> Path:
    return private_dir(data_dir() / "drafts")


MAGIC = b"GLD1"
_AAD = b"gridledger-draft"


def _file(key: str, suffix: str = ".json") -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
    return drafts_dir() / f"{safe}{suffix}"


def save_draft(key: str, meta: dict[str, Any], values: dict[str, Any], *, secret: bytes | None = None) -> None:
    """Atomic write (temp file + rename): a crash mid-write never leaves a broken draft."""
    payload = {"key": key, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"), "meta": meta, "values": values}
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    if secret is not None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        body = MAGIC + nonce + AESGCM(secret).encrypt(nonce, body, _AAD)
        target = _file(key, ".gld")
    else:
        target = _file(key)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    os.replace(tmp, target)
    if secret is not None:
        _file(key).unlink(missing_ok=True)  # a plain draft from before the laptop was encrypted


def remove_draft(key: str) -> None:
    _file(key).unlink(missing_ok=True)
    _file(key, ".gld").unlink(missing_ok=True)


def _read(path: Path, secret: bytes | None) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()
        if path.suffix == ".gld":
            if secret is None or not raw.startswith(MAGIC):
                return None
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            try:
                raw = AESGCM(secret).decrypt(raw[4:16], raw[16:], _AAD)
            except InvalidTag:
                return None  # another database's draft
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def list_drafts(username: str | None = None, *, secret: bytes | None = None) -> list[dict[str, Any]]:
    out = []
    for path in sorted([*drafts_dir().glob("*.json"), *drafts_dir().glob("*.gld")]):
        data = _read(path, secret)
        if data is not None and (username is None or data.get("meta", {}).get("user") == username):
            out.append(data)
    return out


def encrypt_plain_drafts(secret: bytes) -> int:
    """Encrypt every plain (.json) draft under `secret` (the newly encrypted database's draft key)
    and remove the plain file; one that cannot be read is removed. Returns how many were kept."""
    kept = 0
    for path in sorted(drafts_dir().glob("*.json")):
        data = _read(path, None)
        if data is not None and isinstance(data.get("key"), str):
            save_draft(data["key"], data.get("meta") or {}, data.get("values") or {}, secret=secret)
            kept += 1
        path.unlink(missing_ok=True)
    return kept
