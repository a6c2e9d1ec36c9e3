"""The laptop's side of sync that needs no network: reading the outbox, applying pulled pages,
eviction, acknowledgements, local user and scope. Everything here is one transaction per step."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import orjson
from sqlalchemy import Connection

from desktop.db import ddl
from desktop.db.engine import switches_off
from desktop.db.sql import sql
from desktop.models import new_id
from desktop.policy import Role
from desktop.services.store import Store
from desktop.sync.protocol import (
    FIELDS,
    LOCAL_ONLY,
    PUSH_BATCH,
    PUSH_MAX_BYTES,
    SYNC_TABLES,
    Change,
    OutgoingChange,
    PullPage,
    PushResult,
    has_grid,
)

# local_meta keys
CURSOR = "sync_cursor"
SCOPE = "sync_scope"  # JSON list of grid ids, or "null" for all
SEARCH_DIRTY = "sync_search_dirty"

WAITING, IN_BUNDLE, ACKED, SET_ASIDE, LOCAL = 0, 1, 2, 3, 4


@contextmanager
def raw_apply(store: Store, *, search: bool = True) -> Iterator[Connection]:
    """A connection for applying server state: change capture off (nothing echoes back), foreign
    keys off (the server is the authority on references, and a page may bring a row before the
    row it points to, or point to a row outside this laptop's grids), search triggers optionally
    off (a first sync rebuilds the index once at the end instead)."""
    with store.engine.connect() as conn:
        # (pysqlite issues no BEGIN before a PRAGMA, so this runs outside a transaction, where
        # SQLite honours it; commit() only closes SQLAlchemy's own transaction object)
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        info = conn.connection._connection_record.info
        names = ("capture",) if search else ("capture", "search")
        try:
            with switches_off(info, *names), conn.begin():
                yield conn
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def get_meta(conn: Connection, key: str) -> str | None:
    row = conn.exec_driver_sql("SELECT value FROM local_meta WHERE key = ?", (key,)).first()
    return row[0] if row else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO local_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


# --- file identity ----------------------------------------------------------------------------


def fingerprint(store: Store) -> str:
    """Where this file lives: the machine and the path. A copy to another laptop (or another
    folder) changes it; sync then gives the copy a new file id and a new device enrolment."""
    machine = ""
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(p) as fh:
                machine = fh.read().strip()
                break
        except OSError:
            continue
    if not machine:
        machine = f"{platform.node()}:{uuid.getnode()}"
    path = os.path.realpath(str(store.path)) if store.path else ":memory:"
    return hashlib.sha256(f"{machine}\n{path}".encode()).hexdigest()[:32]


def check_identity(store: Store) -> bool:
    """True if this file was copied or moved since it last synced (it then gets a new file id and
    must enrol again; its unsent changes are kept and sent under the new enrolment)."""
    fp = fingerprint(store)
    with store.engine.begin() as conn:
        old = get_meta(conn, "sync_fingerprint")
        if old is None:
            set_meta(conn, "sync_fingerprint", fp)
            return False
        if old == fp:
            return False
        set_meta(conn, "sync_fingerprint", fp)
        set_meta(conn, "file_id", new_id())
        prev = get_meta(conn, "sync_device_id")
        if prev:
            set_meta(conn, "sync_predecessor", prev)
        conn.exec_driver_sql("DELETE FROM local_meta WHERE key IN ('sync_device_id', 'sync_epoch')")
        return True


# --- outbox -----------------------------------------------------------------------------------


def mark_local_only(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sql(f"UPDATE sync_outbox SET sent = {LOCAL} WHERE sent = {WAITING} AND table_name IN :tables", "tables"),
            {"tables": list(LOCAL_ONLY)},
        )


def pending_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(
            sql(f"SELECT count(*) FROM sync_outbox WHERE sent IN ({WAITING}, {IN_BUNDLE}) AND table_name IN :tables",
                "tables"),
            {"tables": list(SYNC_TABLES)},
        ).scalar_one())


def pending_by_kind(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT table_name, count(*) FROM sync_outbox WHERE sent IN ({WAITING}, {IN_BUNDLE}) GROUP BY table_name"
        ).all()
    return {t: n for t, n in rows if t in SYNC_TABLES}


def read_batch(store: Store, *, after: int = 0, states: tuple[int, ...] = (WAITING, IN_BUNDLE),
               limit: int = PUSH_BATCH, max_bytes: int = PUSH_MAX_BYTES) -> list[Change]:
    """The next changes to send, oldest first, each with `prev`: the previous unacknowledged
    change to the same row (the server waits for that one first if batches arrive out of order)."""
    return [{"seq": seq, "table": table, "id": row_id, "op": op, "fields": orjson.loads(changes),
             "known": known or 0, "at": at, "by": by, "prev": prev or 0}
            for seq, table, row_id, op, changes, known, at, by, prev
            in _outbox_rows(store, after, states, limit, max_bytes)]


def read_push_page(store: Store, *, after: int = 0, limit: int = PUSH_BATCH,
                   max_bytes: int = PUSH_MAX_BYTES) -> list[OutgoingChange]:
    """`read_batch` for a push request: each change's fields stay the JSON text the capture
    triggers stored, spliced into the request as it is (the laptop never reads them: parsing
    and writing them again was most of its time in a first push; the server checks every field)."""
    return [{"seq": seq, "table": table, "id": row_id, "op": op, "fields": orjson.Fragment(changes),
             "known": known or 0, "at": at, "by": by, "prev": prev or 0}
            for seq, table, row_id, op, changes, known, at, by, prev
            in _outbox_rows(store, after, (WAITING, IN_BUNDLE), limit, max_bytes)]


def _outbox_rows(store: Store, after: int, states: tuple[int, ...], limit: int, max_bytes: int) -> list[Any]:
    """The outbox rows of `read_batch` (seq, table, id, op, fields as stored, known, at, by, prev).
    One query per state, each walking the index on (sent, seq) from `after` in order: a single
    `sent IN (...)` read and sorted every waiting change for each page, which made a first push
    of a whole street quadratic."""
    found: list[Any] = []
    with store.engine.connect() as conn:
        for state in sorted(set(states)):
            found += conn.execute(sql(
                "SELECT o.seq, o.table_name, o.row_id, o.op, o.changes, o.known_seq, o.changed_at, o.changed_by, "
                "(SELECT max(p.seq) FROM sync_outbox p WHERE p.row_id = o.row_id AND p.seq < o.seq "
                "AND +p.sent IN :pending) "
                "FROM sync_outbox o WHERE o.sent = :state AND o.seq > :after AND o.table_name IN :tables "
                "ORDER BY o.seq LIMIT :limit", "pending", "tables"),
                {"pending": [WAITING, IN_BUNDLE], "after": after, "state": state,
                 "tables": list(SYNC_TABLES), "limit": limit},
            ).all()
    if len(states) > 1:
        found.sort(key=lambda r: r[0])
    out: list[Any] = []
    size = 0
    for row in found[:limit]:
        size += len(row[4]) + 200
        if out and size > max_bytes:
            break
        out.append(row)
    return out


def acknowledge(store: Store, results: list[PushResult],
                batch: Sequence[Change | OutgoingChange] | None = None) -> dict[str, int]:
    """Record the server's answer for each change in one transaction: accepted ones are done,
    set-aside ones are kept (sent=3) and shown, deferred ones wait for the next push. With the
    `batch` that was sent, an applied change also takes the server's version and time, so the
    row equals the server's copy without being pulled back."""
    counts: dict[str, int] = defaultdict(int)
    done, aside, again = [], [], []
    for r in results:
        st = r.get("status")
        counts[st] += 1
        seq = r.get("seq")
        if st in ("applied", "merged", "conflict", "duplicate"):
            done.append((st, seq))
        elif st == "rejected":
            aside.append((st, seq))
        elif st == "deferred":
            again.append((st, seq))
    with raw_apply(store) as conn:
        for rows, state in ((done, ACKED), (aside, SET_ASIDE), (again, WAITING)):
            if rows:
                conn.exec_driver_sql(f"UPDATE sync_outbox SET sent = {state}, result = ? WHERE seq = ?", rows)
        if batch:
            _take_versions(conn, results, batch)
    return dict(counts)


def _take_versions(conn: Connection, results: list[PushResult], batch: Sequence[Change | OutgoingChange]) -> None:
    """Applied changes take the server's version and time, in bulk: per row the end state of
    applying them one after the other (the last version; the last time given, else the row's
    own; a new row's creation time), and only where nothing newer for the row still waits
    (then the local version is ahead)."""
    from desktop.sync.protocol import ts_storage

    sent = {c["seq"]: c for c in batch}
    taken: list[tuple[Change | OutgoingChange, int]] = []
    for r in results:
        ch = sent.get(r.get("seq"))
        version = r.get("version")
        if ch is None or r.get("status") not in ("applied", "conflict") or not version:
            continue
        if ch["table"] in FIELDS:
            taken.append((ch, version))
    if not taken:
        return
    newest: dict[str, int] = {}  # row id -> its newest change still waiting
    ids = sorted({ch["id"] for ch, _ in taken})
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        newest.update(conn.execute(sql(
            # (+sent: by the row ids' index; SQLite would otherwise walk every waiting change)
            "SELECT row_id, max(seq) FROM sync_outbox WHERE row_id IN :ids "
            f"AND +sent IN ({WAITING}, {IN_BUNDLE}) GROUP BY row_id", "ids"), {"ids": chunk}).all())
    end: dict[tuple[str, str], list[Any]] = {}  # (table, id) -> [version, updated_at, created_at]
    for ch, version in taken:
        if newest.get(ch["id"], 0) > ch["seq"]:
            continue
        at = ts_storage(ch.get("at"))
        state = end.setdefault((ch["table"], ch["id"]), [version, None, None])
        state[0] = version
        if at is not None:
            state[1] = at
            if ch["op"] == "I":
                state[2] = at
    groups: dict[tuple[str, bool], list[tuple[Any, ...]]] = defaultdict(list)
    for (table, row_id), (version, at, created) in end.items():
        if created is not None:
            groups[(table, True)].append((version, at, created, row_id))
        else:
            groups[(table, False)].append((version, at, row_id))
    for (table, created), rows in groups.items():
        extra = ", created_at = ?" if created else ""
        conn.exec_driver_sql(
            f'UPDATE "{table}" SET version = ?, updated_at = coalesce(?, updated_at){extra} WHERE id = ?', rows)


def mark_in_bundle(store: Store, seqs: list[int]) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE sync_outbox SET sent = {IN_BUNDLE} WHERE seq = ? AND sent = {WAITING}", [(q,) for q in seqs]
        )


