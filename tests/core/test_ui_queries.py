"""The reads the desktop UI used to make with the ORM itself, now services: plain data out, and a grid
worker sees only their own grids."""

from __future__ import annotations

import pytest

from desktop.services.areas import Areas
from desktop.services.errors import PermissionDenied
from desktop.services.events import Visits
from desktop.services.households import Households
from desktop.services.lists import grid_choices
from desktop.services.records import column_kinds
from desktop.services.search import Search, rebuild_index
from desktop.services.store import Actor


def worker_of(grid: dict) -> Actor:
    return Actor("w", "grid_worker", frozenset({grid["id"]}))


@pytest.fixture
def homes(store, admin, community):
    h = Households(store, admin)
    one = h.register(grid_id=community.grid1["id"], address={"estate": "幸福小区", "building": "3", "unit": "2", "room": "501"},
                     members=[community.member("陈建国", 52)])
    two = h.register(grid_id=community.grid2["id"], address={"estate": "和平小区", "building": "1", "room": "101"},
                     members=[community.member("马明", 66)])
    return one, two


def test_grid_choices_label_each_grid_with_its_community(store, admin, community):
    grids = grid_choices(store, admin)
    assert [g["label"] for g in grids] == ["兰化22街区社区 第1网格", "兰化22街区社区 第2网格"]
    assert [g["code"] for g in grids] == ["62010400100101", "62010400100102"]
    assert [g["id"] for g in grid_choices(store, worker_of(community.grid2))] == [community.grid2["id"]]


def test_household_of_house_and_caption(store, admin, community, homes):
    one, two = homes
    h = Households(store, admin)
    assert h.household_of_house(one["house"]["id"]) == one["household"]["id"]
    assert h.household_of_house("no-such-house") is None
    caption = h.caption(one["household"]["id"])
    assert caption == f"陈建国户 · 户号 {one['household']['hh_no']} · 幸福小区3栋2单元501室"
    assert h.caption(None) == ""
    # a grid worker of grid 1: the house in grid 2 has no household they may see
    w = Households(store, worker_of(community.grid1))
    assert w.household_of_house(one["house"]["id"]) == one["household"]["id"]
    assert w.household_of_house(two["house"]["id"]) is None
    with pytest.raises(PermissionDenied):
        w.caption(two["household"]["id"])


def test_address_parts_for_registering(store, admin, community, homes):
    one, two = homes
    addr = Areas(store, admin).address(one["address"]["id"])
    assert addr == {"estate": "幸福小区", "building": "3", "unit": "2", "room": "501", "id": one["address"]["id"]}
    assert Areas(store, admin).address("no-such-address") is None
    worker = Areas(store, worker_of(community.grid1))
    assert worker.address(one["address"]["id"]) is not None
    assert worker.address(two["address"]["id"]) is None


def test_needs_of_a_visit(store, admin, community, homes):
    one, two = homes
    v = Visits(store, admin)
    visit = v.record({"household_id": one["household"]["id"], "method": "入户"},
                     needs=[{"category": "群众诉求", "content": "楼道灯损坏"}, {"category": "就业", "content": "找工作"}])
    other = v.record({"household_id": two["household"]["id"], "method": "入户"},
                     needs=[{"category": "群众诉求", "content": "别的网格"}])
    needs = v.needs(visit["id"])
    assert sorted(n["content"] for n in needs) == ["找工作", "楼道灯损坏"]
    assert all(isinstance(n, dict) and n["status"] == "open" for n in needs)
    v.escalate(needs[0]["id"])
    assert {n["status"] for n in v.needs(visit["id"])} == {"open", "escalated"}
    w = Visits(store, worker_of(community.grid1))
    assert len(w.needs(visit["id"])) == 2
    with pytest.raises(PermissionDenied):
        w.needs(other["id"])


def test_column_kinds_say_how_a_form_field_is_typed():
    kinds = column_kinds("person")
    assert kinds["name"] == "text" and kinds["note"] == "longtext" and kinds["birth_date"] == "date"
    assert column_kinds("house")["area_m2"] == "number" and column_kinds("house")["rent_registered"] == "bool"


def test_rebuild_index_keeps_search_working(store, admin, community, homes):
    rebuild_index(store)
    assert [h.title for h in Search(store, admin).search("陈建国")][:1] == ["陈建国"]


def test_derived_key_only_on_an_encrypted_store(store):
    assert store.derived_key("drafts") is None
