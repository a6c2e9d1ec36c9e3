"""Import a laptop's bundle on the server and write the reply bundle.

A bundle is refused whole (nothing applied) when it is not a valid signed bundle, was made by an
unknown or disabled device, is addressed to another server, or holds a change outside its user's
grids. A bundle already imported is a no-op (the reply is written again, with current data)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from desktop.models import new_id
from desktop.policy import denial
from desktop.sync.bundle_file import BundleError, read_bundle, write_bundle
from desktop.sync.protocol import (
    GRID_WRITERS,
    MIN_SCHEMA_VERSION,
    PULL_PAGE,
    SCHEMA_VERSION,
    has_grid,
)
from server import service
from server.models import Blob, BlobPart, BundleSeen, Device, Record, ServerUser, utcnow
from server.service import ApiError, Caller
from server.store import ServerStore, scope_for, widen_scope


def _keys(store: ServerStore) -> tuple[bytes, bytes, str]:
    from desktop.sync.bundle_file import new_box_key, new_signing_key

    sign = bytes.fromhex(store.key("sign_private", lambda: new_signing_key().hex()))
    box = bytes.fromhex(store.key("box_private", lambda: new_box_key().hex()))
    server_id = store.key("server_id", lambda: __import__("os").urandom(16).hex())
    return sign, box, server_id


def import_bundle(store: ServerStore, path: Path, reply_path: Path) -> dict[str, Any]:
    sign, box, server_id = _keys(store)
    devices: dict[str, Device] = {}

    def signer(manifest: dict[str, Any]) -> bytes:
        with store.session() as s:
            dev = s.get(Device, str(manifest.get("device_id")))
            if dev is None:
                raise BundleError("该同步包来自未在本服务器登记的设备,已拒绝。")
            devices["dev"] = dev
            return bytes.fromhex(dev.sign_public)

    try:
        manifest, parts = read_bundle(path, verify_key=signer, box_key=box)
    except BundleError as exc:
        raise ApiError(422, "bundle_refused", f"同步包被拒绝:{exc}") from exc
    if manifest.get("direction") != "to_server":
        raise ApiError(422, "bundle_refused", "同步包被拒绝:这不是网格员电脑导出的同步包。")
    if manifest.get("server_id") != server_id:
        raise ApiError(422, "bundle_refused", "同步包被拒绝:该同步包是发给另一台服务器的。")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or not MIN_SCHEMA_VERSION <= version <= SCHEMA_VERSION:
        raise ApiError(422, "bundle_refused", "同步包被拒绝:软件版本与服务器不兼容,请先升级。")
    dev = devices["dev"]
    with store.session() as s:
        user = s.get(ServerUser, dev.user_id)
        if user is None or not user.active or not dev.active:
            raise ApiError(403, "bundle_refused", "同步包被拒绝:该用户或设备已停用。")
        who = Caller(user, dev, scope_for(s, user))
    changes = orjson.loads(parts.get("changes.json", b"[]"))
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise ApiError(422, "bundle_refused", "同步包被拒绝:内容格式不正确。")
    bundle_id = str(manifest.get("bundle_id"))
    with store.session() as s:
        seen = s.get(BundleSeen, bundle_id)
    lines: list[str] = []
    if seen is not None:
        results = json.loads(seen.summary)["results"]
        lines.append("该同步包此前已导入过:本次不重复应用(回执包按当前数据重新生成)")
    else:
        _check_scope(store, who, changes)
        results = []
        # photos carried in the bundle prove that the laptop holds them
        proven = frozenset(name[5:] for name, data in parts.items()
                           if name.startswith("blob-") and hashlib.sha256(data).hexdigest() == name[5:])
        for i in range(0, len(changes), 1000):
            results += service.push(store, who, changes[i : i + 1000], proven=proven)["results"]
        _store_blobs(store, parts)
        with store.transaction() as s:
            s.add(BundleSeen(bundle_id=bundle_id, device_id=dev.id,
                             summary=json.dumps({"results": results})))
            service.audit(s, user.username, "import_bundle", dev.id, bundle_id=bundle_id, changes=len(changes))
        counts: dict[str, int] = {}
        for r in results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        from desktop.sync.summary import status_text

        lines.append(f"已导入 {len(changes)} 条修改:" + status_text(counts))
    # the reply: answers plus every record newer than the laptop's cursor, in its scope
    cursor_from = int(manifest.get("cursor") or 0)
    pages = []
    cursor = cursor_from
    while True:
        page = orjson.loads(service.pull(store, who.scope, cursor, PULL_PAGE))
        pages.append(page)
        cursor = int(page["cursor"])
        if not page["more"]:
            break
    reply_parts: dict[str, bytes] = {"results.json": orjson.dumps(results), "records.json": orjson.dumps(pages)}
    shas = {p["d"].get("sha256") for page in pages for p in page["records"] if p["t"] == "attachment"}
    with store.session() as s:
        for sha in sorted(x for x in shas if x):
            b = s.get(Blob, sha)
            if b is not None and b.complete:
                data = b"".join(s.scalars(select(BlobPart.data).where(BlobPart.sha256 == sha).order_by(BlobPart.offset)))
                reply_parts[f"blob-{sha}"] = data
    grids = sorted(who.scope.grids) if who.scope.grids is not None else None
    reply_manifest = {
        "bundle_id": new_id(), "direction": "to_device", "in_reply_to": bundle_id, "device_id": dev.id,
        "server_id": server_id, "cursor_from": cursor_from, "cursor_to": cursor,
        "created_at": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
        "user": {"username": user.username, "display_name": user.display_name, "role": user.role, "grids": grids},
    }
    write_bundle(reply_path, reply_manifest, reply_parts, signing_key=sign,
                 recipient_box_public=bytes.fromhex(dev.box_public))
    n = sum(len(p["records"]) for p in pages)
    lines.append(f"回执包中包含 {n} 条更新")
    return {"lines": lines, "results": results, "records": n}


def _check_scope(store: ServerStore, who: Caller, changes: list[dict[str, Any]]) -> None:
    """Refuse the whole bundle if any change touches a record outside the user's grids."""
    scope = who.scope
    with store.session() as s:
        if scope.areas:  # grids the bundle itself creates under the user's community
            rows = []
            for ch in changes:
                raw = ch.get("fields")
                fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
                if ch.get("table") != "area" or ch.get("op") == "D" or not isinstance(ch.get("id"), str):
                    continue
                rec = s.get(Record, ("area", ch["id"]))
                data = orjson.loads(rec.data) if rec is not None else {}
                data.update({k: v[1] for k, v in fields.items() if isinstance(v, list) and len(v) == 2})
                rows.append((ch["id"], data.get("parent_id"), str(data.get("level") or ""),
                             str(data.get("code") or ""), str(data.get("name") or "")))
            scope = widen_scope(scope, s, rows)
        for ch in changes:
            table, row_id = ch.get("table"), ch.get("id")
            if not isinstance(table, str) or not isinstance(row_id, str):
                raise ApiError(422, "bundle_refused", "同步包被拒绝:内容格式不正确。")
            rec = s.get(Record, (table, row_id))
            raw = ch.get("fields")
            fields = raw if isinstance(raw, dict) else {}
            grids = set()
            if rec is not None:
                grids.add(rec.grid_id)
            new = fields.get("grid_id")
            if isinstance(new, list) and len(new) == 2:
                grids.add(new[1])
            if not has_grid(table) and table != "area":
                continue
            for g in grids or {None}:
                if not scope.writes(table, g):
                    if table in GRID_WRITERS and scope.writes("attachment", g):
                        raise ApiError(403, "bundle_refused", "同步包被拒绝:其中有该用户无权修改的记录("
                                       f"{denial(GRID_WRITERS[table])}),整包未导入。")
                    raise ApiError(403, "bundle_refused",
                                   "同步包被拒绝:其中有不属于该网格员负责网格的记录,整包未导入。请网格长核实网格分配。")


def _store_blobs(store: ServerStore, parts: dict[str, bytes]) -> None:
    with store.transaction() as s:
        for name, data in parts.items():
            if not name.startswith("blob-"):
                continue
            sha = name[5:]
            if hashlib.sha256(data).hexdigest() != sha:
                continue
            b = s.get(Blob, sha)
            if b is not None and b.complete:
                continue
            if b is not None:
                s.query(BlobPart).filter(BlobPart.sha256 == sha).delete()
                b.size, b.received, b.complete = len(data), len(data), True
            else:
                s.add(Blob(sha256=sha, size=len(data), received=len(data), complete=True))
            s.add(BlobPart(sha256=sha, offset=0, data=data))
