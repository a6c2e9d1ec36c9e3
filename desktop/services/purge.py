"""Erasure of a person's data on request (PIPL art. 47): not a soft delete but a purge.

In one transaction: references to the person are cleared (through captured updates), the person's
photos and the person row are hard-deleted (the change log records a purge, which the server
turns into a blanked tombstone for every copy), and the change log loses every earlier entry that
carried the person's values. SQLite's secure_delete overwrites the freed pages, the search index
is rewritten and the WAL checkpointed, so the values are gone from the file itself. The audit
trail records the act (who, when, why), never the values. Backups taken earlier held the
person until this module erases them there too (scrub_backups), so a restore cannot bring
them back; a backup copied off the laptop by hand is out of reach."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from desktop.db.sql import sql
from desktop.models import Person, utcnow
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, PermissionDenied, ValidationFailed, require
from desktop.services.store import Actor, Store
from desktop.validation.result import Issue

log = logging.getLogger(__name__)

# (table, column) pairs that point at a person
REFERENCES = (("household", "head_person_id"), ("house", "owner_person_id"), ("vehicle", "owner_person_id"))


def _erase(conn: Any, person_id: str, who: str, now: str) -> tuple[int, dict[str, int]]:
    """Clear the references, the photos, the change-log entries and the row of one person on an
    open connection (inside the caller's transaction). Returns (photos, references cleared)."""
    cleared: dict[str, int] = {}
    for table, column in REFERENCES:
        cur = conn.exec_driver_sql(
            f'UPDATE "{table}" SET "{column}" = NULL, version = version + 1, updated_at = ?, '
            f'updated_by = ? WHERE "{column}" = ?', (now, who, person_id))
        cleared[table] = cur.rowcount or 0
    photos = [r[0] for r in conn.exec_driver_sql(
        "SELECT id FROM attachment WHERE owner_kind = 'person' AND owner_id = ?", (person_id,))]
    ids = [person_id, *photos]
    # earlier change-log entries carry the values: drop them before the purge entries
    conn.execute(sql("DELETE FROM sync_outbox WHERE row_id IN :ids", "ids"), {"ids": ids})
    conn.execute(sql("DELETE FROM attachment WHERE id IN :ids", "ids"), {"ids": ids})
    conn.exec_driver_sql("DELETE FROM person WHERE id = ?", (person_id,))
    return len(photos), cleared


def _optimize_search(conn: Any) -> None:
    """The search index keeps deleted tokens in its segments until they are merged."""
    with conn.begin():
        for fts in ("search_fts", "search_gram"):
            conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")


def purge_person(store: Store, actor: Actor, person_id: str, *, reason: str) -> dict[str, Any]:
    require(actor, Ability.PURGE)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed([Issue("清除原因", "purge.reason", "请填写清除原因(例如:本人申请删除、已迁出并超过保存期限)")])
    now = utcnow().isoformat(sep=" ")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
        conn.commit()  # (no BEGIN is sent before a PRAGMA; this ends SQLAlchemy's own transaction)
        try:
            with conn.begin():
                row = conn.exec_driver_sql("SELECT grid_id FROM person WHERE id = ?", (person_id,)).first()
                if row is None:
                    raise NotFound("找不到该人员,可能已被清除")
                if not actor.may_access(row[0]):
                    raise PermissionDenied("您没有权限操作该网格的人员")
                photos, cleared = _erase(conn, person_id, actor.username, now)
                from sqlalchemy.orm import Session

                with Session(bind=conn) as s:
                    write_audit(s, actor, "purge", Person.__tablename__, person_id,
                                {"reason": reason, "photos": photos, "references_cleared": cleared},
                                "彻底清除人员信息")
                    s.flush()
            _optimize_search(conn)
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")
            conn.commit()
    scrubbed, failed = ([], []) if store.path is None else scrub_backups(store.path, person_id, store.key, actor)
    if scrubbed or failed:
        with store.transaction() as s:
            write_audit(s, actor, "purge", Person.__tablename__, person_id,
                        {"backups_scrubbed": len(scrubbed), "backups_failed": [p.name for p in failed]},
                        "从本机备份中清除人员信息")
    log.info("purged one person record (%d photos, %d references cleared, %d backups scrubbed, %d failed)",
             photos, sum(cleared.values()), len(scrubbed), len(failed))
    return {"person_id": person_id, "photos": photos, "references_cleared": cleared,
            "backups_scrubbed": len(scrubbed), "backups_failed": [str(p) for p in failed]}


def scrub_backups(db_path: Path, person_id: str, key: bytes | None, actor: Actor) -> tuple[list[Path], list[Path]]:
    """Erase the person from every backup of this database too (else a restore would bring them
    back, and the files would still hold them). Each backup is opened as it is (the plain one
    taken before encryption without a key), changed in place with secure_delete, and its change
    capture switched off (a backup sends nothing). Returns (scrubbed, could not be opened)."""
    from desktop.db.engine import make_engine, switches_off
    from desktop.db.keys import sqlcipher_key
    from desktop.services.backup import is_plain, list_backups

    scrubbed: list[Path] = []
    failed: list[Path] = []
    now = utcnow().isoformat(sep=" ")
    for info in list_backups(db_path):
        try:
            plain = is_plain(info.path)
            if not plain and key is None:
                raise ValueError("encrypted backup of a plain database")
            engine = make_engine(info.path, key=None if plain or key is None else sqlcipher_key(key))
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA secure_delete=ON")
                    conn.commit()
                    found = conn.exec_driver_sql("SELECT 1 FROM person WHERE id = ?", (person_id,)).first()
                    conn.rollback()  # (ends the read's implicit transaction)
                    if found is None:
                        continue
                    with switches_off(conn.connection._connection_record.info, "capture"):
                        with conn.begin():
                            _erase(conn, person_id, actor.username, now)
                        _optimize_search(conn)
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.exec_driver_sql("PRAGMA journal_mode=DELETE")  # a backup stays one file
                scrubbed.append(info.path)
            finally:
                engine.dispose()
        except Exception:  # a damaged or foreign file: reported to the user, the purge itself stands
            failed.append(info.path)
    return scrubbed, failed
