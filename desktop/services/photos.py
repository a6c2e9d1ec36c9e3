"""Photos attached to a person, house, vehicle, unit or grid event.

A photo is read from a file (or bytes), turned upright (EXIF orientation), converted to RGB,
shrunk to at most 1600 px on its long side and re-encoded as JPEG without any metadata (EXIF,
GPS, comments, XMP: privacy); a thumbnail of at most 200 px is kept next to it. Both live in the
local database; the sync change log carries only the metadata (the BLOBs travel separately)."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from desktop import kinds
from desktop.kinds import label as kind_label
from desktop.models import Attachment, max_chars, utcnow
from desktop.services.audit import write_audit
from desktop.services.errors import (
    NotFound,
    PermissionDenied,
    StaleRecord,
    ValidationFailed,
)
from desktop.services.records import MODELS, Records, clean
from desktop.validation.result import Issue

MAX_SOURCE_BYTES = 30 * 1024 * 1024  # larger inputs are refused before decoding
MAX_SIDE = 1600  # long side of the stored image
THUMB_SIDE = 200  # long side of the thumbnail
JPEG_QUALITY = 85
THUMB_QUALITY = 80
MIME = "image/jpeg"
CAPTION_MAX = max_chars(Attachment.__table__.c.caption.type) or 0  # String(200)

# Purposes per owner kind, in the order the UI offers them (the first one is the default).
# kind -> {purpose: label}: which records take photos, and what for (desktop/kinds.py)
PURPOSES = kinds.photo_purposes()

# Attachment columns returned as metadata (everything but the image bytes).
_META_COLUMNS = [c for c in Attachment.__table__.c if c.key not in ("data", "thumb")]


def purpose_label(owner_kind: str, purpose: str) -> str:
    return PURPOSES.get(owner_kind, {}).get(purpose, purpose)


def default_purpose(owner_kind: str) -> str:
    return next(iter(PURPOSES.get(owner_kind, {"photo": ""})))


def _invalid(code: str, message: str) -> ValidationFailed:
    return ValidationFailed([Issue("照片", code, message)])


def _meta(row: Any) -> dict[str, Any]:
    out = {c.key: getattr(row, c.key) for c in _META_COLUMNS}
    out["purpose_label"] = purpose_label(out["owner_kind"], out["purpose"])
    return out


def _read_source(source: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
    """The raw bytes and the name used in messages; size checked before reading a file."""
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        name = filename or "所选图片"
        if len(raw) > MAX_SOURCE_BYTES:
            raise _too_large(name, len(raw))
        return raw, name
    path = Path(source)
    name = filename or path.name or str(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise _invalid("photo.missing", f"找不到文件“{name}”,请确认文件仍在原位置") from None
    if not path.is_file():
        raise _invalid("photo.missing", f"“{name}”不是文件,请选择一张图片")
    if size > MAX_SOURCE_BYTES:
        raise _too_large(name, size)
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise _invalid("photo.unreadable", f"无法读取文件“{name}”:{exc.strerror or exc}") from None


def _too_large(name: str, size: int) -> ValidationFailed:
    return _invalid(
        "photo.too_large",
        f"文件“{name}”太大({size / 1024 / 1024:.1f} MB),"
        f"照片不能超过 {MAX_SOURCE_BYTES // 1024 // 1024} MB",
    )


def _encode(img: Image.Image, quality: int, icc: bytes | None) -> bytes:
    img.info = {}  # never carry comments, XMP or EXIF from the source into the stored file
    buf = io.BytesIO()
    opts: dict[str, Any] = {"quality": quality, "optimize": True}
    if icc:
        opts["icc_profile"] = icc  # colour profile only: keeps colours right, says nothing personal
    img.save(buf, "JPEG", **opts)
    return buf.getvalue()


def process_image(raw: bytes, name: str = "所选图片", *, max_side: int = MAX_SIDE) -> dict[str, Any]:
    """Decode, orient, convert, shrink (to `max_side` on the long side) and re-encode; returns
    data, thumb, width, height."""
    try:
        with warnings.catch_warnings():
            # A picture with an absurd number of pixels (a "decompression bomb") is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as src:
                src.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
                src.load()
                icc = src.info.get("icc_profile")
                img = _upright(src)
        img = _to_rgb(img)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _invalid("photo.too_many_pixels", f"图片“{name}”的像素过多,无法作为照片保存") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _invalid(
            "photo.not_image",
            f"文件“{name}”不是可识别的图片或已损坏,请选择 JPG、PNG 等格式的照片",
        ) from None
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return {
        "data": _encode(img, JPEG_QUALITY, icc),
        "thumb": _encode(thumb, THUMB_QUALITY, icc),
        "width": img.width,
        "height": img.height,
    }


def thumbnail_of(data: bytes) -> bytes:
    """The thumbnail of a stored photo (sync moves only the photo; each laptop makes its own)."""
    try:
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))
            img = _to_rgb(src.copy())
            icc = src.info.get("icc_profile")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return b""
    img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return _encode(img, THUMB_QUALITY, icc)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a photo with a broken EXIF block is kept as it is."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # malformed EXIF must not cost the user the photo
        return img.copy()


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent areas become white rather than black."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if img.mode.startswith("I"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything to white
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return img if img.mode == "RGB" else img.convert("RGB")


class Photos(Records):
    """Attach, list, show and remove photos. Scope follows the owner record's grid."""

    # --- writes -------------------------------------------------------------------------
    def attach(
        self, owner_kind: str, owner_id: str, source: str | Path | bytes, *,
        purpose: str = "photo", caption: str | None = None, filename: str | None = None,
    ) -> dict[str, Any]:
        """Store a photo for the owner; returns its metadata (no bytes).

        `filename` names a `bytes` source in messages. The same picture attached to the same
        owner twice is stored once: the existing one is returned with `duplicate` True."""
        self._check_kind(owner_kind)
        if purpose not in PURPOSES[owner_kind]:
            allowed = "、".join(PURPOSES[owner_kind].values())
            raise _invalid("photo.purpose", f"{kind_label(owner_kind)}照片的用途只能是:{allowed}")
        caption = (caption or "").strip() or None
        if caption is not None and len(caption) > CAPTION_MAX:
            raise _invalid(
                "photo.caption", f"照片说明过长(最多 {CAPTION_MAX} 个字,现有 {len(caption)} 个)"
            )
        raw, name = _read_source(source, filename)
        # The owner is checked before decoding: a refused request costs no image work.
        with self.store.session() as s:
            self._owner(s, owner_kind, owner_id, name)
        image = process_image(raw, name)
        digest = hashlib.sha256(image["data"]).hexdigest()
        with self.store.transaction() as s:
            owner = self._owner(s, owner_kind, owner_id, name)
            existing = s.scalars(
                select(Attachment).where(
                    Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id,
                    Attachment.sha256 == digest, Attachment.deleted_at.is_(None),
                ).limit(1)
            ).first()
            if existing is not None:
                return {**_meta(existing), "duplicate": True}
            values = {
                "grid_id": owner.grid_id,
                "owner_kind": owner_kind,
                "owner_id": owner_id,
                "purpose": purpose,
                "caption": caption,
                "mime": MIME,
                "width": image["width"],
                "height": image["height"],
                "byte_size": len(image["data"]),
                "sha256": digest,
                "data": image["data"],
                "thumb": image["thumb"],
            }
            draft = clean(s, self.actor, "attachment", values, None)
            now = utcnow()
            obj = Attachment(
                **draft.values, created_at=now, created_by=self.actor.username,
                updated_at=now, updated_by=self.actor.username,
            )
            s.add(obj)
            s.flush()
            label = purpose_label(owner_kind, purpose)
            write_audit(
                s, self.actor, "create", "attachment", obj.id,
                {"owner_kind": owner_kind, "owner_id": owner_id, "purpose": purpose,
                 "sha256": digest, "byte_size": len(image["data"])},
                summary=f"添加{kind_label(owner_kind)}照片({label})",
            )
            return {**_meta(obj), "duplicate": False}

    def remove(self, attachment_id: str, *, expected_version: int | None = None) -> dict[str, Any]:
        """Soft-delete (tombstone, version bump, audit, change log) like Records.delete."""
        with self.store.transaction() as s:
            obj = self._attachment(s, attachment_id, include_deleted=True)
            if expected_version is not None and obj.version != expected_version:
                raise StaleRecord("该照片已被他人修改,请刷新后再操作")
            if obj.deleted_at is not None:
                return _meta(obj)
            now = utcnow()
            obj.deleted_at = now
            obj.deleted_by = self.actor.username
            obj.updated_at = now
            obj.updated_by = self.actor.username
            try:
                s.flush()
            except StaleDataError as exc:
                raise StaleRecord("该照片刚被其他操作修改,请刷新后再操作") from exc
            write_audit(
                s, self.actor, "delete", "attachment", attachment_id,
                {"owner_kind": obj.owner_kind, "owner_id": obj.owner_id, "purpose": obj.purpose},
                summary=f"删除{kind_label(obj.owner_kind)}照片",
            )
            return _meta(obj)

    # --- reads --------------------------------------------------------------------------
    def list_for(self, owner_kind: str, owner_id: str) -> list[dict[str, Any]]:
        """Live photos of the owner, oldest first: metadata plus `thumb` (JPEG bytes)."""
        self._check_kind(owner_kind)
        with self.store.session() as s:
            self._load(s, owner_kind, owner_id)
            rows = s.execute(
                select(*_META_COLUMNS, Attachment.thumb)
                .where(
                    Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id,
                    Attachment.deleted_at.is_(None),
                )
                .order_by(Attachment.created_at, Attachment.id)
            ).all()
            return [{**_meta(r), "thumb": r.thumb} for r in rows]

    def info(self, attachment_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            return _meta(self._attachment(s, attachment_id))

    def full(self, attachment_id: str) -> bytes:
        """The stored (resized) JPEG."""
        with self.store.session() as s:
            return self._attachment(s, attachment_id).data

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _check_kind(owner_kind: str) -> None:
        if owner_kind not in PURPOSES:
            raise _invalid(
                "photo.owner_kind", f"不能为“{kind_label(owner_kind)}”添加照片"
            )

    def _owner(self, s: Session, owner_kind: str, owner_id: str, name: str) -> Any:
        try:
            return self._load(s, owner_kind, owner_id)
        except (NotFound, PermissionDenied) as exc:
            raise type(exc)(f"无法添加照片“{name}”:{exc.message}") from None

    def _attachment(self, s: Session, attachment_id: str, *, include_deleted: bool = False) -> Attachment:
        obj = s.get(Attachment, attachment_id)
        if obj is None or (not include_deleted and obj.deleted_at is not None):
            raise NotFound(f"找不到该照片(编号 {attachment_id}),可能已被删除")
        # The owner's current grid decides (a person who moved takes the photos along); the
        # photo's own grid only counts when the owner row is not in this file.
        model = MODELS.get(obj.owner_kind)
        owner = s.get(model, obj.owner_id) if model is not None else None
        grid_id = getattr(owner, "grid_id", None) or obj.grid_id
        if not self.actor.may_access(grid_id):
            raise PermissionDenied("您没有权限查看或删除该网格的照片")
        return obj
