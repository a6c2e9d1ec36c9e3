"""网格一张图 and 楼盘表: the grid drawn offline (QGraphicsView), each building coloured by the
worst status of its rooms; a click opens the building's 楼盘表 (units × floors, one cell per
room), where a click opens the household or offers "在此登记整户". Both print; so do door plates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.geo import COORD_SYSTEMS
from desktop.policy import Ability, allows
from desktop.services.areas import AreaAdmin, Areas
from desktop.services.errors import ServiceError
from desktop.services.floorplan import BuildingTable, Cell, FloorPlans, GridMap
from desktop.services.room_status import ORDER, STATUSES
from ui.context import AppContext
from ui.pages.base import Page

CELL_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = 1  # QGraphicsItem.data key: (estate, building)


def _ink(colour: str) -> QColor:
    c = QColor(colour)
    return QColor("black") if (0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()) > 140 else QColor("white")


def legend(counts: dict[str, int] | None = None) -> QWidget:
    """Swatches with the status letter on them (not colour alone) and the label beside."""
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for key in ORDER:
        label, letter, colour, _ = STATUSES[key]
        sw = QLabel(letter)
        sw.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sw.setFixedSize(22, 22)
        sw.setStyleSheet(f"background: {colour}; color: {_ink(colour).name()}; border: 1px solid #444; font-weight: bold;")
        lay.addWidget(sw)
        text = QLabel(label + (f" {counts.get(key, 0)}" if counts is not None else ""))
        lay.addWidget(text)
        lay.addSpacing(8)
    lay.addStretch(1)
    return box


def _save_pdf(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "保存为 PDF", str(Path.home() / suggested), "PDF 文件 (*.pdf)")
    return path or None


class _CellDelegate(QStyledItemDelegate):
    """Paints a cell's status colour itself: the theme's style sheet would otherwise override the
    items' backgrounds."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Any) -> None:
        brush = index.data(Qt.ItemDataRole.BackgroundRole)
        if brush is not None:
            painter.save()
            painter.fillRect(option.rect.adjusted(1, 1, -1, -1), brush)
            if option.state & QStyle.StateFlag.State_Selected:
                painter.setPen(QPen(QColor("#1565c0"), 3))
                painter.drawRect(option.rect.adjusted(2, 2, -2, -2))
            painter.setPen(index.data(Qt.ItemDataRole.ForegroundRole).color())
            painter.drawText(option.rect, Qt.AlignmentFlag.AlignCenter, index.data(Qt.ItemDataRole.DisplayRole) or "")
            painter.restore()
            return
        super().paint(painter, option, index)


