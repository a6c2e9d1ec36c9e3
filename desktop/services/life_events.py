"""情况变化 (life events): recorded on a household or one of its members, from the household page
and the visit form. Each asks for a visit within its window (desktop.domain.visits.EVENT_TYPES);
desktop.services.plan turns an event without a later visit into a due item.

One record is one transaction through desktop.services.records (validated, audited, captured for
sync). The residence-card notice is derived from person.residence_card_until and never recorded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from desktop.domain.visits import EVENT_TYPES, RESIDENCE_CARD, event_label
from desktop.models import Household, Person
from desktop.services.errors import NotFound, PermissionDenied, ServiceError
from desktop.services.records import Records, to_dict
from desktop.validation.dates import parse_date


def _date(value: Any, today: date) -> date:
    if isinstance(value, date):
        d = value
    else:
        try:
            d = parse_date(value)
        except Exception:
            raise ServiceError(f"发生日期“{value}”不是有效日期:请写成 2026-03-01 这样的年-月-日。") from None
    if d > today:
        raise ServiceError(f"发生日期 {d.isoformat()} 晚于今天:情况变化只能登记已经发生的事,请改正日期。")
    return d


class LifeEvents(Records):
    def record(self, household_id: str, event_type: str, occurred_on: Any, *, person_id: str | None = None,
               note: str | None = None, today: date | None = None) -> dict[str, Any]:
        """Record one event; refused in one Chinese sentence (nothing written) when the type, the
        date, the household or the person is wrong."""
        today = today or date.today()
        if event_type == RESIDENCE_CARD.code:
            raise ServiceError("“居住证即将到期”由居住证有效期自动提醒,不用登记:请在人员信息里填写“居住证有效期至”。")
        if event_type not in EVENT_TYPES:
            raise ServiceError(f"情况变化类型“{event_type}”不认识:可选 "
                               + "、".join(e.label for e in EVENT_TYPES.values()) + "。")
        when = _date(occurred_on, today)
        with self.store.transaction() as s:
            hh = s.get(Household, household_id)
            if hh is None or hh.deleted_at is not None:
                raise NotFound("找不到该户,可能已被删除:请刷新后重新打开该户再登记情况变化。")
            if not self.actor.may_access(hh.grid_id):
                raise PermissionDenied("您没有权限为其他网格的户登记情况变化。")
            if person_id:
                p = s.get(Person, person_id)
                if p is None or p.deleted_at is not None or p.household_id != household_id:
                    raise ServiceError("所选人员不是该户的成员:请从该户的成员中选择,或不选人员只登记到户。")
            obj = self._create(s, "life_event", {
                "grid_id": hh.grid_id, "household_id": household_id, "person_id": person_id or None,
                "event_type": event_type, "occurred_on": when, "note": (note or "").strip() or None,
            })
            return to_dict(obj)

    def remove(self, event_id: str) -> None:
        """Delete an event recorded by mistake (soft delete, synced, audited)."""
        self.delete("life_event", event_id)

    def for_household(self, household_id: str) -> list[dict[str, Any]]:
        """The household's events, newest first, with their labels and the member's name."""
        with self.store.session() as s:
            hh = s.get(Household, household_id)
            if hh is None or not self.actor.may_access(hh.grid_id):
                return []
            rows = s.execute(text(
                "SELECT e.id, e.event_type, e.occurred_on, e.note, e.person_id, p.name, e.created_by "
                "FROM life_event e LEFT JOIN person p ON p.id = e.person_id "
                "WHERE e.household_id = :h AND e.deleted_at IS NULL ORDER BY e.occurred_on DESC, e.id DESC"),
                {"h": household_id}).all()
        return [{"id": r[0], "event_type": r[1], "label": event_label(r[1]), "occurred_on": date.fromisoformat(str(r[2])),
                 "note": r[3], "person_id": r[4], "person": r[5], "recorded_by": r[6]} for r in rows]


def timeline(visits: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visits and life events of one household in one list, newest first; an event comes after a
    visit of the same day (it was usually recorded at that visit)."""
    items = [{"kind": "visit", "on": v["visited_on"], "record": v} for v in visits]
    items += [{"kind": "life_event", "on": e["occurred_on"], "record": e} for e in events]
    return sorted(items, key=lambda i: (i["on"], i["kind"] == "visit"), reverse=True)
