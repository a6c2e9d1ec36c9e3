"""走访频次规则: the community's visit intervals, edited by its admins (设置 → 走访规则,
``gridledger rules``).

How the rules in force are found (`effective_rules`):

1. Start from `desktop.domain.visits.DEFAULT_RULES`, one per target.
2. Every live ``visit_rule`` row overrides the rule of its target (target_kind, target_value), or
   adds one for a target without a default. When two laptops wrote a row for the same target
   before they synced, the row updated last wins (ties: the larger id), so every laptop agrees.
3. A row with ``active`` false removes its target's rule.
4. Rules keep the order of the defaults; added targets follow, by target.

`reset` deletes the rows (soft delete, synced), which brings the defaults back. Edits are refused
for anyone without ``Ability.EDIT_VISIT_RULES`` (desktop.policy), validated (an unknown care mark,
type or use is one Chinese sentence) and audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from desktop.domain.visits import (
    DEFAULT_RULES,
    GROUPS,
    MAX_INTERVAL,
    MIN_INTERVAL,
    REASON_MAX,
    TARGET_KINDS,
    Rule,
    target_label,
)
from desktop.models import VisitRule, utcnow
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import ServiceError, require
from desktop.services.store import Actor, Store
from desktop.validation import code_table

_CODE_TABLES = {"mark": "care_mark", "person_type": "person_type", "house_use": "house_use"}


def value_label(target_kind: str, target_value: str) -> str:
    if target_kind in _CODE_TABLES:
        return code_table(_CODE_TABLES[target_kind]).label(target_value)
    if target_kind == "group":
        return GROUPS.get(target_value, target_value)
    return ""


def describe(target_kind: str, target_value: str) -> str:
    return target_label(target_kind, target_value, value_label(target_kind, target_value))


def parse_target(target_kind: str, value: str | None) -> tuple[str, str]:
    """(target_kind, code) for a kind and a code, label or alias (“独居老人”, “出租”); an unknown
    one is a ServiceError naming what is accepted."""
    kind = (target_kind or "").strip()
    if kind not in TARGET_KINDS:
        kinds = "、".join(f"{k}({v})" for k, v in TARGET_KINDS.items())
        raise ServiceError(f"规则对象类型“{kind}”不认识:请写 {kinds} 之一。")
    raw = (value or "").strip()
    if kind == "all":
        if raw:
            raise ServiceError("“全部户”规则不带对象值,请去掉“" + raw + "”。")
        return kind, ""
    if not raw:
        raise ServiceError(f"请写出规则针对的{TARGET_KINDS[kind]}(例如 {_example(kind)})。")
    if kind == "group":
        for code, label in GROUPS.items():
            if raw in (code, label):
                return kind, code
        raise ServiceError(f"人群“{raw}”不认识:可选 " + "、".join(GROUPS.values()) + "。")
    table = code_table(_CODE_TABLES[kind])
    found = table.code_for(raw)
    if found is None:
        raise ServiceError(f"{TARGET_KINDS[kind]}“{raw}”不认识:可选 " + "、".join(table.labels()) + "。")
    return kind, found


def _example(kind: str) -> str:
    return {"mark": "独居老人", "person_type": "流动人口", "house_use": "出租", "group": GROUPS["high_risk_elderly"]}[kind]


def _check_days(days: Any) -> int:
    try:
        n = int(str(days).strip())
    except (TypeError, ValueError):
        n = None
    if n is None or not MIN_INTERVAL <= n <= MAX_INTERVAL:
        raise ServiceError(f"走访间隔“{days}”不对:请写 {MIN_INTERVAL} 到 {MAX_INTERVAL} 之间的整数天数。")
    return n


def _check_reason(reason: str | None, default: str) -> str:
    r = (reason or "").strip() or default
    if len(r) > REASON_MAX:
        raise ServiceError(f"规则说明太长({len(r)} 字):最多 {REASON_MAX} 字,请写得简短些,它会显示在网格员的计划里。")
    return r


def _rows(db: Connection | Session) -> dict[tuple[str, str], Any]:
    """Live rows, the winning one per target (see the module docstring, 2)."""
    rows = db.execute(text(
        "SELECT id, target_kind, target_value, interval_days, reason, active, updated_at FROM visit_rule "
        "WHERE deleted_at IS NULL ORDER BY updated_at, id")).all()
    out: dict[tuple[str, str], Any] = {}
    for r in rows:
        out[(r.target_kind, r.target_value)] = r  # later rows win
    return out


def effective_rules(db: Connection | Session) -> list[Rule]:
    """The rules in force (module docstring)."""
    rows = _rows(db)
    out: list[Rule] = []
    for d in DEFAULT_RULES:
        r = rows.pop(d.target, None)
        if r is None:
            out.append(d)
        elif r.active:
            out.append(Rule(d.target_kind, d.target_value, int(r.interval_days), r.reason))
    for key in sorted(rows):
        r = rows[key]
        if r.active:
            out.append(Rule(key[0], key[1], int(r.interval_days), r.reason))
    return out


class VisitRules:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    def list(self) -> list[dict[str, Any]]:
        """Every target with a default or a row: its rule, whether it is the default, whether on."""
        with self.store.session() as s:
            rows = _rows(s)
            defaults = {d.target: d for d in DEFAULT_RULES}
            targets = [d.target for d in DEFAULT_RULES] + sorted(t for t in rows if t not in defaults)
            out = []
            for t in targets:
                r, d = rows.get(t), defaults.get(t)
                out.append({
                    "target_kind": t[0], "target_value": t[1], "target": describe(*t),
                    "interval_days": int(r.interval_days) if r is not None else defaults[t].interval_days,
                    "reason": r.reason if r is not None else defaults[t].reason,
                    "active": bool(r.active) if r is not None else True,
                    "is_default": r is None,
                    "default_days": d.interval_days if d else None,
                })
            return out

    def set(self, target_kind: str, target_value: str | None, interval_days: Any, reason: str | None = None,
            *, active: bool = True) -> dict[str, Any]:
        """Set the rule of a target (one transaction, audited)."""
        require(self.actor, Ability.EDIT_VISIT_RULES)
        kind, value = parse_target(target_kind, target_value)
        days = _check_days(interval_days)
        default = next((d for d in DEFAULT_RULES if d.target == (kind, value)), None)
        why = _check_reason(reason, default.reason if default else value_label(kind, value) or TARGET_KINDS[kind])
        with self.store.transaction() as s:
            rows = s.scalars(select(VisitRule).where(
                VisitRule.target_kind == kind, VisitRule.target_value == value, VisitRule.deleted_at.is_(None),
            ).order_by(VisitRule.updated_at, VisitRule.id)).all()
            now = utcnow()
            row = rows[-1] if rows else None
            before = None
            if row is None:
                row = VisitRule(target_kind=kind, target_value=value, created_by=self.actor.username)
                s.add(row)
            else:
                before = {"interval_days": row.interval_days, "reason": row.reason, "active": row.active}
            for extra in rows[:-1]:  # two laptops' rows for one target: one is kept
                extra.deleted_at, extra.deleted_by = now, self.actor.username
            row.interval_days, row.reason, row.active = days, why, active
            row.updated_at, row.updated_by = now, self.actor.username
            s.flush()
            label = describe(kind, value)
            write_audit(s, self.actor, "update", "visit_rule", row.id,
                        detail={"target": label, "before": before,
                                "after": {"interval_days": days, "reason": why, "active": active}},
                        summary=f"修改走访规则:{label}")
            return {"target": label, "interval_days": days, "reason": why, "active": active}

    def reset(self, target_kind: str | None = None, target_value: str | None = None) -> int:
        """Back to the defaults: of one target, or (no target) of all. Returns the rows removed."""
        require(self.actor, Ability.EDIT_VISIT_RULES)
        target = parse_target(target_kind, target_value) if target_kind else None
        with self.store.transaction() as s:
            q = select(VisitRule).where(VisitRule.deleted_at.is_(None))
            if target is not None:
                q = q.where(VisitRule.target_kind == target[0], VisitRule.target_value == target[1])
            rows = s.scalars(q).all()
            now = utcnow()
            for r in rows:
                r.deleted_at, r.deleted_by = now, self.actor.username
                r.updated_at, r.updated_by = now, self.actor.username
            what = describe(*target) if target else "全部规则"
            write_audit(s, self.actor, "update", "visit_rule", None,
                        detail={"reset": what, "rows": len(rows)}, summary=f"走访规则恢复默认:{what}")
            return len(rows)
