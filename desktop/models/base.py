"""Declarative base and the bookkeeping every synced row carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, declared_attr, mapped_column
from uuid6 import uuid7

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Columns that describe the row's bookkeeping rather than its content: they never count as
# "changed fields" in the sync change log (the version travels as base/new version instead).
BOOKKEEPING_COLUMNS = frozenset(
    {"id", "version", "created_at", "created_by", "updated_at", "updated_by"}
)


# The longest text a Text column (notes, descriptions, visit situations) takes: about four pages
# of Chinese. Excel's cell allows 32,767 characters, SQLite anything; without a bound one record
# could carry megabytes to the server and every laptop. A String(n) column takes n characters.
# The core's record check (desktop.services.records.Cleaner: forms and import) and the sync
# protocol's value check (desktop.sync.protocol.check_value: the server) both use max_chars.
TEXT_MAX_CHARS = 2000


def max_chars(col_type: object) -> int | None:
    """The most characters a column of this type takes; None for a column that is no text."""
    if isinstance(col_type, String):  # Text is a String without a length
        return col_type.length or TEXT_MAX_CHARS
    return None


def new_id() -> str:
    """A UUIDv7 made on this device: time-ordered, never handed out twice by two laptops."""
    return str(uuid7())


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Synced:
    """Mixin for every row that travels through sync: local UUIDv7 key, version, who/when, tombstone."""

    __synced__ = True

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(64))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:  # noqa: N805
        # Optimistic locking: an UPDATE built from a stale read fails instead of overwriting.
        return {"version_id_col": cls.version}


class SyncedRow(Protocol):
    """A row of any synced model (Base with the Synced mixin), as the services handle one chosen
    by its kind: the bookkeeping every synced row has. A kind's own columns: `row_as(Model, row)`."""

    id: str
    version: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None
    deleted_at: datetime | None
    deleted_by: str | None

    @property
    def __mapper__(self) -> Mapper[Any]: ...


M = TypeVar("M", bound=Base)


def synced(obj: Base) -> SyncedRow:
    """`obj` as a synced row (every kind's model has the Synced mixin); TypeError if it has not."""
    if not isinstance(obj, Synced):
        raise TypeError(f"{type(obj).__name__} is not a synced model")
    return obj


def row_as(model: type[M], obj: object) -> M:
    """A row loaded or made by its kind, as its model's instance (checked: TypeError otherwise)."""
    if not isinstance(obj, model):
        raise TypeError(f"{type(obj).__name__} is not a {model.__name__}")
    return obj
