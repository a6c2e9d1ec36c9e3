"""Grids and standard addresses as an import sees them: every lookup is answered from memory
(loaded once per import), and what the import creates is remembered so the next row finds it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.kinds import field_label
from desktop.models import Address, Area, House, Household, new_id
from desktop.services.errors import ServiceError
from desktop.services.records import Cleaner
from desktop.services.rules import compose_address
from desktop.services.store import Actor

_ADDRESS = re.compile(
    r"^(?P<estate>.+?)(?P<building>[0-9A-Za-z]+)(?:栋|幢|号楼|座)"
    r"(?:(?P<unit>[0-9A-Za-z]+)单元)?(?:(?P<room>[0-9A-Za-z\-]+)(?:室|号|户)?)?$"
)


class RowError(Exception):
    """One row cannot be imported: `field` is the Chinese label (or file header) it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def squeeze(text: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


@dataclass
class Grid:
    id: str
    code: str
    name: str
    community_id: str | None
    community: str


@dataclass
class AddressParts:
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    full: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.estate, self.building, self.unit, self.room, self.full))


@dataclass
class NewHousehold:
    id: str
    grid_id: str
    house_id: str | None
    hh_no: str
    hh_type: str = "1"
    head_person_id: str | None = None
    head_row: int | None = None
    existing: bool = False
    existing_head: str | None = None
    members: list[str] = field(default_factory=list)  # new people
    member_count: int = 0  # live members before the import (existing households)