# --- applying pulled pages -------------------------------------------------------------------

_table_columns: dict[tuple[int, str], list[str]] = {}


def _columns(conn: Connection, table: str) -> list[str]:
    key = (id(conn.engine), table)
    if key not in _table_columns:
        _table_columns[key] = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')]
    return _table_columns[key]


def _pending_fields(conn: Connection) -> dict[tuple[str, str], set[str]]:
    """Fields with local edits the server has not acknowledged: they keep their local value."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for table, row_id, changes in conn.exec_driver_sql(
        f"SELECT table_name, row_id, changes FROM sync_outbox WHERE sent IN ({WAITING}, {IN_BUNDLE})"
    ):
        out[(table, row_id)].update(json.loads(changes))
    return out


def apply_page(store: Store, page: PullPage, *, initial: bool = False,
               bundle_cursor: bool = True) -> dict[str, int]:
    """Apply one pulled page and store its cursor in the same transaction (or neither)."""
    counts: dict[str, int] = defaultdict(int)
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in page.get("records", ()):
        if rec["t"] in FIELDS:
            by_table[rec["t"]].append(rec["d"])
    if initial and by_table and _all_held(store, by_table):
        # a first pull that only brings rows this laptop already holds (the laptop that pushed
        # them): its search index is current, and the triggers keep it so for what changes
        initial = False
    with raw_apply(store, search=not initial) as conn:
        purged = [(t, d["id"]) for t, rows in by_table.items() for d in rows if d.get("_purged")]
        if purged:
            # an erased record: no earlier change-log entry may keep its values on this laptop
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
            conn.exec_driver_sql("DELETE FROM sync_outbox WHERE row_id = ?", [(i,) for _, i in purged])
            counts["purged"] += len(purged)
        pending = _pending_fields(conn)
        for table, rows in by_table.items():
            counts[table] += _upsert(conn, table, rows, pending)
        evict = [(t, i) for t, i in page.get("evict", ()) if t in FIELDS]
        for table, row_id in evict:
            if (table, row_id) not in pending:
                conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
                counts["evicted"] += 1
        if bundle_cursor:
            set_meta(conn, CURSOR, str(int(page["cursor"])))
        if initial and by_table:
            set_meta(conn, SEARCH_DIRTY, "1")
    return dict(counts)


def _all_held(store: Store, by_table: dict[str, list[dict[str, Any]]]) -> bool:
    """Whether this laptop already holds a row of every one of these ids."""
    with store.engine.connect() as conn:
        for table, rows in by_table.items():
            ids = sorted({d["id"] for d in rows})
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                held = conn.execute(sql(f'SELECT count(*) FROM "{table}" WHERE id IN :ids', "ids"),
                                    {"ids": chunk}).scalar()
                if held != len(chunk):
                    return False
    return True


def _upsert(conn: Connection, table: str, rows: list[dict[str, Any]], pending: dict) -> int:
    local_cols = _columns(conn, table)
    blobs = [c for c in ("data", "thumb") if c in local_cols and table == "attachment"]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for d in rows:
        d = dict(d)
        d.setdefault("created_at", d.get("updated_at"))
        if not d.get("created_at"):
            d["created_at"] = d["updated_at"] = "1970-01-01 00:00:00.000000"
        skip = pending.get((table, d["id"]), set())
        cols = tuple(c for c in local_cols if c in d and c not in blobs and c not in skip)
        groups[cols].append(d)
    n = 0
    for cols, items in groups.items():
        ins_cols = list(cols) + blobs
        values = ", ".join(["?"] * len(cols) + ["x''"] * len(blobs))
        sets = [f'"{c}" = excluded."{c}"' for c in cols if c != "id"]
        if blobs:
            keep = 'CASE WHEN attachment.sha256 IS excluded.sha256 THEN attachment."{b}" ELSE x\'\' END'
            sets += [f'"{b}" = ' + keep.format(b=b) for b in blobs]
        col_sql = ", ".join(f'"{c}"' for c in ins_cols)
        sql = (f'INSERT INTO "{table}" ({col_sql}) VALUES ({values}) '
               f'ON CONFLICT(id) DO UPDATE SET {", ".join(sets) or "id = excluded.id"}')
        conn.exec_driver_sql(sql, [tuple(d.get(c) for c in cols) for d in items])
        n += len(items)
    return n


def rebuild_search_if_dirty(store: Store) -> bool:
    with store.engine.begin() as conn:
        if get_meta(conn, SEARCH_DIRTY) != "1":
            return False
        for stmt in ddl.rebuild_search_sql():
            conn.exec_driver_sql(stmt)
        set_meta(conn, SEARCH_DIRTY, "0")
    return True


# --- scope, local user -------------------------------------------------------------------------


def stored_scope(store: Store) -> list[str] | None | Literal[False]:
    """The grids this laptop holds (None: all); False if it never synced."""
    value = store.meta(SCOPE)
    return False if value is None else json.loads(value)


def evict_outside(store: Store, grids: list[str] | None) -> int:
    """Remove rows of grids this user no longer has, without turning them into deletes (capture is
    off). Rows with unsent edits stay until those are sent."""
    if grids is None:
        return 0
    n = 0
    with raw_apply(store) as conn:
        for table in SYNC_TABLES:
            if not has_grid(table):
                continue
            # an empty list keeps no grid: every row without unsent edits goes
            cur = conn.execute(sql(
                f'DELETE FROM "{table}" WHERE grid_id NOT IN :grids AND id NOT IN '
                "(SELECT row_id FROM sync_outbox WHERE sent IN :pending)", "grids", "pending"),
                {"grids": list(grids), "pending": [WAITING, IN_BUNDLE]},
            )
            n += cur.rowcount or 0
    return n


def set_local_user(store: Store, user: dict[str, Any], password_hash: str | None) -> None:
    """Create or update the local sign-in user from the server's answer (role and grids)."""
    from desktop.models import utcnow

    now = utcnow().isoformat(sep=" ")
    grids = user.get("grids")
    with raw_apply(store) as conn:
        row = conn.exec_driver_sql("SELECT id FROM app_user WHERE username = ?", (user["username"],)).first()
        if row is None:
            uid = new_id()
            conn.exec_driver_sql(
                "INSERT INTO app_user (id, version, created_at, updated_at, created_by, updated_by, username, "
                "display_name, role, password_hash, active) VALUES (?, 1, ?, ?, 'sync', 'sync', ?, ?, ?, ?, 1)",
                (uid, now, now, user["username"], user.get("display_name") or user["username"], user["role"],
                 password_hash),
            )
        else:
            uid = row[0]
            conn.exec_driver_sql(
                "UPDATE app_user SET role = ?, display_name = ?, active = 1, deleted_at = NULL, "
                "password_hash = coalesce(?, password_hash), updated_at = ? WHERE id = ?",
                (user["role"], user.get("display_name") or user["username"], password_hash, now, uid),
            )
        conn.exec_driver_sql("DELETE FROM user_grid WHERE user_id = ?", (uid,))
        for g in grids or ():
            conn.exec_driver_sql(
                "INSERT INTO user_grid (id, version, created_at, updated_at, created_by, updated_by, user_id, "
                "grid_id) VALUES (?, 1, ?, ?, 'sync', 'sync', ?, ?)",
                (new_id(), now, now, uid, g),
            )


def audit(store: Store, username: str, summary: str, detail: dict[str, Any]) -> None:
    """A line in the local audit trail for a sync, a bundle export or a bundle import."""
    from desktop.services.audit import write_audit
    from desktop.services.store import Actor

    actor = Actor(username, Role.GRID_WORKER, None, store.meta("sync_device_id") or store.meta("device_id"))
    with store.transaction() as s:
        write_audit(s, actor, "sync", None, None, detail, summary)


def scrub(store: Store) -> None:
    """After records were erased: rewrite the search index (deleted tokens linger in its
    segments) and checkpoint the WAL, so no freed page still holds the values."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
        conn.commit()
        with conn.begin():
            for fts in ("search_fts", "search_gram"):
                conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("PRAGMA secure_delete=OFF")
        conn.commit()
