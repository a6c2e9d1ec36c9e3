"""One area tree (desktop.domain.areas) for lists, stats, export, the user admin and the server."""

from __future__ import annotations

from desktop.domain.areas import AreaTree
from desktop.services.areas import area_tree
from desktop.services.records import Records

ROWS = [
    ("d", None, "district", "62", "西固区"),
    ("s", "d", "street", "6201", "福利路街道"),
    ("c1", "s", "community", "620101", "甲社区"),
    ("c2", "s", "community", "620102", "乙社区"),
    ("g2", "c1", "grid", "62010102", "第2网格"),
    ("g1", "c1", "grid", "62010101", "第1网格"),
    ("g3", "c2", "grid", "62010201", "第3网格"),
    ("orphan", "gone", "grid", "9", "孤网格"),  # its parent's record has not arrived
]


def test_grids_under_an_area():
    tree = AreaTree(ROWS)
    assert tree.grids_under("c1") == ["g1", "g2"]  # code order
    assert tree.grids_under("d") == ["g1", "g2", "g3"]
    assert tree.grids_under("g3") == ["g3"]
    assert tree.grids_under("c1", "c2", "g1") == ["g1", "g2", "g3"]
    assert tree.grids_under("nowhere") == []
    assert tree.grids_under("nowhere", unknown_are_grids=True) == ["nowhere"]
    assert tree.grids_under("gone") == ["orphan"]  # an unknown area's known children still count


def test_community_and_label_of_a_grid():
    tree = AreaTree(ROWS)
    assert tree.community_of("g3").id == "c2"
    assert tree.community_of("nowhere") is None
    assert tree.grid_label("g1") == "甲社区 第1网格"
    assert tree.grid_label("g1", " / ") == "甲社区 / 第1网格"
    assert tree.grid_label("orphan") == "孤网格"
    assert [g.id for g in tree.grids()] == ["g1", "g2", "g3", "orphan"]


def test_the_stored_tree_leaves_deleted_areas_out(store, admin, community):
    r = Records(store, admin)
    extra = r.create("area", {"level": "grid", "code": "62010400100103", "name": "第3网格",
                              "parent_id": community.community["id"]})
    r.delete("area", extra["id"])
    with store.session() as s:
        tree = area_tree(s)
    assert tree.grids_under(community.district["id"]) == [community.grid1["id"], community.grid2["id"]]
    assert tree.community_of(community.grid2["id"]).name == "兰化22街区社区"