class BuildingTablePage(Page):
    """One building's 楼盘表."""

    title = "楼盘表"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.plans = FloorPlans(ctx.store, ctx.actor)
        self.table_model: BuildingTable | None = None
        self.heading = QLabel("楼盘表")
        self.heading.setProperty("role", "page-title")
        back = QPushButton("← 网格一张图")
        back.clicked.connect(lambda: self.navigate.emit("gridmap", {"grid_id": self.table_model.grid_id}
                                                        if self.table_model else {}))
        self.filter = QComboBox()
        self.filter.addItem("全部户室", None)
        for key in ORDER:
            self.filter.addItem(f"只看:{STATUSES[key][0]}", key)
        self.filter.currentIndexChanged.connect(self._apply_filter)
        self.paper = QComboBox()
        self.paper.addItems(["A4", "A3"])
        print_button = QPushButton("打印楼盘表…")
        print_button.clicked.connect(self.print_table)
        plates = QPushButton("打印本楼门牌…")
        plates.clicked.connect(self.print_plates)
        top = QHBoxLayout()
        for w in (back, self.heading):
            top.addWidget(w)
        top.addStretch(1)
        for control in (self.filter, self.paper, print_button, plates):
            top.addWidget(control)
        self.legend_box = QVBoxLayout()
        hint = QLabel("每格:户室号、状态字母、户主姓氏与人数。单击打开该户;未登记的户室可在此登记整户。")
        hint.setProperty("role", "hint")
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegate(_CellDelegate(self.table))
        self.table.cellClicked.connect(self._clicked)
        self.table.cellActivated.connect(self._clicked)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(self.legend_box)
        lay.addWidget(hint)
        lay.addWidget(self.table, 1)

    def activate(self, **params: Any) -> None:
        if "building" in params:
            self.load(params["grid_id"], params["estate"], params["building"])

    def data_changed(self) -> None:
        if self.table_model is not None:
            t = self.table_model
            self.load(t.grid_id, t.estate, t.building)

    def load(self, grid_id: str, estate: str, building: str) -> None:
        try:
            t = self.plans.building_table(grid_id, estate, building)
        except ServiceError as exc:
            QMessageBox.warning(self, "楼盘表", str(exc))
            return
        self.table_model = t
        self.heading.setText(f"楼盘表 · {t.title}")
        while self.legend_box.count():
            taken = self.legend_box.takeAt(0)
            old = taken.widget() if taken is not None else None
            if old is not None:
                old.deleteLater()
        self.legend_box.addWidget(legend(t.counts))
        cols = [(u, i) for u in t.units for i in range(t.width)]
        self.table.clear()
        self.table.setRowCount(len(t.floors))
        self.table.setColumnCount(len(cols))
        self.table.setHorizontalHeaderLabels([f"{u}单元" if i == 0 else "" for u, i in cols])
        self.table.setVerticalHeaderLabels([f"{f}层" if f else "—" for f in t.floors])
        for r, floor in enumerate(t.floors):
            for c, (unit, i) in enumerate(cols):
                cells = t.cells.get((unit, floor), [])
                if i >= len(cells):
                    continue
                cell = cells[i]
                colour = STATUSES[cell.status][2]
                item = QTableWidgetItem(f"{cell.room} {cell.letter}\n{cell.text}")
                item.setBackground(QBrush(QColor(colour)))
                item.setForeground(QBrush(_ink(colour)))
                item.setToolTip(cell.tip)
                item.setData(CELL_ROLE, cell)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        self._apply_filter()

    def _apply_filter(self) -> None:
        wanted = self.filter.currentData()
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is None:
                    continue
                cell: Cell = item.data(CELL_ROLE)
                dim = wanted is not None and cell.status != wanted
                colour = "#eeeeee" if dim else STATUSES[cell.status][2]
                item.setBackground(QBrush(QColor(colour)))
                item.setForeground(QBrush(QColor("#9e9e9e") if dim else _ink(colour)))

    def cell_at(self, room: str, unit: str) -> tuple[int, int]:
        """(row, column) of a room in the table (for tests and the search box)."""
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None and (item.data(CELL_ROLE).room, item.data(CELL_ROLE).unit) == (room, unit):
                    return r, c
        raise KeyError(room)

    def _clicked(self, row: int, column: int) -> None:
        item = self.table.item(row, column)
        if item is None:
            return
        cell: Cell = item.data(CELL_ROLE)
        if cell.household_id:
            self.open_record.emit("household", cell.household_id)
            return
        if QMessageBox.question(self, "在此登记整户", f"{cell.tip.split(' · ')[0]}:还没有登记住户。在此登记整户吗?") \
                != QMessageBox.StandardButton.Yes:
            return
        from ui.forms.register import RegisterHouseholdDialog

        address = Areas(self.ctx.store, self.ctx.actor).address(cell.address_id) or {}
        dialog = RegisterHouseholdDialog(self.ctx, grid_id=self.table_model.grid_id if self.table_model else None,
                                         address=address, parent=self)
        if dialog.exec() and dialog.result_view:
            win = self.window()
            win.data_changed() if hasattr(win, "data_changed") else self.data_changed()
            self.open_record.emit("household", dialog.result_view["household"]["id"])

    def print_table(self) -> None:
        from desktop.printing.maps import print_building_table

        t = self.table_model
        if t is None:
            return
        path = _save_pdf(self, f"楼盘表_{t.title}.pdf")
        if path:
            _run_print(self, lambda: print_building_table(self.ctx.store, self.ctx.actor, t.grid_id, t.estate,
                                                          t.building, out=path, paper=self.paper.currentText()))

    def print_plates(self) -> None:
        from desktop.printing.maps import print_door_plates

        t = self.table_model
        if t is None:
            return
        path = _save_pdf(self, f"门牌二维码_{t.title}.pdf")
        if path:
            _run_print(self, lambda: print_door_plates(self.ctx.store, self.ctx.actor, t.grid_id, out=path,
                                                       estate=t.estate, building=t.building))


def _run_print(page: Page, job: Any) -> None:
    try:
        result = job()
    except ServiceError as exc:
        QMessageBox.warning(page, "打印", str(exc))
        return
    page.status.emit(f"已保存 {result.files[0].name}(共 {result.pages} 页)")


class MapView(QGraphicsView):
    """Zoom with the wheel, pan by dragging; a click on a building emits its (estate, building)."""

    building_clicked = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            for item in self.items(event.position().toPoint()):
                key = item.data(KEY_ROLE)
                if key:
                    self.building_clicked.emit(*key)
                    return


