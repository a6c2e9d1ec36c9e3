"""The server's tables. Records of every synced kind are kept in one table, as the current field
values plus per-field versions; the field set and value rules come from the core's models
(desktop.sync.protocol.FIELDS), so the server never needs a migration of its own when a core
table gains a column, and SQLite and PostgreSQL store exactly the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ServerBase(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Record(ServerBase):
    """Current state of one synced row. `data` is a JSON object of every field plus the
    bookkeeping columns; `field_meta` is {field: [server_seq, device_id, device_seq, user, at]}
    (written by `dump_meta`, read by `load_meta`)."""

    __tablename__ = "srv_record"
    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grid_id: Mapped[str | None] = mapped_column(String(36))
    # The grid the row was in before it last moved: its old grid's laptops are told to evict it.
    prev_grid_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    server_seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[str] = mapped_column(Text)
    field_meta: Mapped[str] = mapped_column(Text)
    # The device whose change made this state, and the newest sequence at which any other device
    # set a field: a pull by that device at a cursor >= other_seq would only echo its own
    # edit back (the laptop already holds exactly this state), so the page leaves it out.
    last_device: Mapped[str | None] = mapped_column(String(36))
    other_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        Index("ix_srv_record_seq", "server_seq", "table_name", "row_id"),
        Index("ix_srv_record_grid_seq", "grid_id", "server_seq"),
        Index("ix_srv_record_prev_grid_seq", "prev_grid_id", "server_seq"),
    )


# In `field_meta`, an entry that several fields share (every field one change set) is written
# once, in a list under this key, and each of those fields holds its index in that list: a new
# record's entries took three times the room of its values. No field is named so.
SHARED_META = "~"


def dump_meta(meta: dict[str, list[Any]]) -> str:
    """`field_meta` as stored: an entry that is one object for several fields (the merge gives
    every field one change sets the same entry), or equal for every field, written once."""
    entries = list(meta.values())
    if len(entries) > 1 and entries.count(entries[0]) == len(entries):
        # a record one change made: every field the same entry
        return orjson.dumps({SHARED_META: [entries[0]], **dict.fromkeys(meta, 0)}).decode()
    uses: dict[int, int] = {}
    for entry in entries:
        uses[id(entry)] = uses.get(id(entry), 0) + 1
    if len(uses) == len(entries):
        return orjson.dumps(meta).decode()
    shared: list[list[Any]] = []
    index: dict[int, int] = {}
    out: dict[str, Any] = {SHARED_META: shared}
    for name, entry in meta.items():
        if uses[id(entry)] == 1:
            out[name] = entry
            continue
        i = index.get(id(entry))
        if i is None:
            i = index[id(entry)] = len(shared)
            shared.append(entry)
        out[name] = i
    return orjson.dumps(out).decode()


def load_meta(text: str) -> dict[str, list[Any]]:
    """`field_meta` as {field: entry}, from either stored form (a shared entry is one object)."""
    meta = orjson.loads(text)
    shared = meta.pop(SHARED_META, None)
    if shared is not None:
        for name, entry in meta.items():
            if type(entry) is int:
                meta[name] = shared[entry]
    return meta


class FirstSync(ServerBase):
    """A first sync in progress (server/admission.py): at most `serve --first-syncs` rows hold a
    lease at once; a lease ends with the device's last pull page, or by itself at `until`."""

    __tablename__ = "srv_first_sync"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime)


