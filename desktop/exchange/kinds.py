"""The import of each kind: how a row finds its grid, place, household and existing record."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from desktop.domain.marks import derived_marks, elder_cutoff
from desktop.exchange.base_importer import BaseImporter
from desktop.exchange.cells import YearMonth, as_text, code_variant
from desktop.exchange.places import AddressParts, HouseholdIndex, NewHousehold, RowError, squeeze
from desktop.exchange.report import RowResult
from desktop.kinds import label as kind_label
from desktop.models import Person, new_id
from desktop.services.events import EMPTY_VISIT, has_content
from desktop.services.quality import NO_CERT_WARNING, under_cert_age
from desktop.services.records import Cleaner

HEAD_RELATIONS = ("02", "01")  # 户主, 本人
ADDRESS_KEYS = ("estate", "building", "unit", "room", "address")


def _parts(vals: dict[str, Any]) -> AddressParts:
    t = {k: as_text(vals.get(k)) for k in ADDRESS_KEYS}
    return AddressParts(t["estate"], t["building"], t["unit"], t["room"], t["address"])


class PersonImporter(BaseImporter):
    kind = "person"

    def prepare(self) -> None:
        s = self.s
        self.by_cert: dict[str, Any] = {}
        for r in s.execute(
            select(Person.id, Person.cert_no, Person.name, Person.grid_id, Person.household_id, Person.version)
            .where(Person.deleted_at.is_(None), Person.cert_no.is_not(None))
        ):
            self.by_cert.setdefault(r.cert_no, r)
        self.households = HouseholdIndex(s)
        self.hh_cleaner = Cleaner(s, self.actor, "household")
        self.seen: dict[str, int] = {}
        self.groups: list[NewHousehold] = []
        self.by_no: dict[str, NewHousehold] = {}
        self.at_house: dict[str, NewHousehold] = {}
        self.first_row: dict[str, RowResult] = {}
        self.new_people: list[dict[str, Any]] = []
        self.updates: list[tuple[str, int, dict[str, Any]]] = []
        self.touched: set[str] = set()  # existing households gaining or changing members
        self.updated_people: set[str] = set()
        self.person_table = self.table
        self._by_name_no: dict[tuple[str, str], list[Any]] | None = None

    # --- one row ------------------------------------------------------------------------------
    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        if self.example_row(vals, "cert_no"):
            rr.status = "skipped"
            rr.messages.append("模板中的示例行,已跳过")
            return
        self.cert_cell(rr, vals, "cert_no")
        data = {k: v for k, v in vals.items() if k in self.columns}
        if "cert_no" not in vals and "cert_no" in self.row_masked:
            self._masked_row(rr, vals, data, self.row_masked["cert_no"])
            return
        ym = data.pop("birth_date") if isinstance(data.get("birth_date"), YearMonth) else None
        hh_type = None
        if "hh_type" in vals:
            ok, hh_type = self.hh_cleaner.field("hh_type", code_variant("household_type", vals["hh_type"]))
            if not ok:
                raise RowError("户别", hh_type[1])
        explicit = self.places.grid(vals["grid"]) if "grid" in vals else None
        hh_no = squeeze(as_text(vals["hh_no"])) if "hh_no" in vals else None
        if hh_no:
            ok, value = self.hh_cleaner.field("hh_no", hh_no)
            if not ok:
                raise RowError("户号", value[1])
        parts = _parts(vals)
        existing_hh = self._existing_household(hh_no, explicit) if hh_no else None
        grid_id = explicit
        if grid_id is None and hh_no and hh_no in self.by_no:
            grid_id = self.by_no[hh_no].grid_id
        if grid_id is None and existing_hh is not None:
            grid_id = existing_hh.grid_id
        if grid_id is None and not parts.empty:
            grid_id = self.places.find_address(None, parts)[1]
        if grid_id is None:
            grid_id = self.places.default_grid_id
        if grid_id is None and "cert_no" in data:
            # a correction of someone registered needs no grid: theirs is known
            ok, cert = self.cleaner.field("cert_no", data["cert_no"])
            known = self.by_cert.get(cert) if ok and isinstance(cert, str) else None
            grid_id = known.grid_id if known is not None else None
        if grid_id is None:
            raise RowError("网格", "网格:本行没有填写网格,导入时也没有选择默认网格")
        data["grid_id"] = grid_id
        draft = self.cleaner.clean(data, None)
        v = draft.values
        if ym is not None:
            born = v.get("birth_date")
            if born is None:
                raise RowError("出生日期", f"出生日期:“{ym}”没有具体日期,请填写完整的出生日期或证件号码")
            if (born.year, born.month) != (ym.year, ym.month):
                raise RowError("出生日期", f"出生日期与证件号码不一致:填写的是{ym},证件号码中为{born.isoformat()}")
        cert = v.get("cert_no")
        if cert:
            first = self.seen.get(cert)
            if first is not None:
                rr.status = "skipped"
                rr.messages.append(f"与第 {first} 行的证件号码相同(文件内重复),已跳过")
                return
            existing = self.by_cert.get(cert)
            if existing is not None:
                self._existing(rr, vals, data, explicit, hh_no, parts, existing, hh_type)
                self.seen[cert] = rr.row_no
                return
        group = self._assign(rr, v, hh_no, parts, grid_id, explicit, existing_hh, hh_type) if (hh_no or not parts.empty) else None
        pid = new_id()
        v["id"] = pid
        if group is not None:
            self._join(group, rr, v, pid)
        self.new_people.append(v)
        self.note_warnings(rr, draft.warnings)
        if not cert and not v.get("no_cert_reason") and not under_cert_age(v.get("birth_date")):
            rr.messages.append(NO_CERT_WARNING)
        rr.record_id = pid
        if cert:
            self.seen[cert] = rr.row_no

    def _masked_row(self, rr: RowResult, vals: dict[str, Any], data: dict[str, Any], masked: str) -> None:
        """A row of a masked export: it may update the one person its 户号, 姓名 and the visible
        characters of the ID number name beyond doubt; it never creates anyone, and the masked
        cells themselves are never imported."""
        name = squeeze(as_text(vals.get("name")))
        hh_no = squeeze(as_text(vals.get("hh_no")))
        if not name or not hh_no:
            raise RowError("证件号码", "证件号码:已脱敏,本行又缺少户号或姓名,无法确认是哪一位,未导入"
                                       "(新增人员请填写完整的证件号码)")
        if self._by_name_no is None:
            self._by_name_no = {}
            from desktop.models import Household

            for r in self.s.execute(
                select(Person.id, Person.cert_no, Person.name, Person.grid_id, Person.household_id, Household.hh_no)
                .join(Household, Household.id == Person.household_id)
                .where(Person.deleted_at.is_(None), Person.cert_no.is_not(None))
            ):
                self._by_name_no.setdefault((squeeze(r.hh_no), squeeze(r.name)), []).append(r)
        pattern = masked.upper()
        hits = [r for r in self._by_name_no.get((hh_no, name), [])
                if len(r.cert_no) == len(pattern)
                and all(m == "*" or m == c for m, c in zip(pattern, r.cert_no.upper(), strict=True))]
        if len(hits) != 1:
            why = "找不到" if not hits else f"有 {len(hits)} 位"
            raise RowError("证件号码", f"证件号码:已脱敏,户 {hh_no} 中{why}姓名为“{name}”、证件号码可见位相符的人员,"
                                       "未导入(新增人员请填写完整的证件号码)")
        person = hits[0]
        first = self.seen.get(person.cert_no)
        if first is not None:
            rr.status = "skipped"
            rr.messages.append(f"与第 {first} 行是同一人员(文件内重复),已跳过")
            return
        self.seen[person.cert_no] = rr.row_no
        if isinstance(data.get("birth_date"), YearMonth):
            data.pop("birth_date")
        explicit = self.places.grid(vals["grid"]) if "grid" in vals else None
        self._existing(rr, vals, data, explicit, hh_no, _parts(vals), person, None)

    def _existing_household(self, hh_no: str, grid_id: str | None) -> Any:
        found = self.households.by_no.get(hh_no) or []
        if grid_id is not None:
            same = [h for h in found if h.grid_id == grid_id]
            found = same or found
        return found[0] if found else None

    def _join(self, g: NewHousehold, rr: RowResult, v: dict[str, Any], pid: str) -> None:
        if v.get("grid_id") != g.grid_id:
            rr.messages.append(f"所在户属于“{self.places.grid_name(g.grid_id)}”,已按户所在网格登记")
        v["grid_id"] = g.grid_id
        v["household_id"] = g.id
        v["house_id"] = g.house_id
        g.members.append(pid)
        if v.get("relation") in HEAD_RELATIONS and g.head_person_id is None and not g.existing_head:
            g.head_person_id = pid
            g.head_row = rr.row_no
        if g.existing:
            self.touched.add(g.id)
        self.first_row.setdefault(g.id, rr)

    def _assign(self, rr: RowResult, v: dict[str, Any], hh_no: str | None, parts: AddressParts, grid_id: str,
                explicit: str | None, existing_hh: Any, hh_type: str | None) -> NewHousehold:
        """The household of a new person: by 户号, else by address (a head opens a household,
        members join the latest household at that address). Checks first, creates after."""
        is_head = v.get("relation") in HEAD_RELATIONS
        places = self.places
        if hh_no:
            g = self.by_no.get(hh_no)
            if g is None and existing_hh is not None:
                g = self._from_existing(existing_hh)
                self.by_no[hh_no] = g
            if g is not None:
                self._head_conflict(g, is_head, f"户号 {hh_no}")
                if not self.actor.may_access(g.grid_id):
                    raise RowError("户号", f"户号:户 {hh_no} 属于您无权管理的网格“{places.grid_name(g.grid_id)}”")
                if g.house_id is None and not g.existing and not parts.empty:
                    g.house_id = self._house(parts, g.grid_id)
                return g
            house_id = self._house(parts, grid_id) if not parts.empty else None
            g = NewHousehold(new_id(), grid_id, house_id, hh_no, hh_type or "1")
            self.by_no[hh_no] = g
            self.groups.append(g)
            return g
        aid = places.find_address(grid_id, parts)[0]
        house_id = places.house_at(aid, grid_id, create=False) if aid else None
        g = self.at_house.get(house_id) if house_id else None
        if g is None and house_id:
            for h in self.households.by_house.get(house_id, []):
                if not (is_head and h.head_person_id):
                    g = self._from_existing(h)
                    break
        if g is not None and is_head and (g.head_person_id or g.existing_head):
            g = None  # a second head at the same address: a second household in that house
        if g is not None:
            if not self.actor.may_access(g.grid_id):
                raise RowError("网格", f"网格:该地址的户属于您无权管理的网格“{places.grid_name(g.grid_id)}”")
            self.at_house[g.house_id or ""] = g
            return g
        if house_id is None:
            if aid is None:
                aid = places.create_address(grid_id, parts)
            house_id = places.house_at(aid, grid_id)
        g = NewHousehold(new_id(), grid_id, house_id, "", hh_type or "1")
        self.groups.append(g)
        self.at_house[house_id or ""] = g
        return g

    def _house(self, parts: AddressParts, grid_id: str) -> str | None:
        aid = self.places.find_address(grid_id, parts)[0]
        if aid is None:
            aid = self.places.create_address(grid_id, parts)
        return self.places.house_at(aid, grid_id)

    def _from_existing(self, h: Any) -> NewHousehold:
        return NewHousehold(h.id, h.grid_id, h.house_id, h.hh_no, existing=True,
                            existing_head=h.head_person_id, head_row=None)

    def _head_conflict(self, g: NewHousehold, is_head: bool, what: str) -> None:
        if not is_head:
            return
        if g.head_person_id is not None:
            raise RowError("与户主关系", f"与户主关系:{what} 已有户主(第 {g.head_row} 行),一户只能有一位户主")
        if g.existing_head:
            raise RowError("与户主关系", f"与户主关系:{what} 已登记了户主,一户只能有一位户主(如需变更户主请在户页面操作)")

    # --- a person already registered ----------------------------------------------------------
    def _existing(self, rr: RowResult, vals: dict[str, Any], data: dict[str, Any], explicit: str | None,
                  hh_no: str | None, parts: AddressParts, existing: Any, hh_type: str | None) -> None:
        where = self.places.grid_name(existing.grid_id)
        policy = self.options.on_existing
        if policy == "skip":
            rr.status = "skipped"
            rr.messages.append(f"证件号码已登记为“{existing.name}”({where}),按设置跳过")
            return
        if not self.actor.may_access(existing.grid_id):
            raise RowError("证件号码", f"证件号码:该人员已登记在您无权管理的网格“{where}”,不能更新")
        before = dict(self.s.execute(select(self.person_table).where(self.person_table.c.id == existing.id)).mappings().one())
        changes = {k: val for k, val in data.items() if k != "grid_id"}
        draft, changed = self.changes_to(rr, before, changes)
        rr.record_id = existing.id
        joins = before["household_id"] is None and bool(hh_no or not parts.empty)
        if policy == "ask" and rr.row_no not in self.options.confirmed and (changed or joins):
            rr.status = "ask"
            rr.messages.append(f"已登记为“{existing.name}”({where}):需确认是否用本行信息更新,"
                               "下面逐项列出将要改变的内容")
            if joins:
                rr.messages.append("该人员尚未属于任何户,确认后按本行的户号或地址加入户")
            return
        if joins:
            grid_id = explicit or before["grid_id"]
            existing_hh = self._existing_household(hh_no, explicit) if hh_no else None
            v = {**before, **draft.values, "grid_id": grid_id}
            g = self._assign(rr, v, hh_no, parts, grid_id, explicit, existing_hh, hh_type)
            self._join(g, rr, v, existing.id)
            for key in ("grid_id", "household_id", "house_id"):
                if before.get(key) != v[key]:
                    changed[key] = v[key]
        else:
            if hh_no and before["household_id"]:
                current = self.households.by_id.get(before["household_id"])
                if current is not None and squeeze(current.hh_no) != hh_no:
                    rr.messages.append(f"已属于户 {current.hh_no},所属户未调整(迁户请在户页面操作)")
            if explicit and explicit != before["grid_id"]:
                rr.messages.append(f"已登记在“{where}”,所属网格未调整")
        self.note_warnings(rr, draft.warnings)
        if not changed:
            rr.status = "skipped"
            rr.messages.append(f"已登记为“{existing.name}”," + ("本行没有可更新的内容" if rr.changes else "信息无变化"))
            return
        rr.status = "updated"
        self.updates.append((existing.id, before["version"], changed))
        self.updated_people.add(existing.id)
        if before["household_id"]:
            self.touched.add(before["household_id"])

    # --- after the last row -------------------------------------------------------------------
    def plan_creations(self) -> None:
        new_groups = [g for g in self.groups if not g.existing and g.members]
        for g in new_groups:
            if not g.hh_no:
                g.hh_no = self.households.next_number(self.places.grids[g.grid_id])
            if g.head_person_id is None:
                rr = self.first_row.get(g.id)
                if rr is not None:
                    rr.messages.append(f"户 {g.hh_no} 没有与户主关系为“户主”的成员,暂未指定户主")
        self.new_groups = new_groups
        self.created = {"households": len(new_groups), "addresses": len(self.places.new_addresses),
                        "houses": len(self.places.new_houses)}

    # --- writing ------------------------------------------------------------------------------
    _sent_addresses = 0
    _sent_houses = 0
    _sent_people = 0

    def _send_places(self) -> None:
        self.insert_rows("address", self.places.new_addresses[self._sent_addresses:], "标准地址")
        self._sent_addresses = len(self.places.new_addresses)
        self.insert_rows("house", self.places.new_houses[self._sent_houses:], "房屋")
        self._sent_houses = len(self.places.new_houses)

    def stream(self) -> None:
        """People whose derived marks are final already go to the parallel writer while the
        rest of the file is checked; elderly members of a household wait for its final size
        (独居老人)."""
        if not self.sink.parallel:
            return
        self._send_places()
        cutoff = elder_cutoff()
        ready, held = [], []
        for p in self.new_people[self._sent_people:]:
            born = p.get("birth_date")
            if born is not None and p.get("household_id") and born <= cutoff:
                held.append(p)
            else:
                p["derived_marks"] = self._marks(p, None, cutoff)
                ready.append(p)
        self.new_people[self._sent_people:] = ready + held
        self.insert_rows("person", ready, "人员")
        self._sent_people += len(ready)

    @staticmethod
    def _marks(p: dict[str, Any], counts: dict[str, int] | None, cutoff: date) -> str:
        """The derived marks of one new person; `counts`: live members per household (None while
        the sizes are not final: only called then for people who cannot be 独居老人)."""
        hh = p.get("household_id")
        size = counts.get(hh) if counts is not None and hh is not None else None
        return derived_marks(p.get("person_type"), p.get("employment"), p.get("birth_date"), size, cutoff)

    def write(self) -> None:
        counts: dict[str, int] = {g.id: len(g.members) for g in self.new_groups}
        touched = list(self.touched)
        for start in range(0, len(touched), 500):
            chunk = touched[start : start + 500]
            for hid, n in self.s.execute(
                select(Person.household_id, func.count()).where(
                    Person.household_id.in_(chunk), Person.deleted_at.is_(None)
                ).group_by(Person.household_id)
            ):
                if hid is not None:  # always: the households asked for
                    counts[hid] = n
        for g in self.groups:
            if g.existing:
                counts[g.id] = counts.get(g.id, 0) + sum(1 for m in g.members if m not in self.updated_people)
        cutoff = elder_cutoff()
        rest = self.new_people[self._sent_people:]
        for p in rest:
            p["derived_marks"] = self._marks(p, counts, cutoff)
        self._send_places()
        self.insert_rows("person", rest, "人员")
        self._sent_people = len(self.new_people)
        self.insert_rows("household", [
            {"id": g.id, "grid_id": g.grid_id, "house_id": g.house_id, "hh_no": g.hh_no, "hh_type": g.hh_type,
             "head_person_id": g.head_person_id} for g in self.new_groups
        ], "户")
        heads = [(g.id, self.households.by_id[g.id].version, {"head_person_id": g.head_person_id})
                 for g in self.groups if g.existing and g.head_person_id and g.id in self.households.by_id]
        self.update_rows("household", heads, "户")
        self.update_rows("person", self.updates, "人员")
        self.refresh_marks(self.touched, set())
        self.refresh_marks(set(), self.updated_people)


IMPORTERS: dict[str, type[BaseImporter]] = {
    "person": PersonImporter,
}


# --- houses, vehicles, units, visits, households ---------------------------------------------------

class RecordImporter(BaseImporter):
    """One row = one record of the kind. Subclasses say how a row finds its grid, its references
    and the record already registered (`match`)."""

    key_label = ""  # what identifies an existing record, for the messages

    def prepare(self) -> None:
        self.new_rows: list[dict[str, Any]] = []
        self.updates: list[tuple[str, int, dict[str, Any]]] = []
        self.seen: dict[Any, int] = {}

    def grid_for(self, vals: dict[str, Any], fallback: str | None = None) -> str:
        if "grid" in vals:
            return self.places.grid(vals["grid"])
        grid_id = fallback or self.places.default_grid_id
        if grid_id is None:
            raise RowError("网格", "网格:本行没有填写网格,导入时也没有选择默认网格")
        return grid_id

    def existing_key(self, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def find_existing(self, key: Any) -> Any:
        raise NotImplementedError

    def describe(self, existing: Any) -> str:
        return self.key_label

    def accept(self, rr: RowResult, data: dict[str, Any], draft: Any, before_lookup: Any = None) -> None:
        """After validation of a new-record draft: duplicates in the file, the record already
        registered (update / skip / ask), else a new record."""
        v = draft.values
        key = self.existing_key(v)
        if key is not None:
            first = self.seen.get(key)
            if first is not None:
                rr.status = "skipped"
                rr.messages.append(f"与第 {first} 行的{self.key_label}相同(文件内重复),已跳过")
                return
            existing = self.find_existing(key)
            if existing is not None:
                self.seen[key] = rr.row_no
                self.on_existing(rr, data, existing)
                return
            self.seen[key] = rr.row_no
        rid = v.get("id") or new_id()
        v["id"] = rid
        self.new_rows.append(v)
        self.note_warnings(rr, draft.warnings)
        rr.record_id = rid
        self.created_one(rr, v)

    def created_one(self, rr: RowResult, values: dict[str, Any]) -> None:
        """A new record was accepted (subclasses add what goes with it)."""

    def on_existing(self, rr: RowResult, data: dict[str, Any], existing: Any) -> None:
        policy = self.options.on_existing
        what = self.describe(existing)
        if policy == "skip":
            rr.status = "skipped"
            rr.messages.append(f"{what}已登记,按设置跳过")
            return
        table = self.table
        before = dict(self.s.execute(select(table).where(table.c.id == existing.id)).mappings().one())
        if "grid_id" in before and not self.actor.may_access(before["grid_id"]):
            raise RowError("网格", f"{what}已登记在您无权管理的网格“{self.places.grid_name(before['grid_id'])}”,不能更新")
        changes = {k: v for k, v in data.items() if k not in ("grid_id",) and v is not None}
        changes.update(self.update_extras(data, before))
        draft, changed = self.changes_to(rr, before, changes)
        rr.record_id = existing.id
        if policy == "ask" and rr.row_no not in self.options.confirmed and changed:
            rr.status = "ask"
            rr.messages.append(f"{what}已登记:需确认是否用本行信息更新,下面逐项列出将要改变的内容")
            return
        if "grid_id" in data and "grid_id" in before and data["grid_id"] != before["grid_id"]:
            rr.messages.append(f"已登记在“{self.places.grid_name(before['grid_id'])}”,所属网格未调整")
        self.note_warnings(rr, draft.warnings)
        if not changed:
            rr.status = "skipped"
            rr.messages.append(f"{what}已登记," + ("本行没有可更新的内容" if rr.changes else "信息无变化"))
            return
        rr.status = "updated"
        self.updates.append((existing.id, before["version"], changed))

    def update_extras(self, data: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
        return {}

    def plan_creations(self) -> None:
        self.created = {"addresses": len(self.places.new_addresses), "houses": len(self.places.new_houses)}

    def write(self) -> None:
        self.insert_rows("address", self.places.new_addresses, "标准地址")
        self.insert_rows("house", self.places.new_houses, "房屋")
        self.insert_rows(self.kind, self.new_rows, self.title)
        self.update_rows(self.kind, self.updates, self.title)

    @property
    def title(self) -> str:
        return kind_label(self.kind)

    def address_of(self, vals: dict[str, Any], grid_id: str | None, *, create: bool) -> tuple[str | None, str | None]:
        """(address id, grid id) for the row's address columns; created when `create`."""
        parts = _parts(vals)
        if parts.empty:
            return None, grid_id
        aid, agrid = self.places.find_address(grid_id, parts)
        if aid is None and grid_id is None:
            aid, agrid = self.places.find_address(None, parts)
        if aid is None and create:
            grid_id = grid_id or self.places.default_grid_id
            if grid_id is None:
                raise RowError("网格", "网格:本行没有填写网格,导入时也没有选择默认网格")
            aid = self.places.create_address(grid_id, parts)
            agrid = grid_id
        return aid, agrid


