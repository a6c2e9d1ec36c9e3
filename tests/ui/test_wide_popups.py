"""Drop-down lists as wide as their longest entry (the at-the-door issue's smaller things), in both
themes: the combo boxes of the person form (民族, 与户主关系, a grid with a long name) and of 迁移成员,
and the typed choice fields of 整户登记 (与户主关系, 民族), each opened as a user opens it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QStyledItemDelegate

# a combo box's list is a popup, which grabs the keyboard: the offscreen platform says it cannot
pytestmark = pytest.mark.qt_log_ignore("^This plugin does not support grabbing the keyboard$")

LONG_GRID = "福利东社区第12网格(幸福小区、福利路沿街商铺及农贸市场)"


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def themed(request, qapp):
    from ui.theme import apply_theme
    from ui.widgets.popups import install_wide_popups

    before, font = qapp.styleSheet(), qapp.font()
    apply_theme(qapp, dark=request.param)
    install_wide_popups(qapp)  # as ui.app and the main window do
    yield request.param
    qapp.setStyleSheet(before)
    qapp.setFont(font)
    qapp.setProperty("gl_dark", None)


def texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    return [str(model.index(r, 0, view.rootIndex()).data() or "") for r in range(model.rowCount(view.rootIndex()))]


def assert_whole(view: QAbstractItemView, what: str) -> None:
    """Every entry fits the list's visible width: as its delegate measures it (font, the theme's
    padding) and, at the least, the longest text itself."""
    longest = max(texts(view), key=view.fontMetrics().horizontalAdvance)
    room = view.viewport().width()
    assert room >= view.fontMetrics().horizontalAdvance(longest), (what, longest, room)
    assert room >= view.sizeHintForColumn(0), (what, longest, room, view.sizeHintForColumn(0))


def open_combo(qtbot, combo: QComboBox, what: str) -> None:
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)  # the list opens as on a click
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    assert type(combo.itemDelegate()) is QStyledItemDelegate  # the delegate whose measure is what is painted
    assert_whole(view, what)
    combo.hidePopup()


def test_combo_lists_show_their_longest_entry(themed, qtbot, store, admin, community, answers):
    from desktop.services.areas import AreaAdmin
    from ui.context import AppContext
    from ui.forms.dialogs import PersonDialog, ReportEventDialog
    from ui.pages.household import MoveDialog

    AreaAdmin(store, admin).create_grid(community.community["id"], LONG_GRID)
    ctx = AppContext(store, admin)
    person = PersonDialog(ctx)
    qtbot.addWidget(person)
    person.show()
    qtbot.waitExposed(person)
    for name in ("ethnicity", "relation"):
        combo = person.form.widgets[name]
        assert isinstance(combo, QComboBox)
        combo.setMaximumWidth(110)  # narrower than its entries, as in a tight form
        open_combo(qtbot, combo, name)
    person.reject()

    event = ReportEventDialog(ctx)  # 上报网格事件: the grid picker, with the long name among the grids
    qtbot.addWidget(event)
    event.show()
    qtbot.waitExposed(event)
    grid = event.form.widgets["grid_id"]
    assert isinstance(grid, QComboBox)
    assert any(LONG_GRID in grid.itemText(i) for i in range(grid.count()))
    grid.setMaximumWidth(160)
    open_combo(qtbot, grid, "grid_id")
    event.reject()

    move = MoveDialog(ctx, "张三")
    qtbot.addWidget(move)
    move.show()
    qtbot.waitExposed(move)
    move.relation.setMaximumWidth(100)
    open_combo(qtbot, move.relation, "迁移成员 与户主关系")
    move.reject()


def test_a_combo_filled_after_it_was_shown_is_fitted_again(themed, qtbot):
    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItems(["甲", "乙"])
    combo.setFixedWidth(90)
    combo.show()
    qtbot.waitExposed(combo)
    combo.addItems(["新疆维吾尔自治区伊犁哈萨克自治州察布查尔锡伯自治县"])  # the items change: fitted once the loop runs
    qtbot.wait(10)
    open_combo(qtbot, combo, "filled later")


def test_typed_choice_lists_of_the_registration_show_their_longest_entry(themed, qtbot, ui_ctx, community, answers):
    from ui.forms.register import RegisterHouseholdDialog

    dialog = RegisterHouseholdDialog(ui_ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.show_extras(True)  # 民族, 文化程度, 婚姻, 就业 beside each member
    row = dialog.add_member()  # (the head's relation is fixed: a second member's is typed)
    fields = {"与户主关系": row.relation, **{f"extra {k}": f for k, f in row.extras.items()}}
    for what, field in fields.items():
        field.setFocus()
        qtbot.keyClick(field, Qt.Key.Key_Down)  # Down opens the whole list
        popup = field._popup()
        qtbot.waitUntil(popup.isVisible)
        if what in ("与户主关系", "extra ethnicity"):  # 其他孙子、孙女或外孙子、外孙女; 外国血统中国籍人士
            assert popup.width() > field.width()  # wider than the narrow field it drops from
        assert_whole(popup, what)
        popup.hide()
    dialog.reject()
