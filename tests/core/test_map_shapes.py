"""The grid map's own records (desktop/services/map_shapes.py): a background plan from an image
file, buildings and the grid's outline drawn over it, edited, relinked and deleted; refusals
(a file that is no image, a huge one, a worker, a shape that is no polygon) change nothing; the
map and the GeoJSON import keep real polygons, holes and several parts included."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import text

from desktop.domain.geo import GeoError, check_polygons, dump_polygons, label_point, load_polygons
from desktop.services import map_shapes
from desktop.services.areas import AreaAdmin
from desktop.services.errors import PermissionDenied, ServiceError, ValidationFailed
from desktop.services.floorplan import FloorPlans
from desktop.services.map_shapes import MapShapes
from desktop.services.records import Records
from desktop.services.store import Actor


def plan_png(width: int = 800, height: int = 600) -> bytes:
    """A made-up scanned plan: paper, two roads, three blocks outlined."""
    img = Image.new("RGB", (width, height), (246, 242, 230))
    d = ImageDraw.Draw(img)
    d.rectangle([0, height // 2 - 12, width, height // 2 + 12], fill=(210, 210, 210))
    d.rectangle([width // 2 - 10, 0, width // 2 + 10, height], fill=(210, 210, 210))
    for x0, y0 in ((60, 60), (500, 60), (60, 380)):
        d.rectangle([x0, y0, x0 + 200, y0 + 80], outline=(60, 60, 60), width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


RECT = [[[[60, 60], [260, 60], [260, 140], [60, 140]]]]  # one polygon, its outer ring


@pytest.fixture
def grid(store, admin, community):
    g = community.grid1["id"]
    a = AreaAdmin(store, admin)
    a.create_building(g, "幸福小区", "3", units=1, floors=2, rooms_per_floor=2)
    a.create_building(g, "幸福小区", "4", units=1, floors=2, rooms_per_floor=2)
    a.create_building(g, "阳光小区", "1", units=1, floors=1, rooms_per_floor=1)
    return g


@pytest.fixture
def worker(grid):
    return Actor("wgy", "grid_worker", frozenset({grid}), "dev-2", "网格员")


def _rows(store, table="map_shape"):
    with store.engine.connect() as c:
        return c.execute(text(f"SELECT id, version, deleted_at FROM {table} ORDER BY id")).all()


def test_a_plan_and_a_drawn_building_make_the_map_in_the_plans_pixels(store, admin, grid, tmp_path):
    maps = MapShapes(store, admin)
    (tmp_path / "plan.png").write_bytes(plan_png())
    plan = maps.set_plan(grid, tmp_path / "plan.png")
    assert (plan.width, plan.height, plan.available) == (800, 600, True)
    assert Image.open(io.BytesIO(maps.plan_image(grid))).format == "JPEG"
    with store.engine.connect() as c:
        owner = c.execute(text("SELECT owner_kind, owner_id, purpose, grid_id FROM attachment")).one()
        audit = c.execute(text("SELECT summary FROM audit_log WHERE entity = 'attachment'")).scalars().all()
    assert tuple(owner) == ("area", grid, "map_plan", grid) and audit == ["设置网格底图(800×600 像素)"]

    shape = maps.draw_building(grid, "幸福小区", "3", RECT)
    assert shape.space == "image" and shape.polygons == [[[(60, 60), (260, 60), (260, 140), (60, 140)]]]
    m = FloorPlans(store, admin).grid_map(grid)
    assert m.space == "image" and m.plan is not None and m.plan.id == plan.id
    three = next(b for b in m.buildings if b.building == "3")
    assert three.drawn == "image" and three.shape_id == shape.id and three.located
    assert three.polygon == [(60, 60), (260, 60), (260, 140), (60, 140)] and three.status == "unregistered"
    # the buildings not drawn yet stand in a column to the right of the plan, none on another
    rest = [b for b in m.buildings if b.building != "3"]
    assert all(not b.drawn and min(x for x, _ in b.polygon) > 800 for b in rest)
    x0, y0, x1, y1 = m.extent
    assert (x0, y0) == (0, 0) and x1 > 800 and y1 >= 600

    # drawn again: the same record, a new geometry (one shape per building)
    again = maps.draw_building(grid, "幸福小区", "3", [[[[100, 100], [300, 100], [200, 250]]]])
    assert again.id == shape.id and again.version == shape.version + 1
    assert len([r for r in _rows(store) if r.deleted_at is None]) == 1
    # and each write is in the sync change log
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM sync_outbox WHERE table_name = 'map_shape'")).scalar() == 2
        assert c.execute(text("SELECT count(*) FROM sync_outbox WHERE table_name = 'attachment'")).scalar() == 1


def test_edit_relink_and_delete_a_shape_and_draw_the_outline(store, admin, grid):
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png(), filename="网格图.png")
    three = maps.draw_building(grid, "幸福小区", "3", RECT)
    four = maps.draw_building(grid, "幸福小区", "4", [[[[500, 60], [700, 60], [700, 140], [500, 140]]]])
    moved = maps.update(three.id, polygons=[[[[60, 380], [260, 380], [260, 460], [60, 460]]]])
    assert moved.polygons[0][0][0] == (60, 380) and moved.version == three.version + 1
    with pytest.raises(ServiceError, match="已有轮廓"):
        maps.update(three.id, estate="幸福小区", building="4")
    relinked = maps.update(three.id, estate="阳光小区", building="1")
    assert (relinked.estate, relinked.building) == ("阳光小区", "1")
    outline = maps.draw_outline(grid, [[[[5, 5], [795, 5], [795, 595], [5, 595]]]])
    m = FloorPlans(store, admin).grid_map(grid)
    assert m.outline_id == outline.id and m.outline == [(5, 5), (795, 5), (795, 595), (5, 595)]
    assert {b.building: b.drawn for b in m.buildings} == {"3": None, "4": "image", "1": "image"}
    maps.delete(four.id)
    with pytest.raises(ServiceError, match="找不到该形状"):
        maps.delete(four.id)
    assert {sh.label for sh in maps.shapes(grid)} == {"网格边界", "阳光小区1栋"}
    with store.engine.connect() as c:
        actions = c.execute(text("SELECT action FROM audit_log WHERE entity = 'map_shape' ORDER BY seq")).scalars().all()
    assert actions == ["create", "create", "update", "update", "create", "delete"]


def test_a_new_plan_scales_the_drawn_shapes_and_removing_it_takes_them_along(store, admin, grid):
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png(800, 600))
    maps.draw_building(grid, "幸福小区", "3", RECT)
    maps.set_plan(grid, plan_png(400, 300))
    (shape,) = maps.shapes(grid)
    assert shape.polygons[0][0] == [(30, 30), (130, 30), (130, 70), (30, 70)]
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM attachment WHERE deleted_at IS NULL")).scalar() == 1
    assert maps.remove_plan(grid) == 1
    assert maps.plan(grid) is None and maps.shapes(grid) == []
    m = FloorPlans(store, admin).grid_map(grid)
    assert m.space == "metres" and not any(b.drawn for b in m.buildings)


def test_a_file_that_is_no_image_or_too_large_changes_nothing(store, admin, grid, tmp_path, monkeypatch):
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    maps.draw_building(grid, "幸福小区", "3", RECT)
    before = (_rows(store, "attachment"), _rows(store), maps.plan(grid))
    fake = tmp_path / "平面图.jpg"
    fake.write_text("这不是图片", encoding="utf-8")
    with pytest.raises(ServiceError) as exc:
        maps.set_plan(grid, fake)
    assert str(exc.value) == ("文件“平面图.jpg”不是可识别的图片或已损坏,底图没有更改:"
                              "请选择扫描或拍摄的网格平面图(JPG、PNG 等格式)")
    with pytest.raises(ServiceError, match="不是可识别的图片"):
        maps.set_plan(grid, b"%PDF-1.7 ...", filename="plan.pdf")
    monkeypatch.setattr(map_shapes, "PLAN_MAX_BYTES", 1000)
    with pytest.raises(ServiceError, match="超过底图 0 MB 的上限"):
        maps.set_plan(grid, plan_png())
    with pytest.raises(ServiceError, match="无法读取文件"):
        maps.set_plan(grid, tmp_path / "missing.png")
    assert (_rows(store, "attachment"), _rows(store), maps.plan(grid)) == before


@pytest.mark.parametrize(("geometry", "says"), [
    ([[[[10, 10], [20, 20]]]], "少于 3 个不同的点"),
    ([[[[10, 10], [20, 20], [30, 30]]]], "面积为零"),
    ([[[[10, 10], [900, 10], [900, 90]]]], "在底图之外"),
    ([[[[10, 10], ["x", 10], [20, 90]]]], "不是有效的数字坐标"),
    ([], "没有任何多边形"),
    ("{not json", "不是有效的 JSON"),
    ([[[10, 10], [20, 10], [20, 20]]], "点格式不对"),  # a polygon where polygons are expected
])
def test_a_shape_that_is_no_polygon_is_refused(store, admin, grid, geometry, says):
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    with pytest.raises(ServiceError, match=says) as exc:
        maps.draw_building(grid, "幸福小区", "3", geometry)
    assert exc.value.message.endswith("没有做任何修改")
    assert _rows(store) == []


def test_a_shape_links_to_a_building_of_its_grid_and_needs_a_plan_to_be_drawn(store, admin, community, grid):
    maps = MapShapes(store, admin)
    with pytest.raises(ServiceError, match="还没有底图"):
        maps.draw_building(grid, "幸福小区", "3", RECT)
    maps.set_plan(grid, plan_png())
    with pytest.raises(ValidationFailed, match="本网格没有“幸福小区9栋”"):
        maps.draw_building(grid, "幸福小区", "9", RECT)
    # written around the service: the record check holds the same rules
    r = Records(store, admin)
    with pytest.raises(ValidationFailed, match="形状类型"):
        r.create("map_shape", {"grid_id": grid, "what": "tree", "space": "image", "geometry": json.dumps(RECT)})
    with pytest.raises(ValidationFailed, match="网格边界不链接楼栋"):
        r.create("map_shape", {"grid_id": grid, "what": "grid_outline", "estate": "幸福小区", "building": "3",
                               "space": "image", "geometry": json.dumps(RECT)})
    with pytest.raises(ValidationFailed, match="在底图之外"):
        r.create("map_shape", {"grid_id": grid, "what": "building", "estate": "幸福小区", "building": "3",
                               "space": "image", "geometry": json.dumps([[[[0, 0], [5000, 0], [0, 10]]]])})
    assert _rows(store) == []


def test_workers_read_the_map_but_only_admins_draw(store, admin, community, grid, worker):
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    shape = maps.draw_building(grid, "幸福小区", "3", RECT)
    theirs = MapShapes(store, worker)
    assert theirs.plan(grid) is not None and [s.id for s in theirs.shapes(grid)] == [shape.id]
    assert FloorPlans(store, worker).grid_map(grid).space == "image"
    before = (_rows(store, "attachment"), _rows(store))
    for attempt in (lambda: theirs.set_plan(grid, plan_png()), lambda: theirs.draw_building(grid, "幸福小区", "4", RECT),
                    lambda: theirs.draw_outline(grid, RECT), lambda: theirs.update(shape.id, polygons=RECT),
                    lambda: theirs.delete(shape.id), lambda: theirs.remove_plan(grid),
                    lambda: Records(store, worker).update("map_shape", shape.id, {"geometry": json.dumps(RECT)})):
        with pytest.raises(PermissionDenied, match="只有"):
            attempt()
    assert (_rows(store, "attachment"), _rows(store)) == before
    stranger = Actor("w2", "grid_worker", frozenset({community.grid2["id"]}), "dev-3", "网格员")
    with pytest.raises(PermissionDenied, match="没有负责网格"):
        MapShapes(store, stranger).shapes(grid)


# --- the stored geometry ---------------------------------------------------------------------------

def test_geometry_round_trips_and_a_long_one_is_simplified_to_fit():
    import math

    square_with_hole = [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]], [[40, 40], [60, 40], [60, 60], [40, 60]]]
    polys = check_polygons([square_with_hole, [[[200, 0], [250, 0], [225, 40]]]], "image")
    assert len(polys) == 2 and len(polys[0]) == 2 and polys[0][0][-1] == (0, 100)  # closing point dropped
    assert load_polygons(dump_polygons(polys, "image"), "image") == polys
    assert label_point(polys) == (20, 50)  # beside the courtyard, not in it
    circle = [[(103.6 + 0.01 * math.cos(i / 500 * math.tau), 36.1 + 0.01 * math.sin(i / 500 * math.tau))
               for i in range(3000)]]
    text_ = dump_polygons([circle], "wgs84", limit=16000)
    back = load_polygons(text_, "wgs84")
    assert len(text_) <= 16000 and 8 < len(back[0][0]) < 3000
    assert max(abs(math.hypot(x - 103.6, y - 36.1) - 0.01) for x, y in back[0][0]) < 1e-6
    with pytest.raises(GeoError, match="太复杂"):
        dump_polygons([circle], "wgs84", limit=40)
    assert load_polygons("nonsense", "image") == []


# --- GeoJSON keeps the polygons ----------------------------------------------------------------------

def _square(lon: float, lat: float, d: float) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def _fc(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_geojson_import_keeps_holes_multipolygons_and_the_grid_outline(store, admin, grid, tmp_path):
    courtyard = {"type": "Polygon", "coordinates": [_square(103.600, 36.100, 0.0006),
                                                    _square(103.6002, 36.1002, 0.0002)]}
    twin_towers = {"type": "MultiPolygon", "coordinates": [[_square(103.602, 36.100, 0.0002)],
                                                           [_square(103.6025, 36.100, 0.0002)]]}
    boundary = {"type": "Polygon", "coordinates": [_square(103.599, 36.099, 0.005)]}
    path = tmp_path / "grid.geojson"
    path.write_bytes(_fc(_feature(courtyard, 小区="幸福小区", 楼栋="3栋"),
                         _feature(twin_towers, estate="幸福小区", building="4"),
                         _feature({"type": "Point", "coordinates": [103.603, 36.101]}, 小区="阳光小区", 楼栋="1"),
                         _feature(boundary, 类型="网格边界", name="第1网格")))
    plans = FloorPlans(store, admin)
    result = plans.import_geojson(grid, path)
    assert (result["placed"], result["shapes"], result["outline"], result["unmatched"]) == (3, 2, True, [])
    shapes = {(s.what, s.building): s for s in MapShapes(store, admin).shapes(grid)}
    assert set(shapes) == {("grid_outline", None), ("building", "3"), ("building", "4")}  # a point keeps no shape
    assert all(s.space == "wgs84" for s in shapes.values())
    assert [len(p) for p in shapes[("building", "3")].polygons] == [2]  # the courtyard kept as a hole
    assert len(shapes[("building", "4")].polygons) == 2  # two parts
    m = plans.grid_map(grid)
    assert m.space == "metres" and m.outline_id == shapes[("grid_outline", None)].id
    by = {b.building: b for b in m.buildings}
    assert by["3"].drawn == "wgs84" and len(by["3"].parts[0]) == 2 and by["4"].drawn == "wgs84"
    assert len(by["4"].parts) == 2 and by["1"].located and by["1"].drawn is None  # a rectangle at the point
    # metres: the courtyard building is about 54 m across (0.0006° of longitude at 36° N)
    xs = [x for x, _ in by["3"].polygon]
    assert 50 < max(xs) - min(xs) < 56
    ox = [x for x, _ in m.outline]
    assert 440 < max(ox) - min(ox) < 460  # the imported outline, not the buildings' box
    # imported again: the same records, nothing doubled
    plans.import_geojson(grid, path)
    assert len(MapShapes(store, admin).shapes(grid)) == 3
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM map_shape")).scalar() == 3


def test_a_refused_import_keeps_no_shape(store, admin, grid, tmp_path):
    two = {"type": "Polygon", "coordinates": [_square(103.599, 36.099, 0.005)]}
    path = tmp_path / "grid.geojson"
    path.write_bytes(_fc(_feature(two, 类型="网格边界"), _feature(two, kind="grid")))
    with pytest.raises(ServiceError, match="不止一个网格边界"):
        FloorPlans(store, admin).import_geojson(grid, path)
    path.write_bytes(_fc(_feature({"type": "Polygon", "coordinates": [_square(103.6, 36.1, 0.001)]},
                                  小区="幸福小区", 楼栋="3"),
                         _feature({"type": "Point", "coordinates": [103.6, 36.1]}, 类型="网格边界")))
    with pytest.raises(ServiceError, match="只是一个点"):
        FloorPlans(store, admin).import_geojson(grid, path)
    assert _rows(store) == []
    # an outline alone is a useful file
    path.write_bytes(_fc(_feature(two, kind="grid")))
    assert FloorPlans(store, admin).import_geojson(grid, path)["outline"] is True


def test_shapes_follow_the_area_tree(store, admin, community, grid):
    """Renaming a 小区 or a building, moving a building to another grid, deleting a building or the
    grid: the shapes (and the plan) follow instead of pointing at nothing or blocking the delete."""
    areas = AreaAdmin(store, admin)
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    three = maps.draw_building(grid, "幸福小区", "3", RECT)
    sun = maps.draw_building(grid, "阳光小区", "1", [[[[500, 60], [700, 60], [700, 140], [500, 140]]]])
    areas.rename_estate(grid, "幸福小区", "幸福家园")
    assert maps.shape(three.id).estate == "幸福家园"
    areas.edit_building(grid, "幸福家园", "3", new_building="3A")
    assert maps.shape(three.id).building == "3A"
    assert next(b for b in FloorPlans(store, admin).grid_map(grid).buildings if b.building == "3A").drawn == "image"
    # to another grid: a shape drawn on this grid's plan means nothing there
    areas.edit_building(grid, "阳光小区", "1", to_grid_id=community.grid2["id"])
    with pytest.raises(ServiceError, match="找不到该形状"):
        maps.shape(sun.id)
    areas.delete_building(grid, "幸福家园", "4")
    areas.delete_building(grid, "幸福家园", "3A")
    with pytest.raises(ServiceError, match="找不到该形状"):
        maps.shape(three.id)
    maps.draw_outline(grid, RECT)
    areas.delete_area(grid)  # an empty grid with a map: the map goes with it
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM map_shape WHERE deleted_at IS NULL")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM attachment WHERE deleted_at IS NULL")).scalar() == 0
