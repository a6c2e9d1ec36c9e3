"""The import of the area tree: 社区, 网格, 小区, 楼栋 (whole, by counts) and 户室, one row at a time.

A row names a place from the top down and creates what does not exist yet:

1. 社区 (by name or 社区代码): an unknown one is created (its code from the 社区代码 column, or
   numbered); left out, the community of the row's grid, or the only community there is.
2. 网格 (by 网格代码, else by name in its community): an unknown one is created in the community
   (its code from the column, or the community's code + a two-digit number). A row without 网格
   goes to the grid chosen for the import, if one was.
3. 小区: created in the grid when the grid has none of that name.
4. A building by counts (楼栋 + 单元数 + 层数 + 每层户数): every room is generated, numbered as in
   地址与网格 (desktop.services.areas.AreaAdmin.room_numbers); a building that has rooms already is
   skipped. Or one room (楼栋, 单元, 户室): created unless it exists.

A row that creates nothing is skipped ("已存在"). Only those the policy lets edit areas may run it.
The example row of the template (备注 “示例行…”) is skipped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from desktop.exchange.base_importer import BaseImporter
from desktop.exchange.cells import as_text
from desktop.exchange.places import AddressParts, RowError, squeeze
from desktop.exchange.report import RowResult
from desktop.models import Address, Area, new_id
from desktop.policy import Ability
from desktop.services.areas import MAX_FLOORS, MAX_PER_FLOOR, MAX_UNITS, AreaAdmin
from desktop.services.errors import require
from desktop.services.rules import compose_address

EXAMPLE_NOTE = "示例行,导入时自动跳过,可删除"
COUNTS = (("units", "单元数", MAX_UNITS), ("floors", "层数", MAX_FLOORS), ("per_floor", "每层户数", MAX_PER_FLOOR))


def _count(value: Any, what: str, top: int) -> int:
    text = squeeze(as_text(value))
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise RowError(what, f"{what}:应为 1 到 {top} 之间的整数,现为“{as_text(value)}”")
    return int(text)


class AreaImporter(BaseImporter):
    kind = "area"

    def prepare(self) -> None:
        require(self.actor, Ability.EDIT_AREAS, act="导入社区、网格、小区和楼栋")
        self.new_areas: list[dict[str, Any]] = []
        self.area_codes: set[str] = set(self.s.scalars(select(Area.code)))
        self.areas: dict[str, dict[str, Any]] = {}
        for a in self.s.execute(select(Area.id, Area.level, Area.code, Area.name, Area.parent_id)
                                .where(Area.deleted_at.is_(None))):
            self.areas[a.id] = {"id": a.id, "level": a.level, "code": a.code, "name": a.name, "parent_id": a.parent_id}
        self.estates: set[tuple[str, str]] = {(a["parent_id"], a["name"]) for a in self.areas.values()
                                              if a["level"] == "estate"}
        self.buildings: dict[tuple[str, str, str], int] = {}
        self.rooms: set[tuple[Any, ...]] = set()
        for r in self.s.execute(select(Address.grid_id, Address.estate, Address.building, Address.unit, Address.room)
                                .where(Address.deleted_at.is_(None))):
            self.estates.add((r.grid_id, r.estate))
            key = (r.grid_id, r.estate, r.building or "")
            self.buildings[key] = self.buildings.get(key, 0) + 1
            self.rooms.add((r.grid_id, r.estate, r.building or "", r.unit or "", r.room or ""))
        self.made = {"communities": 0, "grids": 0, "estates": 0, "addresses": 0}

    # --- areas ------------------------------------------------------------------------------------
    def _of(self, level: str, **match: Any) -> list[dict[str, Any]]:
        return [a for a in self.areas.values() if a["level"] == level
                and all(squeeze(a[k]) == squeeze(v) if k != "parent_id" else a[k] == v for k, v in match.items())]

    def _new_area(self, rr: RowResult, level: str, name: str, code: str, parent_id: str | None, what: str) -> str:
        values = {"level": level, "code": code, "name": name, "parent_id": parent_id}
        draft = self.cleaner.clean(values, None)  # validated like a form (names, lengths, the parent)
        aid = new_id()
        row = {**draft.values, "id": aid}
        self.new_areas.append(row)
        self.areas[aid] = {"id": aid, "level": level, "code": code, "name": row["name"], "parent_id": parent_id}
        self.area_codes.add(code)
        self.cleaner.assume("area", aid, level=level, name=row["name"])
        self.places.address_cleaner.assume("area", aid, level=level, name=row["name"])
        rr.messages.append(f"新建{what}“{row['name']}”(代码 {code})")
        return aid

    def _code(self, value: Any, what: str) -> str | None:
        code = squeeze(as_text(value)) if value is not None else ""
        if not code:
            return None
        if not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in code) or len(code) > 32:
            raise RowError(what, f"{what}:“{code}”应为 1–32 位数字、字母或 -")
        return code

    def _next_code(self, prefix: str, width: int) -> str:
        n = 1
        while f"{prefix}{n:0{width}d}" in self.area_codes:
            n += 1
        return f"{prefix}{n:0{width}d}"

    def _community(self, rr: RowResult, vals: dict[str, Any], grid: dict[str, Any] | None) -> str:
        name = squeeze(as_text(vals.get("community")))
        code = self._code(vals.get("community_code"), "社区代码")
        if code:
            hit = self._of("community", code=code)
            if hit:
                if name and squeeze(hit[0]["name"]) != name:
                    raise RowError("社区", f"社区:代码 {code} 是“{hit[0]['name']}”,与“{name}”不符,请核对")
                return hit[0]["id"]
        if name:
            hits = self._of("community", name=name)
            if len(hits) > 1:
                raise RowError("社区", f"社区:“{name}”有重名,请填写社区代码")
            if hits:
                return hits[0]["id"]
            if code and code in self.area_codes:
                raise RowError("社区代码", f"社区代码:“{code}”已被其他区域使用,请换一个代码")
            return self._new_area(rr, "community", name, code or self._next_code("C", 3), None, "社区")
        if grid is not None and grid.get("parent_id"):
            return grid["parent_id"]
        all_ = self._of("community")
        if len(all_) == 1:
            return all_[0]["id"]
        raise RowError("社区", "社区:请填写社区名称(系统中有多个社区,或还没有社区)")

    def _grid(self, rr: RowResult, vals: dict[str, Any]) -> str:
        name = squeeze(as_text(vals.get("grid_name")))
        code = self._code(vals.get("grid_code"), "网格代码")
        default = self.places.default_grid_id
        if not name and not code and default is not None and not vals.get("community"):
            return default  # the grid chosen for the whole import
        by_code = self._of("grid", code=code) if code else []
        community_id = self._community(rr, vals, by_code[0] if by_code else None)
        if by_code:
            grid = by_code[0]
            if grid["parent_id"] != community_id:
                raise RowError("网格代码", f"网格代码:{code} 是“{self.areas[grid['parent_id']]['name']}”的"
                                         f"“{grid['name']}”,不在本行的社区中,请核对")
            if name and squeeze(grid["name"]) != name:
                raise RowError("网格", f"网格:代码 {code} 是“{grid['name']}”,与“{name}”不符,请核对")
            return grid["id"]
        if not name:
            raise RowError("网格", "网格:请填写网格名称或网格代码")
        hits = self._of("grid", name=name, parent_id=community_id)
        if hits:
            return hits[0]["id"]
        if code and code in self.area_codes:
            raise RowError("网格代码", f"网格代码:“{code}”已被其他区域使用,请换一个代码")
        community = self.areas[community_id]
        self.made["grids"] += 1
        return self._new_area(rr, "grid", name, code or self._next_code(community["code"], 2), community_id, "网格")

    # --- one row ----------------------------------------------------------------------------------
    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        if squeeze(as_text(vals.get("note"))) == squeeze(EXAMPLE_NOTE):
            rr.status = "skipped"
            rr.messages.append("模板中的示例行,已跳过")
            return
        mark, before = len(self.new_areas), len(rr.messages)
        try:
            self._row(rr, vals)
        except Exception:  # a rejected row leaves nothing behind (its new areas are forgotten)
            for a in self.new_areas[mark:]:
                self.areas.pop(a["id"], None)
                self.area_codes.discard(a["code"])
                self.estates.discard((a["parent_id"], a["name"]))
            del self.new_areas[mark:]
            del rr.messages[before:]
            raise

    def _row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        # everything the row says is checked before anything is created
        estate = squeeze(as_text(vals.get("estate")))
        building = squeeze(as_text(vals.get("building")))
        for suffix in ("栋", "幢", "号楼", "座"):
            if building.endswith(suffix) and len(building) > len(suffix):
                building = building[: -len(suffix)]
        unit = squeeze(as_text(vals.get("unit")))
        room = squeeze(as_text(vals.get("room")))
        by_counts = any(k in vals for k, _w, _t in COUNTS)
        if (building or by_counts or room or unit) and not estate:
            raise RowError("小区", "小区:已填写楼栋或户室,但没有填写小区名称")
        if len(estate) > 64:
            raise RowError("小区", "小区:名称太长(最多 64 个字)")
        if by_counts:
            if room or unit:
                raise RowError("户室", "户室:整栋生成(单元数、层数、每层户数)时不要再填写单元和户室,请分成两行")
            if not building:
                raise RowError("楼栋", "楼栋:按单元数、层数、每层户数生成户室时,请填写楼栋号")
            units, floors, per_floor = (_count(vals.get(k), w, t) for k, w, t in COUNTS)
        elif building and not room:
            raise RowError("户室", "户室:只填了楼栋时,请同时填写单元数、层数和每层户数(整栋生成),或填写户室")
        before = len(rr.messages)
        grid_id = self._grid(rr, vals)
        grid = self.areas[grid_id]
        rr.record_id = grid_id
        if estate and (grid_id, estate) not in self.estates:
            self._new_area(rr, "estate", estate, self._next_code(f"{grid['code']}X", 2), grid_id, "小区")
            self.estates.add((grid_id, estate))
        made = len(rr.messages) > before
        if by_counts:
            have = self.buildings.get((grid_id, estate, building), 0)
            if have:
                rr.messages.append(f"{compose_address(estate, building, None, None)}已有 {have} 个户室,未再生成")
            else:
                for u, _floor, r in AreaAdmin.room_numbers(units, floors, per_floor):
                    self._room(grid, estate, building, u, r)
                rr.messages.append(f"生成{compose_address(estate, building, None, None)} {units * floors * per_floor} 个户室")
                made = True
        elif room:
            if (grid_id, estate, building, unit, room) in self.rooms:
                rr.messages.append(f"{compose_address(estate, building, unit, room)}已存在")
            else:
                self._room(grid, estate, building, unit, room)
                rr.messages.append(f"新建户室 {compose_address(estate, building, unit, room)}")
                made = True
        if not made:
            rr.status = "skipped"
            if len(rr.messages) == before:
                rr.messages.append(f"{'小区' if estate else '网格'}已存在")

    def _room(self, grid: dict[str, Any], estate: str, building: str, unit: str, room: str) -> None:
        self.places.create_address(grid["id"], AddressParts(estate, building or None, unit or None, room))
        made = self.places.new_addresses[-1]
        if building.isdigit() and unit and room:
            made["code"] = f"{grid['code']}{int(building):02d}{unit}{room}"
        self.rooms.add((grid["id"], estate, building, unit, room))
        key = (grid["id"], estate, building)
        self.buildings[key] = self.buildings.get(key, 0) + 1

    def plan_creations(self) -> None:
        levels = [a["level"] for a in self.new_areas]
        self.created = {"communities": levels.count("community"), "grids": levels.count("grid"),
                        "estates": levels.count("estate"), "addresses": len(self.places.new_addresses)}

    def write(self) -> None:
        order = {"community": 0, "grid": 1, "estate": 2}  # parents before children
        self.insert_rows("area", sorted(self.new_areas, key=lambda a: order.get(a["level"], 3)), "区域")
        self.insert_rows("address", self.places.new_addresses, "标准地址")