class HouseImporter(RecordImporter):
    kind = "house"
    key_label = "房屋地址"

    def prepare(self) -> None:
        super().prepare()
        self.by_cert = _cert_index(self.s)
        self.file_houses: dict[str, int] = {}  # address id -> row that gave its house

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        self.cert_cell(rr, vals, "owner_cert_no")
        data = {k: v for k, v in vals.items() if k in self.columns}
        explicit = self.places.grid(vals["grid"]) if "grid" in vals else None
        parts = _parts(vals)
        if parts.empty:
            raise RowError("地址全称", "房屋地址:请填写地址(小区、楼栋、单元、户室,或地址全称)")
        aid, agrid = self.places.find_address(explicit, parts)
        if aid is None and explicit is None:
            aid, agrid = self.places.find_address(None, parts)
        grid_id = explicit or agrid or self.grid_for(vals)
        if aid is not None and aid in self.file_houses:
            rr.status = "skipped"
            rr.messages.append(f"与第 {self.file_houses[aid]} 行是同一地址的房屋(文件内重复),已跳过")
            return
        data["grid_id"] = grid_id
        data["address_id"] = aid or "(new)"
        if aid is None:
            self.cleaner.assume("address", "(new)")
        data = self._owner(data)
        existing = self.places.house_at(aid, grid_id, create=False) if aid else None
        if aid and existing is not None:
            self.file_houses[aid] = rr.row_no
            self.on_existing(rr, data, _Ref(existing))
            return
        draft = self.cleaner.clean(data, None)
        if aid is None:
            aid = self.places.create_address(grid_id, parts)
        self.file_houses[aid] = rr.row_no
        draft.values["address_id"] = aid
        draft.values["id"] = rid = new_id()
        self.new_rows.append(draft.values)
        self.note_warnings(rr, draft.warnings)
        rr.record_id = rid

    def _owner(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("owner_cert_no"):
            owner = self.by_cert.get(_norm_cert(data["owner_cert_no"]) or "")
            if owner is not None:
                data = {**data, "owner_person_id": owner.id}
        return data

    def describe(self, existing: Any) -> str:
        return "该地址的房屋"


class _Ref:
    __slots__ = ("id",)

    def __init__(self, rid: str) -> None:
        self.id = rid


def _cert_index(s: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in s.execute(
        select(Person.id, Person.cert_no, Person.name, Person.grid_id, Person.household_id)
        .where(Person.deleted_at.is_(None), Person.cert_no.is_not(None))
    ):
        out.setdefault(r.cert_no, r)
    return out


def _norm_cert(value: Any) -> str | None:
    from desktop.validation import check_id_number

    text = as_text(value)
    if not text:
        return None
    res = check_id_number(str(text))
    return res.normalized if res.normalized and res.ok else squeeze(text).upper()


class VehicleImporter(RecordImporter):
    kind = "vehicle"
    key_label = "号牌号码"

    def prepare(self) -> None:
        super().prepare()
        self.by_cert = _cert_index(self.s)
        self.households = HouseholdIndex(self.s)
        self.by_plate: dict[str, Any] = {}
        from desktop.models import Vehicle

        for r in self.s.execute(select(Vehicle.id, Vehicle.plate_no).where(Vehicle.deleted_at.is_(None))):
            self.by_plate.setdefault(r.plate_no, r)

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        self.cert_cell(rr, vals, "owner_cert_no")
        data = {k: v for k, v in vals.items() if k in self.columns}
        owner = None
        if "owner_cert_no" in vals:
            cert = _norm_cert(vals["owner_cert_no"])
            owner = self.by_cert.get(cert or "")
            if owner is None:
                raise RowError("车主证件号码", f"车主证件号码:找不到证件号码为 {cert} 的人员,请先导入人员")
            if "owner_name" in vals and squeeze(vals["owner_name"]) != squeeze(owner.name):
                rr.messages.append(f"车主姓名与已登记的“{owner.name}”不一致,已按证件号码关联")
            data["owner_person_id"] = owner.id
        elif "owner_name" in vals:
            rr.messages.append("只填写了车主姓名,没有车主证件号码:未关联车主")
        if "hh_no" in vals:
            hh_no = squeeze(as_text(vals["hh_no"]))
            found = self.households.by_no.get(hh_no)
            if not found:
                raise RowError("户号", f"户号:找不到户号为 {hh_no} 的户")
            data["household_id"] = found[0].id
        if "grid" in vals:
            data["grid_id"] = self.places.grid(vals["grid"])
        elif owner is not None:
            data["grid_id"] = owner.grid_id
        elif "household_id" in data:
            data["grid_id"] = self.households.by_id[data["household_id"]].grid_id
        else:
            data["grid_id"] = self.grid_for(vals)
        draft = self.cleaner.clean(data, None)
        self.accept(rr, data, draft)

    def existing_key(self, values: dict[str, Any]) -> Any:
        return values.get("plate_no")

    def find_existing(self, key: Any) -> Any:
        return self.by_plate.get(key)

    def describe(self, existing: Any) -> str:
        return f"号牌号码 {existing.plate_no}"


class OrgUnitImporter(RecordImporter):
    kind = "org_unit"
    key_label = "统一社会信用代码"

    def prepare(self) -> None:
        super().prepare()
        from desktop.models import OrgUnit

        self.by_uscc: dict[str, Any] = {}
        self.by_name: dict[tuple[str, str], Any] = {}
        for r in self.s.execute(select(OrgUnit.id, OrgUnit.uscc, OrgUnit.name, OrgUnit.grid_id)
                                .where(OrgUnit.deleted_at.is_(None))):
            if r.uscc:
                self.by_uscc.setdefault(r.uscc, r)
            self.by_name.setdefault((r.grid_id, squeeze(r.name)), r)

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        data = {k: v for k, v in vals.items() if k in self.columns}
        explicit = self.places.grid(vals["grid"]) if "grid" in vals else None
        parts = _parts(vals)
        aid, agrid = self.address_of(vals, explicit, create=False)
        grid_id = explicit or agrid or self.grid_for(vals)
        data["grid_id"] = grid_id
        new_address = not parts.empty and aid is None
        if aid is not None:
            data["address_id"] = aid
        elif new_address:
            data["address_id"] = "(new)"
            self.cleaner.assume("address", "(new)")
        draft = self.cleaner.clean(data, None)
        if new_address:
            key = self.existing_key(draft.values)
            if key is not None and key in self.seen:
                data.pop("address_id")
                draft.values.pop("address_id")
            else:
                real = self.places.create_address(grid_id, parts)
                self.cleaner.assume("address", real)
                data["address_id"] = draft.values["address_id"] = real
        self.accept(rr, data, draft)

    def existing_key(self, values: dict[str, Any]) -> Any:
        if values.get("uscc"):
            return ("uscc", values["uscc"])
        if values.get("name"):
            return ("name", values.get("grid_id"), squeeze(values["name"]))
        return None

    def find_existing(self, key: Any) -> Any:
        if key[0] == "uscc":
            return self.by_uscc.get(key[1])
        return self.by_name.get((key[1], key[2]))

    def describe(self, existing: Any) -> str:
        return f"单位“{existing.name}”"


class VisitImporter(RecordImporter):
    kind = "visit"
    key_label = "户、走访日期和走访人"

    def prepare(self) -> None:
        super().prepare()
        from desktop.models import User, Visit

        self.by_cert = _cert_index(self.s)
        self.households = HouseholdIndex(self.s)
        self.users: dict[str, str] = {}
        names: dict[str, list[str]] = {}
        for u in self.s.execute(select(User.username, User.display_name).where(User.deleted_at.is_(None))):
            self.users[squeeze(u.username)] = u.username
            names.setdefault(squeeze(u.display_name), []).append(u.username)
        for name, users in names.items():
            if len(users) == 1:
                self.users.setdefault(name, users[0])
        self.visits: dict[tuple[str, Any, str], Any] = {}
        for v in self.s.execute(select(Visit.id, Visit.household_id, Visit.visited_on, Visit.visitor)
                                .where(Visit.deleted_at.is_(None))):
            self.visits.setdefault((v.household_id, v.visited_on, v.visitor), v)
        self.need_cleaner = Cleaner(self.s, self.actor, "visit_need")
        self.need_cleaner.assume("visit", "(visit)")
        self.needs: list[dict[str, Any]] = []

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        data = {k: v for k, v in vals.items() if k in self.columns}
        hh = self._household(vals)
        data["household_id"] = hh.id
        if "grid" in vals and self.places.grid(vals["grid"]) != hh.grid_id:
            rr.messages.append(f"走访户属于“{self.places.grid_name(hh.grid_id)}”,已按户所在网格登记")
        if "visitor" in data:
            name = squeeze(as_text(data["visitor"]))
            data["visitor"] = self.users.get(name, name)
        else:
            data["visitor"] = self.actor.username
        draft = self.cleaner.clean(data, None)
        needs = self._needs(vals, draft.values.get("grid_id") or hh.grid_id)
        if not has_content(draft.values.get("situation")) and not needs:
            raise RowError("家庭情况", EMPTY_VISIT)
        before = len(self.new_rows)
        self.accept(rr, data, draft)
        if len(self.new_rows) > before:
            vid = self.new_rows[-1]["id"]
            for n in needs:
                n["visit_id"] = vid
                self.needs.append(n)

    def _household(self, vals: dict[str, Any]) -> Any:
        if "hh_no" in vals:
            hh_no = squeeze(as_text(vals["hh_no"]))
            found = self.households.by_no.get(hh_no)
            if not found:
                raise RowError("户号", f"户号:找不到户号为 {hh_no} 的户")
            return found[0]
        if "head_cert_no" in vals:
            cert = _norm_cert(vals["head_cert_no"])
            p = self.by_cert.get(cert or "")
            if p is None or not p.household_id or p.household_id not in self.households.by_id:
                raise RowError("户主证件号码", "户主证件号码:找不到该证件号码所在的户")
            return self.households.by_id[p.household_id]
        parts = _parts(vals)
        if not parts.empty:
            aid, _g = self.places.find_address(self.places.grid(vals["grid"]) if "grid" in vals else None, parts)
            house = self.places.house_at(aid, "", create=False) if aid else None
            found = self.households.by_house.get(house or "") or []
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise RowError("地址全称", "地址:该地址住有多户,请填写户号或户主证件号码")
            raise RowError("地址全称", "地址:找不到住在该地址的户")
        raise RowError("户号", "走访户:请填写户号、户主证件号码或地址")

    def _needs(self, vals: dict[str, Any], grid_id: str) -> list[dict[str, Any]]:
        content = as_text(vals.get("need"))
        if not content:
            return []
        contents = [c for c in str(content).replace(";", "；").split("；") if c.strip()]
        cats_raw = as_text(vals.get("need_category")) or ""
        cats = [c for c in str(cats_raw).replace(",", "、").replace("，", "、").split("、") if c.strip()]
        out = []
        for i, text_ in enumerate(contents):
            cat = cats[i] if i < len(cats) else (cats[-1] if cats else "其他")
            d = self.need_cleaner.clean({"grid_id": grid_id, "category": cat, "content": text_.strip(),
                                         "visit_id": "(visit)"}, None)
            out.append(d.values)
        return out

    def existing_key(self, values: dict[str, Any]) -> Any:
        return (values.get("household_id"), values.get("visited_on"), values.get("visitor"))

    def find_existing(self, key: Any) -> Any:
        return self.visits.get(key)

    def describe(self, existing: Any) -> str:
        return f"{existing.visited_on} 的走访记录"

    def plan_creations(self) -> None:
        self.created = {"needs": len(self.needs)}

    def write(self) -> None:
        super().write()
        self.insert_rows("visit_need", self.needs, "走访诉求")


class HouseholdImporter(RecordImporter):
    kind = "household"
    key_label = "户号"

    def prepare(self) -> None:
        super().prepare()
        self.by_cert = _cert_index(self.s)
        self.households = HouseholdIndex(self.s)
        self.person_cleaner = Cleaner(self.s, self.actor, "person")
        self.new_people: list[dict[str, Any]] = []
        self.person_updates: list[tuple[str, int, dict[str, Any]]] = []
        self.heads: set[str] = set()

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        self.cert_cell(rr, vals, "head_cert_no")
        data = {k: v for k, v in vals.items() if k in self.columns}
        explicit = self.places.grid(vals["grid"]) if "grid" in vals else None
        hh_no = squeeze(as_text(vals.get("hh_no"))) or None
        existing = None
        if hh_no:
            data["hh_no"] = hh_no
            found = self.households.by_no.get(hh_no) or []
            existing = next((h for h in found if explicit in (None, h.grid_id)), found[0] if found else None)
        if existing is not None:
            # the household is registered: its own fields may be updated, nothing else
            first = self.seen.get(("hh_no", hh_no))
            if first is not None:
                rr.status = "skipped"
                rr.messages.append(f"与第 {first} 行的户号相同(文件内重复),已跳过")
                return
            self.seen[("hh_no", hh_no)] = rr.row_no
            if "head_cert_no" in vals or not _parts(vals).empty:
                rr.messages.append("已登记的户:户主和地址不随导入调整(请在户页面操作)")
            self.on_existing(rr, data, existing)
            return
        if hh_no and ("hh_no", hh_no) in self.seen:
            rr.status = "skipped"
            rr.messages.append(f"与第 {self.seen[('hh_no', hh_no)]} 行的户号相同(文件内重复),已跳过")
            return
        parts = _parts(vals)
        aid, agrid = (self.places.find_address(explicit, parts) if not parts.empty else (None, None))
        if aid is None and explicit is None and not parts.empty:
            aid, agrid = self.places.find_address(None, parts)
        grid_id = explicit or agrid or self.grid_for(vals)
        data["grid_id"] = grid_id
        if not hh_no:
            data["hh_no"] = "(待编号)"
        house_id = self.places.house_at(aid, grid_id, create=False) if aid else None
        pending_house = None
        if house_id is None and not parts.empty:
            pending_house = "(new-house)"
            self.cleaner.assume("house", pending_house)
            data["house_id"] = pending_house
        elif house_id is not None:
            data["house_id"] = house_id
        draft = self.cleaner.clean(data, None)
        head = self._head(rr, vals, grid_id)  # validated before anything is created
        hid = new_id()
        if pending_house is not None:
            if aid is None:
                aid = self.places.create_address(grid_id, parts)
            draft.values["house_id"] = self.places.house_at(aid, grid_id)
        if not hh_no:
            draft.values["hh_no"] = self.households.next_number(self.places.grids[grid_id])
        else:
            self.seen[("hh_no", hh_no)] = rr.row_no
            self.households.numbers.add(hh_no)
        draft.values["id"] = hid
        if head is not None:
            pid, new_values, before = head
            draft.values["head_person_id"] = pid
            if new_values is not None:
                new_values.update(household_id=hid, house_id=draft.values.get("house_id"), grid_id=grid_id)
                self.new_people.append(new_values)
            elif before is not None:
                self.person_updates.append((pid, before["version"], {
                    "household_id": hid, "house_id": draft.values.get("house_id"), "grid_id": grid_id,
                    "relation": "02"}))
        self.new_rows.append(draft.values)
        self.note_warnings(rr, draft.warnings)
        rr.record_id = hid

    def _head(self, rr: RowResult, vals: dict[str, Any], grid_id: str) -> tuple[str, dict | None, dict | None] | None:
        """The head: a registered person (moved into the new household when they have none) or
        a new person made from 户主姓名 + 户主证件号码."""
        if "head_cert_no" not in vals:
            if "head_name" in vals:
                rr.messages.append("只填写了户主姓名,没有户主证件号码:户主暂未指定")
            return None
        cert = _norm_cert(vals["head_cert_no"])
        p = self.by_cert.get(cert or "")
        if p is not None:
            if p.id in self.heads:
                raise RowError("户主证件号码", "户主证件号码:该人员已是本文件中另一户的户主")
            if p.household_id:
                raise RowError("户主证件号码", "户主证件号码:该人员已属于其他户,请在户页面迁户或变更户主")
            if not self.actor.may_access(p.grid_id):
                raise RowError("户主证件号码", "户主证件号码:该人员登记在您无权管理的网格")
            table = self.person_cleaner.table
            before = dict(self.s.execute(select(table).where(table.c.id == p.id)).mappings().one())
            self.heads.add(p.id)
            return p.id, None, before
        if "head_name" not in vals:
            raise RowError("户主证件号码", "户主证件号码:该证件号码尚未登记,请同时填写户主姓名以登记户主")
        pid = new_id()
        d = self.person_cleaner.clean({"name": vals["head_name"], "cert_no": as_text(vals["head_cert_no"]),
                                       "relation": "02", "grid_id": grid_id}, None)
        if d.values.get("cert_no") in self.heads:
            raise RowError("户主证件号码", "户主证件号码:与本文件中另一户的户主相同")
        self.heads.add(d.values.get("cert_no") or pid)
        d.values["id"] = pid
        self.note_warnings(rr, d.warnings)
        return pid, d.values, None

    def describe(self, existing: Any) -> str:
        return f"户号 {existing.hh_no}"

    def plan_creations(self) -> None:
        self.created = {"addresses": len(self.places.new_addresses), "houses": len(self.places.new_houses),
                        "people": len(self.new_people)}
        cutoff = elder_cutoff()
        for p in self.new_people:  # each the head and only member of a new household
            p["derived_marks"] = derived_marks(p.get("person_type"), p.get("employment"), p.get("birth_date"), 1, cutoff)

    def write(self) -> None:
        super().write()
        self.insert_rows("person", self.new_people, "户主")
        self.update_rows("person", self.person_updates, "户主")
        self.refresh_marks(set(), {pid for pid, _v, _c in self.person_updates})


IMPORTERS.update({
    "household": HouseholdImporter, "house": HouseImporter, "vehicle": VehicleImporter,
    "org_unit": OrgUnitImporter, "visit": VisitImporter,
})


def _area_importer() -> None:
    from desktop.exchange.areas import AreaImporter

    IMPORTERS["area"] = AreaImporter


_area_importer()
