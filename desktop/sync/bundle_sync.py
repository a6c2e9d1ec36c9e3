"""Sync through a file for offices without a network: the laptop writes its waiting changes into
a signed bundle encrypted to the server; the server imports it and writes a reply bundle (its
answer per change plus everything new for this user's grids) encrypted to the laptop.

The laptop must have enrolled with the server once (that is how both sides learn each other's
keys). Replaying either file is harmless: changes are idempotent on (device, sequence) and a
reply older than what the laptop already has is skipped."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from desktop.db.sql import sql
from desktop.models import new_id
from desktop.services.errors import ServiceError
from desktop.services.store import Store
from desktop.sync import replica
from desktop.sync.bundle_file import BundleError, read_bundle, write_bundle
from desktop.sync.lock import SyncLocked, sync_lock
from desktop.sync.protocol import SCHEMA_VERSION, Change

MAX_CHANGES = 2_000_000


class BundleRefused(ServiceError):
    """A bundle refused on the laptop: one Chinese sentence (`message`), nothing imported."""


def _need(store: Store, key: str) -> str:
    value = store.meta(key)
    if not value:
        raise BundleRefused("本机尚未在服务器登记:请先在有网络时同步一次(登记设备),之后才能使用同步包。")
    return value


def _user(store: Store) -> str:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT username FROM app_user WHERE created_by = 'sync' ORDER BY updated_at DESC LIMIT 1"
        ).first()
    return row[0] if row else "unknown"


@contextmanager
def _locked(store: Store) -> Iterator[None]:
    """The database's sync lock (desktop/sync/lock.py): a bundle moves the outbox and the cursor
    just as a network sync does, so the two never run at once."""
    try:
        with sync_lock(store):
            yield
    except SyncLocked as exc:
        raise BundleRefused(str(exc)) from exc


def export_bundle(store: Store, path: Path) -> dict[str, Any]:
    """Write every waiting change (and the photos they need) into one bundle file."""
    with _locked(store):
        return _export_bundle(store, path)


def import_reply(store: Store, path: Path) -> dict[str, Any]:
    """Apply the server's reply bundle: acknowledgements, then pulled records, cursor last."""
    with _locked(store):
        return _import_reply(store, path)


def _export_bundle(store: Store, path: Path) -> dict[str, Any]:
    device = _need(store, "sync_device_id")
    server_box = bytes.fromhex(_need(store, "sync_server_box"))
    sign = bytes.fromhex(_need(store, "sync_sign_private"))
    replica.mark_local_only(store)
    changes: list[Change] = []
    after = 0
    while len(changes) < MAX_CHANGES:
        batch = replica.read_batch(store, after=after, limit=5000, max_bytes=1 << 40)
        if not batch:
            break
        changes += batch
        after = batch[-1]["seq"]
    parts: dict[str, bytes] = {"changes.json": orjson.dumps(changes)}
    att_ids = [c["id"] for c in changes if c["table"] == "attachment"]
    blobs = 0
    with store.engine.connect() as conn:
        for i in range(0, len(att_ids), 500):
            chunk = att_ids[i : i + 500]
            for sha, data in conn.execute(
                sql("SELECT sha256, data FROM attachment WHERE id IN :ids AND length(data) > 0", "ids"), {"ids": chunk}
            ):
                parts[f"blob-{sha}"] = bytes(data)
                blobs += 1
    manifest = {
        "bundle_id": new_id(), "direction": "to_server", "device_id": device,
        "server_id": _need(store, "sync_server_id"), "file_id": store.meta("file_id"),
        "schema_version": SCHEMA_VERSION, "cursor": int(store.meta(replica.CURSOR) or 0),
        "seq_from": changes[0]["seq"] if changes else None, "seq_to": changes[-1]["seq"] if changes else None,
        "count": len(changes),
    }
    write_bundle(path, manifest, parts, signing_key=sign, recipient_box_public=server_box)
    replica.mark_in_bundle(store, [c["seq"] for c in changes])
    replica.audit(store, _user(store), "导出同步包", {"file": str(path), "changes": len(changes), "blobs": blobs,
                                                 "bundle_id": manifest["bundle_id"]})
    return {"changes": len(changes), "blobs": blobs, "bundle_id": manifest["bundle_id"]}


def _import_reply(store: Store, path: Path) -> dict[str, Any]:
    from desktop.services.photos import thumbnail_of

    device = _need(store, "sync_device_id")
    server_sign = bytes.fromhex(_need(store, "sync_server_sign"))
    box = bytes.fromhex(_need(store, "sync_box_private"))
    try:
        manifest, parts = read_bundle(path, verify_key=server_sign, box_key=box)
    except BundleError as exc:
        raise BundleRefused(str(exc)) from exc
    if manifest.get("direction") != "to_device" or manifest.get("device_id") != device:
        raise BundleRefused("该回执包不是发给本机的(设备不符),未导入任何内容。")
    if manifest.get("server_id") != store.meta("sync_server_id"):
        raise BundleRefused("该回执包来自另一台服务器,未导入任何内容。")
    results = orjson.loads(parts.get("results.json", b"[]"))
    pages = orjson.loads(parts.get("records.json", b"[]"))
    counts = replica.acknowledge(store, results)
    mine = int(store.meta(replica.CURSOR) or 0)
    start, end = int(manifest.get("cursor_from") or 0), int(manifest.get("cursor_to") or 0)
    pulled: dict[str, int] = {}
    skipped = False
    if end <= mine:
        skipped = True  # an older reply: everything in it is already here
    elif start > mine:
        raise BundleRefused("该回执包与本机数据不衔接(本机缺少更早的回执),请先导入更早的回执包或联网同步。")
    else:
        initial = mine == 0
        for page in pages:
            for t, n in replica.apply_page(store, page, initial=initial).items():
                pulled[t] = pulled.get(t, 0) + n
        replica.rebuild_search_if_dirty(store)
    # photos carried in the reply
    blobs = 0
    with replica.raw_apply(store) as conn:
        for name, data in parts.items():
            if name.startswith("blob-") and hashlib.sha256(data).hexdigest() == name[5:]:
                cur = conn.exec_driver_sql(
                    "UPDATE attachment SET data = ?, thumb = ? WHERE sha256 = ? AND length(data) = 0",
                    (data, thumbnail_of(data), name[5:]),
                )
                blobs += cur.rowcount or 0
    if manifest.get("user"):
        replica.set_local_user(store, manifest["user"], None)
        store.set_meta(replica.SCOPE, json.dumps(manifest["user"].get("grids")))
    from datetime import UTC, datetime

    store.set_meta("sync_last_at", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    store.set_meta("sync_last_result", json.dumps(
        {"pushed": {}, "push_status": counts, "pulled": pulled, "evicted": 0, "blobs_up": 0, "blobs_down": blobs,
         "cursor": int(store.meta(replica.CURSOR) or 0), "reenrolled": False, "seconds": 0, "bundle": True},
        ensure_ascii=False))
    replica.audit(store, (manifest.get("user") or {}).get("username") or _user(store), "导入回执包",
                {"file": str(path), "acknowledged": counts, "pulled": pulled, "skipped": skipped})
    return {"acknowledged": counts, "pulled": pulled, "skipped": skipped, "blobs": blobs,
            "cursor": int(store.meta(replica.CURSOR) or 0)}
