"""Readable in both themes: WCAG AA (4.5:1 for text) computed from the colours actually used —
qt-material's theme backgrounds, the application's added style sheet, the search popup's
selected row — and chart categories keep their colours whoever looks."""

from __future__ import annotations

import re

import pytest

AA = 4.5


def luminance(colour: str) -> float:
    h = colour.lstrip("#")
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def themed(request, qapp):
    from ui.theme import apply_theme

    before, font = qapp.styleSheet(), qapp.font()
    apply_theme(qapp, dark=request.param)
    yield request.param
    qapp.setStyleSheet(before)
    qapp.setFont(font)
    qapp.setProperty("gl_dark", None)


def backgrounds(dark: bool) -> list[str]:
    """The theme's backgrounds text sits on: window, cards and fields (qt-material's secondaries)."""
    import qt_material

    from ui.theme import DARK, LIGHT

    t = qt_material.get_theme(DARK if dark else LIGHT)
    return [t["secondaryColor"], t["secondaryDarkColor"]] + ([] if dark else [t["secondaryLightColor"]])


def test_label_roles_in_the_style_sheet_are_readable(themed, qapp):
    sheet = qapp.styleSheet()
    roles = dict(re.findall(r'QLabel\[role="(\w[\w-]*)"\] \{ color: (#[0-9a-fA-F]{6});', sheet))
    assert {"error", "ok", "warning", "hint"} <= set(roles)
    low = {(role, bg): round(contrast(c, bg), 2) for role, c in roles.items() for bg in backgrounds(themed)
           if contrast(c, bg) < AA}
    assert not low, f"text below 4.5:1: {low}"


def test_overdue_red_chart_text_and_popup_rows_are_readable(themed, qtbot, ui_ctx):
    from ui.search_box import SearchBox
    from ui.theme import alert_colour, colours

    for bg in backgrounds(themed):
        assert contrast(alert_colour().name(), bg) >= AA
        assert contrast(colours()["text"], bg) >= AA  # chart labels and values are painted in it
    box = SearchBox(ui_ctx)
    qtbot.addWidget(box)
    sheet = box.popup.styleSheet()
    pairs = re.findall(r"background-color: (#[0-9a-fA-F]{6}); color: (#[0-9a-fA-F]{6})", sheet)
    selected = re.search(r"item:selected[^{]*\{ background-color: (#[0-9a-fA-F]{6}); color: (#[0-9a-fA-F]{6})", sheet)
    assert len(pairs) == 2 and selected is not None
    for bg, fg in pairs:
        assert contrast(bg, fg) >= AA, (bg, fg)


def test_chart_categories_keep_their_colours(qtbot):
    from desktop.validation import code_table
    from ui.widgets.charts import BarChart

    codes = code_table("care_mark").codes()
    one, other = BarChart(), BarChart()
    qtbot.addWidget(one)
    qtbot.addWidget(other)
    one.set_items([(codes[0], "a", 9), (codes[3], "b", 1)], codes)
    other.set_items([(codes[3], "b", 50), (codes[1], "c", 2), (codes[0], "a", 1)], codes)  # other counts, other order
    assert one.colour_of(codes[3]) == other.colour_of(codes[3]) and one.colour_of(codes[0]) == other.colour_of(codes[0])
    assert one.colour_of(codes[0]) != one.colour_of(codes[3])


def test_overdue_rows_are_painted_red_despite_the_themes_item_colour(themed, qtbot):
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from ui.theme import alert_colour
    from ui.widgets.coloured import ForegroundDelegate

    def reddish_pixels(view: QTableView) -> int:
        image = view.viewport().grab().toImage()
        red = alert_colour()
        return sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
                   if abs(image.pixelColor(x, y).red() - red.red()) < 40
                   and abs(image.pixelColor(x, y).green() - red.green()) < 40
                   and abs(image.pixelColor(x, y).blue() - red.blue()) < 40)

    counts = []
    for delegate in (False, True):
        model = QStandardItemModel(1, 1)
        item = QStandardItem("2026-12-01(已超期) 路灯不亮")
        item.setForeground(alert_colour())
        model.setItem(0, 0, item)
        view = QTableView()
        qtbot.addWidget(view)
        view.setModel(model)
        view.resize(400, 120)
        view.setColumnWidth(0, 360)
        if delegate:
            view.setItemDelegate(ForegroundDelegate(view))
        view.show()
        counts.append(reddish_pixels(view))
    assert counts[1] > 20 and counts[1] > 3 * counts[0], counts  # the theme alone paints it in its own colour


def test_overdue_plan_items_are_red_and_bold_in_both_themes(themed, qtbot, ui_ctx):
    """今日走访 (ui/pages/plan.py): an overdue item's reason and days are painted in the theme's
    alert red, bold, though qt-material gives every tree item one text colour; an item due later is not."""
    from datetime import date, timedelta

    from desktop.services.plan import Item, Plan
    from ui.pages.plan import PlanPage
    from ui.theme import alert_colour

    today = date(2026, 6, 10)

    def item(room: str, days: int) -> Item:
        due = today - timedelta(days=days)
        return Item("h" + room, "g", "regular", "常规走访 每 90 天一次,已 95 天未访", due, due, max(0, days), None,
                    "张三", "幸福小区1栋1单元" + room, "幸福小区", "1", "1", room, "")

    page = PlanPage(ui_ctx)
    qtbot.addWidget(page)
    page.resize(1100, 400)
    page.show()
    page._show(Plan(today, today, "today", [item("101", 5), item("102", -3)]))
    tree = page.tree
    late, later = (tree.topLevelItem(0).child(0).child(i) for i in (0, 1))
    assert late.font(4).bold() and not later.font(4).bold()
    image = tree.viewport().grab().toImage()
    red = alert_colour()
    ratio = image.width() / tree.viewport().width()

    def reddish(row) -> int:
        rect = tree.visualItemRect(row)
        return sum(1 for x in range(0, image.width(), 2) for y in range(int(rect.top() * ratio), int(rect.bottom() * ratio))
                   if abs(image.pixelColor(x, y).red() - red.red()) < 40
                   and abs(image.pixelColor(x, y).green() - red.green()) < 40
                   and abs(image.pixelColor(x, y).blue() - red.blue()) < 40)

    assert reddish(late) > 30 and reddish(later) < 5, (reddish(late), reddish(later))
