"""Photos: resized and cleaned on the way in, scoped by the owner's grid, audited, change-logged
without the image bytes."""

from __future__ import annotations

import io
import json

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from desktop.models import Attachment, AuditEntry, OutboxEntry
from desktop.services.errors import NotFound, PermissionDenied, ValidationFailed
from desktop.services.photos import MAX_SIDE, PURPOSES, THUMB_SIDE, Photos
from desktop.services.records import Records
from desktop.services.store import Actor


def make_image(path, size=(640, 480), colour=(200, 60, 40), fmt=None, **save):
    img = Image.new("RGB", size, colour)
    # a few stripes so the picture is not a flat colour (and orientation is visible)
    for x in range(0, size[0] // 4):
        for y in range(0, size[1], 7):
            img.putpixel((x, y), (0, 0, 255))
    img.save(path, fmt, **save)
    return path


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.fixture
def person(community, admin):
    return Records(community.store, admin).create("person", {"grid_id": community.grid1["id"], "name": "张伟"})


@pytest.fixture
def vehicle(community, admin):
    return Records(community.store, admin).create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A12345"})


def test_attach_png_stores_jpeg_and_thumbnail(store, admin, person, tmp_path):
    src = make_image(tmp_path / "本人.png", (800, 600))
    photos = Photos(store, admin)
    meta = photos.attach("person", person["id"], src, caption=" 正面照 ")
    assert "data" not in meta and "thumb" not in meta
    assert meta["owner_kind"] == "person" and meta["owner_id"] == person["id"]
    assert meta["grid_id"] == person["grid_id"] and meta["purpose"] == "photo"
    assert meta["purpose_label"] == "本人照片" and meta["caption"] == "正面照"
    assert (meta["mime"], meta["width"], meta["height"]) == ("image/jpeg", 800, 600)
    assert meta["version"] == 1 and meta["created_by"] == "admin" and meta["duplicate"] is False

    full = photos.full(meta["id"])
    assert full[:3] == b"\xff\xd8\xff" and len(full) == meta["byte_size"]
    assert opened(full).format == "JPEG" and opened(full).size == (800, 600)
    [listed] = photos.list_for("person", person["id"])
    assert listed["id"] == meta["id"] and "data" not in listed
    assert opened(listed["thumb"]).size == (THUMB_SIDE, 150)


def test_large_photo_is_shrunk_and_huge_file_refused(store, admin, person, tmp_path):
    photos = Photos(store, admin)
    big = make_image(tmp_path / "big.jpg", (4000, 3000), quality=70)
    meta = photos.attach("person", person["id"], big)
    assert (meta["width"], meta["height"]) == (MAX_SIDE, 1200)
    assert opened(photos.full(meta["id"])).size == (MAX_SIDE, 1200)
    assert max(opened(photos.list_for("person", person["id"])[0]["thumb"]).size) == THUMB_SIDE

    huge = tmp_path / "扫描件.jpg"
    with huge.open("wb") as f:
        f.truncate(31 * 1024 * 1024)
    with pytest.raises(ValidationFailed, match="文件“扫描件.jpg”太大") as exc:
        photos.attach("person", person["id"], huge)
    assert "30 MB" in exc.value.message
    with pytest.raises(ValidationFailed, match="太大"):
        photos.attach("person", person["id"], b"\0" * (31 * 1024 * 1024))


def test_exif_orientation_is_applied(store, admin, person, tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # camera held upright: rotate 90° clockwise to view
    src = make_image(tmp_path / "竖拍.jpg", (300, 200), exif=exif)
    with Image.open(src) as check:
        assert check.size == (300, 200)
    meta = Photos(store, admin).attach("person", person["id"], src)
    assert (meta["width"], meta["height"]) == (200, 300)
    stored = opened(Photos(store, admin).full(meta["id"]))
    assert stored.size == (200, 300)
    assert ExifTags.Base.Orientation not in stored.getexif()


def test_exif_gps_and_comments_are_stripped(store, admin, person, tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Artist] = "张伟"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (36.0, 3.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (103.0, 40.0, 1.0)
    src = make_image(tmp_path / "带定位.jpg", exif=exif, comment=b"home address")
    with Image.open(src) as check:
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo) and check.info.get("comment")

    photos = Photos(store, admin)
    meta = photos.attach("person", person["id"], src)
    full = photos.full(meta["id"])
    thumb = photos.list_for("person", person["id"])[0]["thumb"]
    for data in (full, thumb):
        img = opened(data)
        assert len(img.getexif()) == 0
        assert "exif" not in img.info and "comment" not in img.info and "xmp" not in img.info
        assert b"TestCam" not in data and b"home address" not in data and b"GPS" not in data


def test_transparent_png_gets_white_background(store, admin, person, tmp_path):
    src = tmp_path / "透明.png"
    Image.new("RGBA", (100, 100), (255, 0, 0, 0)).save(src)
    meta = Photos(store, admin).attach("person", person["id"], src)
    r, g, b = opened(Photos(store, admin).full(meta["id"])).getpixel((50, 50))
    assert min(r, g, b) > 240


def test_same_picture_twice_is_stored_once(store, admin, person, tmp_path):
    photos = Photos(store, admin)
    src = make_image(tmp_path / "a.jpg")
    first = photos.attach("person", person["id"], src)
    again = photos.attach("person", person["id"], src.read_bytes(), caption="再传一次")
    assert again["id"] == first["id"] and again["duplicate"] is True
    other = photos.attach("person", person["id"], make_image(tmp_path / "b.jpg", colour=(10, 200, 10)))
    assert other["id"] != first["id"]
    assert [p["id"] for p in photos.list_for("person", person["id"])] == [first["id"], other["id"]]
    # a removed photo may be attached again as a new record
    photos.remove(first["id"])
    back = photos.attach("person", person["id"], src)
    assert back["id"] != first["id"] and back["duplicate"] is False


def test_non_image_and_unknown_owner_are_refused_in_chinese(store, admin, person, tmp_path):
    photos = Photos(store, admin)
    text = tmp_path / "说明.txt"
    text.write_text("不是图片", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="文件“说明.txt”不是可识别的图片"):
        photos.attach("person", person["id"], text)
    broken = tmp_path / "坏图.jpg"
    broken.write_bytes(make_image(tmp_path / "ok.jpg").read_bytes()[:200])
    with pytest.raises(ValidationFailed, match="“坏图.jpg”"):
        photos.attach("person", person["id"], broken)
    with pytest.raises(ValidationFailed, match="找不到文件“不存在.jpg”"):
        photos.attach("person", person["id"], tmp_path / "不存在.jpg")
    src = make_image(tmp_path / "p.jpg")
    with pytest.raises(NotFound, match="无法添加照片“p.jpg”:找不到该人员"):
        photos.attach("person", "no-such-id", src)
    with pytest.raises(ValidationFailed, match="不能为“区域”添加照片"):
        photos.attach("area", person["grid_id"], src)
    with pytest.raises(ValidationFailed, match="用途只能是:本人照片"):
        photos.attach("person", person["id"], src, purpose="plate_with_owner")
    with pytest.raises(ValidationFailed, match="照片说明过长"):
        photos.attach("person", person["id"], src, caption="长" * 201)
    with store.session() as s:
        assert s.scalars(select(Attachment)).all() == []


def test_vehicle_plate_with_owner(store, admin, vehicle, tmp_path):
    assert next(iter(PURPOSES["vehicle"])) == "plate_with_owner"
    assert PURPOSES["vehicle"]["plate_with_owner"] == "车牌与车主合影"
    assert list(PURPOSES["house"].values())[:2] == ["房屋外观", "门牌"]
    meta = Photos(store, admin).attach(
        "vehicle", vehicle["id"], make_image(tmp_path / "合影.jpg"), purpose="plate_with_owner"
    )
    assert meta["purpose_label"] == "车牌与车主合影"


def test_scope_follows_the_owner_grid(store, admin, community, person, tmp_path):
    src = make_image(tmp_path / "p.jpg")
    meta = Photos(store, admin).attach("person", person["id"], src)
    worker = Photos(store, Actor("w", "grid_worker", frozenset({community.grid2["id"]})))
    with pytest.raises(PermissionDenied, match="无法添加照片“q.jpg”:您没有权限"):
        worker.attach("person", person["id"], make_image(tmp_path / "q.jpg", colour=(1, 2, 3)))
    with pytest.raises(PermissionDenied):
        worker.list_for("person", person["id"])
    with pytest.raises(PermissionDenied, match="照片"):
        worker.full(meta["id"])
    with pytest.raises(PermissionDenied, match="照片"):
        worker.remove(meta["id"])
    own = Photos(store, Actor("v", "grid_worker", frozenset({community.grid1["id"]})))
    assert [p["id"] for p in own.list_for("person", person["id"])] == [meta["id"]]
    # the person moves to grid 2: the photos follow the owner's grid
    Records(store, admin).update("person", person["id"], {"grid_id": community.grid2["id"]})
    assert worker.full(meta["id"])[:3] == b"\xff\xd8\xff"
    with pytest.raises(PermissionDenied):
        own.full(meta["id"])


def test_audit_and_change_log_without_image_bytes(store, admin, person, tmp_path):
    photos = Photos(store, admin)
    meta = photos.attach("person", person["id"], make_image(tmp_path / "p.jpg"), purpose="photo")
    with store.session() as s:
        rows = s.scalars(select(OutboxEntry).where(OutboxEntry.table_name == "attachment")).all()
        audits = s.scalars(select(AuditEntry).where(AuditEntry.entity == "attachment")).all()
    assert [(o.op, o.row_id, o.base_version, o.new_version) for o in rows] == [("I", meta["id"], 0, 1)]
    changes = json.loads(rows[0].changes)
    assert "data" not in changes and "thumb" not in changes
    assert changes["sha256"] == [None, meta["sha256"]] and changes["byte_size"] == [None, meta["byte_size"]]
    assert changes["owner_id"] == [None, person["id"]] and changes["purpose"] == [None, "photo"]
    assert len(rows[0].changes) < 2000  # metadata only
    [entry] = audits
    assert (entry.action, entry.entity_id, entry.actor) == ("create", meta["id"], "admin")
    assert entry.summary == "添加人员照片(本人照片)"
    assert json.loads(entry.detail)["owner_id"] == person["id"]

    removed = photos.remove(meta["id"])
    assert removed["deleted_at"] is not None and removed["deleted_by"] == "admin" and removed["version"] == 2
    assert photos.list_for("person", person["id"]) == []
    with pytest.raises(NotFound, match="找不到该照片"):
        photos.full(meta["id"])
    assert photos.remove(meta["id"])["version"] == 2  # removing twice changes nothing
    with store.session() as s:
        rows = s.scalars(
            select(OutboxEntry).where(OutboxEntry.table_name == "attachment").order_by(OutboxEntry.seq)
        ).all()
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "attachment").order_by(AuditEntry.seq)
        ).all()
    assert [(o.op, o.base_version, o.new_version) for o in rows] == [("I", 0, 1), ("U", 1, 2)]
    assert set(json.loads(rows[1].changes)) == {"deleted_at", "deleted_by"}
    assert actions == ["create", "delete"]