class GridMapPage(Page):
    title = "网格一张图"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.plans = FloorPlans(ctx.store, ctx.actor)
        self.map: GridMap | None = None
        self.items: dict[tuple[str, str], QGraphicsPolygonItem] = {}
        heading = QLabel("网格一张图")
        heading.setProperty("role", "page-title")
        self.grid_box = QComboBox()
        self.grid_box.currentIndexChanged.connect(lambda _: self.load())
        self.find_box = QLineEdit()
        self.find_box.setPlaceholderText("楼栋(如 3栋)或户主姓名,回车定位")
        self.find_box.returnPressed.connect(lambda: self.centre_on(self.find_box.text()))
        print_map = QPushButton("打印地图(A3)…")
        print_map.clicked.connect(self.print_map)
        plates = QPushButton("打印全网格门牌…")
        plates.clicked.connect(self.print_plates)
        self.import_button = QPushButton("导入楼栋轮廓(GeoJSON)…")
        self.import_button.clicked.connect(self.import_outlines)
        self.import_button.setVisible(allows(ctx.actor, Ability.EDIT_AREAS))
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.grid_box)
        top.addStretch(1)
        for b in (print_map, plates, self.import_button):
            top.addWidget(b)
        # its own line: beside the three buttons at 1024×768 it was left a sliver ("楼栋(如 3…")
        self.find_box.setMinimumWidth(self.find_box.fontMetrics().horizontalAdvance(self.find_box.placeholderText()) + 40)
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_box)
        find_row.addStretch(1)
        self.legend_slot = QVBoxLayout()
        self.note = QLabel("")
        self.note.setProperty("role", "hint")
        self.scene = QGraphicsScene(self)
        self.view = MapView()
        self.view.setScene(self.scene)
        self.view.building_clicked.connect(self.open_building)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(find_row)
        lay.addLayout(self.legend_slot)
        lay.addWidget(self.note)
        lay.addWidget(self.view, 1)
        self._fill_grids()

    def _fill_grids(self) -> None:
        self.grid_box.blockSignals(True)
        self.grid_box.clear()
        for g in AreaAdmin(self.ctx.store, self.ctx.actor).grids():
            if self.ctx.actor.may_access(g["id"]):
                self.grid_box.addItem(g["label"], g["id"])
        self.grid_box.blockSignals(False)

    def activate(self, **params: Any) -> None:
        if self.grid_box.count() == 0:
            self._fill_grids()
        if params.get("grid_id"):
            i = self.grid_box.findData(params["grid_id"])
            if i >= 0 and i != self.grid_box.currentIndex():
                self.grid_box.setCurrentIndex(i)  # loads
                return
        if self.map is None or params.get("grid_id"):
            self.load()

    def data_changed(self) -> None:
        if self.map is not None:
            self.load()

    def load(self) -> None:
        grid_id = self.grid_box.currentData()
        self.scene.clear()
        self.items.clear()
        if not grid_id:
            self.note.setText("还没有可查看的网格:请先在“地址与网格”中新建网格和楼栋。")
            return
        try:
            m = self.plans.grid_map(grid_id)
        except ServiceError as exc:
            self.note.setText(str(exc))
            return
        self.map = m
        counts: dict[str, int] = {}
        for b in m.buildings:
            if b.status:
                counts[b.status] = counts.get(b.status, 0) + 1
        while self.legend_slot.count():
            taken = self.legend_slot.takeAt(0)
            old = taken.widget() if taken is not None else None
            if old is not None:
                old.deleteLater()
        self.legend_slot.addWidget(legend(counts))
        located = sum(1 for b in m.buildings if b.located)
        self.note.setText(
            f"{len(m.buildings)} 栋楼,颜色为楼内最需处理的户室;单击楼栋打开楼盘表。" +
            (f"其中 {located} 栋按坐标定位" + (",其余按小区自动排布。" if located < len(m.buildings) else "。") if located else "楼栋按小区自动排布(管理员可导入 GeoJSON 轮廓)。")
            if m.buildings else "该网格还没有楼栋:请先在“地址与网格”中新建楼栋。")
        if m.outline:
            outline = self.scene.addPolygon(QPolygonF([QPointF(*p) for p in m.outline]),
                                            self._cosmetic("#607d8b", Qt.PenStyle.DashLine))
            outline.setZValue(-1)
        font = QFont()
        font.setPixelSize(6)
        estates: dict[str, tuple[float, float]] = {}
        for b in m.buildings:
            colour = STATUSES[b.status][2] if b.status else "#ffffff"
            item = QGraphicsPolygonItem(QPolygonF([QPointF(*p) for p in b.polygon]))
            item.setBrush(QBrush(QColor(colour)))
            item.setPen(self._cosmetic("#263238"))
            item.setData(KEY_ROLE, (b.estate, b.building))
            item.setToolTip(f"{b.estate}{b.label}:{b.rooms} 户室 · " +
                            "、".join(f"{STATUSES[k][0]} {n}" for k, n in sorted(b.counts.items(), key=lambda kv: STATUSES[kv[0]][3])))
            item.setCursor(Qt.CursorShape.PointingHandCursor)
            self.scene.addItem(item)
            self.items[(b.estate, b.building)] = item
            label = QGraphicsSimpleTextItem(f"{b.label} {STATUSES[b.status][1] if b.status else ''}", item)
            label.setFont(font)
            label.setBrush(QBrush(_ink(colour)))
            r = item.boundingRect()
            lr = label.boundingRect()
            label.setPos(r.center().x() - lr.width() / 2, r.center().y() - lr.height() / 2)
            x, y = min(p[0] for p in b.polygon), min(p[1] for p in b.polygon)
            ex, ey = estates.get(b.estate, (x, y))
            estates[b.estate] = (min(ex, x), min(ey, y))
        ink = self.palette().color(QPalette.ColorRole.WindowText)  # light and dark theme alike
        for estate, (x, y) in estates.items():
            t = self.scene.addSimpleText(estate, font)
            t.setBrush(QBrush(ink))
            t.setPos(x, y - 9)
        rect = self.scene.itemsBoundingRect()
        self.view.resetTransform()
        if not rect.isEmpty():
            self.view.fitInView(rect.adjusted(-10, -10, 10, 10), Qt.AspectRatioMode.KeepAspectRatio)

    @staticmethod
    def _cosmetic(colour: str, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
        pen = QPen(QColor(colour), 1.5, style)
        pen.setCosmetic(True)  # the same width at every zoom
        return pen

    def centre_on(self, query: str) -> bool:
        """Centre on a building ("3栋", "幸福小区3栋") or the building of a household head's name."""
        q = query.strip().replace("号楼", "").replace("栋", "").replace("幢", "")
        if not q or self.map is None:
            return False
        hit = None
        for b in self.map.buildings:
            if q in (b.building, f"{b.estate}{b.building}") or any(q and q == name for _, name in b.households):
                hit = b
                break
        if hit is None:
            self.status.emit(f"地图上没有找到“{query.strip()}”")
            return False
        item = self.items[(hit.estate, hit.building)]
        self.scene.clearSelection()
        item.setFlag(QGraphicsPolygonItem.GraphicsItemFlag.ItemIsSelectable, True)
        item.setSelected(True)
        self.view.centerOn(item)
        self.status.emit(f"已定位到 {hit.estate}{hit.label}")
        return True

    def open_building(self, estate: str, building: str) -> None:
        if self.map is not None:
            self.navigate.emit("building", {"grid_id": self.map.grid_id, "estate": estate, "building": building})

    def building_rect(self, estate: str, building: str) -> QRectF:
        return self.items[(estate, building)].sceneBoundingRect()

    def print_map(self) -> None:
        from desktop.printing.maps import print_grid_map

        if self.map is None:
            return
        m = self.map
        path = _save_pdf(self, f"网格一张图_{m.name}.pdf")
        if path:
            _run_print(self, lambda: print_grid_map(self.ctx.store, self.ctx.actor, m.grid_id, out=path))

    def print_plates(self) -> None:
        from desktop.printing.maps import print_door_plates

        if self.map is None:
            return
        m = self.map
        path = _save_pdf(self, f"门牌二维码_{m.name}.pdf")
        if path:
            _run_print(self, lambda: print_door_plates(self.ctx.store, self.ctx.actor, m.grid_id, out=path))

    def import_outlines(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.map is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "选择楼栋轮廓文件", str(Path.home()),
                                              "GeoJSON (*.geojson *.json)")
        if not path:
            return
        labels = list(COORD_SYSTEMS.values())
        choice, ok = QInputDialog.getItem(self, "坐标系", "文件中的经纬度属于哪个坐标系?", labels, 0, False)
        if not ok:
            return
        coords = next(k for k, v in COORD_SYSTEMS.items() if v == choice)
        try:
            result = self.plans.import_geojson(self.map.grid_id, path, coords=coords)
        except ServiceError as exc:
            QMessageBox.warning(self, "导入楼栋轮廓", str(exc))
            return
        more = f";{len(result['unmatched'])} 个要素没有对应的楼栋:{'、'.join(result['unmatched'][:5])}" \
            if result["unmatched"] else ""
        QMessageBox.information(self, "导入楼栋轮廓", f"已按 {result['coords']} 定位 {result['placed']} 栋楼{more}。")
        win = self.window()
        win.data_changed() if hasattr(win, "data_changed") else self.load()
