"""Household use cases: register a whole household, move a person, set the head, read a household."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.models import (
    Address,
    House,
    Household,
    HouseholdLedger,
    Person,
    Vehicle,
    Visit,
    VisitNeed,
)
from desktop.models.base import row_as
from desktop.services import rules
from desktop.services.audit import write_audit
from desktop.services.errors import ServiceError, ValidationFailed
from desktop.services.records import Records, to_dict
from desktop.validation.result import Issue

HEAD = "02"


class Households(Records):
    def register(
        self,
        *,
        grid_id: str,
        members: list[dict[str, Any]],
        address: dict[str, Any] | None = None,
        address_id: str | None = None,
        house: dict[str, Any] | None = None,
        house_id: str | None = None,
        household: dict[str, Any] | None = None,
        head_index: int = 0,
        allow_duplicate: bool = False,
    ) -> dict[str, Any]:
        """Register address (or reuse one), house, household and every member in one transaction.

        Member errors are reported with the member's position ("第2位成员 证件号码…"), and
        nothing is written unless everything is valid."""
        if not members:
            raise ValidationFailed([Issue("成员", "household.members", "整户登记至少需要一名成员(户主)")])
        if not 0 <= head_index < len(members):
            raise ValidationFailed([Issue("户主", "household.head", "请指定哪位成员是户主")])
        with self.store.transaction() as s:
            if house_id is None:
                if address_id is None:
                    addr = self._create(s, "address", {"grid_id": grid_id, **(address or {})})
                    address_id = addr.id
                house_obj = self._create(s, "house", {"grid_id": grid_id, "address_id": address_id, **(house or {})})
                house_id = house_obj.id
            household = dict(household or {})
            if not household.get("phone") and members[head_index].get("phone"):
                household["phone"] = members[head_index]["phone"]  # 联系电话: the head's, unless given
            hh = row_as(Household, self._create(s, "household", {"grid_id": grid_id, "house_id": house_id, **household}))
            person_ids: list[str] = []
            issues: list[Issue] = []
            for i, member in enumerate(members):
                data = {"grid_id": grid_id, "household_id": hh.id, "house_id": house_id, **member}
                if i == head_index:
                    data["relation"] = HEAD
                try:
                    p = self._create(s, "person", data, allow_duplicate=allow_duplicate)
                except ValidationFailed as exc:
                    who = member.get("name") or ""
                    issues.extend(
                        Issue(f"第{i + 1}位成员{who}·{x.field}", x.code, f"第{i + 1}位成员{who}:{x.message}")
                        for x in exc.issues
                    )
                    continue
                person_ids.append(p.id)
            if issues:
                raise ValidationFailed(issues)
            hh.head_person_id = person_ids[head_index]
            s.flush()
            rules.refresh_derived_marks(s, self.actor, household_ids={hh.id})
            write_audit(s, self.actor, "register", "household", hh.id, {"members": len(person_ids)})
            return self._household_view(s, hh.id)

    def move_person(
        self, person_id: str, *, to_household_id: str | None, relation: str | None = None,
        to_house_id: str | None = None,
    ) -> dict[str, Any]:
        """Move a person to another household (and its house), or out of any household."""
        with self.store.transaction() as s:
            person = row_as(Person, self._load(s, "person", person_id))
            old_hh = person.household_id
            if old_hh:
                old = s.get(Household, old_hh)
                if old is not None and old.head_person_id == person_id and old_hh != to_household_id:
                    members = s.scalar(
                        select(Person.id).where(
                            Person.household_id == old_hh, Person.id != person_id, Person.deleted_at.is_(None)
                        ).limit(1)
                    )
                    if members:
                        raise ServiceError("该人员是户主,原户还有其他成员:请先为原户变更户主再迁出")
                    self._update(s, "household", old_hh, {"head_person_id": None})
            changes: dict[str, Any] = {"household_id": to_household_id}
            if to_household_id:
                target = row_as(Household, self._load(s, "household", to_household_id))
                changes["grid_id"] = target.grid_id
                changes["house_id"] = to_house_id or target.house_id
            elif to_house_id:
                changes["house_id"] = to_house_id
            if relation is not None:
                changes["relation"] = relation
            self._update(s, "person", person_id, changes)
            write_audit(s, self.actor, "move", "person", person_id, {"from": old_hh, "to": to_household_id})
            return to_dict(self._load(s, "person", person_id))

    def set_head(
        self, household_id: str, person_id: str, *, relations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Make a member the head; relations of the other members may be given anew (GB/T 4761)."""
        with self.store.transaction() as s:
            hh = row_as(Household, self._load(s, "household", household_id))
            person = row_as(Person, self._load(s, "person", person_id))
            if person.household_id != household_id:
                raise ServiceError("只能把本户成员设为户主")
            old_head = hh.head_person_id
            self._update(s, "household", household_id, {"head_person_id": person_id})
            self._update(s, "person", person_id, {"relation": HEAD})
            for pid, rel in (relations or {}).items():
                if pid != person_id:
                    self._update(s, "person", pid, {"relation": rel})
            if old_head and old_head != person_id and old_head not in (relations or {}):
                self._update(s, "person", old_head, {"relation": None})
            write_audit(s, self.actor, "set_head", "household", household_id)
            return self._household_view(s, household_id)

    def register_house(self, *, grid_id: str | None, address: dict[str, Any], house: dict[str, Any]) -> dict[str, Any]:
        """A standard address and its house in one transaction (a vacant or rented-out house)."""
        with self.store.transaction() as s:
            addr = self._create(s, "address", {"grid_id": grid_id, **address})
            obj = self._create(s, "house", {"grid_id": grid_id, "address_id": addr.id, **house})
            return to_dict(obj)

    def vacant_house_at(self, address_id: str) -> str | None:
        """A live house at the address that no live household occupies (to register into)."""
        with self.store.session() as s:
            for house in s.scalars(select(House).where(House.address_id == address_id, House.deleted_at.is_(None))):
                taken = s.scalar(
                    select(Household.id).where(Household.house_id == house.id, Household.deleted_at.is_(None)).limit(1)
                )
                if taken is None:
                    return house.id
        return None

    def phone_follows_head(self, person_id: str, old_phone: str | None) -> dict[str, Any] | None:
        """The household a person heads whose 联系电话 was the head's old phone (or empty) and now
        differs from the head's: the form asks whether it follows; None when there is nothing to ask."""
        with self.store.session() as s:
            person = row_as(Person, self._load(s, "person", person_id))
            hh = s.scalars(select(Household).where(Household.head_person_id == person_id,
                                                   Household.deleted_at.is_(None))).first()
            if hh is None or not self.actor.may_access(hh.grid_id):
                return None
            new = person.phone
            if not new or hh.phone == new or (hh.phone or None) not in ((old_phone or None), None):
                return None
            return {"household_id": hh.id, "old": hh.phone, "new": new}

    def household_of_house(self, house_id: str) -> str | None:
        """The live household living in a house, if the actor may see its grid."""
        with self.store.session() as s:
            row = s.execute(
                select(Household.id, Household.grid_id).where(Household.house_id == house_id, Household.deleted_at.is_(None))
                .limit(1)
            ).first()
        return row[0] if row is not None and self.actor.may_access(row[1]) else None

    def caption(self, household_id: str | None) -> str:
        """One line naming a household: "张三户 · 户号 … · address" ("" for none)."""
        if not household_id:
            return ""
        view = self.view(household_id)
        hh = view["household"]
        head = next((m["name"] for m in view["members"] if m["id"] == hh["head_person_id"]), "未定户主")
        return f"{head}户 · 户号 {hh['hh_no']} · {(view['address'] or {}).get('full_text', '')}"

    def view(self, household_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            self._load(s, "household", household_id)
            return self._household_view(s, household_id)

    def _household_view(self, s: Session, household_id: str) -> dict[str, Any]:
        """Everything the household page and the archive need, as plain data."""
        hh = to_dict(self._load(s, "household", household_id))
        house = address = None
        if hh["house_id"]:
            h = s.get(House, hh["house_id"])
            house = to_dict(h) if h else None
            if h is not None:
                a = s.get(Address, h.address_id)
                address = to_dict(a) if a else None
        members = [
            to_dict(p)
            for p in s.scalars(
                select(Person).where(Person.household_id == household_id, Person.deleted_at.is_(None))
            )
        ]
        members.sort(key=lambda p: (p["id"] != hh["head_person_id"], p["relation"] or "99", str(p["birth_date"])))
        ids = [m["id"] for m in members]
        vehicles = [
            to_dict(v)
            for v in s.scalars(
                select(Vehicle).where(
                    (Vehicle.household_id == household_id) | Vehicle.owner_person_id.in_(ids or [""]),
                    Vehicle.deleted_at.is_(None),
                )
            )
        ]
        visits = []
        for v in s.scalars(
            select(Visit).where(Visit.household_id == household_id, Visit.deleted_at.is_(None))
            .order_by(Visit.visited_on.desc())
        ):
            row = to_dict(v)
            row["needs"] = [
                to_dict(n)
                for n in s.scalars(select(VisitNeed).where(VisitNeed.visit_id == v.id, VisitNeed.deleted_at.is_(None)))
            ]
            visits.append(row)
        ledgers = [
            to_dict(x)
            for x in s.scalars(
                select(HouseholdLedger).where(
                    HouseholdLedger.household_id == household_id, HouseholdLedger.deleted_at.is_(None)
                ).order_by(HouseholdLedger.period)
            )
        ]
        return {
            "household": hh, "house": house, "address": address, "members": members,
            "vehicles": vehicles, "visits": visits, "ledgers": ledgers,
            "missing": missing_data(hh, house, members),
        }


def missing_data(hh: dict, house: dict | None, members: list[dict]) -> list[str]:
    """What a grid worker still has to collect for this household (Chinese, one line each)."""
    out = []
    if house is None:
        out.append("未关联房屋")
    if not hh.get("head_person_id"):
        out.append("未指定户主")
    for m in members:
        who = m["name"]
        if not m.get("cert_no"):
            out.append(f"{who}:缺少证件号码")
        if not m.get("phone") and m.get("id") == hh.get("head_person_id"):
            out.append(f"{who}:缺少联系电话")
        if not m.get("relation"):
            out.append(f"{who}:缺少与户主关系")
        if m.get("person_type") == "2" and not m.get("residence_reason"):
            out.append(f"{who}:流动人口缺少居住事由")
    return out
