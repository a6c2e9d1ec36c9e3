"""Audit trail writes (append-only; a trigger refuses changes). No personal values in the text."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from desktop.models import AuditEntry, utcnow
from desktop.services.fields import KIND_LABELS
from desktop.services.store import Actor

ACTION_LABELS = {
    "create": "新建", "update": "修改", "delete": "删除", "restore": "恢复",
    "move": "迁移", "set_head": "变更户主", "transition": "事件流转", "escalate": "诉求转事件",
    "register": "整户登记", "reveal": "查看完整信息", "demo": "生成演示数据",
    "login": "登录", "print": "打印", "export": "导出", "import": "导入", "sync": "同步",
    "backup": "备份", "restore_backup": "从备份恢复", "purge": "彻底清除个人信息", "encrypt": "加密数据库",
    "password": "修改密码",
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
        summary = ACTION_LABELS.get(action, action) + (KIND_LABELS.get(entity or "", "") or "")
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


AUDIT_ROLES = frozenset({"community_admin", "supervisor"})


def audit_entries(
    store: Any, actor: Actor, *, who: str | None = None, action: str | None = None,
    entity_id: str | None = None, date_from: Any = None, date_to: Any = None, limit: int = 500,
) -> list[dict[str, Any]]:
    """The audit trail, newest first, for a supervisor or community admin (who looked at,
    printed, exported or changed what). Others get PermissionDenied."""
    from datetime import date, datetime, time

    from sqlalchemy import select

    from desktop.services.errors import PermissionDenied

    if actor.role not in AUDIT_ROLES:
        raise PermissionDenied("只有社区管理员和督导可以查看审计记录")
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
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
        return [
            {"seq": e.seq, "at": e.at, "actor": e.actor, "device_id": e.device_id, "action": e.action,
             "action_label": ACTION_LABELS.get(e.action, e.action), "entity": e.entity,
             "entity_label": KIND_LABELS.get(e.entity or "", e.entity or ""), "entity_id": e.entity_id,
             "summary": e.summary, "detail": e.detail}
            for e in s.scalars(q)
        ]
