"""网格一张图 and 楼盘表: the grid drawn offline (QGraphicsView), each building coloured by the
worst status of its rooms; a click opens the building's 楼盘表 (units × floors, one cell per
room), where a click opens the household or offers "在此登记整户". Both print; so do door plates.

Admins (Ability.EDIT_AREAS) set the grid's background plan (设置底图…), draw buildings and the
grid's outline over it (a polygon point by point, or a dragged rectangle; Esc cancels), link each
building shape to a 楼栋, redraw, move the corners of, relink or delete shapes from a right-click
menu, and import GeoJSON outlines; desktop.services.map_shapes does the writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
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

from desktop.domain.geo import COORD_SYSTEMS, label_point
from desktop.policy import Ability, allows
from desktop.services.areas import AreaAdmin, Areas
from desktop.services.errors import ServiceError
from desktop.services.floorplan import BuildingTable, Cell, FloorPlans, GridMap
from desktop.services.map_shapes import MapShapes
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


DRAW_HINTS = {
    "building": "绘制楼栋:在底图上单击逐点描出楼栋轮廓,双击、回车或单击起点完成;也可按住鼠标拖出矩形。"
                "退格撤销上一点,Esc 取消。",
    "grid_outline": "绘制网格边界:在底图上单击逐点描出网格的边界,双击、回车或单击起点完成;也可拖出矩形。"
                    "退格撤销上一点,Esc 取消。",
}
DRAG_PX = 6  # a press and release this far apart (view pixels) is a rectangle, nearer a click
CLOSE_PX = 10  # a click this near the first point closes the polygon
PLAN_FILTER = "图片 (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp *.gif);;所有文件 (*)"


class MapView(QGraphicsView):
    """Zoom with the wheel, pan by dragging; a click on a building emits its (estate, building).

    Drawing mode (`start_drawing`): clicks add the points of a polygon (a double click, Enter or
    a click on the first point closes it), a press dragged and released draws a rectangle;
    Backspace takes the last point back, Esc cancels. The points (scene units, clamped to
    `bounds`) come out of `drawing_finished`."""

    building_clicked = Signal(str, str)
    drawing_finished = Signal(list)  # [(x, y), …] in scene units
    drawing_cancelled = Signal()
    menu_requested = Signal(object, QPoint)  # the item's key ((estate, building) or "outline"), global pos
    editing_done = Signal(bool)  # corners moved: True to keep them (Enter), False to drop them (Esc)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.drawing = False
        self.editing = False  # a shape's corners are being moved (GridMapPage.edit_corners)
        self.points: list[tuple[float, float]] = []
        self._bounds: QRectF | None = None
        self._press: QPoint | None = None
        self._press_scene: tuple[float, float] | None = None
        self._skip_release = False
        self._preview: QGraphicsPathItem | None = None

    def wheelEvent(self, event: Any) -> None:  # noqa: N802
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)

    # --- drawing --------------------------------------------------------------------------------
    def start_drawing(self, bounds: QRectF | None = None) -> None:
        self.cancel_drawing(quiet=True)
        self.drawing = True
        self.points = []
        self._bounds = bounds
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        pen = QPen(QColor("#1565c0"), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._preview = QGraphicsPathItem()
        self._preview.setPen(pen)
        self._preview.setBrush(QBrush(QColor(21, 101, 192, 50)))
        self._preview.setZValue(10)
        if self.scene() is not None:
            self.scene().addItem(self._preview)
        self.setFocus()

    def cancel_drawing(self, *, quiet: bool = False) -> None:
        was = self.drawing
        self._end()
        if was and not quiet:
            self.drawing_cancelled.emit()

    def _end(self) -> None:
        self.drawing = False
        self._press = self._press_scene = None
        if self._preview is not None and self._preview.scene() is not None:
            self._preview.scene().removeItem(self._preview)
        self._preview = None
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().unsetCursor()

    def finish_drawing(self) -> bool:
        """Close the polygon drawn so far (at least three points)."""
        if not self.drawing or len(self.points) < 3:
            return False
        points = list(self.points)
        self._end()
        self.drawing_finished.emit(points)
        return True

    def _scene_point(self, pos: QPoint) -> tuple[float, float]:
        p = self.mapToScene(pos)
        x, y = p.x(), p.y()
        if self._bounds is not None:
            b = self._bounds
            x, y = min(max(x, b.left()), b.right()), min(max(y, b.top()), b.bottom())
        return x, y

    def _show(self, extra: list[tuple[float, float]] | None = None) -> None:
        if self._preview is None:
            return
        pts = self.points + (extra or [])
        path = QPainterPath()
        if pts:
            path.moveTo(*pts[0])
            for q in pts[1:]:
                path.lineTo(*q)
            if len(pts) > 2:
                path.closeSubpath()
            for q in self.points:  # the corners placed so far
                r = 3 / max(self.transform().m11(), 1e-6)
                path.addEllipse(QPointF(*q), r, r)
        self._preview.setPath(path)

    def _rect(self, a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
        return [(a[0], a[1]), (b[0], a[1]), (b[0], b[1]), (a[0], b[1])]

    def _dragged(self, pos: QPoint) -> bool:
        return self._press is not None and (pos - self._press).manhattanLength() > DRAG_PX

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802
        if self.drawing and event.button() == Qt.MouseButton.LeftButton:
            pos = event.position().toPoint()
            self._press, self._press_scene = pos, self._scene_point(pos)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802
        if self.drawing:
            pos = event.position().toPoint()
            here = self._scene_point(pos)
            if self._press_scene is not None and not self.points and self._dragged(pos):
                self._show(self._rect(self._press_scene, here))
            elif self.points:
                self._show([here])
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802
        if self.drawing:
            self._skip_release = True
            self.finish_drawing()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802
        if self.drawing or self._skip_release:
            if self._skip_release:
                self._skip_release = False
                event.accept()
                return
            if event.button() != Qt.MouseButton.LeftButton:
                return
            pos = event.position().toPoint()
            here = self._scene_point(pos)
            start, dragged = self._press_scene, self._dragged(pos)
            self._press = self._press_scene = None
            event.accept()
            if start is not None and dragged and not self.points:
                rect = self._rect(start, here)
                if abs(here[0] - start[0]) > 0 and abs(here[1] - start[1]) > 0:
                    self.points = rect
                    self.finish_drawing()
                return
            if len(self.points) >= 3:
                first = self.mapFromScene(QPointF(*self.points[0]))
                if (first - pos).manhattanLength() <= CLOSE_PX:
                    self.finish_drawing()
                    return
            if not self.points or self.points[-1] != here:
                self.points.append(here)
            self._show()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.editing:
            for item in self.items(event.position().toPoint()):
                key = item.data(KEY_ROLE)
                if key and key != "outline":
                    self.building_clicked.emit(*key)
                    return

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if self.editing and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.editing_done.emit(event.key() != Qt.Key.Key_Escape)
            event.accept()
            return
        if self.drawing:
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.cancel_drawing()
            elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.finish_drawing()
            elif key == Qt.Key.Key_Backspace and self.points:
                self.points.pop()
                self._show()
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: Any) -> None:  # noqa: N802
        if self.drawing or self.editing:
            return
        for item in self.items(event.pos()):
            key = item.data(KEY_ROLE)
            if key:
                self.menu_requested.emit(key, event.globalPos())
                return


class CornerHandle(QGraphicsEllipseItem):
    """One corner of a shape being edited: drag it; the shape follows (the same size at every
    zoom, kept on the plan)."""

    SIZE = 9.0

    def __init__(self, index: tuple[int, int, int], bounds: QRectF, moved: Any) -> None:
        r = self.SIZE / 2
        super().__init__(-r, -r, self.SIZE, self.SIZE)
        self.index = index  # (part, ring, corner)
        self.bounds = bounds
        self.moved = moved
        self.setBrush(QBrush(QColor("#ffffff")))
        pen = QPen(QColor("#1565c0"), 2)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setZValue(20)
        self.setCursor(Qt.CursorShape.SizeAllCursor)
        for flag in (QGraphicsItem.GraphicsItemFlag.ItemIsMovable, QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations,
                     QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges):
            self.setFlag(flag, True)

    def itemChange(self, change: Any, value: Any) -> Any:  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            b = self.bounds
            return QPointF(min(max(value.x(), b.left()), b.right()), min(max(value.y(), b.top()), b.bottom()))
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.moved(self.index, (self.pos().x(), self.pos().y()))
        return super().itemChange(change, value)


class GridMapPage(Page):
    title = "网格一张图"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.plans = FloorPlans(ctx.store, ctx.actor)
        self.maps = MapShapes(ctx.store, ctx.actor)
        self.editable = allows(ctx.actor, Ability.EDIT_AREAS)
        self.map: GridMap | None = None
        self.items: dict[tuple[str, str], QGraphicsPathItem] = {}
        self.outline_item: QGraphicsPathItem | None = None
        self.plan_item: QGraphicsPixmapItem | None = None
        self._pixmaps: dict[str, QPixmap] = {}
        self._drawing: tuple[str, tuple[str, str] | None] | None = None  # ("building" | "grid_outline", key)
        self._editing: tuple[str, Any, list[Any], list[CornerHandle]] | None = None  # shape id, key, parts, handles
        self._fit_next = False
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
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.grid_box)
        top.addStretch(1)
        for b in (print_map, plates):
            top.addWidget(b)
        # its own line: beside the buttons at 1024×768 it was left a sliver ("楼栋(如 3…")
        self.find_box.setMinimumWidth(self.find_box.fontMetrics().horizontalAdvance(self.find_box.placeholderText()) + 40)
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_box)
        find_row.addStretch(1)
        # the admins' tools: the plan, drawing, importing
        self.plan_button = QPushButton("设置底图…")
        self.plan_button.setToolTip("选择扫描或拍摄的网格平面图,作为地图的底图(随同步到本网格的每台电脑)")
        self.plan_button.clicked.connect(self.choose_plan)
        self.remove_plan_button = QPushButton("移除底图")
        self.remove_plan_button.clicked.connect(self.remove_plan)
        self.draw_button = QPushButton("绘制楼栋")
        self.draw_button.setToolTip("在底图上描出一栋楼(多边形或拖出矩形),再选择它对应的楼栋")
        self.draw_button.clicked.connect(lambda: self.start_drawing("building"))
        self.outline_button = QPushButton("绘制网格边界")
        self.outline_button.clicked.connect(lambda: self.start_drawing("grid_outline"))
        self.import_button = QPushButton("导入楼栋轮廓(GeoJSON)…")
        self.import_button.clicked.connect(self.import_outlines)
        self.save_corners_button = QPushButton("保存形状")
        self.save_corners_button.clicked.connect(lambda: self.finish_corners(save=True))
        self.cancel_corners_button = QPushButton("取消编辑")
        self.cancel_corners_button.clicked.connect(lambda: self.finish_corners(save=False))
        self.tools = QWidget()
        tools = QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        tools_label = QLabel("编辑地图:")
        tools_label.setProperty("role", "hint")
        tools.addWidget(tools_label)
        for b in (self.plan_button, self.remove_plan_button, self.draw_button, self.outline_button,
                  self.import_button, self.save_corners_button, self.cancel_corners_button):
            tools.addWidget(b)
        self.save_corners_button.hide()
        self.cancel_corners_button.hide()
        tools.addStretch(1)
        self.tools.setVisible(self.editable)
        self.import_button.setVisible(self.editable)
        self.legend_slot = QVBoxLayout()
        self.note = QLabel("")
        self.note.setProperty("role", "hint")
        self.note.setWordWrap(True)
        self.scene = QGraphicsScene(self)
        self.view = MapView()
        self.view.setScene(self.scene)
        self.view.building_clicked.connect(self.open_building)
        self.view.drawing_finished.connect(self._drawn)
        self.view.drawing_cancelled.connect(self._cancelled)
        self.view.menu_requested.connect(self._menu_at)
        self.view.editing_done.connect(lambda keep: self.finish_corners(save=keep))
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(find_row)
        lay.addWidget(self.tools)
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
        if self.map is not None and not self.view.drawing and not self.view.editing:
            self.load(keep_view=not self._fit_next)

    def load(self, *, keep_view: bool = False) -> None:
        grid_id = self.grid_box.currentData()
        keep = keep_view and self.map is not None and self.map.grid_id == grid_id
        transform, centre = self.view.transform(), self.view.mapToScene(self.view.viewport().rect().center())
        self.view.cancel_drawing(quiet=True)
        self._drawing = None
        self._end_corners()
        self.scene.clear()
        self.items.clear()
        self.outline_item = self.plan_item = None
        if not grid_id:
            self.map = None
            self.note.setText("还没有可查看的网格:请先在“地址与网格”中新建网格和楼栋。")
            self._update_tools()
            return
        try:
            m = self.plans.grid_map(grid_id)
        except ServiceError as exc:
            self.map = None
            self.note.setText(str(exc))
            self._update_tools()
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
        self.note.setText(self._summary(m))
        self._draw_map(m)
        self._update_tools()
        if keep:
            self.view.setTransform(transform)
            self.view.centerOn(centre)
            return
        rect = self.scene.itemsBoundingRect()
        self.view.resetTransform()
        if not rect.isEmpty():
            pad = max(rect.width(), rect.height()) * 0.02
            self.view.fitInView(rect.adjusted(-pad, -pad, pad, pad), Qt.AspectRatioMode.KeepAspectRatio)

    @staticmethod
    def _summary(m: GridMap) -> str:
        if not m.buildings:
            return "该网格还没有楼栋:请先在“地址与网格”中新建楼栋。"
        head = f"{len(m.buildings)} 栋楼,颜色为楼内最需处理的户室;单击楼栋打开楼盘表。"
        if m.space == "image":
            drawn = sum(1 for b in m.buildings if b.drawn)
            rest = len(m.buildings) - drawn
            if m.plan is not None and not m.plan.available:
                head += "底图尚未同步到本机(同步后显示)。"
            return head + (f"{drawn} 栋已在底图上绘制" + (f",其余 {rest} 栋排在底图右侧。" if rest else "。")
                           if drawn else "楼栋还没有在底图上绘制,暂排在底图右侧。")
        located = sum(1 for b in m.buildings if b.located)
        shaped = sum(1 for b in m.buildings if b.drawn)
        if not located:
            return head + "楼栋按小区自动排布(管理员可设置底图并绘制楼栋,或导入 GeoJSON 轮廓)。"
        text = f"其中 {located} 栋按" + ("导入的轮廓" if shaped == located else "坐标") + "定位"
        return head + text + (",其余按小区自动排布。" if located < len(m.buildings) else "。")

    def _draw_map(self, m: GridMap) -> None:
        if m.plan is not None:
            pixmap = self._plan_pixmap(m)
            if pixmap is not None:
                self.plan_item = self.scene.addPixmap(pixmap)
                self.plan_item.setZValue(-2)
                self.plan_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            else:  # the record arrived, its bytes not yet: the plan's frame
                frame = self.scene.addRect(QRectF(0, 0, m.plan.width, m.plan.height),
                                           self._cosmetic("#90a4ae", Qt.PenStyle.DotLine))
                frame.setZValue(-2)
        if m.outline_parts:
            self.outline_item = QGraphicsPathItem(_path(m.outline_parts))
            self.outline_item.setPen(self._cosmetic("#607d8b" if not m.outline_id else "#37474f",
                                                    Qt.PenStyle.DashLine, 1.5 if not m.outline_id else 2.5))
            self.outline_item.setZValue(-1)
            if m.outline_id:
                self.outline_item.setData(KEY_ROLE, "outline")
                self.outline_item.setToolTip("网格边界" + ("(右键可重新绘制或删除)" if self.editable else ""))
            self.scene.addItem(self.outline_item)
        font = QFont()
        font.setPixelSize(max(1, round(m.label_size)))
        estates: dict[str, tuple[float, float]] = {}
        for b in m.buildings:
            colour = STATUSES[b.status][2] if b.status else "#ffffff"
            item = QGraphicsPathItem(_path(b.parts))
            fill = QColor(colour)
            if m.space == "image" and b.drawn:
                fill.setAlpha(215)  # the plan's lines show through a little
            item.setBrush(QBrush(fill))
            item.setPen(self._cosmetic("#263238"))
            item.setData(KEY_ROLE, (b.estate, b.building))
            tip = f"{b.estate}{b.label}:{b.rooms} 户室 · " + "、".join(
                f"{STATUSES[k][0]} {n}" for k, n in sorted(b.counts.items(), key=lambda kv: STATUSES[kv[0]][3]))
            if m.space == "image" and not b.drawn:
                tip += "(尚未在底图上绘制)"
            item.setToolTip(tip)
            item.setCursor(Qt.CursorShape.PointingHandCursor)
            self.scene.addItem(item)
            self.items[(b.estate, b.building)] = item
            label = QGraphicsSimpleTextItem(f"{b.label} {STATUSES[b.status][1] if b.status else ''}", item)
            label.setFont(font)
            label.setBrush(QBrush(_ink(colour)))
            lx, ly = label_point(b.parts)
            lr = label.boundingRect()
            label.setPos(lx - lr.width() / 2, ly - lr.height() / 2)
            if m.space == "image" and b.drawn:
                continue  # the plan names its own estates
            x, y = min(p[0] for p in b.polygon), min(p[1] for p in b.polygon)
            ex, ey = estates.get(b.estate, (x, y))
            estates[b.estate] = (min(ex, x), min(ey, y))
        ink = self.palette().color(QPalette.ColorRole.WindowText)  # light and dark theme alike
        for estate, (x, y) in estates.items():
            t = self.scene.addSimpleText(estate, font)
            t.setBrush(QBrush(ink))
            t.setPos(x, y - m.label_size * 1.5)

    def _plan_pixmap(self, m: GridMap) -> QPixmap | None:
        plan = m.plan
        if plan is None or not plan.available:
            return None
        if plan.sha256 not in self._pixmaps:
            data = self.maps.plan_image(m.grid_id)
            pixmap = QPixmap()
            if not data or not pixmap.loadFromData(data):
                return None
            self._pixmaps = {plan.sha256: pixmap}  # one plan kept: the grid shown
        return self._pixmaps[plan.sha256]

    def _update_tools(self) -> None:
        has_plan = self.map is not None and self.map.plan is not None
        self.remove_plan_button.setEnabled(has_plan)
        for b in (self.draw_button, self.outline_button):
            b.setEnabled(has_plan)
            b.setToolTip("" if has_plan else "请先用“设置底图…”选择扫描或拍摄的网格平面图,再在底图上绘制")
        self.plan_button.setEnabled(self.map is not None)
        self.import_button.setEnabled(self.map is not None)

    @staticmethod
    def _cosmetic(colour: str, style: Qt.PenStyle = Qt.PenStyle.SolidLine, width: float = 1.5) -> QPen:
        pen = QPen(QColor(colour), width, style)
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
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        item.setSelected(True)
        self.view.centerOn(item)
        self.status.emit(f"已定位到 {hit.estate}{hit.label}")
        return True

    def open_building(self, estate: str, building: str) -> None:
        if self.map is not None:
            self.navigate.emit("building", {"grid_id": self.map.grid_id, "estate": estate, "building": building})

    def building_rect(self, estate: str, building: str) -> QRectF:
        return self.items[(estate, building)].sceneBoundingRect()

    # --- the background plan --------------------------------------------------------------------
    def choose_plan(self) -> bool:
        """设置底图…: an image file becomes the grid's background plan."""
        if self.map is None or not self.editable:
            return False
        path, _ = QFileDialog.getOpenFileName(self, "选择网格底图(扫描或拍摄的网格平面图)", str(Path.home()),
                                              PLAN_FILTER)
        if not path:
            return False
        drawn = sum(1 for b in self.map.buildings if b.drawn == "image") + (
            1 if self.map.space == "image" and self.map.outline_id else 0)
        if self.map.plan is not None and QMessageBox.question(
                self, "设置底图", "替换本网格的底图吗?" + (
                    f"已在旧底图上绘制的 {drawn} 个形状将按新底图的大小缩放,请替换后核对位置。" if drawn else "")) \
                != QMessageBox.StandardButton.Yes:
            return False
        try:
            plan = self.maps.set_plan(self.map.grid_id, path)
        except ServiceError as exc:
            QMessageBox.warning(self, "设置底图", str(exc))
            return False
        self.status.emit(f"已设置底图({plan.width}×{plan.height} 像素):可以开始绘制楼栋")
        self._changed(fit=True)
        return True

    def remove_plan(self) -> bool:
        if self.map is None or self.map.plan is None:
            return False
        if QMessageBox.question(self, "移除底图", "移除本网格的底图吗?在底图上绘制的楼栋轮廓和网格边界将一并删除。") \
                != QMessageBox.StandardButton.Yes:
            return False
        try:
            n = self.maps.remove_plan(self.map.grid_id)
        except ServiceError as exc:
            QMessageBox.warning(self, "移除底图", str(exc))
            return False
        self.status.emit(f"已移除底图及其上的 {n} 个形状")
        self._changed(fit=True)
        return True

    # --- drawing ----------------------------------------------------------------------------------
    def start_drawing(self, what: str, key: tuple[str, str] | None = None) -> bool:
        """Draw a building ("building"; `key` redraws that building without asking) or the grid's
        outline ("grid_outline") over the plan."""
        if self.map is None or not self.editable:
            return False
        if self._editing is not None:
            self.finish_corners(save=False)
        if self.map.plan is None:
            QMessageBox.information(self, "绘制", "本网格还没有底图:请先用“设置底图…”选择扫描或拍摄的网格平面图,"
                                                 "再在底图上绘制。")
            return False
        self._drawing = (what, key)
        plan = self.map.plan
        self.view.start_drawing(QRectF(0, 0, plan.width, plan.height))
        hint = DRAW_HINTS[what]
        if key is not None:
            hint = f"重新绘制 {key[0]}{key[1]}栋:" + hint.split(":", 1)[1]
        self.note.setText(hint)
        return True

    def _cancelled(self) -> None:
        self._drawing = None
        if self.map is not None:
            self.note.setText(self._summary(self.map))
        self.status.emit("已取消绘制")

    def _drawn(self, points: list[tuple[float, float]]) -> None:
        what, key = self._drawing or ("building", None)
        self._drawing = None
        if self.map is None:
            return
        polygons = [[[(round(x, 1), round(y, 1)) for x, y in points]]]
        try:
            if what == "grid_outline":
                self.maps.draw_outline(self.map.grid_id, polygons)
                done = "已保存网格边界"
            else:
                key = key or self._pick_building()
                if key is None:
                    self.note.setText(self._summary(self.map))
                    self.status.emit("已取消:没有选择楼栋")
                    return
                self.maps.draw_building(self.map.grid_id, key[0], key[1], polygons)
                done = f"已绘制 {key[0]}{key[1]}栋"
        except ServiceError as exc:
            QMessageBox.warning(self, "绘制", str(exc))
            self.note.setText(self._summary(self.map))
            return
        self.status.emit(done)
        self._changed()

    def _pick_building(self) -> tuple[str, str] | None:
        """Which 楼栋 a drawn shape is: the grid's buildings, those not drawn yet first."""
        if self.map is None:
            return None
        buildings = sorted(self.map.buildings, key=lambda b: b.drawn == "image")
        labels = [f"{b.estate}{b.label}" + ("(已绘制,将替换)" if b.drawn == "image" else "") for b in buildings]
        if not labels:
            QMessageBox.information(self, "绘制楼栋", "本网格还没有楼栋:请先在“地址与网格”中新建楼栋,再把它画到底图上。")
            return None
        choice, ok = QInputDialog.getItem(self, "绘制楼栋", "刚画的形状是哪一栋楼?", labels, 0, False)
        if not ok or choice not in labels:
            return None
        b = buildings[labels.index(choice)]
        return b.estate, b.building

    # --- a shape's menu ---------------------------------------------------------------------------
    def shape_actions(self, key: Any) -> list[tuple[str, Any]]:
        """What the right-click menu offers for a building or the outline (admins only)."""
        if self.map is None or not self.editable:
            return []
        if key == "outline":
            if not self.map.outline_id:
                return []
            out: list[tuple[str, Any]] = [("删除网格边界", lambda: self.delete_shape(self.map.outline_id))]
            if self.map.space == "image":
                out[:0] = [("重新绘制网格边界", lambda: self.start_drawing("grid_outline")),
                           ("移动各角…", lambda: self.edit_corners("outline"))]
            return out
        b = next((b for b in self.map.buildings if (b.estate, b.building) == tuple(key)), None)
        if b is None:
            return []
        actions: list[tuple[str, Any]] = [("打开楼盘表", lambda: self.open_building(b.estate, b.building))]
        if self.map.space == "image":
            actions.append(("重新绘制" if b.drawn else "在底图上绘制", lambda: self.start_drawing("building", key)))
        if self.map.space == "image" and b.drawn:
            actions.append(("移动各角…", lambda: self.edit_corners(key)))
        if b.shape_id:
            actions.append(("改为其他楼栋…", lambda: self.relink(b.shape_id)))
            actions.append(("删除形状", lambda: self.delete_shape(b.shape_id)))
        return actions

    def _menu_at(self, key: Any, pos: QPoint) -> None:
        actions = self.shape_actions(key)
        if not actions:
            return
        menu = QMenu(self)
        for text, run in actions:
            menu.addAction(text).triggered.connect(run)
        menu.exec(pos)

    # --- moving a drawn shape's corners -------------------------------------------------------------
    def edit_corners(self, key: Any) -> bool:
        """Handles on every corner of a drawn building (or of the drawn outline, key "outline"):
        drag them, then 保存形状 (Enter) or 取消编辑 (Esc)."""
        if self.map is None or not self.editable or self.map.plan is None:
            return False
        if key == "outline":
            shape_id, parts, item = self.map.outline_id, self.map.outline_parts, self.outline_item
        else:
            b = next((b for b in self.map.buildings if (b.estate, b.building) == tuple(key)), None)
            shape_id, parts, item = (b.shape_id, b.parts, self.items.get(tuple(key))) if b and b.drawn else (None, [], None)
        if not shape_id or item is None:
            return False
        self.view.cancel_drawing(quiet=True)
        self._end_corners()
        work = [[[tuple(q) for q in ring] for ring in part] for part in parts]
        bounds = QRectF(0, 0, self.map.plan.width, self.map.plan.height)

        def moved(index: tuple[int, int, int], at: tuple[float, float]) -> None:
            pi, ri, vi = index
            work[pi][ri][vi] = at
            item.setPath(_path(work))

        handles = []
        for pi, part in enumerate(work):
            for ri, ring in enumerate(part):
                for vi, (x, y) in enumerate(ring):
                    h = CornerHandle((pi, ri, vi), bounds, moved)
                    h.setPos(x, y)
                    self.scene.addItem(h)
                    handles.append(h)
        self._editing = (shape_id, key, work, handles)
        self.view.editing = True
        self.view.setFocus()
        self.save_corners_button.show()
        self.cancel_corners_button.show()
        name = "网格边界" if key == "outline" else f"{key[0]}{key[1]}栋"
        self.note.setText(f"移动 {name} 的各角:拖动圆点,然后按“保存形状”(回车);“取消编辑”(Esc)恢复原样。")
        return True

    def corner_handles(self) -> list[CornerHandle]:
        return list(self._editing[3]) if self._editing else []

    def finish_corners(self, *, save: bool) -> bool:
        if self._editing is None:
            return False
        shape_id, key, work, _ = self._editing
        self._end_corners()
        if not save:
            self.status.emit("已取消编辑,形状未改动")
            self.load(keep_view=True)
            return False
        try:
            self.maps.update(shape_id, polygons=[[[(round(x, 1), round(y, 1)) for x, y in ring] for ring in part]
                                                 for part in work])
        except ServiceError as exc:
            QMessageBox.warning(self, "移动各角", str(exc))
            self.load(keep_view=True)
            return False
        self.status.emit("已保存形状" if key == "outline" else f"已保存 {key[0]}{key[1]}栋 的形状")
        self._changed()
        return True

    def _end_corners(self) -> None:
        if self._editing is not None:
            for h in self._editing[3]:
                if h.scene() is not None:
                    h.scene().removeItem(h)
        self._editing = None
        self.view.editing = False
        self.save_corners_button.hide()
        self.cancel_corners_button.hide()

    def relink(self, shape_id: str | None) -> bool:
        if self.map is None or not shape_id:
            return False
        key = self._pick_building()
        if key is None:
            return False
        try:
            self.maps.update(shape_id, estate=key[0], building=key[1])
        except ServiceError as exc:
            QMessageBox.warning(self, "改为其他楼栋", str(exc))
            return False
        self.status.emit(f"形状已改为 {key[0]}{key[1]}栋")
        self._changed()
        return True

    def delete_shape(self, shape_id: str | None) -> bool:
        if self.map is None or not shape_id:
            return False
        try:
            shape = self.maps.shape(shape_id)
        except ServiceError as exc:
            QMessageBox.warning(self, "删除形状", str(exc))
            return False
        if QMessageBox.question(self, "删除形状", f"删除“{shape.label}”的形状吗?楼栋和户室不受影响。") \
                != QMessageBox.StandardButton.Yes:
            return False
        try:
            self.maps.delete(shape_id, expected_version=shape.version)
        except ServiceError as exc:
            QMessageBox.warning(self, "删除形状", str(exc))
            return False
        self.status.emit(f"已删除“{shape.label}”的形状")
        self._changed()
        return True

    def _changed(self, *, fit: bool = False) -> None:
        """After a write: every page refreshes (the 楼盘表 …); this one keeps its zoom and place,
        or fits the whole map again (`fit`: a new plan, an import)."""
        self._fit_next = fit
        try:
            win = self.window()
            if win is not self and hasattr(win, "data_changed"):
                win.data_changed()
            else:
                self.data_changed()
        finally:
            self._fit_next = False

    # --- printing and importing -------------------------------------------------------------------
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
        outline = ",并导入了网格边界" if result["outline"] else ""
        on_plan = ";本网格有底图,地图仍按底图显示(移除底图后按导入的轮廓显示)" \
            if self.map.plan is not None else ""
        QMessageBox.information(self, "导入楼栋轮廓", f"已按 {result['coords']} 定位 {result['placed']} 栋楼"
                                f"{outline}{more}{on_plan}。")
        self._changed(fit=True)


def _path(parts: list[Any]) -> QPainterPath:
    """Polygons with holes as one path (even-odd: a hole stays open and is not clickable)."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for part in parts:
        for ring in part:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in ring]))
            path.closeSubpath()
    return path
