"""RecordTableModel: a thin, lazily filled table model over desktop.services.lists.Lists.

A reload takes a snapshot of the ordered ids of every matching row (one query, ~0.1 s on
100,000 people, run on the thread pool) plus the display values of the first page. Scrolling
then fetches the display values of the next 200 ids by primary key (a few ms on the GUI thread,
at any depth: no OFFSET). Sorting is done by the database: `sort()` takes a new snapshot."""

from __future__ import annotations

from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
)

from desktop.services.errors import ServiceError
from desktop.services.lists import PAGE_SIZE, Column, Lists
from ui.theme import alert_colour
from ui.workers import run_job

Index = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the whole row dict
MASKED_TIP = "已脱敏显示;有权限的用户可右键选择“显示完整信息”"


def load_snapshot(lists: Lists, kind: str, filters: dict[str, Any], sort: tuple[str, bool] | None,
                  first: int = PAGE_SIZE) -> tuple[list[str], list[dict[str, Any]]]:
    """Ordered ids of every matching row and the display rows of the first page (worker side)."""
    ids = lists.ids(kind, filters, sort=sort)
    return ids, lists.rows(kind, ids[:first])


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class RecordTableModel(QAbstractTableModel):
    loaded = Signal()  # a reload finished: the rows were replaced
    totalChanged = Signal(int)
    loadingChanged = Signal(bool)
    failed = Signal(str)

    def __init__(
        self, lists: Lists, kind: str, *, filters: dict[str, Any] | None = None,
        sort: tuple[str, bool] | None = None, background: bool = True,
        pool: QThreadPool | None = None, page_size: int = PAGE_SIZE, parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.lists = lists
        self.kind = kind
        self.columns: list[Column] = lists.columns(kind)
        self._filters: dict[str, Any] = dict(filters or {})
        self._sort = sort
        self.background = background
        self.pool = pool
        self.page_size = page_size
        self._ids: list[str] = []
        self._rows: list[dict[str, Any]] = []
        self._next = 0  # ids consumed so far (rows deleted meanwhile are skipped)
        self._generation = 0
        self._loading = False
        self._in_reset = False  # modelReset being delivered: no row insertion from its slots

    # --- state ---------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Number of rows matching the filters (all of them, not only those fetched so far)."""
        return len(self._ids)

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def filters(self) -> dict[str, Any]:
        return dict(self._filters)

    @property
    def sort_key(self) -> tuple[str, bool] | None:
        return self._sort

    def set_filters(self, filters: dict[str, Any]) -> None:
        self._filters = {k: v for k, v in filters.items() if v is not None and v != ""}
        self.reload()

    def record_id(self, row: int) -> str | None:
        return self._rows[row]["id"] if 0 <= row < len(self._rows) else None

    def row_data(self, row: int) -> dict[str, Any] | None:
        return dict(self._rows[row]) if 0 <= row < len(self._rows) else None

    def column_of(self, key: str) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        return -1

    # --- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        """Take a new snapshot (count + first page) for the current filters and sort."""
        self._generation += 1
        gen = self._generation
        args = (self.lists, self.kind, dict(self._filters), self._sort, self.page_size)
        if not self.background:
            try:
                result = load_snapshot(*args)
            except (ServiceError, ValueError) as exc:
                self._failed(gen, str(exc))
                return
            self._apply(gen, result)
            return
        self._set_loading(True)
        run_job(load_snapshot, *args, on_done=partial(self._apply, gen),
                on_error=lambda failure: self._failed(gen, failure.message), pool=self.pool)

    def _alive(self, gen: int) -> bool:
        return shiboken6.isValid(self) and gen == self._generation

    def _apply(self, gen: int, result: tuple[list[str], list[dict[str, Any]]]) -> None:
        if not self._alive(gen):
            return  # an older reload, or the model is gone
        ids, rows = result
        self.beginResetModel()
        self._ids = ids
        self._rows = rows
        self._next = min(len(ids), self.page_size)
        self._in_reset = True
        try:
            self.endResetModel()
        finally:
            self._in_reset = False
        self._set_loading(False)
        self.totalChanged.emit(len(ids))
        self.loaded.emit()

    def _failed(self, gen: int, message: str) -> None:
        if not self._alive(gen):
            return
        self._set_loading(False)
        self.failed.emit(message)

    def _set_loading(self, on: bool) -> None:
        if self._loading != on:
            self._loading = on
            self.loadingChanged.emit(on)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._next < len(self._ids)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._next >= len(self._ids) or self._in_reset:
            # Inserting rows from a modelReset slot would nest two changes (model testers flag
            # it); views fetch again from their own timer, so nothing is lost by waiting.
            return
        chunk = self._ids[self._next : self._next + self.page_size]
        try:
            rows = self.lists.rows(self.kind, chunk)
        except ServiceError as exc:
            self._next = len(self._ids)
            self.failed.emit(exc.message)
            return
        self._next += len(chunk)
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    # --- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.columns):
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(row.get(col.key))
        if role == Qt.ItemDataRole.ToolTipRole:
            value = display(row.get(col.key))
            if col.sensitive and value:
                return f"{value}\n{MASKED_TIP}"
            return value or None
        if role == Qt.ItemDataRole.ForegroundRole and row.get("overdue"):
            return alert_colour()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if col.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == ID_ROLE:
            return row["id"]
        if role == ROW_ROLE:
            return dict(row)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self.columns):
                return None
            col = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.title
            if role == Qt.ItemDataRole.ToolTipRole:
                if col.sensitive:
                    return MASKED_TIP
                return None if col.sortable else f"“{col.title}”不能排序"
            return None
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._rows):
            return str(section + 1)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Server-side sort; -1 (no indicator) goes back to the kind's default order."""
        if column < 0 or column >= len(self.columns):
            new: tuple[str, bool] | None = None
        elif self.columns[column].sortable:
            new = (self.columns[column].key, order == Qt.SortOrder.AscendingOrder)
        else:
            return
        if new != self._sort:
            self._sort = new
            self.reload()
