"""The grid map travels like every record: the office draws a grid's buildings and outline over a
background plan, and the grid worker's laptop gets the shapes and the plan's image bytes and
draws the same map; a shape or a plan written around the service on the worker's laptop (which
the policy does not let draw) is refused by the server and set aside."""

from __future__ import annotations

import json

from sqlalchemy import select

from desktop.models import new_id, utcnow
from desktop.services.areas import AreaAdmin
from desktop.services.floorplan import FloorPlans
from desktop.services.map_shapes import MapShapes
from desktop.services.store import Actor
from server.models import Conflict
from tests.core.test_map_shapes import plan_png
from tests.sync.harness import assert_converged, laptop, running_server, sync


def test_shapes_and_the_plan_reach_the_grids_other_laptop_and_a_workers_shape_is_refused(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'server.db'}") as srv:
        srv.add_user("admin", "community_admin")
        office = laptop(tmp_path / "office.db")
        admin = Actor("admin", "community_admin", None, office.meta("device_id"), "管理员")
        areas = AreaAdmin(office, admin)
        community = areas.create_community("兰化22街区社区", code="620104001001")
        grid = areas.create_grid(community["id"], "第1网格")["id"]
        areas.create_building(grid, "幸福小区", "3", units=1, floors=2, rooms_per_floor=2)
        areas.create_building(grid, "幸福小区", "4", units=1, floors=2, rooms_per_floor=2)
        maps = MapShapes(office, admin)
        plan = maps.set_plan(grid, plan_png(), filename="第1网格平面图.png")
        three = maps.draw_building(grid, "幸福小区", "3", [[[[60, 60], [260, 60], [260, 140], [60, 140]],
                                                          [[120, 80], [200, 80], [200, 120], [120, 120]]]])
        outline = maps.draw_outline(grid, [[[[5, 5], [795, 5], [795, 595], [5, 595]]]])
        first = sync(office, srv.url, "admin")
        assert first.pushed["map_shape"] == 2 and first.pushed["attachment"] == 1

        srv.add_user("w1", "grid_worker", ["62010400100101"])
        field = laptop(tmp_path / "w1.db")
        sync(field, srv.url, "w1")
        worker = Actor("w1", "grid_worker", frozenset({grid}), field.meta("device_id"), "网格员")
        theirs = MapShapes(field, worker)
        got = theirs.plan(grid)
        assert got is not None and got.available and (got.width, got.height, got.sha256) == (
            plan.width, plan.height, plan.sha256)
        assert theirs.plan_image(grid) == maps.plan_image(grid)  # the image bytes came too
        assert {(s.id, s.what) for s in theirs.shapes(grid)} == {(three.id, "building"), (outline.id, "grid_outline")}
        m = FloorPlans(field, worker).grid_map(grid)
        by = {b.building: b for b in m.buildings}
        assert m.space == "image" and m.outline_id == outline.id
        assert by["3"].drawn == "image" and by["3"].parts == three.polygons and by["4"].drawn is None

        # the office redraws building 3; the worker's laptop follows
        maps.draw_building(grid, "幸福小区", "3", [[[[300, 300], [400, 300], [400, 380], [300, 380]]]])
        sync(office, srv.url, "admin")
        sync(field, srv.url, "w1")
        assert theirs.shapes(grid)[1].polygons[0][0][0] == (300, 300)

        # rows written around the service on the worker's laptop: the server refuses them
        now = utcnow()
        with field.transaction() as s:
            c = s.connection()
            c.exec_driver_sql(
                "INSERT INTO map_shape (id, version, created_at, created_by, updated_at, updated_by, grid_id, what, "
                "estate, building, space, geometry) VALUES (?, 1, ?, 'w1', ?, 'w1', ?, 'building', '幸福小区', '4', "
                "'image', ?)", (new_id(), now, now, grid, json.dumps([[[[1, 1], [50, 1], [50, 50]]]])))
            c.exec_driver_sql(
                "INSERT INTO attachment (id, version, created_at, created_by, updated_at, updated_by, grid_id, "
                "owner_kind, owner_id, purpose, mime, width, height, byte_size, sha256, data, thumb) VALUES "
                "(?, 1, ?, 'w1', ?, 'w1', ?, 'area', ?, 'map_plan', 'image/jpeg', 10, 10, 3, ?, x'010203', x'')",
                (new_id(), now, now, grid, grid, "a" * 64))
        pushed = sync(field, srv.url, "w1")
        assert pushed.push_status.get("rejected") == 2
        with srv.store.session() as s:
            reasons = s.execute(select(Conflict.table_name, Conflict.reason).where(Conflict.kind == "rejected")).all()
        assert sorted(t for t, _ in reasons) == ["attachment", "map_shape"]
        assert all(r.startswith("您没有权限修改社区和网格设置:只有") for _, r in reasons)
        sync(office, srv.url, "admin")
        assert [s.building for s in maps.shapes(grid) if s.what == "building"] == ["3"]
        assert maps.plan(grid).sha256 == plan.sha256
        # the refused rows stay on the worker's laptop, set aside; everything else is the same everywhere
        with field.transaction() as s:
            s.connection().exec_driver_sql("DELETE FROM map_shape WHERE created_by = 'w1'")
            s.connection().exec_driver_sql("DELETE FROM attachment WHERE created_by = 'w1'")
        assert_converged(srv, (office, None), (field, [grid]))
        office.close()
        field.close()
