"""Drawing the grid map by hand: an admin sets a scanned plan as the background (a file that is no
image is refused with one sentence and changes nothing), drags a rectangle over a building on it,
links it to its 楼栋, sees it coloured by its worst room and clicks through to its 楼盘表; a
polygon clicked point by point becomes the grid's outline; Esc cancels a drawing; a shape is
relinked and deleted from its menu; a grid worker sees the drawn map but no drawing tools."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QPoint, QPointF, Qt

from desktop.services.areas import AreaAdmin
from desktop.services.households import Households
from desktop.services.map_shapes import MapShapes
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.core.test_map_shapes import plan_png
from ui.context import AppContext
from ui.main_window import MainWindow


def _street(store, admin, community):
    g = community.grid1["id"]
    a = AreaAdmin(store, admin)
    red = a.create_building(g, "幸福小区", "3", units=2, floors=3, rooms_per_floor=2)
    a.create_building(g, "幸福小区", "4", units=1, floors=1, rooms_per_floor=1)
    overdue = Households(store, admin).register(grid_id=g, address_id=red["address_ids"][3],
                                                members=[community.member("李娜", 40)])
    Records(store, admin).create("visit", {"household_id": overdue["household"]["id"],
                                           "visited_on": date.today() - timedelta(days=100), "visitor": "admin"})
    return g


def _at(view, x: float, y: float) -> QPoint:
    p = view.mapFromScene(QPointF(x, y))
    return QPoint(p.x(), p.y())


def _window(qtbot, store, actor):
    win = MainWindow(AppContext(store, actor))
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    return win


def test_set_a_plan_draw_a_building_over_it_and_open_its_building_table(qtbot, store, admin, community, answers,
                                                                        tmp_path):
    grid = _street(store, admin, community)
    win = _window(qtbot, store, admin)
    page = win.show_page("gridmap")
    assert page.tools.isVisible() and not page.draw_button.isEnabled()  # nothing to draw on yet

    # a file that is no image: one sentence, nothing changed
    fake = tmp_path / "平面图.jpg"
    fake.write_bytes(b"GIF89a this is not really a picture")
    answers.open_file(fake)
    answers.warning()
    assert not page.choose_plan()
    assert answers.texts("warning") == ["文件“平面图.jpg”不是可识别的图片或已损坏,底图没有更改:"
                                        "请选择扫描或拍摄的网格平面图(JPG、PNG 等格式)"]
    assert page.map.plan is None and MapShapes(store, admin).plan(grid) is None

    (tmp_path / "plan.png").write_bytes(plan_png(800, 600))
    answers.open_file(tmp_path / "plan.png")
    assert page.choose_plan()
    assert page.map.space == "image" and page.plan_item is not None
    assert page.plan_item.pixmap().width() == 800 and page.draw_button.isEnabled()
    assert "楼栋还没有在底图上绘制" in page.note.text()

    # 绘制楼栋: drag a rectangle over the first block of the plan, then say which building it is
    qtbot.mouseClick(page.draw_button, Qt.MouseButton.LeftButton)
    assert page.view.drawing and "拖出矩形" in page.note.text()
    answers.item("幸福小区3栋")
    viewport = page.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, 60, 60))
    qtbot.mouseMove(viewport, pos=_at(page.view, 160, 100))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, 260, 140))
    assert not page.view.drawing
    asked = [a for a in answers.asked if a.kind == "item"][0]
    assert asked.text == "刚画的形状是哪一栋楼?" and asked.options == ["幸福小区3栋", "幸福小区4栋"]
    three = next(b for b in page.map.buildings if b.building == "3")
    assert three.drawn == "image" and three.status == "overdue"
    x0, y0 = min(x for x, _ in three.polygon), min(y for _, y in three.polygon)
    assert abs(x0 - 60) < 3 and abs(y0 - 60) < 3  # where it was drawn, in the plan's pixels
    assert page.items[("幸福小区", "3")].brush().color().name() == "#d32f2f"  # coloured by its worst room
    assert "1 栋已在底图上绘制,其余 1 栋排在底图右侧" in page.note.text()

    # a click on it opens its 楼盘表
    centre = page.building_rect("幸福小区", "3").center()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, centre.x(), centre.y()))
    table = win.current_page()
    assert table.title == "楼盘表" and table.heading.text() == "楼盘表 · 幸福小区3栋"

    # 绘制网格边界: four clicks, then Enter
    page = win.show_page("gridmap", grid_id=grid)
    qtbot.mouseClick(page.outline_button, Qt.MouseButton.LeftButton)
    for x, y in ((10, 10), (790, 10), (790, 590), (10, 590)):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, x, y))
    assert len(page.view.points) == 4
    qtbot.keyClick(page.view, Qt.Key.Key_Return)
    assert page.map.outline_id is not None and len(page.map.outline) == 4
    assert all(abs(a - b) < 3 for p, q in zip(page.map.outline, [(10, 10), (790, 10), (790, 590), (10, 590)],
                                                strict=True) for a, b in zip(p, q, strict=True))

    # Esc cancels a drawing half done: nothing saved
    before = [(s.id, s.version) for s in MapShapes(store, admin).shapes(grid)]
    page.start_drawing("building")
    for x, y in ((400, 400), (500, 400)):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, x, y))
    qtbot.keyClick(page.view, Qt.Key.Key_Escape)
    assert not page.view.drawing and [(s.id, s.version) for s in MapShapes(store, admin).shapes(grid)] == before

    # the shape's menu: relink it to 4栋, then delete it
    labels = [text for text, _ in page.shape_actions(("幸福小区", "3"))]
    assert labels == ["打开楼盘表", "重新绘制", "移动各角…", "改为其他楼栋…", "删除形状"]
    answers.item("幸福小区4栋")
    assert page.relink(three.shape_id)
    assert {b.building: b.drawn for b in page.map.buildings} == {"3": None, "4": "image"}
    answers.question(yes=True)
    assert page.delete_shape(three.shape_id)
    assert answers.texts("question")[-1] == "删除“幸福小区4栋”的形状吗?楼栋和户室不受影响。"
    assert not any(b.drawn for b in page.map.buildings)


def test_a_worker_sees_the_drawn_map_without_the_tools(qtbot, store, admin, community):
    grid = _street(store, admin, community)
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    maps.draw_building(grid, "幸福小区", "3", [[[[60, 60], [260, 60], [260, 140], [60, 140]]]])
    worker = Actor("wgy", "grid_worker", frozenset({grid}), "dev-1", "网格员")
    win = _window(qtbot, store, worker)
    page = win.show_page("gridmap")
    assert not page.tools.isVisible() and not page.import_button.isVisible()
    assert page.map.space == "image" and page.plan_item is not None
    assert page.shape_actions(("幸福小区", "3")) == [] and not page.start_drawing("building")
    centre = page.building_rect("幸福小区", "3").center()
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=_at(page.view, centre.x(), centre.y()))
    assert win.current_page().heading.text() == "楼盘表 · 幸福小区3栋"


def test_move_a_corner_of_a_drawn_building_then_save_or_cancel(qtbot, store, admin, community, answers):
    grid = _street(store, admin, community)
    maps = MapShapes(store, admin)
    maps.set_plan(grid, plan_png())
    shape = maps.draw_building(grid, "幸福小区", "3", [[[[60, 60], [260, 60], [260, 140], [60, 140]]]])
    win = _window(qtbot, store, admin)
    page = win.show_page("gridmap")
    assert "移动各角…" in [t for t, _ in page.shape_actions(("幸福小区", "3"))]
    assert page.edit_corners(("幸福小区", "3")) and len(page.corner_handles()) == 4
    assert page.save_corners_button.isVisible() and page.view.editing
    # drag the third corner (260, 140) down and right with the mouse
    handle = page.corner_handles()[2]
    viewport = page.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, 260, 140))
    qtbot.mouseMove(viewport, pos=_at(page.view, 300, 200))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(page.view, 300, 200))
    assert abs(handle.pos().x() - 300) < 4 and abs(handle.pos().y() - 200) < 4
    assert win.current_page() is page  # a released drag is no click on the building
    assert page.items[("幸福小区", "3")].path().boundingRect().bottom() > 190  # the shape follows
    handle.setPos(5000, 5000)  # kept on the plan
    assert (handle.pos().x(), handle.pos().y()) == (800, 600)
    qtbot.keyClick(page.view, Qt.Key.Key_Escape)  # Esc: nothing saved
    assert not page.view.editing and maps.shape(shape.id).version == shape.version
    assert page.map.buildings[0].polygon[2] == (260, 140)

    page.edit_corners(("幸福小区", "3"))
    page.corner_handles()[2].setPos(320, 220)
    qtbot.mouseClick(page.save_corners_button, Qt.MouseButton.LeftButton)
    saved = maps.shape(shape.id)
    assert saved.polygons[0][0][2] == (320, 220) and saved.version == shape.version + 1
    assert not page.save_corners_button.isVisible() and page.map.buildings[0].polygon[2] == (320, 220)
