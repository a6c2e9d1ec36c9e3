"""地址与网格: the tree 社区 → 网格 → 小区 → 楼栋 → 单元 → 户室 that lands on a household."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeView, QVBoxLayout, QWidget

from desktop.services.areas import Areas, Node
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
        hint = QLabel("展开到户室,双击(或回车)打开该户;空户室可直接整户登记。")
        hint.setProperty("role", "hint")
        register = QPushButton("整户登记…")
        register.clicked.connect(lambda: self.register_household())
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
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
        self.model.removeRows(0, self.model.rowCount())
        self._fill(self.model.invisibleRootItem(), None)
        self._loaded = True
        if self.model.rowCount() == 1:
            self.tree.expand(self.model.index(0, 0))

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
        if node is None or node.level != "room":
            return
        if node.household_id:
            self.open_record.emit("household", node.household_id)
        else:
            addr = self.areas.address(node.key["address_id"]) or {}
            self.register_household(node.key.get("grid_id"), addr)


    def register_household(self, grid_id: str | None = None, address: dict[str, Any] | None = None) -> None:
        from ui.forms.register import RegisterHouseholdDialog

        dialog = RegisterHouseholdDialog(self.ctx, grid_id=grid_id, address=address, parent=self)
        if dialog.exec() and dialog.result_view:
            self.window().data_changed() if hasattr(self.window(), "data_changed") else self.data_changed()
            self.open_record.emit("household", dialog.result_view["household"]["id"])
