"""GeoJSON import edge cases: holes, multipolygons, either winding, GCJ-02 against known points,
and every unusable file refused with one sentence (and nothing changed)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from desktop.domain.geo import (
    GeoError,
    gcj02_to_wgs84,
    polygons_centroid,
    read_geojson,
    signed_area,
    wgs84_to_gcj02,
)
from desktop.services.areas import AreaAdmin
from desktop.services.errors import PermissionDenied, ServiceError
from desktop.services.floorplan import FloorPlans
from desktop.services.store import Actor

SQUARE = [[103.60, 36.10], [103.61, 36.10], [103.61, 36.11], [103.60, 36.11], [103.60, 36.10]]


def _fc(*features, crs=None) -> bytes:
    doc = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc, ensure_ascii=False).encode()


def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_gcj02_against_known_points():
    # Tiananmen: published reference values of the common GCJ-02 formula
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9) and lat == pytest.approx(39.91640428150164, abs=1e-9)
    back = gcj02_to_wgs84(lon, lat)
    assert back == pytest.approx((116.404, 39.915), abs=1e-9)
    # the one-step inverse those tools print for (116.404, 39.915) is within a metre of ours
    assert gcj02_to_wgs84(116.404, 39.915) == pytest.approx((116.39775550083061, 39.91359571849836), abs=1e-5)
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # outside China: unchanged


def test_winding_holes_and_multipolygons():
    ring = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]
    assert signed_area(ring) == 16 and signed_area(ring[::-1]) == -16
    assert polygons_centroid([[ring]]) == pytest.approx((2, 2))
    assert polygons_centroid([[ring[::-1]]]) == pytest.approx((2, 2))  # wrong winding: same centre
    hole = [(2.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 4.0)]  # the right half cut out
    assert polygons_centroid([[ring, hole[::-1]]]) == pytest.approx((1, 2))
    far = [(10.0, 0.0), (14.0, 0.0), (14.0, 4.0), (10.0, 4.0)]
    assert polygons_centroid([[ring], [far]]) == pytest.approx((7, 2))


def test_read_geojson_reads_polygons_multipolygons_points_and_converts_gcj02():
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[p[0] + 0.02, p[1]] for p in SQUARE]]]}
    data = _fc(_feature({"type": "Polygon", "coordinates": [SQUARE]}, 小区="幸福小区", 楼栋="3栋"),
               _feature(multi, estate="幸福小区", building="4"),
               _feature({"type": "Point", "coordinates": [103.6, 36.1]}, name="5"),
               crs="urn:ogc:def:crs:EPSG::4490")
    shapes = read_geojson(data)
    assert [(s.estate, s.building) for s in shapes] == [("幸福小区", "3栋"), ("幸福小区", "4"), (None, "5")]
    assert shapes[0].centroid == pytest.approx((103.605, 36.105))
    assert len(shapes[1].rings) == 2 and shapes[1].centroid == pytest.approx((103.615, 36.105))
    assert shapes[2].centroid == pytest.approx((103.6, 36.1))
    gcj = read_geojson(data, coords="gcj02")
    assert gcj[0].centroid == pytest.approx(gcj02_to_wgs84(103.605, 36.105), abs=1e-6)
    assert gcj[0].centroid != pytest.approx(shapes[0].centroid, abs=1e-4)  # the offset is hundreds of metres


@pytest.mark.parametrize(("data", "says"), [
    (b"{not json", "不是有效的 GeoJSON"),
    ("中文".encode("gbk"), "不是有效的 GeoJSON"),
    (b"[1, 2]", "不是 GeoJSON 要素集合"),
    (_fc(), "没有任何要素"),
    (_fc(_feature({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})), "不能作为楼栋轮廓"),
    (_fc(_feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})), "少于 3 个点"),
    (_fc(_feature({"type": "Polygon", "coordinates": [[["a", 0], [1, 1], [2, 0]]]})), "坐标格式不对"),
    (_fc(_feature({"type": "Polygon", "coordinates": [[[11557000, 4300000], [11557100, 4300000],
                                                       [11557100, 4300100]]]})), "不是经纬度"),
    (_fc(_feature({"type": "Polygon", "coordinates": [SQUARE]}), crs="EPSG:3857"), "坐标系“EPSG:3857”无法识别"),
    (_fc(_feature(None)), "没有几何图形"),
    (b"[" * 100000, "不是"),
])
def test_unusable_files_are_refused_with_one_sentence(data, says):
    with pytest.raises(GeoError, match=says) as err:
        read_geojson(data)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)


def test_an_unknown_coordinate_choice_is_refused():
    with pytest.raises(GeoError, match="无法识别"):
        read_geojson(_fc(_feature({"type": "Polygon", "coordinates": [SQUARE]})), coords="bd09")


@pytest.fixture
def grid(store, admin, community):
    g = community.grid1["id"]
    AreaAdmin(store, admin).create_building(g, "幸福小区", "3", units=1, floors=2, rooms_per_floor=2)
    AreaAdmin(store, admin).create_building(g, "幸福小区", "4", units=1, floors=2, rooms_per_floor=2)
    return g


def _coords(store, grid):
    with store.engine.connect() as c:
        return c.execute(text("SELECT building, longitude, latitude FROM address WHERE grid_id = :g "
                              "ORDER BY building, room"), {"g": grid}).all()


def test_import_places_matched_buildings_on_the_map(store, admin, grid, tmp_path):
    path = tmp_path / "grid.geojson"
    path.write_bytes(_fc(_feature({"type": "Polygon", "coordinates": [SQUARE]}, 小区="幸福小区", 楼栋="3栋"),
                         _feature({"type": "Polygon", "coordinates": [SQUARE]}, 小区="幸福小区", 楼栋="9")))
    plans = FloorPlans(store, admin)
    result = plans.import_geojson(grid, path)
    assert result["placed"] == 1 and result["unmatched"] == ["幸福小区9栋"]
    rows = _coords(store, grid)
    assert {r[0] for r in rows if r[1] is not None} == {"3"}
    assert {(round(r[1], 3), round(r[2], 3)) for r in rows if r[0] == "3"} == {(103.605, 36.105)}
    m = plans.grid_map(grid)
    placed = {b.building: b.located for b in m.buildings}
    assert placed == {"3": True, "4": False}
    # the generated one sits below the located one, not on top of it
    three = next(b for b in m.buildings if b.building == "3")
    four = next(b for b in m.buildings if b.building == "4")
    assert min(y for _, y in four.polygon) > max(y for _, y in three.polygon)


def test_refused_imports_change_nothing(store, admin, community, grid, tmp_path):
    before = _coords(store, grid)
    plans = FloorPlans(store, admin)
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ServiceError, match="不是有效的 GeoJSON"):
        plans.import_geojson(grid, bad)
    none = tmp_path / "none.geojson"
    none.write_bytes(_fc(_feature({"type": "Polygon", "coordinates": [SQUARE]}, 小区="别处", 楼栋="3")))
    with pytest.raises(ServiceError, match="没有一个要素能对应"):
        plans.import_geojson(grid, none)
    huge = tmp_path / "huge.geojson"
    with huge.open("wb") as f:
        f.truncate(21 * 1024 * 1024)
    with pytest.raises(ServiceError, match="超过 20 MB"):
        plans.import_geojson(grid, huge)
    with pytest.raises(ServiceError, match="无法读取"):
        plans.import_geojson(grid, tmp_path / "missing.geojson")
    worker = Actor("w", "grid_worker", frozenset({grid}), "dev-1", "网格员")
    with pytest.raises(PermissionDenied):
        FloorPlans(store, worker).import_geojson(grid, none)
    assert _coords(store, grid) == before
