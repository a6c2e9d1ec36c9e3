"""地址与网格 and 设置 for an admin on a fresh laptop: a community, a grid, a 小区 and a building of
3 units × 6 floors × 2 rooms (36 rooms at once) are created from dialogs; a building is renumbered
and moved; deleting a grid that holds records is refused with how many of what; a user gets two of
the new grids. A grid worker sees none of the editing buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop.services.areas import AreaAdmin
from desktop.services.store import Actor
from desktop.services.users import Users
from tests.ui.conftest import type_text
from ui.context import AppContext
from ui.forms import areas as areas_ui
from ui.forms.users import UserForm
from ui.pages.areas import AreasPage


def _answer(monkeypatch, cls, fill):
    """Replace a dialog's exec(): fill its fields, press its OK button, report the result."""
    seen = []

    def fake_exec(self):
        fill(self)
        self.save()
        seen.append(self)
        return self.result() or QDialog.DialogCode.Rejected
    monkeypatch.setattr(cls, "exec", fake_exec)
    return seen


def _select(page, *labels):
    """Expand the tree along labels (prefix match) and select the last one."""
    parent = page.model.invisibleRootItem()
    item = None
    for label in labels:
        item = next(parent.child(r) for r in range(parent.rowCount()) if parent.child(r).text().startswith(label))
        page.tree.expand(item.index())
        parent = item
    page.tree.setCurrentIndex(item.index())
    return item


def test_admin_builds_a_community_from_empty(qtbot, store, admin, monkeypatch, answers):
    page = AreasPage(AppContext(store, admin))
    qtbot.addWidget(page)
    page.activate()
    assert page.model.rowCount() == 0 and not page.new_button.isHidden()

    _answer(monkeypatch, areas_ui.CommunityDialog,
            lambda d: (type_text(qtbot, d.name, "兰化22街区社区"), type_text(qtbot, d.code, "620104001001")))
    assert page.new_community()
    _select(page, "兰化22街区社区")

    dialogs = _answer(monkeypatch, areas_ui.GridDialog, lambda d: type_text(qtbot, d.name, "第1网格"))
    assert page.new_grid()
    assert dialogs[0].community.currentText() == "兰化22街区社区"
    grid = AreaAdmin(store, admin).grids()[0]
    assert (grid["name"], grid["code"]) == ("第1网格", "62010400100101")
    _select(page, "兰化22街区社区", "第1网格")

    _answer(monkeypatch, areas_ui.EstateDialog, lambda d: type_text(qtbot, d.name, "幸福小区"))
    assert page.new_estate()
    _select(page, "兰化22街区社区", "第1网格", "幸福小区")

    def building(d):
        assert d.estate.currentText() == "幸福小区"  # from the selection
        type_text(qtbot, d.building, "3")
        d.units.setValue(3)
        d.floors.setValue(6)
        d.per_floor.setValue(2)
        assert d.note.text() == "将生成 36 个户室:幸福小区3栋 1单元101、1单元102、1单元201 … 3单元602"
    dialogs = _answer(monkeypatch, areas_ui.BuildingDialog, building)
    assert page.new_building()
    assert dialogs[0].result_view["rooms"] == 36
    unit = _select(page, "兰化22街区社区", "第1网格", "幸福小区", "3栋", "2单元")
    page.tree.expand(unit.index())
    rooms = [unit.child(r).text() for r in range(unit.rowCount())]
    assert len(rooms) == 12 and rooms[0].startswith("101室") and rooms[-1].startswith("602室")

    # renumber the building from the tree: 3栋 → 5栋
    _select(page, "兰化22街区社区", "第1网格", "幸福小区", "3栋")
    def renumber(d):
        assert d.note.text().startswith("本楼共 36 个户室")
        d.building.setText("5")
    _answer(monkeypatch, areas_ui.EditBuildingDialog, renumber)
    assert page.edit_selected()
    # the tree is open again where the admin was (the building has its new number)
    assert page.selected_node().level == "estate" and page.selected_node().label == "幸福小区"
    _select(page, "兰化22街区社区", "第1网格", "幸福小区", "5栋")


