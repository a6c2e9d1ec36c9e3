"""Grid events and their workflow; visits with needs (a need can be escalated into an event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.models import EventStep, GridEvent, Visit, VisitNeed, utcnow
from desktop.models.base import row_as
from desktop.services.audit import write_audit
from desktop.services.errors import IllegalTransition, ServiceError, ValidationFailed
from desktop.services.records import Records, to_dict
from desktop.validation import code_table
from desktop.validation.result import Issue

# 上报 → 受理 → 派遣 → 处置 → 核查 → 结案 → 评价. A grid worker may settle an accepted event
# himself (受理 → 处置, 自办自结); a failed check sends it back (核查 → 处置).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("accepted",),
    "accepted": ("dispatched", "handling"),
    "dispatched": ("handling",),
    "handling": ("verified",),
    "verified": ("closed", "handling"),
    "closed": ("evaluated",),
    "evaluated": (),
}
STATES = tuple(TRANSITIONS)

NEED_TO_EVENT_CATEGORY = {
    # need_category label -> event_category label (by label so the code tables stay the source)
    "矛盾纠纷": "矛盾纠纷", "治安隐患": "治安隐患", "消防隐患": "消防安全", "环境卫生": "市容环境",
}


def state_label(state: str) -> str:
    return code_table("event_state").label(state)


def allowed_transitions(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())


class Events(Records):
    def report(self, data: dict[str, Any], *, note: str | None = None) -> dict[str, Any]:
        with self.store.transaction() as s:
            data = {"reported_by": self.actor.username, **data}
            event = row_as(GridEvent, self._create(s, "grid_event", data))
            self._step(s, event, "reported", note, event.reported_at)
            return to_dict(event)

    def _step(self: Records, s: Session, event: GridEvent, state: str, note: str | None, when: datetime | None = None) -> None:
        self._create(
            s, "event_step",
            {"grid_id": event.grid_id, "event_id": event.id, "state": state,
             "actor": self.actor.username, "acted_at": when or datetime.now().replace(microsecond=0), "note": note},
        )

    def advance(
        self, event_id: str, to_state: str, *, note: str | None = None,
        result_type: str | None = None, satisfaction: str | None = None,
        responsible_unit: str | None = None, expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Move an event one legal step; illegal steps are refused with the allowed ones named."""
        with self.store.transaction() as s:
            event = row_as(GridEvent, self._load(s, "grid_event", event_id))
            current = event.state
            if to_state not in STATES:
                raise IllegalTransition(f"未知的事件环节:{to_state}")
            if to_state not in TRANSITIONS[current]:
                allowed = "、".join(state_label(x) for x in TRANSITIONS[current]) or "无(流程已结束)"
                raise IllegalTransition(
                    f"事件当前为“{state_label(current)}”,不能直接转为“{state_label(to_state)}”;可选:{allowed}"
                )
            if expected_version is not None and event.version != expected_version:
                raise ServiceError("该事件已被他人处理,请刷新后再操作")
            changes: dict[str, Any] = {}
            issues = []
            if to_state == "dispatched":
                unit = responsible_unit or event.responsible_unit
                if not unit:
                    issues.append(Issue("责任单位", "event.unit", "派遣时请填写责任单位"))
                changes["responsible_unit"] = unit
            if to_state == "closed":
                rt = result_type or event.result_type
                if not rt:
                    issues.append(Issue("办结类型", "event.result", "结案时请选择办结类型(自办自结、部门办结或中心办结)"))
                changes["result_type"] = rt
                changes["closed_at"] = datetime.now().replace(microsecond=0)
            if to_state == "evaluated":
                if not satisfaction:
                    issues.append(Issue("满意度", "event.satisfaction", "评价时请选择满意度"))
                changes["satisfaction"] = satisfaction
            if issues:
                raise ValidationFailed(issues)
            # The state is written here, below the generic hook that refuses direct state edits.
            event.state = to_state
            event.updated_at = utcnow()
            event.updated_by = self.actor.username
            s.flush()
            if changes:
                self._update(s, "grid_event", event_id, changes)
            self._step(s, event, to_state, note)
            write_audit(s, self.actor, "transition", "grid_event", event_id, {"from": current, "to": to_state})
            return to_dict(self._load(s, "grid_event", event_id))

    def steps(self, event_id: str) -> list[dict[str, Any]]:
        with self.store.session() as s:
            self._load(s, "grid_event", event_id)
            rows = s.scalars(
                select(EventStep).where(EventStep.event_id == event_id, EventStep.deleted_at.is_(None))
                .order_by(EventStep.acted_at, EventStep.created_at)
            )
            return [to_dict(r) for r in rows]


