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
