"""Local-only tables: audit trail, sync outbox, file metadata, search index (not synced as rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desktop.models.base import Base, utcnow


class AuditEntry(Base):
    """Append-only audit trail (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(24), index=True)  # create|update|delete|restore|...
    entity: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    summary: Mapped[str | None] = mapped_column(Text)  # short Chinese description
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class OutboxEntry(Base):
    """Sync change log, written by triggers in the same transaction as the change.

    `seq` is the device sequence; `changes` is {field: [old, new]}; `base_version` is the record
    version the edit was made from (0 for a new record)."""

    __tablename__ = "sync_outbox"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    op: Mapped[str] = mapped_column(String(1))  # I | U | D
    base_version: Mapped[int] = mapped_column(Integer)
    new_version: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[str] = mapped_column(String(32))
    changed_by: Mapped[str | None] = mapped_column(String(64))
    # The sync cursor when the edit was made (server changes up to it had been seen): the
    # server's three-way merge uses it to tell a real clash from an edit made after seeing.
    known_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 0 waiting, 1 written to a bundle (awaiting the reply), 2 acknowledged, 3 set aside by the
    # server (refused; kept there for a supervisor), 4 not synced (local-only table)
    sent: Mapped[int] = mapped_column(Integer, default=0, index=True)
    result: Mapped[str | None] = mapped_column(String(16))  # the server's answer for this change


class LocalMeta(Base):
    """Key/value facts about this database file (file id, device id, sync cursor...)."""

    __tablename__ = "local_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
