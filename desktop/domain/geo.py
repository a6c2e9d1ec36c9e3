"""GeoJSON outlines of buildings: reading (with refusals in one Chinese sentence), the GCJ-02 ↔
WGS84 conversion used by common Chinese map tools, polygon centroids and a local projection; the
stored form of a map shape's geometry (`check_polygons`, `dump_polygons`, `load_polygons`).

Pure functions: no database, no Qt. `read_geojson` and `check_polygons` raise GeoError (a
ValueError) with a sentence for the user; the service turns it into a ServiceError."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 20 * 1024 * 1024  # a grid's outlines are kilobytes; a larger file is not an outline file
MAX_FEATURES = 20_000
# CRS names accepted as longitude/latitude in degrees: WGS84 and CGCS2000 (they differ by centimetres)
LONLAT_CRS = {
    "urn:ogc:def:crs:ogc:1.3:crs84": "WGS84", "urn:ogc:def:crs:epsg::4326": "WGS84",
    "epsg:4326": "WGS84", "crs84": "WGS84", "urn:ogc:def:crs:epsg::4490": "CGCS2000",
    "epsg:4490": "CGCS2000",
}
COORD_SYSTEMS = {"wgs84": "WGS84 / CGCS2000(GPS、天地图)", "gcj02": "GCJ-02(高德、腾讯等地图工具)"}
ESTATE_KEYS = ("小区", "estate", "小区名称")
BUILDING_KEYS = ("楼栋", "building", "楼栋号", "name", "名称")
# A feature whose property 类型 (or kind) says one of these is the grid's outline, not a building.
OUTLINE_KEYS = ("类型", "kind")
OUTLINE_VALUES = frozenset({"网格边界", "网格", "grid", "grid_outline", "outline"})

# A map shape's geometry as stored (map_shape.geometry): JSON, the coordinates of a GeoJSON
# MultiPolygon: [polygon, …], each polygon [outer ring, hole, …], each ring [[x, y], …] (not
# closed, either winding). x, y are longitude/latitude (space "wgs84") or pixels of the grid's
# background plan, origin top left, y downwards (space "image").
SPACES = {"wgs84": "经纬度(WGS84)", "image": "底图像素"}
GEOMETRY_CHARS = 16000  # the column's length: a building takes a few hundred characters
MAX_POINTS = 100_000  # points accepted before simplifying (a GIS outline of a whole grid)
IMAGE_MAX = 100_000.0  # pixels: no plan is larger


class GeoError(ValueError):
    """A file that cannot be used, with one sentence saying why."""


Ring = list[tuple[float, float]]
Polygon = list[Ring]  # the outer ring, then its holes


@dataclass(frozen=True)
class Shape:
    """One feature: its outer rings (lon, lat), the 小区 and 楼栋 its properties name."""

    estate: str | None
    building: str | None
    rings: tuple[tuple[tuple[float, float], ...], ...]  # outer rings only (a multipolygon has several)
    centroid: tuple[float, float]
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...] = ()  # each: outer ring, then holes
    point: bool = False  # a Point feature: a place, no outline of its own
    outline: bool = False  # the grid's outline (类型: 网格边界), not a building


# --- GCJ-02 ----------------------------------------------------------------------------------------
_A = 6378245.0
_EE = 0.00669342162296594323


def out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _t_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _t_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    d_lat = _t_lat(lon - 105.0, lat - 35.0)
    d_lon = _t_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """The inverse, by fixed-point iteration (error well under a centimetre)."""
    if out_of_china(lon, lat):
        return lon, lat
    x, y = lon, lat
    for _ in range(30):
        gx, gy = wgs84_to_gcj02(x, y)
        dx, dy = gx - lon, gy - lat
        x, y = x - dx, y - dy
        if abs(dx) < 1e-10 and abs(dy) < 1e-10:
            break
    return x, y


# --- geometry --------------------------------------------------------------------------------------
def signed_area(ring: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> float:
    """Shoelace area: positive counter-clockwise, negative clockwise (either winding is accepted)."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(ring, list(ring[1:]) + [ring[0]], strict=True):
        s += x1 * y2 - x2 * y1
    return s / 2.0


def _ring_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(cx, cy, |area|) of one ring, whatever its winding (computed relative to its first point:
    degrees are large numbers and a building's area a tiny one)."""
    ox, oy = ring[0]
    ring = [(x - ox, y - oy) for x, y in ring]
    a = signed_area(ring)
    if abs(a) < 1e-18:
        xs, ys = zip(*ring, strict=True)
        return ox + sum(xs) / len(xs), oy + sum(ys) / len(ys), 0.0
    cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + [ring[0]], strict=True):
        f = x1 * y2 - x2 * y1
        cx += (x1 + x2) * f
        cy += (y1 + y2) * f
    return ox + cx / (6 * a), oy + cy / (6 * a), abs(a)