EMPTY_VISIT = "走访记录没有内容:请填写家庭情况,或至少登记一条群众诉求后再保存"


def has_content(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else value is not None


class Visits(Records):
    def record(self, data: dict[str, Any], needs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A visit and its needs in one transaction. A visit says something: its 家庭情况, or at
        least one need (an empty visit saved by a stray Enter is refused here, not only in a form)."""
        if not has_content(data.get("situation")) and not any(has_content((n or {}).get("content")) for n in needs or []):
            raise ValidationFailed([Issue("家庭情况", "visit.empty", EMPTY_VISIT)])
        with self.store.transaction() as s:
            visit = self._create(s, "visit", {"visitor": self.actor.username, **data})
            out = to_dict(visit)
            out["needs"] = []
            issues: list[Issue] = []
            escalate: list[str] = []
            for i, need in enumerate(needs or []):
                fields = {k: v for k, v in need.items() if k != "escalate"}
                try:
                    n = self._create(s, "visit_need", {"visit_id": visit.id, **fields})
                    out["needs"].append(to_dict(n))
                    if need.get("escalate"):
                        escalate.append(n.id)
                except ValidationFailed as exc:
                    issues.extend(Issue(f"第{i + 1}条诉求·{x.field}", x.code, f"第{i + 1}条诉求:{x.message}") for x in exc.issues)
            if issues:
                raise ValidationFailed(issues)
            # needs marked "escalate" become grid events in the same transaction: all or nothing
            out["events"] = [self._escalate(s, need_id) for need_id in escalate]
            return out

    def create(self, kind: str, data: dict[str, Any], **opts: Any) -> dict[str, Any]:
        if kind == "visit" and not has_content(data.get("situation")):  # no needs here: 家庭情况 is what it says
            raise ValidationFailed([Issue("家庭情况", "visit.empty", EMPTY_VISIT)])
        return super().create(kind, data, **opts)

    def escalate(self, need_id: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Turn a need that cannot be settled on the spot into a grid event (state 上报)."""
        with self.store.transaction() as s:
            return self._escalate(s, need_id, event)

    def _escalate(self, s: Any, need_id: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
        need = row_as(VisitNeed, self._load(s, "visit_need", need_id))
        if need.status == "escalated":
            raise ServiceError("该诉求已转为网格事件,不能重复转办")
        visit = row_as(Visit, self._load(s, "visit", need.visit_id))
        need_label = code_table("need_category").label(need.category)
        category = code_table("event_category").code_for(NEED_TO_EVENT_CATEGORY.get(need_label, "民生服务"))
        data = {
            "grid_id": visit.grid_id,
            "household_id": visit.household_id,
            "title": f"走访诉求:{need.content[:30]}",
            "category": category or "其他",
            "source": code_table("event_source").code_for("入户走访"),
            "description": need.content,
            "reported_by": self.actor.username,
            **(event or {}),
        }
        ev = row_as(GridEvent, self._create(s, "grid_event", data))
        Events._step(self, s, ev, "reported", "由走访诉求转办", ev.reported_at)
        self._update(s, "visit_need", need_id, {"status": "escalated", "event_id": ev.id})
        write_audit(s, self.actor, "escalate", "visit_need", need_id, {"event": ev.id})
        return to_dict(ev)

    def needs(self, visit_id: str) -> list[dict[str, Any]]:
        """The live needs recorded at a visit (the visit's grid must be the actor's)."""
        with self.store.session() as s:
            self._load(s, "visit", visit_id)
            q = select(VisitNeed).where(VisitNeed.visit_id == visit_id, VisitNeed.deleted_at.is_(None))
            return [to_dict(n) for n in s.scalars(q.order_by(VisitNeed.created_at)) if self.actor.may_access(n.grid_id)]

    def resolve_need(self, need_id: str) -> dict[str, Any]:
        return self.update("visit_need", need_id, {"status": "resolved"})


def open_needs(store: Any, actor: Any) -> list[dict[str, Any]]:
    with store.session() as s:
        q = select(VisitNeed).where(VisitNeed.status == "open", VisitNeed.deleted_at.is_(None))
        return [to_dict(n) for n in s.scalars(q) if actor.may_access(n.grid_id)]