def test_a_mistake_stays_in_the_dialog_and_a_full_grid_is_not_deleted(qtbot, store, admin, community, answers):
    admin_svc = AreaAdmin(store, admin)
    dialog = areas_ui.GridDialog(admin_svc, community_id=community.community["id"])
    qtbot.addWidget(dialog)
    type_text(qtbot, dialog.name, "第1网格")
    dialog.save()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error.text() == "网格名称:“第1网格”在兰化22街区社区已存在,请换一个名称"
    assert dialog.name.text() == "第1网格"

    building = areas_ui.BuildingDialog(admin_svc, grid_id=community.grid1["id"])
    qtbot.addWidget(building)
    building.save()
    assert building.error.text() == "小区名称:请填写名称"

    admin_svc.create_building(community.grid1["id"], "幸福小区", "1", units=1, floors=2, rooms_per_floor=1)
    page = AreasPage(AppContext(store, admin))
    qtbot.addWidget(page)
    page.activate()
    _select(page, "兰化22街区社区", "第1网格")
    answers.question(yes=True).warning()
    assert not page.delete_selected()
    assert answers.texts("warning") == [
        "不能删除网格“第1网格”:其中还有2 个标准地址,请先把这些记录移到其他网格或删除,并在 设置 → 本机用户 中取消分配"]
    assert answers.texts("question") == ["确定删除网格“第1网格”吗?"]
    # an empty grid goes
    _select(page, "兰化22街区社区", "第2网格")
    answers.question(yes=True)
    assert page.delete_selected()
    assert [g["name"] for g in admin_svc.grids()] == ["第1网格"]


def test_a_user_gets_two_of_the_new_grids(qtbot, store, admin, community):
    admin_svc = AreaAdmin(store, admin)
    g3 = admin_svc.create_grid(community.community["id"], "第3网格")
    g4 = admin_svc.create_grid(community.community["id"], "第4网格")
    users = Users(store, admin)
    form = UserForm(users)
    qtbot.addWidget(form)
    labels = [form.grids.item(i).text() for i in range(form.grids.count())]
    assert "兰化22街区社区 / 第3网格" in labels and "兰化22街区社区 / 第4网格" in labels
    type_text(qtbot, form.username, "zhaoliu")
    type_text(qtbot, form.display, "赵六")
    for i, label in enumerate(labels):
        if label.endswith(("第3网格", "第4网格")):
            form.grids.item(i).setCheckState(Qt.CheckState.Checked)
    type_text(qtbot, form.password, "zhaoliu-pass-1")
    type_text(qtbot, form.again, "zhaoliu-pass-1")
    form.save()
    assert form.result() == QDialog.DialogCode.Accepted, form.error.text()
    row = next(u for u in users.list() if u["username"] == "zhaoliu")
    assert sorted(g for g, _ in row["grids"]) == sorted([g3["id"], g4["id"]])


def test_a_grid_worker_sees_no_editing(qtbot, store, admin, community):
    worker = Actor("w1", "grid_worker", frozenset({community.grid1["id"]}))
    page = AreasPage(AppContext(store, worker))
    qtbot.addWidget(page)
    assert page.new_button.isHidden() and page.edit_button.isHidden() and page.delete_button.isHidden()


def test_the_import_wizard_takes_an_area_tree_sheet(qtbot, store, admin, community, tmp_path):
    from openpyxl import Workbook

    from ui.forms.exchange import ImportWizard

    wb = Workbook()
    ws = wb.active
    ws.append(["网格", "小区", "楼栋", "单元数", "层数", "每层户数"])
    ws.append(["第2网格", "和平家园", "3", 3, 6, 2])
    ws.append(["第3网格", "新村", "1", 1, 1, 1])
    path = tmp_path / "区域.xlsx"
    wb.save(path)
    ctx = AppContext(store, admin)
    wizard = ImportWizard(ctx, "area")
    qtbot.addWidget(wizard)
    assert wizard.kind.currentData() == "area" and wizard.kind.currentText() == "区域"
    wizard.load_file(path)
    qtbot.waitUntil(lambda: wizard.sheet is not None, timeout=30000)
    wizard.go_next()
    assert set(v for v in wizard.current_mapping().values() if v) == {
        "grid_name", "estate", "building", "units", "floors", "per_floor"}
    wizard.start_dry_run()
    qtbot.waitUntil(lambda: wizard.report is not None, timeout=60000)
    assert wizard.report.counts["imported"] == 2 and not wizard.report.written
    wizard.start_import()
    qtbot.waitUntil(lambda: wizard.written is not None, timeout=60000)
    page = AreasPage(ctx)
    qtbot.addWidget(page)
    page.activate()
    unit = _select(page, "兰化22街区社区", "第2网格", "和平家园", "3栋", "3单元")
    page.tree.expand(unit.index())
    assert unit.rowCount() == 12
    _select(page, "兰化22街区社区", "第3网格", "新村", "1栋")
