"""Drop-down lists as wide as their longest entry.

A combo box's list is at least as wide as the box, and Qt widens it a little for long entries, but
the theme's item padding is not part of that sum: "其他孙子、孙女或外孙子、外孙女" in a 100-pixel
与户主关系 box came out cut. The completer popup of a typed choice field (ui/widgets/code_field.py)
is exactly as wide as its line edit.

`fit_popup(view)` gives a popup list the width of its widest entry, as the list's own item delegate
measures it (font, theme padding, icon), plus its frame and a vertical scroll bar, capped at the
screen. `WidePopups`, installed once on the application (`install_wide_popups`), does it for every
combo box: when it is shown, when it is pressed or keyed (before the list opens), and after its
items change; and for every completer's list as it is shown. A combo box's list is drawn with the item-view delegate, whose measure is the one
painted (the menu-style delegate Qt picks otherwise reserves a check-mark column that its own size
hint leaves out)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QStyle,
    QStyledItemDelegate,
    QWidget,
)


def popup_width(view: QAbstractItemView, max_rows: int = 10) -> int:
    """The width `view` needs to show every entry of its first column entirely: the widest entry
    as its delegate measures it, the frame, and a scroll bar once there are more than `max_rows`."""
    model = view.model()
    if model is None:
        return 0
    width = view.sizeHintForColumn(0) + 2 * view.frameWidth() + 4
    if model.rowCount(view.rootIndex()) > max_rows:
        bar = view.verticalScrollBar()
        width += max(view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, bar), bar.sizeHint().width())
    return width


def fit_popup(view: QAbstractItemView, anchor: QWidget | None = None, max_rows: int = 10) -> int:
    """Set the list's minimum width to what its widest entry needs (no wider than the screen of
    `anchor`, the field it drops from). Returns the width set."""
    width = popup_width(view, max_rows)
    screen = (anchor or view).screen()
    if screen is not None:
        width = min(width, screen.availableGeometry().width() - 8)
    if view.minimumWidth() != width:
        view.setMinimumWidth(width)
    return width


def fit_combo(combo: QComboBox) -> int:
    """A combo box's list: drawn with the item-view delegate (see the module's note), as wide as
    its widest entry."""
    view = combo.view()
    if view is None:
        return 0
    if type(combo.itemDelegate()) is not QStyledItemDelegate:  # Qt's own menu-style delegate
        combo.setItemDelegate(QStyledItemDelegate(combo))
    return fit_popup(view, combo, combo.maxVisibleItems())


class _Watcher(QObject):
    """Refits one combo box after its items change (coalesced: a list filled item by item is
    measured once, when the event loop comes back). A child of the combo box: it goes with it."""

    def __init__(self, combo: QComboBox) -> None:
        super().__init__(combo)
        self.setObjectName("gl_wide_popup")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refit)
        self._model: QObject | None = None
        self.watch()

    def combo(self) -> QComboBox:
        parent = self.parent()
        assert isinstance(parent, QComboBox)
        return parent

    def watch(self) -> None:
        """Follow the combo box's model (again, if it was given another one; the old model's
        connections go with it when it is deleted, and until then only ask for a harmless refit)."""
        model = self.combo().model()
        if model is self._model:
            return
        self._model = model
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged,
                       model.layoutChanged):
            signal.connect(self.later)

    def later(self, *_args: object) -> None:
        self._timer.start()

    def refit(self) -> None:
        fit_combo(self.combo())


def watched(combo: QComboBox) -> _Watcher:
    """The combo box's watcher, made on first use; its list fitted now."""
    watcher = combo.findChild(_Watcher, "gl_wide_popup")
    if watcher is None:
        watcher = _Watcher(combo)
    else:
        watcher.watch()
    fit_combo(combo)
    return watcher


log = logging.getLogger(__name__)

# what happens to a combo box just before its list may open (the application's filter sees the
# event before the combo box does)
_OPENING = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.KeyPress)
_RESTYLED = (QEvent.Type.FontChange, QEvent.Type.StyleChange)


class WidePopups(QObject):
    """Installed on the application: every combo box's list as wide as its widest entry."""

    def eventFilter(self, watched_object: QObject, event: QEvent) -> bool:  # noqa: N802
        try:
            self._fit(watched_object, event)
        except Exception:  # a list a little too narrow is no reason to disturb the user's click
            log.warning("drop-down list not fitted", exc_info=True)
        return False

    def _fit(self, watched_object: QObject, event: QEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.Show or kind in _OPENING or kind in _RESTYLED:
            if isinstance(watched_object, QComboBox):
                watched(watched_object)
            elif kind == QEvent.Type.Show and isinstance(watched_object, QAbstractItemView) \
                    and _completion_list(watched_object):
                # a completer's list, placed under its field and about to be shown: widened to
                # the right (ChoiceField fits its own before it opens)
                fit_popup(watched_object)


def _completion_list(view: QAbstractItemView) -> bool:
    model = view.model()
    return view.isWindow() and model is not None and model.metaObject().className() == "QCompletionModel"


def install_wide_popups(app: QCoreApplication | None = None) -> WidePopups:
    """Install the filter once (parented to the application: it lives as long); again is a no-op."""
    app = app or QApplication.instance()
    assert app is not None
    existing = app.findChild(WidePopups, "gl_wide_popups")
    if existing is not None:
        return existing
    wide = WidePopups(app)
    wide.setObjectName("gl_wide_popups")
    app.installEventFilter(wide)
    return wide
