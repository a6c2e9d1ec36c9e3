"""The window fits a 1024×768 screen (and 1280×800 at 125 %, i.e. 1024×640 logical pixels):
every page's minimum size, and the window's with its sidebar, toolbar and status bar, leaves room
for the window frame; filter bars wrap instead of pushing the table off-screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

# title bar and borders of a window on Windows 10/11 and common Linux desktops, generously
FRAME = QSize(16, 40)
SCREENS = {"1024×768": QSize(1024, 768), "1280×800 at 125 %": QSize(1024, 640)}


@pytest.fixture
def window(qtbot, ui_ctx, community):
    from ui.main_window import MainWindow

    w = MainWindow(ui_ctx)
    qtbot.addWidget(w)
    w.show()
    for key in list(w._factories):  # build every page, as a user clicking through would
        w.page(key)
    return w


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_page_fits_a_small_screen(window, screen):
    room = SCREENS[screen] - FRAME
    chrome = window.minimumSizeHint() - window.stack.minimumSizeHint()  # sidebar, toolbar, status bar
    too_big = {}
    for key, page in window.pages.items():
        need = page.minimumSizeHint() + QSize(chrome.width(), chrome.height())
        if need.width() > room.width() or need.height() > room.height():
            too_big[key] = (need.width(), need.height())
    assert not too_big, f"pages that do not fit {screen}: {too_big}"
    whole = window.minimumSizeHint()
    assert whole.width() <= room.width() and whole.height() <= room.height(), whole


def test_the_filter_bar_wraps_at_1024(window, qtbot):
    window.resize(SCREENS["1024×768"] - FRAME)
    page = window.show_page("person")
    QApplication.processEvents()
    bar = page.text_edit.parentWidget().parentWidget()
    right = page.mapTo(window, page.rect().topRight()).x()
    for w in (page.grid_combo, page.age_to, page.reset_button, page.text_edit):
        edge = w.mapTo(window, w.rect().topRight()).x()
        assert w.isVisible() and edge <= right, f"{w} is pushed off the page"
    assert bar.height() > page.grid_combo.height() * 1.5  # it took a second line rather than overflow
    assert page.view.isVisible() and page.view.height() > 200


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_print_choices_are_whole_at_1024_in_the_theme(window, qapp, dark):
    """打印 at 1024×768 in the app's own theme: the choices' column is as wide as the choices (it
    was cut at two fifths of the page beside an empty preview, 范围 and the buttons half hidden)."""
    from ui.pages.printing import ChoicesScroll
    from ui.theme import apply_theme

    before, font = qapp.styleSheet(), qapp.font()
    apply_theme(qapp, dark=dark)
    try:
        window.resize(SCREENS["1024×768"] - FRAME)
        page = window.show_page("print")
        for _ in range(5):  # the new theme's sizes travel up the layouts
            QApplication.processEvents()
        [column] = page.findChildren(ChoicesScroll)
        choices = column.widget()
        assert choices.width() >= choices.minimumSizeHint().width()
        assert column.viewport().width() >= choices.minimumSizeHint().width()
        edge = page.mapFromGlobal(page.save_button.mapToGlobal(page.save_button.rect().topRight())).x()
        assert edge <= column.geometry().right(), "保存为 PDF… is cut"
    finally:
        qapp.setStyleSheet(before)
        qapp.setFont(font)
        qapp.setProperty("gl_dark", None)