def polygons_centroid(polygons: list[list[list[tuple[float, float]]]]) -> tuple[float, float]:
    """Area-weighted centroid of polygons (each: outer ring, then holes, which are subtracted)."""
    sx = sy = total = 0.0
    points: list[tuple[float, float]] = []
    for poly in polygons:
        for i, ring in enumerate(poly):
            cx, cy, a = _ring_centroid(ring)
            sign = 1.0 if i == 0 else -1.0
            sx += sign * cx * a
            sy += sign * cy * a
            total += sign * a
            points.extend(ring)
    if total <= 1e-18:
        xs, ys = zip(*points, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys)
    return sx / total, sy / total


# --- reading ---------------------------------------------------------------------------------------
def _crs_name(doc: dict[str, Any]) -> str:
    crs = doc.get("crs")
    if crs is None:
        return "WGS84"  # RFC 7946: no crs member means WGS84 longitude/latitude
    name = ""
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        name = str(crs["properties"].get("name") or "")
    known = LONLAT_CRS.get(name.strip().lower())
    if known is None:
        shown = name or "未注明"
        raise GeoError(f"文件使用的坐标系“{shown}”无法识别:请导出为 WGS84、CGCS2000 或 GCJ-02 的经纬度坐标后再导入")
    return known


def _point(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list | tuple) or len(value) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2])):
        raise GeoError(f"{where}的坐标格式不对(应为 [经度, 纬度]),文件可能已损坏")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeoError(f"{where}的坐标 {value[0]}, {value[1]} 不是经纬度:文件可能使用了投影坐标系,"
                       "请导出为 WGS84、CGCS2000 或 GCJ-02 的经纬度坐标后再导入")
    return lon, lat


