"""A worker opens the grid map, clicks the red building, sees its 楼盘表 and opens the overdue
household; a room without a record offers 在此登记整户; a scanned door plate opens the house; the
map and the 楼盘表 print; a bad GeoJSON file changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QPoint, Qt

from desktop.services.areas import AreaAdmin
from desktop.services.floorplan import FloorPlans
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.store import Actor
from tests.ui.conftest import type_text
from ui.context import AppContext
from ui.main_window import MainWindow


def _street(store, admin, community):
    g = community.grid1["id"]
    a = AreaAdmin(store, admin)
    red = a.create_building(g, "幸福小区", "3", units=2, floors=3, rooms_per_floor=2)
    green = a.create_building(g, "幸福小区", "4", units=1, floors=1, rooms_per_floor=1)
    h, r = Households(store, admin), Records(store, admin)
    overdue = h.register(grid_id=g, address_id=red["address_ids"][3], members=[community.member("李娜", 40)])
    # last seen 100 days ago: past every household's 90-day rule (never visited would only be due today)
    Records(store, admin).create("visit", {"household_id": overdue["household"]["id"],
                                           "visited_on": date.today() - timedelta(days=100), "visitor": "admin"})
    # complete by the 数据质量 queue's rules: the head's phone, the house's use, owner and area
    fine = h.register(grid_id=g, address_id=green["address_ids"][0],
                      house={"use": "自住", "owner_name": "张伟", "area_m2": 80},
                      members=[community.member("张伟", 40, phone="13800000001")])
    r.create("visit", {"household_id": fine["household"]["id"], "visited_on": date.today() - timedelta(days=2),
                       "visitor": "admin"})
    return g, overdue["household"]["id"], red["address_ids"]


def _click(qtbot, view, rect):
    centre = view.mapFromScene(rect.center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(centre.x(), centre.y()))


def test_map_red_building_table_overdue_household(qtbot, store, admin, community, answers):
    grid, overdue, rooms = _street(store, admin, community)
    worker = Actor("wgy", "grid_worker", frozenset({grid}), "dev-1", "网格员")
    win = MainWindow(AppContext(store, worker))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    page = win.show_page("gridmap")
    assert page.map is not None and {(b.building, b.status) for b in page.map.buildings} == {
        ("3", "overdue"), ("4", "complete")}
    assert page.items[("幸福小区", "3")].brush().color().name() == "#d32f2f"
    assert not page.import_button.isVisible()  # importing outlines is for admins
    _click(qtbot, page.view, page.building_rect("幸福小区", "3"))
    table = win.current_page()
    assert table.title == "楼盘表" and table.heading.text() == "楼盘表 · 幸福小区3栋"
    assert table.table.rowCount() == 3 and table.table.columnCount() == 4
    row, col = table.cell_at("202", "1")
    item = table.table.item(row, col)
    assert item.text() == "202 逾\n李 · 1人" and "李娜" in item.toolTip()
    # the filter dims every other room, the status letter stays
    table.filter.setCurrentIndex(table.filter.findData("overdue"))
    other = table.table.item(*table.cell_at("101", "1"))
    assert other.background().color().name() == "#eeeeee" and item.background().color().name() == "#d32f2f"
    table.table.cellClicked.emit(row, col)
    assert win.current_page() is win.page("household")
    # an empty room offers 在此登记整户 (declined here)
    win.show_page("building", grid_id=grid, estate="幸福小区", building="3")
    answers.question(yes=False)
    table.table.cellClicked.emit(*table.cell_at("302", "2"))
    assert answers.titles("question") == ["在此登记整户"] and win.current_page() is table
    # the search box of the map centres on a household head's building
    page = win.show_page("gridmap")
    assert page.centre_on("李娜") and page.items[("幸福小区", "3")].isSelected()
    assert not page.centre_on("没有这个人")


def test_a_scanned_door_plate_opens_the_house(qtbot, store, admin, community, answers):
    grid, overdue, rooms = _street(store, admin, community)
    win = MainWindow(AppContext(store, admin))
    qtbot.addWidget(win)
    win.show()
    token = FloorPlans(store, admin).token(rooms[3])
    win.search.setFocus()
    type_text(qtbot, win.search, token)
    qtbot.keyClick(win.search, Qt.Key.Key_Return)  # a USB scanner types the code, then Enter
    assert win.current_page() is win.page("household")
    assert win.page("household").household_id == overdue
    assert win.search.text() == ""
    # a plate of a room without a household opens its building's 楼盘表
    type_text(qtbot, win.search, FloorPlans(store, admin).token(rooms[0]))
    qtbot.keyClick(win.search, Qt.Key.Key_Return)
    assert win.current_page() is win.page("building")
    answers.warning()
    type_text(qtbot, win.search, "GLM1-" + "0" * 32)
    qtbot.keyClick(win.search, Qt.Key.Key_Return)
    assert "已不存在" in answers.texts("warning")[0]


def test_print_from_the_pages_and_a_bad_geojson_changes_nothing(qtbot, store, admin, community, answers, tmp_path):
    grid, _, _ = _street(store, admin, community)
    win = MainWindow(AppContext(store, admin))
    qtbot.addWidget(win)
    win.show()
    page = win.show_page("gridmap")
    answers.save_file(tmp_path / "map.pdf")
    page.print_map()
    assert (tmp_path / "map.pdf").stat().st_size > 1000
    table = win.show_page("building", grid_id=grid, estate="幸福小区", building="3")
    answers.save_file(tmp_path / "table.pdf")
    table.print_table()
    answers.save_file(tmp_path / "plates.pdf")
    table.print_plates()
    assert (tmp_path / "table.pdf").exists() and (tmp_path / "plates.pdf").exists()
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [], "crs": {"properties": {"name": "EPSG:3857"}}}')
    answers.open_file(bad)
    answers.item("WGS84 / CGCS2000(GPS、天地图)")
    answers.warning()
    before = [b.polygon for b in page.map.buildings]
    page.import_outlines()
    assert answers.texts("warning") == ["文件使用的坐标系“EPSG:3857”无法识别:请导出为 WGS84、CGCS2000 或 GCJ-02 的经纬度坐标后再导入"]
    assert [b.polygon for b in FloorPlans(store, admin).grid_map(grid).buildings] == before


def test_on_the_demo_street_a_worker_goes_from_a_red_building_to_the_overdue_household(qtbot, tmp_path):
    from desktop.services.auth import actor_for
    from desktop.services.demo import generate
    from desktop.services.store import Store

    store = Store.open(tmp_path / "demo.db", create=True)
    try:
        generate(store, households=120, seed=4)
        win = MainWindow(AppContext(store, actor_for(store, "wgy001")))
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        page = win.show_page("gridmap")
        assert page.map is not None and len(page.map.buildings) >= 2
        assert all(b.located for b in page.map.buildings)  # the demo's own layout
        red = next(b for b in page.map.buildings if b.status == "overdue")
        _click(qtbot, page.view, page.building_rect(red.estate, red.building))
        table = win.current_page()
        assert table.table_model.building == red.building and table.table_model.counts["overdue"] > 0
        cell = next(c for cells in table.table_model.cells.values() for c in cells if c.status == "overdue")
        table.table.cellClicked.emit(*table.cell_at(cell.room, cell.unit))
        assert win.current_page() is win.page("household") and win.page("household").household_id == cell.household_id
    finally:
        win.close()
        store.close()


def test_a_building_in_the_area_tree_opens_its_building_table(qtbot, store, admin, community):
    grid, _, _ = _street(store, admin, community)
    win = MainWindow(AppContext(store, admin))
    qtbot.addWidget(win)
    win.show()
    areas = win.show_page("areas")
    m = areas.model
    idx = m.index(0, 0)
    for _ in range(3):  # community → grid → 小区 → the first building
        areas.tree.expand(idx)
        idx = m.index(0, 0, idx)
    assert m.itemFromIndex(idx).text().startswith("3栋")
    areas.tree.doubleClicked.emit(idx)
    assert win.current_page() is win.page("building")
    assert win.page("building").heading.text() == "楼盘表 · 幸福小区3栋"
