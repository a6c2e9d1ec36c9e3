"""地址与网格 → 新建 / 修改 / 删除: the admin's dialogs for communities, grids, 小区 and buildings.

Everything goes through desktop.services.areas.AreaAdmin; a refused input is shown in the dialog,
which stays open with what was typed."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.services.areas import MAX_FLOORS, MAX_PER_FLOOR, MAX_UNITS, AreaAdmin
from desktop.services.errors import ServiceError
from ui.widgets.buttons import Std, dialog_buttons


def _error_label() -> QLabel:
    label = QLabel("")
    label.setProperty("role", "error")
    label.setWordWrap(True)
    return label


class _AreaDialog(QDialog):
    """A form, an error line and 保存 / 取消; `apply()` does the work (raises ServiceError)."""

    ok_text = "保存"

    def __init__(self, admin: AreaAdmin, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.result_view: Any = None
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self.form = QFormLayout()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setProperty("role", "hint")
        self.error = _error_label()
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(dialog_buttons(self.save, self.reject, self.ok_text, "取消", ok=Std.Save))

    def apply(self) -> Any:
        raise NotImplementedError

    def save(self) -> None:
        try:
            self.result_view = self.apply()
        except ServiceError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def _grid_combo(admin: AreaAdmin, selected: str | None) -> QComboBox:
    combo = QComboBox()
    for g in admin.grids():
        combo.addItem(g["label"], g["id"])
    if selected:
        combo.setCurrentIndex(max(0, combo.findData(selected)))
    return combo


class CommunityDialog(_AreaDialog):
    """新建社区 (name and, optionally, its code)."""

    def __init__(self, admin: AreaAdmin, parent: QWidget | None = None) -> None:
        super().__init__(admin, "新建社区", parent)
        self.name = QLineEdit()
        self.name.setPlaceholderText("例如 兰化22街区社区")
        self.code = QLineEdit()
        self.code.setPlaceholderText("社区代码(可留空,自动编号)")
        self.form.addRow("社区名称", self.name)
        self.form.addRow("社区代码", self.code)

    def apply(self) -> Any:
        return self.admin.create_community(self.name.text(), code=self.code.text().strip() or None)


class GridDialog(_AreaDialog):
    """新建网格 in a community, or 修改网格 (name, code)."""

    def __init__(self, admin: AreaAdmin, *, community_id: str | None = None, existing: dict[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(admin, "修改网格" if existing else "新建网格", parent)
        self.existing = existing
        self.community = QComboBox()
        for c in admin.communities():
            self.community.addItem(c["name"], c["id"])
        chosen = (existing or {}).get("parent_id") or community_id
        if chosen:
            self.community.setCurrentIndex(max(0, self.community.findData(chosen)))
        self.community.setEnabled(existing is None)
        self.name = QLineEdit((existing or {}).get("name", ""))
        self.name.setPlaceholderText("例如 第3网格")
        self.code = QLineEdit((existing or {}).get("code", ""))
        self.code.setPlaceholderText("网格代码(可留空:社区代码 + 两位序号)")
        self.form.addRow("所属社区", self.community)
        self.form.addRow("网格名称", self.name)
        self.form.addRow("网格代码", self.code)
        self.note.setText("同步后,服务器即可把该网格分配给网格员(gridledger server set-grids 或 add-user --grids)。")
        if self.community.count() == 0:
            self.error.setText("还没有社区:请先新建社区")

    def apply(self) -> Any:
        code = self.code.text().strip() or None
        if self.existing is not None:
            return self.admin.rename_area(self.existing["id"], self.name.text(), code=code)
        if self.community.currentData() is None:
            raise ServiceError("所属社区:还没有社区,请先新建社区")
        return self.admin.create_grid(self.community.currentData(), self.name.text(), code=code)


class EstateDialog(_AreaDialog):
    """新建小区 in a grid, or rename one (its addresses follow)."""

    def __init__(self, admin: AreaAdmin, *, grid_id: str | None = None, existing: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(admin, "修改小区" if existing else "新建小区", parent)
        self.existing = existing
        self.grid = _grid_combo(admin, grid_id)
        self.grid.setEnabled(existing is None)
        self.name = QLineEdit(existing or "")
        self.name.setPlaceholderText("小区或街路巷名称,例如 幸福小区")
        self.form.addRow("所属网格", self.grid)
        self.form.addRow("小区名称", self.name)
        if existing:
            self.note.setText("改名后,该小区所有地址的全称一起更新;住户、房屋、走访等记录不受影响。")

    def apply(self) -> Any:
        if self.grid.currentData() is None:
            raise ServiceError("所属网格:还没有网格,请先新建网格")
        if self.existing:
            return self.admin.rename_estate(self.grid.currentData(), self.existing, self.name.text())
        return self.admin.create_estate(self.grid.currentData(), self.name.text())


def _spin(value: int, top: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(1, top)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class BuildingDialog(_AreaDialog):
    """新建楼栋: grid, 小区, building number, units × floors × rooms per floor: every room is
    generated at once (1单元101, 102, 201 …)."""

    ok_text = "生成户室"

    def __init__(self, admin: AreaAdmin, *, grid_id: str | None = None, estate: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(admin, "新建楼栋", parent)
        self.grid = _grid_combo(admin, grid_id)
        self.estate = QComboBox()
        self.estate.setEditable(True)
        if (line := self.estate.lineEdit()) is not None:  # editable: it has one
            line.setPlaceholderText("选择或输入小区名称")
        self._fill_estates(estate)
        self.grid.currentIndexChanged.connect(lambda _i: self._fill_estates(None))
        self.building = QLineEdit()
        self.building.setPlaceholderText("楼栋号,例如 3")
        self.units = _spin(1, MAX_UNITS, " 个单元")
        self.floors = _spin(6, MAX_FLOORS, " 层")
        self.per_floor = _spin(2, MAX_PER_FLOOR, " 户")
        self.form.addRow("所属网格", self.grid)
        self.form.addRow("小区", self.estate)
        self.form.addRow("楼栋号", self.building)
        self.form.addRow("单元数", self.units)
        self.form.addRow("层数", self.floors)
        self.form.addRow("每层户数", self.per_floor)
        for w in (self.units, self.floors, self.per_floor):
            w.valueChanged.connect(self._preview)
        self.building.textChanged.connect(self._preview)
        self.estate.currentTextChanged.connect(self._preview)
        self._preview()

    def _fill_estates(self, selected: str | None) -> None:
        self.estate.clear()
        gid = self.grid.currentData()
        if gid:
            self.estate.addItems(self.admin.estates(gid))
        self.estate.setCurrentText(selected or (self.estate.itemText(0) if self.estate.count() else ""))

    def _preview(self) -> None:
        rooms = AreaAdmin.room_numbers(self.units.value(), self.floors.value(), self.per_floor.value())
        b = self.building.text().strip() or "?"
        name = self.estate.currentText().strip() or "小区"
        first = [f"{u}单元{r}" for u, _f, r in rooms[:3]]
        last = f"{rooms[-1][0]}单元{rooms[-1][2]}"
        self.note.setText(f"将生成 {len(rooms)} 个户室:{name}{b}栋 {'、'.join(first)} … {last}")

    def apply(self) -> Any:
        if self.grid.currentData() is None:
            raise ServiceError("所属网格:还没有网格,请先新建网格")
        return self.admin.create_building(self.grid.currentData(), self.estate.currentText(), self.building.text(),
                                          units=self.units.value(), floors=self.floors.value(),
                                          rooms_per_floor=self.per_floor.value())


class EditBuildingDialog(_AreaDialog):
    """修改楼栋: a new number, another 小区, another grid; the rooms and everything registered in
    them move together."""

    def __init__(self, admin: AreaAdmin, grid_id: str, estate: str, building: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(admin, "修改楼栋", parent)
        self.source = (grid_id, estate, building)
        self.grid = _grid_combo(admin, grid_id)
        self.estate = QComboBox()
        self.estate.setEditable(True)
        self._fill_estates(estate)
        self.grid.currentIndexChanged.connect(lambda _i: self._fill_estates(None))
        self.building = QLineEdit(building)
        self.form.addRow("楼栋号", self.building)
        self.form.addRow("所属网格", self.grid)
        self.form.addRow("小区", self.estate)
        info = admin.building_summary(grid_id, estate, building)
        from desktop.kinds import label as kind_label

        records = "、".join(f"{n} 个{kind_label(k)}" for k, n in info["records"].items())
        if records:
            self.note.setText(f"本楼共 {info['rooms']} 个户室,登记有 {records}。改号或移动后,这些记录仍挂在原户室上,"
                              "地址全称随之更新;移到其他网格时,它们一起移过去。")
        else:
            self.note.setText(f"本楼共 {info['rooms']} 个户室,尚未登记住户。改号或移动后,地址全称随之更新。")

    def _fill_estates(self, selected: str | None) -> None:
        self.estate.clear()
        gid = self.grid.currentData()
        if gid:
            self.estate.addItems(self.admin.estates(gid))
        self.estate.setCurrentText(selected or (self.estate.itemText(0) if self.estate.count() else ""))

    def apply(self) -> Any:
        grid_id, estate, building = self.source
        return self.admin.edit_building(grid_id, estate, building, new_building=self.building.text(),
                                        to_estate=self.estate.currentText(), to_grid_id=self.grid.currentData())
