"""The area tree: 区 (district) → 街道 (street) → 社区 (community) → 网格 (grid).

Every area has a parent (none for the top) and a level. The rules, once for the laptop and the
sync server alike:

1. The grids under an area (`AreaTree.grids_under`) are the areas of level ``grid`` reached by
   going down from it through children, the area itself included when it is a grid. An id that
   is not in the tree is not a grid, unless ``unknown_are_grids`` is set (the server, whose area
   records may arrive after a user's scope was set, takes such an id to be a grid); the areas
   that name it as their parent are still walked.
2. The community of a grid (`AreaTree.community_of`) is its parent (a grid sits directly in a
   community).
3. A grid's full name (`AreaTree.grid_label`) is its community's name, a separator, and its name.

A 小区 (level ``estate``) may sit in a grid as an area of its own; it is not a grid, and nothing
below it is an area (buildings, units and rooms are the parts of the standard addresses).

The tree holds live areas only; `desktop.services.areas.area_tree` loads it from the database,
`server.store.area_tree` from the synced area records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AreaNode:
    id: str
    parent_id: str | None
    level: str
    code: str
    name: str


class AreaTree:
    """Areas by id, with their children; built from (id, parent id, level, code, name) rows."""

    def __init__(self, rows: Iterable[tuple[str, str | None, str, str | None, str | None]]) -> None:
        self.nodes: dict[str, AreaNode] = {}
        self.children: dict[str | None, list[str]] = {}
        for rid, parent, level, code, name in rows:
            self.nodes[rid] = AreaNode(rid, parent, level or "", code or "", name or "")
            self.children.setdefault(parent, []).append(rid)

    def get(self, area_id: str | None) -> AreaNode | None:
        return self.nodes.get(area_id) if area_id else None

    def grids_under(self, *area_ids: str, unknown_are_grids: bool = False) -> list[str]:
        """Grid ids at or below the areas (rule 1), in code order, each once."""
        out: set[str] = set()
        seen: set[str] = set()
        stack = list(area_ids)
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            node = self.nodes.get(cur)
            is_grid = (node.level == "grid") if node is not None else unknown_are_grids
            if is_grid:
                out.add(cur)
            stack.extend(self.children.get(cur, []))
        return sorted(out, key=lambda g: (self.nodes[g].code if g in self.nodes else "", g))

    def grids(self) -> list[AreaNode]:
        """Every grid, in code order."""
        return sorted((n for n in self.nodes.values() if n.level == "grid"), key=lambda n: (n.code, n.id))

    def community_of(self, grid_id: str | None) -> AreaNode | None:
        """The community a grid belongs to (rule 2); None for an unknown grid or a top area."""
        node = self.get(grid_id)
        return self.get(node.parent_id) if node is not None else None

    def grid_label(self, grid_id: str, sep: str = " ") -> str:
        """Community name, `sep`, grid name (rule 3); just the grid name without a community."""
        node = self.get(grid_id)
        if node is None:
            return ""
        community = self.community_of(grid_id)
        return f"{community.name}{sep}{node.name}" if community is not None else node.name
