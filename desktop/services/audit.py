"""Audit trail writes (append-only; a trigger refuses changes). No personal values in the text."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from desktop.kinds import label as kind_label
from desktop.models import AuditEntry, utcnow
from desktop.policy import Ability
from desktop.services.store import Actor

ACTION_LABELS = {
    "create": "新建", "update": "修改", "delete": "删除", "restore": "恢复",
    "move": "迁移", "set_head": "变更户主", "transition": "事件流转", "escalate": "诉求转事件",
    "register": "整户登记", "reveal": "查看完整信息", "demo": "生成演示数据",
    "login": "登录", "print": "打印", "export": "导出", "import": "导入", "sync": "同步",
    "backup": "备份", "restore_backup": "从备份恢复", "purge": "彻底清除个人信息", "encrypt": "加密数据库",
    "password": "修改密码", "recovery_key": "生成恢复密钥", "merge": "合并", "unmerge": "撤销合并",
}


def write_audit(
    s: Session,
    actor: Actor,
    action: str,
    entity: str | None = None,
    entity_id: str | None = None,
    detail: dict[str, Any] | None = None,
    summary: str | None = None,
) -> None:
    if summary is None:
        summary = ACTION_LABELS.get(action, action) + (kind_label(entity or "") or "")
    s.add(
        AuditEntry(
            at=utcnow(),
            actor=actor.username,
            device_id=actor.device_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            summary=summary,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )




def audit_entries(
    store: Any, actor: Actor, *, who: str | None = None, action: str | None = None,
    entity_id: str | None = None, about_person: str | None = None, date_from: Any = None,
    date_to: Any = None, limit: int = 500,
) -> list[dict[str, Any]]:
    """The audit trail, newest first, for a supervisor or community admin (who looked at,
    printed, exported or changed what). Others get PermissionDenied.

    `about_person` (a person's id) keeps the entries that reached that person's data: acts on the
    person or their household, archives that included their household, ledgers of their grid, and
    exports of people or households whose scope covered their grid. Each row carries `entity_name`, the record's current name (looked
    up now: the trail itself never stores personal values), or 已删除或已清除."""
    from datetime import date, datetime, time

    from sqlalchemy import select

    from desktop.services.errors import require

    require(actor, Ability.READ_AUDIT)
    q = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if who:
        q = q.where(AuditEntry.actor == who)
    if action:
        q = q.where(AuditEntry.action == action)
    if entity_id:
        q = q.where(AuditEntry.entity_id == entity_id)
    if isinstance(date_from, date):
        q = q.where(AuditEntry.at >= datetime.combine(date_from, time.min))
    if isinstance(date_to, date):
        q = q.where(AuditEntry.at <= datetime.combine(date_to, time.max))
    with store.session() as s:
        keep = None
        if about_person:
            keep, q = _about(s, q, about_person)
        entries = []
        for e in s.scalars(q if keep is not None else q.limit(limit)):
            if keep is not None and not keep(e):
                continue
            entries.append(e)
            if len(entries) >= limit:
                break
        names = _names(s, [(e.entity, e.entity_id) for e in entries])
        return [
            {"seq": e.seq, "at": e.at, "actor": e.actor, "device_id": e.device_id, "action": e.action,
             "action_label": ACTION_LABELS.get(e.action, e.action), "entity": e.entity,
             "entity_label": kind_label(e.entity or ""), "entity_id": e.entity_id,
             "entity_name": names.get((e.entity, e.entity_id), "") if e.entity_id else "",
             "summary": e.summary, "detail": e.detail}
            for e in entries
        ]


def _about(s: Any, q: Any, person_id: str) -> tuple[Any, Any]:
    """The narrowing query and the per-entry test for `about_person`."""
    from sqlalchemy import or_, text

    from desktop.models import Person

    row = s.execute(text("SELECT p.household_id, p.grid_id, a.code FROM person p LEFT JOIN area a ON a.id = p.grid_id "
                         "WHERE p.id = :p"), {"p": person_id}).first()
    household, grid, grid_code = (row[0], row[1], row[2]) if row else (None, None, None)
    ids = [i for i in (person_id, household) if i]
    q = q.where(or_(AuditEntry.entity_id.in_(ids), AuditEntry.action.in_(("print", "export"))))

    def keep(e: AuditEntry) -> bool:
        if e.entity_id in ids and e.entity in (Person.__tablename__, "household"):
            return True
        if e.action not in ("print", "export") or not e.detail:
            return False
        try:
            detail = json.loads(e.detail)
        except ValueError:
            return False
        if e.action == "print":
            if str(detail.get("kind", "")).startswith("ledger:"):  # a ledger of the person's grid
                return bool(grid_code) and grid_code in (detail.get("grids") or ())
            return bool(household) and household in (detail.get("households") or ())
        if detail.get("kind") not in ("person", "household"):
            return False
        scope = detail.get("scope") or {}
        return scope.get("grid_id") in (None, grid)

    return keep, q


def _names(s: Any, refs: list[tuple[str | None, str | None]]) -> dict[tuple[str | None, str | None], str]:
    """Current display names of the records the entries point at."""
    from desktop.db.sql import sql

    queries = {
        "person": "SELECT id, name FROM person WHERE id IN :ids",
        "household": "SELECT h.id, '户 ' || coalesce(h.hh_no, '') || coalesce('(户主 ' || p.name || ')', '') "
                     "FROM household h LEFT JOIN person p ON p.id = h.head_person_id WHERE h.id IN :ids",
        "area": "SELECT id, name FROM area WHERE id IN :ids",
        "vehicle": "SELECT id, plate_no FROM vehicle WHERE id IN :ids",
        "org_unit": "SELECT id, name FROM org_unit WHERE id IN :ids",
        "app_user": "SELECT id, username FROM app_user WHERE id IN :ids",
    }
    out: dict[tuple[str | None, str | None], str] = {}
    by_kind: dict[str, set[str]] = {}
    for kind, rid in refs:
        if kind and rid:
            by_kind.setdefault(kind, set()).add(rid)
    for kind, ids in by_kind.items():
        statement = queries.get(kind)
        if statement is None:
            continue
        found = dict(s.execute(sql(statement, "ids"), {"ids": sorted(ids)}).all())
        for rid in ids:
            out[(kind, rid)] = found.get(rid) or "(已删除或已清除)"
    return out