def _ring(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or len(value) < 3:
        raise GeoError(f"{where}的轮廓少于 3 个点,不是多边形")
    ring = [_point(p, where) for p in value]
    if len(ring) > 3 and ring[0] == ring[-1]:
        ring = ring[:-1]  # closed as GeoJSON writes it
    if len(ring) < 3:
        raise GeoError(f"{where}的轮廓少于 3 个点,不是多边形")
    return ring


def _polygons(geom: Any, where: str) -> list[list[list[tuple[float, float]]]]:
    if not isinstance(geom, dict):
        raise GeoError(f"{where}没有几何图形(geometry)")
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Point":
        lon, lat = _point(coords, where)
        d = 0.00008  # a point becomes a small square (about 9 m)
        return [[[(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d)]]]
    if kind == "Polygon" and isinstance(coords, list) and coords:
        return [[_ring(r, where) for r in coords]]
    if kind == "MultiPolygon" and isinstance(coords, list) and coords:
        out = []
        for poly in coords:
            if not isinstance(poly, list) or not poly:
                raise GeoError(f"{where}的多部分多边形格式不对,文件可能已损坏")
            out.append([_ring(r, where) for r in poly])
        return out
    raise GeoError(f"{where}的几何类型“{kind}”不能作为楼栋轮廓(应为 Polygon、MultiPolygon 或 Point)")


def _prop(props: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = props.get(k)
        if v is not None and str(v).strip():
            return str(v).strip()
    return None


def read_geojson(data: bytes, *, coords: str = "wgs84") -> list[Shape]:
    """The building shapes of a GeoJSON file's bytes, in WGS84 longitude/latitude.

    `coords`: what the file's longitude/latitude are ("wgs84" covers CGCS2000 too; "gcj02" is
    converted). Raises GeoError with one sentence for anything unusable."""
    if coords not in COORD_SYSTEMS:
        raise GeoError(f"坐标系“{coords}”无法识别:请选择 WGS84/CGCS2000 或 GCJ-02")
    if len(data) > MAX_BYTES:
        raise GeoError(f"文件有 {len(data) / 1048576:.0f} MB,超过 {MAX_BYTES // 1048576} MB 的上限:"
                       "网格的楼栋轮廓通常只有几百 KB,请只导出本网格的楼栋")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise GeoError("文件不是有效的 GeoJSON(无法按 JSON 读取),请确认选择了 .geojson 文件") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise GeoError("文件不是 GeoJSON 要素集合(缺少 \"type\": \"FeatureCollection\"),请重新导出")
    _crs_name(doc)
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list) or not features:
        raise GeoError("文件中没有任何要素(features 为空),没有可导入的楼栋")
    if len(features) > MAX_FEATURES:
        raise GeoError(f"文件有 {len(features)} 个要素,超过 {MAX_FEATURES} 个的上限,请只导出本网格的楼栋")
    shapes = []
    for n, feat in enumerate(features, 1):
        where = f"第 {n} 个要素"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise GeoError(f"{where}不是 Feature,文件可能已损坏")
        found = feat.get("properties")
        props: dict[str, Any] = found if isinstance(found, dict) else {}
        geometry = feat.get("geometry")
        polys = _polygons(geometry, where)
        if coords == "gcj02":
            polys = [[[gcj02_to_wgs84(x, y) for x, y in ring] for ring in poly] for poly in polys]
        cx, cy = polygons_centroid(polys)
        outline = (_prop(props, OUTLINE_KEYS) or "").strip().lower() in OUTLINE_VALUES
        point = isinstance(geometry, dict) and geometry.get("type") == "Point"
        if outline and point:
            raise GeoError(f"{where}是网格边界,但它只是一个点:网格边界应为 Polygon 或 MultiPolygon")
        shapes.append(Shape(None if outline else _prop(props, ESTATE_KEYS),
                            None if outline else _prop(props, BUILDING_KEYS),
                            tuple(tuple(poly[0]) for poly in polys), (cx, cy),
                            tuple(tuple(tuple(r) for r in poly) for poly in polys), point, outline))
    return shapes


def project(lon: float, lat: float, lon0: float, lat0: float) -> tuple[float, float]:
    """Metres east and south of (lon0, lat0) (equirectangular: fine across a grid of a few km);
    y grows downwards like a screen's."""
    r = 6371000.0
    x = math.radians(lon - lon0) * r * math.cos(math.radians(lat0))
    y = -math.radians(lat - lat0) * r
    return x, y


# --- a map shape's stored geometry -------------------------------------------------------------------
def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def check_polygons(value: Any, space: str, *, bounds: tuple[float, float] | None = None) -> list[Polygon]:
    """The polygons of a geometry given as text (the stored JSON) or nested lists, checked:
    raises GeoError with one sentence for anything that is not a set of polygons in `space`.
    `bounds` (width, height): image pixels must lie on the plan (one pixel of slack)."""
    if space not in SPACES:
        raise GeoError(f"坐标空间“{space}”无法识别:应为 wgs84(经纬度)或 image(底图像素)")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise GeoError("形状的几何数据不是有效的 JSON,无法保存") from None
    if not isinstance(value, list | tuple) or not value:
        raise GeoError("形状没有任何多边形:至少要有一个由 3 个以上的点围成的多边形")
    out: list[Polygon] = []
    total = 0
    for poly in value:
        if not isinstance(poly, list | tuple) or not poly:
            raise GeoError("形状的多边形格式不对:每个多边形应为外环和若干内环(洞)的列表")
        rings: Polygon = []
        for i, raw in enumerate(poly):
            if not isinstance(raw, list | tuple):
                raise GeoError("形状的多边形格式不对:每个环应为 [x, y] 点的列表")
            ring: Ring = []
            for p in raw:
                if not isinstance(p, list | tuple) or len(p) < 2:
                    raise GeoError("形状的点格式不对:每个点应为 [x, y]")
                x, y = _number(p[0]), _number(p[1])
                if x is None or y is None:
                    raise GeoError(f"形状的点 {str(p)[:40]} 不是有效的数字坐标")
                if space == "wgs84" and not (-180 <= x <= 180 and -90 <= y <= 90):
                    raise GeoError(f"形状的点 {x:g}, {y:g} 不是经纬度(经度应在 ±180、纬度在 ±90 之内)")
                if space == "image":
                    w, h = bounds if bounds is not None else (IMAGE_MAX, IMAGE_MAX)
                    if not (-1 <= x <= w + 1 and -1 <= y <= h + 1):
                        raise GeoError(f"形状的点 {x:.0f}, {y:.0f} 在底图之外(底图为 {w:.0f}×{h:.0f} 像素)")
                ring.append((x, y))
            if len(ring) > 3 and ring[0] == ring[-1]:
                ring = ring[:-1]
            ring = [p for j, p in enumerate(ring) if j == 0 or p != ring[j - 1]]
            if len(ring) < 3 or len(set(ring)) < 3:
                raise GeoError("形状" + ("的内环(洞)" if i else "") + "少于 3 个不同的点,围不成多边形")
            if abs(signed_area([(a - ring[0][0], b - ring[0][1]) for a, b in ring])) < 1e-14:
                raise GeoError("形状的面积为零(所有点在一条直线上),围不成多边形")
            total += len(ring)
            rings.append(ring)
        out.append(rings)
    if total > MAX_POINTS:
        raise GeoError(f"形状有 {total} 个点,超过 {MAX_POINTS} 个的上限,请先在制图软件中简化后再导入")
    return out


def _dp(points: Ring, tol: float) -> Ring:
    """Douglas–Peucker on an open polyline (first and last point kept)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = points[a], points[b]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, at = -1.0, -1
        for i in range(a + 1, b):
            px, py = points[i]
            d = abs(dy * (px - x1) - dx * (py - y1)) / norm if norm else math.hypot(px - x1, py - y1)
            if d > best:
                best, at = d, i
        if at >= 0 and best > tol:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_ring(ring: Ring, tol: float) -> Ring:
    """The ring with points closer than `tol` to the line of their neighbours dropped; split at
    the point farthest from the first so the ring's extent survives. Fewer than 3 points left: []."""
    if tol <= 0 or len(ring) <= 4:
        return list(ring)
    x0, y0 = ring[0]
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - x0) ** 2 + (ring[i][1] - y0) ** 2)
    first = _dp(ring[: far + 1], tol)
    second = _dp(ring[far:] + [ring[0]], tol)
    out = first[:-1] + second[:-1]
    return out if len(out) >= 3 else []