class Counter(ServerBase):
    """Monotonic counters (the commit sequence). Taking the next value locks the row until commit,
    so commits become visible in sequence order and a puller never skips a late commit."""

    __tablename__ = "srv_counter"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Received(ServerBase):
    """Every change a device sent, by (device, device_seq): the idempotency key."""

    __tablename__ = "srv_received"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the change's content
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None] = mapped_column(Integer)
    server_seq: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Conflict(ServerBase):
    """A real clash (or a change set aside), kept with both values and who/device/when."""

    __tablename__ = "srv_conflict"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # field | delete_edit | rejected
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    grid_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fields: Mapped[str] = mapped_column(Text)  # JSON list of field names
    base_value: Mapped[str | None] = mapped_column(Text)  # JSON {field: value}
    server_value: Mapped[str | None] = mapped_column(Text)
    server_by: Mapped[str | None] = mapped_column(String(64))
    server_device: Mapped[str | None] = mapped_column(String(36))
    server_at: Mapped[str | None] = mapped_column(String(32))
    client_value: Mapped[str | None] = mapped_column(Text)
    client_by: Mapped[str | None] = mapped_column(String(64))
    client_device: Mapped[str | None] = mapped_column(String(36))
    client_at: Mapped[str | None] = mapped_column(String(32))
    # The authors the laptops named, when not the signed-in user who sent the change (claims only).
    server_claimed_by: Mapped[str | None] = mapped_column(String(64))
    client_claimed_by: Mapped[str | None] = mapped_column(String(64))
    winner: Mapped[str] = mapped_column(String(16))  # client | server | none
    reason: Mapped[str | None] = mapped_column(Text)
    change: Mapped[str | None] = mapped_column(Text)  # the full change, for a set-aside one
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)  # JSON {choice, values}
    # a device's open set-aside changes are counted against its quota (server.merge)
    __table_args__ = (Index("ix_srv_conflict_device", "client_device", "kind", "status"),)


class ServerUser(ServerBase):
    __tablename__ = "srv_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[str] = mapped_column(String(256))
    # JSON list of area ids: grids for a grid worker; communities (or empty: all) for the others
    areas: Mapped[str] = mapped_column(Text, default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignInLimit(ServerBase):
    """Failed sign-ins counted per client address, and per client address and user name (the
    same for names that exist and names that do not): a guesser is slowed down, the account's
    owner signing in from elsewhere is not."""

    __tablename__ = "srv_signin_limit"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)


class Device(ServerBase):
    """An enrolled laptop database file. `epoch` rolls on every hello: a copied or restored file
    presents an old one and is sent to re-enrol, so no device sequence is ever reused."""

    __tablename__ = "srv_device"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    file_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(128))
    predecessor: Mapped[str | None] = mapped_column(String(36))
    sign_public: Mapped[str] = mapped_column(String(64))  # Ed25519, hex
    box_public: Mapped[str] = mapped_column(String(64))  # X25519, hex
    epoch: Mapped[str] = mapped_column(String(36))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime)
    # what the laptop said at its last hello, and when it last pushed (the office's device list)
    schema_version: Mapped[int | None] = mapped_column(Integer)
    last_cursor: Mapped[int | None] = mapped_column(BigInteger)
    pending_changes: Mapped[int | None] = mapped_column(Integer)  # its unsent changes (newer laptops say)
    last_push_at: Mapped[datetime | None] = mapped_column(DateTime)
    # revoked by the office (`gridledger server revoke-device`): `active` is then False for good
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class BlobPart(ServerBase):
    """Attachment bytes, uploaded in resumable chunks; a blob is whole when its row in Blob says so."""

    __tablename__ = "srv_blob_part"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Blob(ServerBase):
    __tablename__ = "srv_blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)


class AttachmentRef(ServerBase):
    """Which attachment record names which photo, kept exactly (never by searching record text):
    a photo may be read or uploaded only through a record of it in the caller's grids. `device_id`
    is the device that first named it there; deleted records keep their claim on the photo."""

    __tablename__ = "srv_attachment"
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    grid_id: Mapped[str | None] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class BundleSeen(ServerBase):
    __tablename__ = "srv_bundle"
    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(Text)


class ServerKey(ServerBase):
    """The server's identity and bundle keys, shared by every server process on one database."""

    __tablename__ = "srv_key"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ServerAudit(ServerBase):
    """Append-only trail: what happened on the server (sign-ins, syncs, resolutions, imports) and,
    sent up by every laptop, what happened there (reveals, prints, exports, edits...)."""

    __tablename__ = "srv_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(24), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    entity: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(36))
    summary: Mapped[str | None] = mapped_column(Text)
    source_seq: Mapped[int | None] = mapped_column(BigInteger)  # the laptop's audit_log.seq
    # Sent up by a laptop: the signed-in user who sent it, and what the laptop said (claims only;
    # `actor` is the claimed one only if that user has signed in to this server on that laptop).
    sent_by: Mapped[str | None] = mapped_column(String(64))
    claimed_actor: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (Index("ux_srv_audit_source", "device_id", "source_seq", unique=True),)
