"""列表页: people, houses, vehicles, units, visits, events and disputes, filtered and sorted.

One class for every kind: a filter bar fitting the kind, a lazily filled table (see
ui.item_models.record_table), a row count, and a context menu that reveals masked values for those
allowed to see them (each reveal is audited by the service)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop import kinds
from desktop.policy import Ability, allows, denial
from desktop.services import privacy
from desktop.services.errors import ServiceError
from desktop.services.lists import FILTER_KEYS, OPEN, OVERDUE, Lists, grid_choices
from desktop.validation import code_table
from ui.context import AppContext
from ui.forms.opener import open_record_dialog
from ui.item_models.record_table import RecordTableModel
from ui.pages.base import Page
from ui.widgets.coloured import ForegroundDelegate
from ui.widgets.flow import FlowLayout, labelled

NO_DATE = QDate(2000, 1, 1)  # the minimum of the date boxes, shown as 不限
NO_AGE = -1
REVEAL_DENIED = denial(Ability.REVEAL)


class RecordView(QTableView):
    """A table view that reports Enter/Return on the current row."""

    enter_pressed = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)


def _combo(items: list[tuple[str, Any]], min_chars: int = 6) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    box.setMinimumContentsLength(min_chars)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return box


def _code_items(table: str, everything: str = "全部") -> list[tuple[str, Any]]:
    return [(everything, None), *((label, code) for code, label in code_table(table).items)]


def _select(box: QComboBox, value: Any, fallback_label: str | None = None) -> None:
    """Select the item holding `value`; an unknown value gets an item of its own."""
    i = box.findData(value)
    if i < 0 and value is not None:
        box.addItem(fallback_label or str(value), value)
        i = box.count() - 1
    box.setCurrentIndex(max(i, 0))


class ListPage(Page):
    def __init__(self, ctx: AppContext, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        entry = kinds.find(kind)
        if entry is None or not entry.listed:
            raise ValueError(f"不支持的列表类型:{kind}")
        self.kind = kind
        self.entry = entry
        self.title = entry.title
        self.keep_id: str | None = None  # the record chosen to keep when merging duplicates
        self.lists = Lists(ctx.store, ctx.actor)
        self.columns = self.lists.columns(kind)
        self.sensitive = [c for c in self.columns if c.sensitive]
        self.model = RecordTableModel(self.lists, kind, pool=ctx.pool, parent=self)
        self._loaded_once = False
        self._stale = False
        self._updating = False  # widgets being set from code: no reload per widget
        self.reveal_box: QMessageBox | None = None
        self._grids: list[dict[str, Any]] = []

        self.heading = QLabel(self.title)
        self.heading.setProperty("role", "page-title")
        self.count_label = QLabel("")
        self.count_label.setProperty("role", "hint")
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.clicked.connect(self.reload)
        self.new_button = QPushButton(entry.new_label or f"新建{entry.label}…")
        self.new_button.clicked.connect(self.new_record)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        top.addWidget(self.count_label)
        top.addWidget(self.new_button)
        self.import_button = QPushButton("导入…")
        self.import_button.clicked.connect(self.import_excel)
        self.import_button.setVisible(entry.importable)
        self.export_button = QPushButton("导出…")
        self.export_button.clicked.connect(self.export_excel)
        self.export_button.setVisible(entry.export_ledger is not None)
        self.print_button = QPushButton("打印…")
        self.print_button.clicked.connect(self.print_ledger)
        self.print_button.setVisible(entry.print_ledger is not None)
        for b in (self.import_button, self.export_button, self.print_button):
            top.addWidget(b)
        top.addWidget(self.refresh_button)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._apply_filters)

        bar = self._build_filter_bar()
        self.view = self._build_view()

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(bar)
        # nothing to show: one sentence on what to do next, with the buttons that do it
        self.empty = QLabel("")
        self.empty.setWordWrap(True)
        self.empty_new = QPushButton(self.new_button.text())
        self.empty_new.clicked.connect(self.new_record)
        self.empty_import = QPushButton("从 Excel 导入…")
        self.empty_import.clicked.connect(self.import_excel)
        empty_row = QHBoxLayout()
        empty_row.addWidget(self.empty, 1)
        empty_row.addWidget(self.empty_new)
        empty_row.addWidget(self.empty_import)
        self.empty_box = QWidget()
        self.empty_box.setLayout(empty_row)
        self.empty_box.setVisible(False)
        lay.addWidget(self.empty_box)
        lay.addWidget(self.view, 1)

        self.model.totalChanged.connect(self._show_total)
        self.model.loadingChanged.connect(self._loading_changed)
        self.model.failed.connect(self._load_failed)

    # --- widgets -------------------------------------------------------------------------
    def _build_filter_bar(self) -> QWidget:
        """The filters, wrapping onto a second line on a narrow screen."""
        holder = QWidget()
        bar = FlowLayout(holder)
        self.community_combo: QComboBox | None = None
        self._grids = grid_choices(self.ctx.store, self.ctx.actor)
        communities = {g["community_id"]: g["community"] for g in self._grids if g["community_id"]}
        if self.ctx.is_admin and len(communities) > 1:
            self.community_combo = _combo([("全部社区", None), *((n, c) for c, n in communities.items())], 8)
            self.community_combo.currentIndexChanged.connect(self._community_changed)
            bar.addWidget(labelled("社区", self.community_combo))
        self.grid_combo = _combo([], 8)
        self._fill_grids()
        bar.addWidget(labelled("网格", self.grid_combo))
        self.type_combo = self.mark_combo = self.use_combo = self.state_combo = None
        self.age_from = self.age_to = None
        self.date_from = self.date_to = None
        if self.kind == "person":
            self.type_combo = _combo(_code_items("person_type"), 5)
            self.mark_combo = _combo(_code_items("care_mark"), 6)
            bar.addWidget(labelled("人员类型", self.type_combo))
            bar.addWidget(labelled("关注", self.mark_combo))
            self.age_from, self.age_to = self._age_box(), self._age_box()
            bar.addWidget(labelled("年龄", self.age_from, QLabel("至"), self.age_to))
        if self.kind == "house":
            self.use_combo = _combo(_code_items("house_use"), 4)
            bar.addWidget(labelled("房屋用途", self.use_combo))
        if self.kind == "grid_event":
            items = [("全部", None), ("在办", OPEN), ("超期", OVERDUE),
                     *((lbl, c) for c, lbl in code_table("event_state").items)]
            self.state_combo = _combo(items, 4)
            bar.addWidget(labelled("状态", self.state_combo))
        if self.entry.date_label:
            self.date_from, self.date_to = self._date_box(), self._date_box()
            bar.addWidget(labelled(self.entry.date_label, self.date_from, QLabel("至"), self.date_to))
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText(self.entry.list_hint or "")
        self.text_edit.setClearButtonEnabled(True)
        self.text_edit.setMinimumWidth(200)
        self.text_edit.textChanged.connect(self._filter_edited)
        self.reset_button = QPushButton("清除条件")
        self.reset_button.clicked.connect(self.clear_filters)
        bar.addWidget(labelled("", self.text_edit, self.reset_button))
        for box in (self.grid_combo, self.type_combo, self.mark_combo, self.use_combo, self.state_combo):
            if box is not None:
                box.currentIndexChanged.connect(self._filter_edited)
        return holder

    def _age_box(self) -> QSpinBox:
        box = QSpinBox()
        box.setRange(NO_AGE, 150)
        box.setSpecialValueText("不限")
        box.setValue(NO_AGE)
        box.setSuffix(" 岁")
        box.valueChanged.connect(self._filter_edited)
        return box

    def _date_box(self) -> QDateEdit:
        box = QDateEdit()
        box.setCalendarPopup(True)
        box.setDisplayFormat("yyyy-MM-dd")
        box.setMinimumDate(NO_DATE)
        box.setSpecialValueText("不限")
        box.setDate(NO_DATE)
        box.dateChanged.connect(self._filter_edited)
        return box

    def _build_view(self) -> RecordView:
        view = RecordView()
        view.setModel(self.model)
        view.setItemDelegate(ForegroundDelegate(view))  # overdue events in red, whatever the theme
        view.setAlternatingRowColors(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setWordWrap(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vheader = view.verticalHeader()
        vheader.setVisible(False)
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(view.fontMetrics().height() + 12)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        char = max(view.fontMetrics().horizontalAdvance("中"), 8)
        title_metrics = header.fontMetrics()
        for i, col in enumerate(self.columns):
            # room for the title and the sort arrow, or for the typical value
            title = title_metrics.horizontalAdvance(col.title) + 2 * char + 16
            header.resizeSection(i, max(char * col.width + 16, title))
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        view.setSortingEnabled(True)  # the view calls model.sort: the database sorts
        header.sortIndicatorChanged.connect(self._sort_indicator_changed)
        view.doubleClicked.connect(self._open_index)
        view.enter_pressed.connect(self._open_index)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        return view

    def _fill_grids(self) -> None:
        community = self.community_combo.currentData() if self.community_combo else None
        current = self.grid_combo.currentData()
        self.grid_combo.blockSignals(True)
        self.grid_combo.clear()
        self.grid_combo.addItem("全部网格", None)
        multi = len({g["community_id"] for g in self._grids}) > 1
        for g in self._grids:
            if community is None or g["community_id"] == community:
                name = f"{g['community']} {g['name']}" if multi and community is None else g["name"]
                self.grid_combo.addItem(name, g["id"])
        i = self.grid_combo.findData(current)
        self.grid_combo.setCurrentIndex(max(i, 0))
        self.grid_combo.blockSignals(False)

    # --- filters -------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        """The filters the widgets describe (None values left out)."""
        f: dict[str, Any] = {
            "grid_id": self.grid_combo.currentData(),
            "community_id": self.community_combo.currentData() if self.community_combo else None,
            "text": self.text_edit.text().strip() or None,
        }
        if self.type_combo is not None:
            f["person_type"] = self.type_combo.currentData()
        if self.mark_combo is not None:
            f["care_mark"] = self.mark_combo.currentData()
        if self.age_from is not None and self.age_to is not None:
            f["age_min"] = self.age_from.value() if self.age_from.value() != NO_AGE else None
            f["age_max"] = self.age_to.value() if self.age_to.value() != NO_AGE else None
        if self.use_combo is not None:
            f["house_use"] = self.use_combo.currentData()
        if self.state_combo is not None:
            f["event_state"] = self.state_combo.currentData()
        if self.date_from is not None and self.date_to is not None:
            for key, box in (("date_from", self.date_from), ("date_to", self.date_to)):
                f[key] = box.date().toString("yyyy-MM-dd") if box.date() != NO_DATE else None
        return {k: v for k, v in f.items() if v is not None}

    def set_filters(self, filters: dict[str, Any]) -> None:
        """Show exactly these filters (others cleared) and reload."""
        f = {k: v for k, v in filters.items() if k in FILTER_KEYS and v is not None and v != ""}
        self._updating = True
        try:
            if self.community_combo is not None:
                _select(self.community_combo, f.get("community_id"))
                self._fill_grids()
            _select(self.grid_combo, f.get("grid_id"), "(所选网格)")
            self.text_edit.setText(str(f.get("text", "")))
            pairs = (
                (self.type_combo, "person_type", "person_type"), (self.mark_combo, "care_mark", "care_mark"),
                (self.use_combo, "house_use", "house_use"), (self.state_combo, "event_state", "event_state"),
            )
            for box, key, table in pairs:
                if box is not None:
                    value = f.get(key)
                    code = value if value in (None, OPEN, OVERDUE) else code_table(table).code_for(str(value)) or value
                    _select(box, code)
            for sbox, key in ((self.age_from, "age_min"), (self.age_to, "age_max")):
                if sbox is not None:
                    sbox.setValue(int(f[key]) if key in f else NO_AGE)
            for dbox, key in ((self.date_from, "date_from"), (self.date_to, "date_to")):
                if dbox is not None:
                    d = QDate.fromString(str(f[key])[:10], "yyyy-MM-dd") if key in f else NO_DATE
                    dbox.setDate(d if d.isValid() else NO_DATE)
        finally:
            self._updating = False
        self._apply_filters()

    def clear_filters(self) -> None:
        self.set_filters({})

    def _community_changed(self) -> None:
        if self._updating:
            return
        self._fill_grids()
        self._filter_edited()

    def _filter_edited(self, *_: Any) -> None:
        if not self._updating:
            self._debounce.start()

    def _apply_filters(self) -> None:
        self._debounce.stop()
        self._loaded_once = True
        self._stale = False
        self.model.set_filters(self.filters())

    # --- page contract -------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        """With filter params (dashboard click-through) show exactly those; without, keep the
        current filters and load on first show or after a change elsewhere."""
        wanted = {k: v for k, v in params.items() if k in FILTER_KEYS}
        if wanted:
            self.set_filters(wanted)
        elif not self._loaded_once or self._stale:
            self.reload()

    def data_changed(self) -> None:
        """Reload now if the page is shown; a hidden page reloads when it is next activated."""
        if not self._loaded_once:
            return  # never shown: the first activate loads anyway
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def reload(self) -> None:
        self._loaded_once = True
        self._stale = False
        self._debounce.stop()
        self.model.set_filters(self.filters())

    def new_record(self) -> bool:
        """Open the form for a new record of this kind, in the grid chosen in the filter bar."""
        grid = self.filters().get("grid_id") or next(iter(self._grid_ids()), None)
        preset = {"grid_id": grid} if grid else {}
        if self.kind == "visit":
            preset = {}
        ok = open_record_dialog(self.window(), self.ctx, self.kind, None, preset=preset)
        if ok:
            win = self.window()
            if hasattr(win, "data_changed"):
                win.data_changed()
            else:
                self.reload()
        return ok

    def import_excel(self) -> None:
        win = self.window()
        if hasattr(win, "import_excel"):
            win.import_excel(self.kind)

    def export_excel(self) -> None:
        win = self.window()
        if hasattr(win, "export_excel"):
            win.export_excel(self.entry.export_ledger, self.filters().get("grid_id"))

    def print_ledger(self) -> None:
        params: dict[str, Any] = {"ledger": self.entry.print_ledger}
        if self.filters().get("grid_id"):
            params["grid_id"] = self.filters()["grid_id"]
        self.navigate.emit("print", params)

    def _grid_ids(self) -> list[str]:
        return [g["id"] for g in grid_choices(self.ctx.store, self.ctx.actor)]

    # --- feedback ------------------------------------------------------------------------
    def _show_total(self, total: int) -> None:
        self.count_label.setText(f"共 {total:,} 条")
        self.empty_box.setVisible(total == 0)
        if total:
            return
        filtered = any(v not in (None, "", False) for v in self.filters().values())
        label = self.entry.label
        if filtered:
            self.empty.setText(f"没有符合筛选条件的{label}:请修改或清除上方的筛选条件。")
        elif self.entry.importable:
            self.empty.setText(f"还没有{label}记录:点 {self.new_button.text()} 逐条登记,或从 Excel 批量导入已有的台账。")
        else:
            self.empty.setText(f"还没有{label}记录:点 {self.new_button.text()} 登记第一条。")
        self.empty_new.setVisible(not filtered)
        self.empty_import.setVisible(not filtered and self.entry.importable)

    def _loading_changed(self, on: bool) -> None:
        if on:
            self.count_label.setText("正在加载…")

    def _load_failed(self, message: str) -> None:
        self.count_label.setText("加载失败")
        self.status.emit(f"{self.title}列表加载失败:{message}")

    def _sort_indicator_changed(self, section: int, order: Qt.SortOrder) -> None:
        if 0 <= section < len(self.columns) and not self.columns[section].sortable:
            # put the indicator back where the data really is sorted
            sort = self.model.sort_key
            header = self.view.horizontalHeader()
            header.blockSignals(True)
            if sort is None:
                header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            else:
                header.setSortIndicator(
                    self.model.column_of(sort[0]),
                    Qt.SortOrder.AscendingOrder if sort[1] else Qt.SortOrder.DescendingOrder,
                )
            header.blockSignals(False)
            self.status.emit(f"“{self.columns[section].title}”列不能排序")

    # --- rows ----------------------------------------------------------------------------
    def _open_index(self, index: QModelIndex) -> None:
        record_id = self.model.record_id(index.row()) if index.isValid() else None
        if record_id:
            self.open_record.emit(self.kind, record_id)

    def context_menu_for(self, row: int) -> QMenu:
        """The row's context menu (the row becomes the current one; actions act on it)."""
        self.view.selectRow(row)
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        open_action = menu.addAction("打开")
        open_action.triggered.connect(self._open_current)
        if self.sensitive:
            reveal = menu.addAction("显示完整信息")
            if allows(self.ctx.actor, Ability.REVEAL):
                reveal.setToolTip("显示未脱敏的" + "、".join(c.title for c in self.sensitive) + "(将记入操作日志)")
                reveal.triggered.connect(self._reveal_current)
            else:
                reveal.setEnabled(False)
                reveal.setToolTip(REVEAL_DENIED)
        from desktop.services.merge import mergeable

        if mergeable(self.kind) and allows(self.ctx.actor, Ability.MERGE_RECORDS):
            menu.addSeparator()
            keep = menu.addAction("选为要保留的记录(合并重复)")
            keep.setToolTip("然后在重复的另一条上点“合并到选定的记录…”")
            keep.triggered.connect(self._mark_keep)
            into = menu.addAction("合并到选定的记录…")
            row_id = self.model.record_id(row)
            into.setEnabled(bool(self.keep_id) and self.keep_id != row_id)
            into.triggered.connect(self._merge_into_kept)
            if allows(self.ctx.actor, Ability.UNDO_MERGE) and row_id and self._merged_today(row_id):
                undo = menu.addAction("撤销今天的合并…")
                undo.setToolTip("恢复今天合并到这条记录的那一条,移回转移的关联,还原被改动的项")
                undo.triggered.connect(self._undo_merge)
        if self.kind == "person" and allows(self.ctx.actor, Ability.REVEAL):
            menu.addSeparator()
            purge = menu.addAction("彻底清除个人信息…")
            purge.setToolTip("依本人申请等原因彻底清除,不可恢复(将记入操作日志并同步)")
            purge.triggered.connect(self._purge_current)
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        menu = self.context_menu_for(index.row())
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _open_current(self) -> None:
        self._open_index(self.view.currentIndex())

    def _current_id(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.record_id(index.row()) if index.isValid() else None

    def _mark_keep(self) -> None:
        self.keep_id = self._current_id()
        self.status.emit("已选定要保留的记录:在重复的另一条上右键,点“合并到选定的记录…”")

    def _merged_today(self, record_id: str) -> bool:
        from datetime import UTC, date

        from desktop.services.merge import Merges

        last = Merges(self.ctx.store, self.ctx.actor).last_merge(self.kind, record_id)
        return last is not None and last["at"].replace(tzinfo=UTC).astimezone().date() == date.today()

    def _undo_merge(self) -> None:
        from desktop.services.merge import Merges

        record_id = self._current_id()
        if not record_id:
            return
        answer = QMessageBox.question(self, "撤销合并", "确定撤销今天合并到这条记录的操作吗?被合并的记录会恢复。")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            Merges(self.ctx.store, self.ctx.actor).undo(self.kind, record_id)
        except Exception as exc:  # noqa: BLE001 - every refusal is shown as its sentence
            self._message(QMessageBox.Icon.Warning, "无法撤销", getattr(exc, "message", None) or str(exc))
            return
        self.status.emit("已撤销合并")
        win = self.window()
        if hasattr(win, "data_changed"):
            win.data_changed()
        else:
            self.reload()

    def _merge_into_kept(self) -> None:
        from ui.forms.merge import merge_records

        drop = self._current_id()
        if not self.keep_id or not drop or drop == self.keep_id:
            return
        if merge_records(self.window(), self.ctx, self.kind, self.keep_id, drop):
            self.keep_id = None
            win = self.window()
            if hasattr(win, "data_changed"):
                win.data_changed()
            else:
                self.reload()

    def _purge_current(self) -> None:
        from ui.forms.purge import purge_with_dialog

        record_id = self.model.record_id(self.view.currentIndex().row()) if self.view.currentIndex().isValid() else None
        if record_id and purge_with_dialog(self, self.ctx, record_id):
            win = self.window()
            if hasattr(win, "data_changed"):
                win.data_changed()
            else:
                self.reload()

    def _reveal_current(self) -> None:
        if self.view.currentIndex().isValid():
            self.reveal_row(self.view.currentIndex().row())

    def reveal_row(self, row: int) -> dict[str, str]:
        """Full values of the row's masked columns, shown in a message box (and returned)."""
        record_id = self.model.record_id(row)
        if record_id is None or not self.sensitive:
            return {}
        values: dict[str, str] = {}
        try:
            for col in self.sensitive:
                values[col.title] = privacy.reveal(self.ctx.store, self.ctx.actor, self.kind, record_id, col.key)
        except ServiceError as exc:
            self._message(QMessageBox.Icon.Warning, "无法查看完整信息", exc.message)
            return {}
        name = str((self.model.row_data(row) or {}).get(self.columns[0].key, ""))
        lines = [f"{title}:{value or '(未填写)'}" for title, value in values.items()]
        self._message(
            QMessageBox.Icon.Information, "完整信息",
            f"{name}\n\n" + "\n".join(lines) + "\n\n本次查看已记入操作日志,请勿外传。",
        )
        self.status.emit(f"已查看{name}的完整信息(已记入操作日志)")
        return values

    def _message(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        """A non-blocking message box (one per page, reused)."""
        if self.reveal_box is None:
            self.reveal_box = QMessageBox(self)
            self.reveal_box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.reveal_box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_box.setIcon(icon)
        self.reveal_box.setWindowTitle(title)
        self.reveal_box.setText(text)
        self.reveal_box.open()
