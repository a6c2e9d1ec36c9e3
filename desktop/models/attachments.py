"""Attachments (photos) of a person, house, vehicle, unit or grid event, stored in the local file.

The image bytes live in BLOB columns: the change-capture triggers skip BLOBs, so the sync change
log carries only the metadata (sha256, size...) and the bytes travel in their own batches."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from desktop.models.base import Base, Synced


class Attachment(Synced, Base):
    """One stored image (resized JPEG) and its thumbnail, attached to one owner record."""

    __tablename__ = "attachment"
    grid_id: Mapped[str] = mapped_column(String(36), ForeignKey("area.id"), nullable=False, index=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # a kind with photo purposes (desktop/kinds.py)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(32), default="photo")  # photo | plate_with_owner | ...
    caption: Mapped[str | None] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)  # of `data`
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of `data`
    # Deferred: loading a row for its metadata never pulls the image bytes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumb: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
