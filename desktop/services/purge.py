"""Erasure of a person's data on request (PIPL art. 47): not a soft delete but a purge.

In one transaction: references to the person are cleared (through captured updates), the person's
photos and the person row are hard-deleted (the change log records a purge, which the server
turns into a blanked tombstone for every copy), and the change log loses every earlier entry that
carried the person's values. SQLite's secure_delete overwrites the freed pages, the search index
is rewritten and the WAL checkpointed, so the values are gone from the file itself. The audit
trail records the act (who, when, why), never the values. Backups taken earlier still hold the
person until they rotate out (the last ten are kept)."""

from __future__ import annotations

from typing import Any

from desktop.models import Person, utcnow
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, PermissionDenied, ValidationFailed
from desktop.services.store import ROLES_ALL_GRIDS, Actor, Store
from desktop.validation.result import Issue

# (table, column) pairs that point at a person
REFERENCES = (("household", "head_person_id"), ("house", "owner_person_id"), ("vehicle", "owner_person_id"))


def purge_person(store: Store, actor: Actor, person_id: str, *, reason: str) -> dict[str, Any]:
    if actor.role not in ROLES_ALL_GRIDS:
        raise PermissionDenied("只有社区管理员或网格长可以彻底清除个人信息")
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
                cleared: dict[str, int] = {}
                for table, column in REFERENCES:
                    cur = conn.exec_driver_sql(
                        f'UPDATE "{table}" SET "{column}" = NULL, version = version + 1, updated_at = ?, '
                        f'updated_by = ? WHERE "{column}" = ?', (now, actor.username, person_id))
                    cleared[table] = cur.rowcount or 0
                photos = [r[0] for r in conn.exec_driver_sql(
                    "SELECT id FROM attachment WHERE owner_kind = 'person' AND owner_id = ?", (person_id,))]
                ids = [person_id, *photos]
                marks = ",".join("?" for _ in ids)
                # earlier change-log entries carry the values: drop them before the purge entries
                conn.exec_driver_sql(f"DELETE FROM sync_outbox WHERE row_id IN ({marks})", tuple(ids))
                conn.exec_driver_sql(f"DELETE FROM attachment WHERE id IN ({marks})", tuple(ids))
                conn.exec_driver_sql("DELETE FROM person WHERE id = ?", (person_id,))
                from sqlalchemy.orm import Session

                with Session(bind=conn) as s:
                    write_audit(s, actor, "purge", Person.__tablename__, person_id,
                                {"reason": reason, "photos": len(photos), "references_cleared": cleared},
                                "彻底清除人员信息")
                    s.flush()
            # the search index keeps deleted tokens in its segments until they are merged
            with conn.begin():
                for fts in ("search_fts", "search_gram"):
                    conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")
            conn.commit()
    return {"person_id": person_id, "photos": len(photos), "references_cleared": cleared}
