"""A fresh server and an admin laptop: the admin creates the community's grids in the app, the
normal push takes them to the server, which can then assign them to users (set-grids, add-user);
a grid worker pulls their grid with its rooms. A grid worker's push that creates a grid is refused
by the server (the policy: only those who may edit areas)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop.models import Address, Area
from desktop.services.areas import AreaAdmin
from desktop.services.store import SYSTEM, Actor
from server import service
from server.service import ApiError
from server.store import area_tree
from tests.sync.harness import laptop, running_server, sync


def _count(store, model, **where):
    with store.session() as s:
        q = select(func.count()).select_from(model).where(model.deleted_at.is_(None))
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q)


def test_grids_created_on_an_admin_laptop_reach_a_fresh_server(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'server.db'}") as srv:
        srv.add_user("admin", "community_admin")
        office = laptop(tmp_path / "office.db")
        admin = Actor("admin", "community_admin", None, office.meta("device_id"), "管理员")
        areas = AreaAdmin(office, admin)
        community = areas.create_community("兰化22街区社区", code="620104001001")
        g1 = areas.create_grid(community["id"], "第1网格")
        g2 = areas.create_grid(community["id"], "第2网格")
        areas.create_building(g1["id"], "幸福小区", "3", units=3, floors=6, rooms_per_floor=2)
        areas.create_building(g2["id"], "和平家园", "1", units=1, floors=2, rooms_per_floor=2)
        # the server knows no grid yet: it refuses to assign one
        with pytest.raises(ApiError, match="服务器上没有编号或代码为“62010400100101”的网格.*地址与网格 → 新建 → 新建网格"):
            srv.add_user("w1", "grid_worker", ["62010400100101"])

        first = sync(office, srv.url, "admin")
        assert first.pushed["area"] == 5 and first.pushed["address"] == 40
        assert first.push_status.get("applied") == 45 and not first.push_status.get("rejected")
        with srv.store.session() as s:
            tree = area_tree(s)
        assert [g.code for g in tree.grids()] == ["62010400100101", "62010400100102"]

        # now the server assigns them, by code
        srv.add_user("w1", "grid_worker", ["62010400100101"])
        srv.add_user("w2", "grid_worker", ["62010400100101"])
        assert service.set_areas(srv.store, "w2", ["62010400100102"]) == [g2["id"]]
        with pytest.raises(ApiError, match="“62010400100101X01”是小区“幸福小区”,不能分配;请填写网格或社区的代码"):
            service.set_areas(srv.store, "w2", ["62010400100101X01"])

        field = laptop(tmp_path / "w1.db")
        pulled = sync(field, srv.url, "w1")
        assert pulled.pulled["address"] == 36
        assert _count(field, Area, level="grid") == 2  # the community's areas, for names
        assert _count(field, Address, grid_id=g1["id"]) == 36 and _count(field, Address, grid_id=g2["id"]) == 0
        with field.session() as s:
            assert s.scalar(select(Address.full_text).where(Address.room == "602", Address.unit == "3")) \
                == "幸福小区3栋3单元602室"

        # a renamed grid travels the same way
        areas.rename_area(g1["id"], "东区网格")
        sync(office, srv.url, "admin")
        sync(field, srv.url, "w1")
        with field.session() as s:
            assert s.get(Area, g1["id"]).name == "东区网格"

        # a grid worker's laptop that creates a grid (an older or hand-edited file: the app
        # itself refuses them) has it refused by the server
        rogue = AreaAdmin(field, SYSTEM).create_grid(community["id"], "私建网格")
        refused = sync(field, srv.url, "w1")
        assert refused.pushed["area"] == 1
        with srv.store.session() as s:
            assert rogue["id"] not in area_tree(s).nodes
        assert dict(refused.push_status) == {"rejected": 1}
        with pytest.raises(ApiError, match=rogue["code"]):
            service.set_areas(srv.store, "w1", [rogue["code"]])
        office.close()
        field.close()


def test_an_admin_assigned_one_community_creates_a_grid_and_its_rooms_in_one_push(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'server.db'}") as srv:
        srv.add_user("admin", "community_admin")
        office = laptop(tmp_path / "office.db")
        areas = AreaAdmin(office, Actor("admin", "community_admin", None, office.meta("device_id")))
        community = areas.create_community("兰化22街区社区", code="620104001001")
        other = areas.create_community("西湖社区", code="620104001002")
        areas.create_grid(community["id"], "第1网格")
        sync(office, srv.url, "admin")
        srv.add_user("zhang", "community_admin", ["620104001001"])  # this community only
        mine = AreaAdmin(office, Actor("zhang", "community_admin", None, office.meta("device_id")))
        g2 = mine.create_grid(community["id"], "第2网格")
        mine.create_building(g2["id"], "幸福小区", "1", units=1, floors=2, rooms_per_floor=2)
        theirs = mine.create_grid(other["id"], "第1网格")
        mine.create_building(theirs["id"], "西湖小区", "1", units=1, floors=1, rooms_per_floor=1)
        result = sync(office, srv.url, "zhang")
        # the new grid of their community and its rooms go in; the other community's rooms do not
        assert dict(result.push_status) == {"applied": 8, "rejected": 1}
        with srv.store.session() as s:
            tree = area_tree(s)
        assert g2["id"] in tree.nodes and tree.community_of(g2["id"]).name == "兰化22街区社区"
        office.close()
