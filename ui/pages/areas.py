"""地址与网格: the tree 社区 → 网格 → 小区 → 楼栋 → 单元 → 户室 that lands on a household."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.policy import Ability, allows
from desktop.services.areas import AreaAdmin, Areas, Node
from desktop.services.errors import ServiceError
from desktop.services.rules import compose_address
from ui.context import AppContext
from ui.pages.base import Page

NODE_ROLE = Qt.ItemDataRole.UserRole + 1
LOADED_ROLE = Qt.ItemDataRole.UserRole + 2


class AreasPage(Page):
    title = "地址与网格"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.areas = Areas(ctx.store, ctx.actor)
        self.model = QStandardItemModel(self)
        self.model.setHorizontalHeaderLabels(["社区 / 网格 / 小区 / 楼栋 / 单元 / 户室"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.expanded.connect(self._expand)
        self.tree.activated.connect(self._activate)
        self.tree.doubleClicked.connect(self._activate)
        heading = QLabel("地址与网格")
        heading.setProperty("role", "page-title")
        hint = QLabel("展开到户室,双击(或回车)打开该户;空户室可直接整户登记;双击楼栋打开楼盘表。"
                      + ("选中社区、网格、小区或楼栋后可新建、修改或删除。" if allows(ctx.actor, Ability.EDIT_AREAS) else ""))
        hint.setProperty("role", "hint")
        register = QPushButton("整户登记…")
        register.clicked.connect(lambda: self.register_household())
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        # the area tree itself: community admins and supervisors (the policy's EDIT_AREAS)
        self.admin = AreaAdmin(ctx.store, ctx.actor)
        self.new_button = QPushButton("新建")
        menu = QMenu(self.new_button)
        menu.addAction("新建社区…", self.new_community)
        menu.addAction("新建网格…", self.new_grid)
        menu.addAction("新建小区…", self.new_estate)
        menu.addAction("新建楼栋(批量生成户室)…", self.new_building)
        menu.addSeparator()
        menu.addAction("从 Excel 导入社区、网格、小区和楼栋…", self.import_areas)
        self.new_button.setMenu(menu)
        self.edit_button = QPushButton("修改…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton("删除…")
        self.delete_button.clicked.connect(self.delete_selected)
        may_edit = allows(ctx.actor, Ability.EDIT_AREAS)
        for b in (self.new_button, self.edit_button, self.delete_button):
            b.setVisible(may_edit)
            top.addWidget(b)
        top.addWidget(register)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(hint)
        lay.addWidget(self.tree, 1)
        self._loaded = False

    def activate(self, **params: Any) -> None:
        if not self._loaded:
            self.reload()

    def data_changed(self) -> None:
        self._loaded = False
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        path = self._path()
        self.model.removeRows(0, self.model.rowCount())
        self._fill(self.model.invisibleRootItem(), None)
        self._loaded = True
        if self.model.rowCount() == 1:
            self.tree.expand(self.model.index(0, 0))
        self._reopen(path)

    def _path(self) -> list[Node]:
        """The nodes from the top down to the current one (to open them again after a reload)."""
        out: list[Node] = []
        index = self.tree.currentIndex()
        while index.isValid():
            item = self.model.itemFromIndex(index)
            node = item.data(NODE_ROLE) if item is not None else None
            if node is not None:
                out.insert(0, node)
            index = index.parent()
        return out

    def _reopen(self, path: list[Node]) -> None:
        parent = self.model.invisibleRootItem()
        found = None
        for node in path:
            match = None
            for r in range(parent.rowCount()):
                child = parent.child(r)
                other = child.data(NODE_ROLE)
                if other is not None and other.level == node.level and \
                        {k: v for k, v in other.key.items() if k != "area_id"} == \
                        {k: v for k, v in node.key.items() if k != "area_id"}:
                    match = child
                    break
            if match is None:
                break
            found = match
            self.tree.expand(match.index())
            parent = match
        if found is not None:
            self.tree.setCurrentIndex(found.index())

    def _fill(self, parent: QStandardItem, node: Node | None) -> None:
        for child in self.areas.children(node):
            item = QStandardItem(child.label)
            item.setEditable(False)
            item.setData(child, NODE_ROLE)
            if child.level != "room":
                placeholder = QStandardItem("…")
                placeholder.setEditable(False)
                item.appendRow(placeholder)
            parent.appendRow(item)
        parent.setData(True, LOADED_ROLE)

    def _expand(self, index: QModelIndex) -> None:
        item = self.model.itemFromIndex(index)
        if item is None or item.data(LOADED_ROLE):
            return
        item.removeRows(0, item.rowCount())
        self._fill(item, item.data(NODE_ROLE))

    def _activate(self, index: QModelIndex) -> None:
        node: Node | None = self.model.itemFromIndex(index).data(NODE_ROLE)
        if node is not None and node.level == "building" and node.key.get("building") is not None:
            self.navigate.emit("building", {k: node.key[k] for k in ("grid_id", "estate", "building")})
            return
        if node is None or node.level != "room":
            return
        if node.household_id:
            self.open_record.emit("household", node.household_id)
        else:
            addr = self.areas.address(node.key["address_id"]) or {}
            self.register_household(node.key.get("grid_id"), addr)


    def register_household(self, grid_id: str | None = None, address: dict[str, Any] | None = None) -> None:
        from ui.forms.register import RegisterHouseholdDialog

        if grid_id is None and address is None:
            grid_id, address = self.register_place()
        dialog = RegisterHouseholdDialog(self.ctx, grid_id=grid_id, address=address, parent=self)
        if dialog.exec() and dialog.result_view:
            getattr(self.window(), "data_changed", self.data_changed)()
            self.open_record.emit("household", dialog.result_view["household"]["id"])

    def register_place(self) -> tuple[str | None, dict[str, Any] | None]:
        """Where a registration started from the tree begins: an empty room gives its address; a
        小区, 楼栋 or 单元 (or a room already lived in) gives the parts down to that level."""
        node = self.selected_node()
        if node is None or "grid_id" not in node.key:
            return None, None
        if node.level == "room" and not node.household_id:
            return node.key["grid_id"], self.areas.address(node.key["address_id"]) or None
        parts = {k: node.key.get(k) for k in ("estate", "building", "unit") if node.key.get(k)}
        return node.key["grid_id"], parts or None

    # --- editing the tree (admins) --------------------------------------------------------------
    def selected_node(self) -> Node | None:
        index = self.tree.currentIndex()
        item = self.model.itemFromIndex(index) if index.isValid() else None
        return item.data(NODE_ROLE) if item is not None else None

    def _open(self, dialog: QDialog) -> bool:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            getattr(self.window(), "data_changed", self.data_changed)()
            if not self.isVisible():
                self.reload()
            return True
        return False

    def _here(self) -> dict[str, Any]:
        node = self.selected_node()
        return dict(node.key) if node is not None else {}

    def new_community(self) -> bool:
        from ui.forms.areas import CommunityDialog

        return self._open(CommunityDialog(self.admin, parent=self))

    def new_grid(self) -> bool:
        from ui.forms.areas import GridDialog

        return self._open(GridDialog(self.admin, community_id=self._here().get("community_id"), parent=self))

    def new_estate(self) -> bool:
        from ui.forms.areas import EstateDialog

        return self._open(EstateDialog(self.admin, grid_id=self._here().get("grid_id"), parent=self))

    def new_building(self) -> bool:
        from ui.forms.areas import BuildingDialog

        here = self._here()
        return self._open(BuildingDialog(self.admin, grid_id=here.get("grid_id"), estate=here.get("estate"),
                                         parent=self))

    def import_areas(self) -> None:
        """The import wizard on the kind 区域 (desktop/exchange/areas.py)."""
        win: Any = self.window()
        if hasattr(win, "import_excel"):
            win.import_excel("area")
        else:
            from ui.forms.exchange import ImportWizard

            wizard = ImportWizard(self.ctx, "area", parent=self)
            wizard.exec()
            if wizard.written is not None:
                self.data_changed()
                self.reload()

    def edit_selected(self) -> bool:
        from ui.forms.areas import EditBuildingDialog, EstateDialog, GridDialog

        node = self.selected_node()
        if node is None or node.level not in ("grid", "estate", "building"):
            QMessageBox.information(self, "修改", "请先在树中选中要修改的网格、小区或楼栋。")
            return False
        k = node.key
        if node.level == "grid":
            existing = next((g for g in self.admin.grids() if g["id"] == k["grid_id"]), None)
            if existing is None:
                return False
            return self._open(GridDialog(self.admin, existing={**existing, "parent_id": existing["community_id"]},
                                         parent=self))
        if node.level == "estate":
            return self._open(EstateDialog(self.admin, grid_id=k["grid_id"], existing=k["estate"], parent=self))
        return self._open(EditBuildingDialog(self.admin, k["grid_id"], k["estate"], k["building"], parent=self))

    def delete_selected(self) -> bool:
        node = self.selected_node()
        if node is None or node.level not in ("community", "grid", "estate", "building"):
            QMessageBox.information(self, "删除", "请先在树中选中要删除的社区、网格、小区或楼栋。")
            return False
        k = node.key
        what = {"community": f"社区“{node.label}”", "grid": f"网格“{node.label.split('(')[0]}”",
                "estate": f"小区“{k.get('estate')}”",
                "building": compose_address(k.get("estate"), k.get("building"), None, None) + "及其全部空户室"}[node.level]
        if QMessageBox.question(self, "删除", f"确定删除{what}吗?") != QMessageBox.StandardButton.Yes:
            return False
        try:
            if node.level == "community":
                self.admin.delete_area(k["community_id"])
            elif node.level == "grid":
                self.admin.delete_area(k["grid_id"])
            elif node.level == "estate":
                self.admin.delete_estate(k["grid_id"], k["estate"])
            else:
                self.admin.delete_building(k["grid_id"], k["estate"], k["building"])
        except ServiceError as exc:
            QMessageBox.warning(self, "未删除", str(exc))
            return False
        getattr(self.window(), "data_changed", self.data_changed)()
        if not self.isVisible():
            self.reload()
        return True