class Places:
    def __init__(self, s: Session, actor: Actor, default_grid_id: str | None) -> None:
        self.s = s
        self.actor = actor
        rows = s.execute(
            select(Area.id, Area.code, Area.name, Area.level, Area.parent_id).where(Area.deleted_at.is_(None))
        ).all()
        names = {r.id: r.name for r in rows}
        self.grids: dict[str, Grid] = {
            r.id: Grid(r.id, r.code, r.name, r.parent_id, names.get(r.parent_id, "") or "")
            for r in rows if r.level == "grid"
        }
        self._by_code = {g.code: g for g in self.grids.values()}
        self._by_name: dict[str, list[Grid]] = {}
        for g in self.grids.values():
            for key in (squeeze(g.name), squeeze(g.community + g.name)):
                self._by_name.setdefault(key, []).append(g)
        self.default_grid_id = default_grid_id
        if default_grid_id is not None:
            if default_grid_id not in self.grids:
                raise ServiceError("所选的默认网格不存在或不是网格")
            if not actor.may_access(default_grid_id):
                raise ServiceError(f"您没有权限在“{self.grids[default_grid_id].name}”中登记")
        self._grid_cache: dict[str, str] = {}
        self._loaded = False
        self.address_cleaner = Cleaner(s, actor, "address")
        self.new_addresses: list[dict[str, Any]] = []
        self.new_houses: list[dict[str, Any]] = []

    # --- grids ------------------------------------------------------------------------------
    def grid_name(self, grid_id: str | None) -> str:
        g = self.grids.get(grid_id or "")
        return g.name if g else ""

    def grid(self, value: Any) -> str:
        """The grid named or coded by a cell; RowError when unknown, ambiguous or not allowed."""
        text = squeeze(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        hit = self._grid_cache.get(text)
        if hit is not None:
            return hit
        g = self._by_code.get(text)
        if g is None:
            candidates = self._by_name.get(text, [])
            if len(candidates) > 1:
                default = self.grids.get(self.default_grid_id or "")
                near = [c for c in candidates if default is not None and c.community_id == default.community_id]
                if len(near) != 1:
                    near = [c for c in candidates if self.actor.grid_ids is not None and self.actor.may_access(c.id)]
                if len(near) != 1:
                    where = "、".join(sorted({c.community or "?" for c in candidates}))
                    raise RowError("网格", f"网格:“{text}”有重名({where}),请填写网格代码或“社区名+网格名”")
                candidates = near
            if not candidates:
                raise RowError("网格", f"网格:找不到“{text}”,请填写系统中的网格名称或网格代码")
            g = candidates[0]
        if not self.actor.may_access(g.id):
            raise RowError("网格", f"网格:您没有权限在“{g.community}{g.name}”中登记")
        self._grid_cache[text] = g.id
        return g.id

    # --- addresses --------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.addr_by_text: dict[tuple[str, str], str] = {}
        self.addr_by_parts: dict[tuple[Any, ...], str] = {}
        self.addr_text_any: dict[str, list[tuple[str, str]]] = {}
        self.addr_grid: dict[str, str] = {}
        self.addr_text: dict[str, str] = {}
        for a in self.s.execute(
            select(Address.id, Address.grid_id, Address.full_text, Address.estate, Address.building,
                   Address.unit, Address.room).where(Address.deleted_at.is_(None), Address.cancelled.is_(False))
        ):
            self._remember_address(a.id, a.grid_id, a.full_text, a.estate, a.building, a.unit, a.room)
        self.houses_at: dict[str, list[str]] = {}
        self.house_grid: dict[str, str] = {}
        self.house_addr: dict[str, str] = {}
        for h in self.s.execute(select(House.id, House.address_id, House.grid_id).where(House.deleted_at.is_(None))):
            self.houses_at.setdefault(h.address_id, []).append(h.id)
            self.house_grid[h.id] = h.grid_id
            self.house_addr[h.id] = h.address_id

    def _remember_address(self, aid: str, grid_id: str, full: str | None, estate: Any, building: Any,
                          unit: Any, room: Any) -> None:
        text = squeeze(full)
        self.addr_by_text.setdefault((grid_id, text), aid)
        self.addr_by_parts.setdefault((grid_id, *(squeeze(x) for x in (estate, building, unit, room))), aid)
        self.addr_text_any.setdefault(text, []).append((grid_id, aid))
        self.addr_grid[aid] = grid_id
        self.addr_text[aid] = full or ""

    def address_text(self, address_id: str | None) -> str:
        self._load()
        return self.addr_text.get(address_id or "", "")

    def full_text_of(self, parts: AddressParts) -> str:
        if parts.estate or parts.building or parts.unit or parts.room:
            if parts.full:
                return squeeze(parts.full)
            return squeeze(compose_address(parts.estate, parts.building, parts.unit, parts.room))
        return squeeze(parts.full)

    def find_address(self, grid_id: str | None, parts: AddressParts) -> tuple[str | None, str | None]:
        """(address id, its grid) of a live standard address; without a grid, an address found in
        exactly one grid the actor may use."""
        self._load()
        text = self.full_text_of(parts)
        if not text:
            return None, None
        if grid_id is not None:
            aid = self.addr_by_text.get((grid_id, text))
            if aid is None and parts.estate:
                key = (grid_id, *(squeeze(x) for x in (parts.estate, parts.building, parts.unit, parts.room)))
                aid = self.addr_by_parts.get(key)
            return (aid, grid_id) if aid else (None, None)
        found = [(g, a) for g, a in self.addr_text_any.get(text, []) if self.actor.may_access(g)]
        if len(found) == 1:
            return found[0][1], found[0][0]
        return None, None

    def create_address(self, grid_id: str, parts: AddressParts) -> str:
        """A new standard address (validated like `clean('address')` would), remembered for later rows."""
        self._load()
        estate, building, unit, room = parts.estate, parts.building, parts.unit, parts.room
        full = squeeze(parts.full) if parts.full else None
        if not (estate or building or unit or room) and full:
            m = _ADDRESS.match(full)
            if m:
                estate, building, unit, room = m.group("estate"), m.group("building"), m.group("unit"), m.group("room")
            else:
                estate = full[:64]
        if not estate:
            raise RowError("小区", "小区:已填写楼栋、单元或户室,但没有填写小区(街路巷)名称")
        values: dict[str, Any] = {"grid_id": grid_id}
        for key, raw in (("estate", estate), ("building", building), ("unit", unit), ("room", room),
                         ("full_text", full)):
            if raw in (None, ""):
                continue
            ok, value = self.address_cleaner.field(key, raw)
            if not ok:
                raise RowError(field_label("address", key), value[1])
            values[key] = value
        # address_hook: the full text from the parts, the floor from the room number
        if values.get("full_text") is None:
            composed = compose_address(values.get("estate"), values.get("building"), values.get("unit"),
                                       values.get("room"))
            if composed:
                values["full_text"] = composed
        room_v = values.get("room")
        if room_v and str(room_v)[:-2].isdigit():
            values["floor"] = int(str(room_v)[:-2])
        if len(values.get("full_text") or "") > 200:
            raise RowError("地址全称", "地址全称:内容过长(最多 200 个字)")
        aid = new_id()
        values["id"] = aid
        self.new_addresses.append(values)
        self.address_cleaner.assume("address", aid)
        self._remember_address(aid, grid_id, values["full_text"], values.get("estate"), values.get("building"),
                               values.get("unit"), values.get("room"))
        return aid

    def house_at(self, address_id: str, grid_id: str, *, create: bool = True) -> str | None:
        """A live house at the address (the first one), or a new one."""
        self._load()
        houses = self.houses_at.get(address_id)
        if houses:
            return houses[0]
        if not create:
            return None
        hid = new_id()
        self.new_houses.append({"id": hid, "grid_id": grid_id, "address_id": address_id})
        self.houses_at[address_id] = [hid]
        self.house_grid[hid] = grid_id
        self.house_addr[hid] = address_id
        return hid


class HouseholdIndex:
    """Live households by 户号 and by house (loaded once)."""

    def __init__(self, s: Session) -> None:
        self.by_no: dict[str, list[Any]] = {}
        self.by_house: dict[str, list[Any]] = {}
        self.by_id: dict[str, Any] = {}
        self.numbers: set[str] = set()
        for h in s.execute(
            select(Household.id, Household.hh_no, Household.grid_id, Household.house_id,
                   Household.head_person_id, Household.version).where(Household.deleted_at.is_(None))
        ):
            self.by_id[h.id] = h
            self.by_no.setdefault(squeeze(h.hh_no), []).append(h)
            if h.house_id:
                self.by_house.setdefault(h.house_id, []).append(h)
        for (no,) in s.execute(select(Household.hh_no)):
            self.numbers.add(no)
        self._next: dict[str, int] = {}
        self._s = s

    def next_number(self, grid: Grid) -> str:
        """Like rules.next_household_no: grid code tail + a 4-digit sequence not used yet."""
        prefix = (grid.code or "HH")[-8:]
        n = self._next.get(grid.id)
        if n is None:
            from sqlalchemy import func

            n = (self._s.scalar(select(func.count()).select_from(Household).where(Household.grid_id == grid.id)) or 0) + 1
        while f"{prefix}{n:04d}" in self.numbers:
            n += 1
        number = f"{prefix}{n:04d}"
        self.numbers.add(number)
        self._next[grid.id] = n + 1
        return number