def dump_polygons(polygons: list[Polygon], space: str, *, limit: int = GEOMETRY_CHARS) -> str:
    """The stored text of `polygons`: compact JSON, longitude/latitude to 7 decimals (a
    centimetre), pixels to one. A geometry longer than `limit` characters is simplified (points
    within a growing tolerance of their neighbours dropped; holes that vanish are dropped) until
    it fits; one that cannot fit raises GeoError."""
    digits = 7 if space == "wgs84" else 1

    def text(polys: list[Polygon]) -> str:
        return json.dumps([[[[round(x, digits), round(y, digits)] for x, y in ring] for ring in poly]
                           for poly in polys], separators=(",", ":"))

    out = text(polygons)
    tol = 1e-6 if space == "wgs84" else 0.5  # about 10 cm, or half a pixel
    while len(out) > limit:
        simpler: list[Polygon] = []
        for poly in polygons:
            rings = [simplify_ring(r, tol) for r in poly]
            if not rings[0]:
                continue  # a part too small to keep at this tolerance
            simpler.append([rings[0]] + [r for r in rings[1:] if r])
        if not simpler or tol > 1.0:
            raise GeoError("形状太复杂,简化后仍超过可保存的长度,请先在制图软件中简化后再导入")
        out = text(simpler)
        tol *= 2
    return out


def load_polygons(text: str | None, space: str) -> list[Polygon]:
    """The polygons of a stored geometry; [] for one that cannot be read (never raises: a row
    written by a newer version, or damaged, is drawn as no shape)."""
    try:
        return check_polygons(text or "", space)
    except GeoError:
        return []


def bbox(polygons: list[Polygon]) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) of the outer rings."""
    xs = [x for poly in polygons for x, _ in poly[0]]
    ys = [y for poly in polygons for _, y in poly[0]]
    return min(xs), min(ys), max(xs), max(ys)


def label_point(polygons: list[Polygon]) -> tuple[float, float]:
    """Where a label goes: the centroid of the largest part (holes subtracted) when it lies inside
    the part, else the middle of the widest stretch inside it along the centroid's row (an L or U
    shape, a ring around a courtyard)."""
    part = max(polygons, key=lambda p: abs(signed_area(p[0])))
    cx, cy = polygons_centroid([part])
    if inside(part, cx, cy):
        return cx, cy
    xs = sorted((x2 - x1) * (cy - y1) / (y2 - y1) + x1 for ring in part
                for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True) if (y1 > cy) != (y2 > cy))
    spans = [(xs[i], xs[i + 1]) for i in range(0, len(xs) - 1, 2)]
    if spans:
        a, b = max(spans, key=lambda ab: ab[1] - ab[0])
        return (a + b) / 2, cy
    x0, y0, x1, y1 = bbox([part])
    return (x0 + x1) / 2, (y0 + y1) / 2


def inside(polygon: Polygon, x: float, y: float) -> bool:
    """Even-odd point-in-polygon over all rings (a point in a hole is outside)."""
    hit = False
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                hit = not hit
    return hit
