"""qt-material theme (light by default, dark switchable) with a Chinese-capable font."""

from __future__ import annotations

import logging

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from desktop.paths import data_dir

# Fonts with Chinese glyphs, in order of preference (Windows, Linux, macOS).
CJK_FONTS = (
    "Microsoft YaHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC",
    "Source Han Sans SC", "PingFang SC", "AR PL UMing CN", "SimSun",
)
LIGHT = "light_blue.xml"
DARK = "dark_blue.xml"


# Text colours per theme, each at least 4.5:1 (WCAG AA) against the theme's backgrounds
# (qt-material's secondary colours: window, cards and fields); tests/ui/test_contrast.py checks.
COLOURS: dict[bool, dict[str, str]] = {
    False: {"text": "#3c3c3c", "hint": "#455a64", "error": "#b71c1c", "ok": "#1b5e20", "warning": "#8a4f00",
            "alert": "#b71c1c", "popup": "#ffffff", "selected": "#cfe0ff", "selected_text": "#1a1a1a"},
    True: {"text": "#ffffff", "hint": "#b0bec5", "error": "#ff8a80", "ok": "#81c784", "warning": "#ffb74d",
           "alert": "#ff8a80", "popup": "#31363b", "selected": "#1565c0", "selected_text": "#ffffff"},
}


def is_dark() -> bool:
    """The theme in use: apply_theme says so; without it, the palette's base colour decides."""
    app = QApplication.instance()
    said = app.property("gl_dark") if app is not None else None
    if said is not None:
        return bool(said)
    return QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128


def colours() -> dict[str, str]:
    return COLOURS[is_dark()]


def alert_colour() -> QColor:
    """The red for text that must stand out (an event past its deadline), readable on the theme."""
    return QColor(colours()["alert"])


def cjk_font_family() -> str | None:
    families = set(QFontDatabase.families())
    return next((f for f in CJK_FONTS if f in families), None)


def apply_theme(app: QApplication, *, dark: bool = False) -> None:
    import qt_material  # imported after PySide6, as qt-material requires
    import qt_material.resources.generate as generate

    # qt-material writes generated icons under ~/.qt_material; keep them in our data folder so a
    # read-only home folder does not break start-up.
    generate.RESOURCES_PATH = str(data_dir() / "qt_material")
    family = cjk_font_family()
    font_stack = ", ".join(x for x in (family, "Roboto", "sans-serif") if x)
    applied = f"{'dark' if dark else 'light'}|{font_stack}"
    done = app.property("gl_theme")
    if isinstance(done, list) and done[0] == applied and done[1] == app.styleSheet():
        return  # already this theme: a restyle walks every widget of the application for nothing
    logging.getLogger("qt_material").setLevel(logging.ERROR)
    qt_material.apply_stylesheet(
        app, theme=DARK if dark else LIGHT, invert_secondary=not dark,
        extra={"font_family": font_stack, "density_scale": "-1", "font_size": "14px"},
    )
    if family:
        app.setFont(QFont(family, 10))
    app.setProperty("gl_dark", dark)
    app.setStyleSheet(app.styleSheet() + extra_qss(COLOURS[dark]))
    app.setProperty("gl_theme", [applied, app.styleSheet()])


def extra_qss(c: dict[str, str]) -> str:
    return f"""
QPushButton, QToolButton, QTabBar, QTabBar::tab, QGroupBox, QDockWidget, QToolBox::tab,
QHeaderView::section, QLabel, QCheckBox, QRadioButton {{ text-transform: none; }}
QLabel[role="error"] {{ color: {c["error"]}; font-size: 12px; }}
QLabel[role="ok"] {{ color: {c["ok"]}; font-size: 12px; }}
QLabel[role="warning"] {{ color: {c["warning"]}; font-size: 12px; }}
QLabel[role="hint"] {{ color: {c["hint"]}; font-size: 12px; }}
QLabel[role="card-value"] {{ font-size: 26px; font-weight: bold; }}
QLabel[role="card-title"] {{ font-size: 13px; }}
QLabel[role="page-title"] {{ font-size: 20px; font-weight: bold; }}
QLineEdit[invalid="true"] {{ border-bottom: 2px solid {c["error"]}; }}
QComboBox QAbstractItemView::item:selected, QComboBox QAbstractItemView::item:selected:focus,
QComboBox QAbstractItemView::item:hover {{
    background-color: {c["selected"]}; color: {c["selected_text"]}; }}
"""


def popup_qss() -> str:
    """The search popup's list: the theme's background and a selected row readable on both themes."""
    c = colours()
    return (f"QListWidget {{ background-color: {c['popup']}; color: {c['text']}; border: 1px solid {c['hint']}; }}"
            "QListWidget::item { padding: 4px; }"
            f"QListWidget::item:selected, QListWidget::item:hover {{ background-color: {c['selected']}; "
            f"color: {c['selected_text']}; }}")
