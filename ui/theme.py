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


# Alert red (overdue events, errors) per background: both pass WCAG AA (4.5:1) for text.
ALERT_ON_LIGHT = "#c62828"
ALERT_ON_DARK = "#ff8a80"


def is_dark() -> bool:
    return QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128


def alert_colour() -> QColor:
    """The red for text that must stand out (an event past its deadline), readable on the theme."""
    return QColor(ALERT_ON_DARK if is_dark() else ALERT_ON_LIGHT)


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
    logging.getLogger("qt_material").setLevel(logging.ERROR)
    qt_material.apply_stylesheet(
        app, theme=DARK if dark else LIGHT, invert_secondary=not dark,
        extra={"font_family": font_stack, "density_scale": "-1", "font_size": "14px"},
    )
    if family:
        app.setFont(QFont(family, 10))
    app.setStyleSheet(app.styleSheet() + EXTRA_QSS)


EXTRA_QSS = """
QPushButton, QToolButton, QTabBar, QTabBar::tab, QGroupBox, QDockWidget, QToolBox::tab,
QHeaderView::section, QLabel, QCheckBox, QRadioButton { text-transform: none; }
QLabel[role="error"] { color: #c62828; font-size: 12px; }
QLabel[role="ok"] { color: #2e7d32; font-size: 12px; }
QLabel[role="warning"] { color: #b26a00; font-size: 12px; }
QLabel[role="hint"] { color: #607d8b; font-size: 12px; }
QLabel[role="card-value"] { font-size: 26px; font-weight: bold; }
QLabel[role="card-title"] { font-size: 13px; }
QLabel[role="page-title"] { font-size: 20px; font-weight: bold; }
QLineEdit[invalid="true"] { border-bottom: 2px solid #c62828; }
"""
