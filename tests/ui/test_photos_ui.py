"""PhotoStrip: thumbnails after adding, full view, purpose choice, removal, errors in a box."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from desktop.services.records import Records
from desktop.services.store import Actor
from ui.context import AppContext
from ui.widgets.photos import PhotoStrip, PhotoViewer


def jpeg(path, colour=(180, 90, 30), size=(640, 480)):
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.fixture
def person(community, admin):
    return Records(community.store, admin).create("person", {"grid_id": community.grid1["id"], "name": "李娜"})


def add(qtbot, strip, path, purpose=None):
    with qtbot.waitSignal(strip.changed, timeout=10000):
        strip.add_file(path, purpose)


def test_thumbnails_appear_after_add_file_and_open_full_view(qtbot, ui_ctx, person, tmp_path, answers):
    strip = PhotoStrip(ui_ctx, "person", person["id"])
    qtbot.addWidget(strip)
    strip.show()
    assert strip.thumbs() == [] and strip.hint.text() == "暂无照片"
    assert strip.add_button.isEnabled() and strip.add_button.text() == "添加照片…"

    add(qtbot, strip, jpeg(tmp_path / "a.jpg"))
    add(qtbot, strip, jpeg(tmp_path / "b.jpg", colour=(20, 160, 60), size=(3000, 2000)))
    thumbs = strip.thumbs()
    assert len(thumbs) == 2 and strip.hint.text() == "共 2 张照片"
    assert all(not t.pixmap().isNull() for t in thumbs)
    assert "本人照片" in thumbs[0].toolTip() and "640×480" in thumbs[0].toolTip()
    assert "1600×1067" in thumbs[1].toolTip()
    assert strip.add_button.isEnabled() and answers.asked == []

    qtbot.mouseClick(thumbs[1], Qt.MouseButton.LeftButton)
    viewer = strip.findChild(PhotoViewer)
    assert viewer is not None and viewer.isVisible() and viewer.windowTitle() == "本人照片"
    assert not viewer.image.pixmap().isNull()
    viewer.resize(500, 400)
    assert viewer.image.pixmap().width() / viewer.image.pixmap().devicePixelRatio() <= 500
    viewer.close()


def test_same_file_twice_is_shown_once(qtbot, ui_ctx, person, tmp_path, answers):
    strip = PhotoStrip(ui_ctx, "person", person["id"])
    qtbot.addWidget(strip)
    src = jpeg(tmp_path / "a.jpg")
    add(qtbot, strip, src)
    add(qtbot, strip, src)
    assert len(strip.thumbs()) == 1 and "已添加过" in strip.hint.text()


def test_remove_photo_asks_then_removes(qtbot, ui_ctx, person, tmp_path, answers):
    strip = PhotoStrip(ui_ctx, "person", person["id"])
    qtbot.addWidget(strip)
    add(qtbot, strip, jpeg(tmp_path / "a.jpg"))
    photo_id = strip.thumbs()[0].attachment_id

    answers.question(yes=False).question(yes=True)
    assert strip.remove_photo(photo_id) is False and len(strip.thumbs()) == 1
    with qtbot.waitSignal(strip.changed, timeout=1000):
        assert strip.remove_photo(photo_id) is True
    assert strip.thumbs() == [] and strip.hint.text() == "暂无照片"
    # a photo that is not there: the service's message is shown in a box, no crash
    answers.warning()
    assert strip.remove_photo("no-such-id", confirm=False) is False
    assert "找不到该照片" in answers.texts("warning")[-1]


def test_vehicle_offers_plate_with_owner_first(qtbot, ui_ctx, community, admin, tmp_path, answers):
    car = Records(ui_ctx.store, admin).create("vehicle", {"grid_id": community.grid1["id"], "plate_no": "甘A12345"})
    strip = PhotoStrip(ui_ctx, "vehicle", car["id"])
    qtbot.addWidget(strip)
    src = jpeg(tmp_path / "合影.jpg")
    answers.open_files([src]).item(0)
    with qtbot.waitSignal(strip.changed, timeout=10000):
        strip.add_button.click()
    assert [a.options for a in answers.asked if a.kind == "item"] == [["车牌与车主合影", "车辆照片"]]
    [photo] = strip.photos()
    assert photo["purpose"] == "plate_with_owner" and "车牌与车主合影" in strip.thumbs()[0].toolTip()


def test_errors_are_shown_in_chinese_and_nothing_crashes(qtbot, ui_ctx, person, tmp_path, answers):
    strip = PhotoStrip(ui_ctx, "person", person["id"])
    qtbot.addWidget(strip)
    text = tmp_path / "名单.txt"
    text.write_text("不是图片", encoding="utf-8")
    answers.warning()
    strip.add_file(text)
    qtbot.waitUntil(lambda: bool(answers.asked), timeout=10000)
    assert answers.titles("warning") == ["添加照片"] and "“名单.txt”不是可识别的图片" in answers.texts("warning")[0]
    qtbot.waitUntil(strip.add_button.isEnabled, timeout=1000)
    assert strip.thumbs() == []


def test_no_owner_yet_and_other_grid(qtbot, ui_ctx, store, community, person):
    strip = PhotoStrip(ui_ctx, "person")
    qtbot.addWidget(strip)
    assert not strip.add_button.isEnabled() and "保存记录后" in strip.hint.text()
    assert strip.add_file("whatever.jpg") is None
    strip.set_owner("person", person["id"])
    assert strip.add_button.isEnabled()

    worker = AppContext(store, Actor("w", "grid_worker", frozenset({community.grid2["id"]})))
    other = PhotoStrip(worker, "person", person["id"])
    qtbot.addWidget(other)
    assert not other.add_button.isEnabled() and "没有权限" in other.hint.text()
