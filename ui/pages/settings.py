"""设置: theme, where the data lives, the search index, about."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_TITLE, __version__
from desktop.paths import data_dir
from desktop.validation import code_table
from ui.context import AppContext
from ui.pages.base import Page


class SettingsPage(Page):
    title = "设置"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        heading = QLabel("设置")
        heading.setProperty("role", "page-title")
        self.dark = QCheckBox("深色主题")
        self.dark.setChecked(ctx.settings.value("ui/dark", False, type=bool))
        self.dark.toggled.connect(self._toggle_dark)
        reindex = QPushButton("重建检索索引")
        reindex.clicked.connect(self.reindex)
        self.font_path = QLabel(ctx.settings.value("print/font", "", type=str) or "自动(系统中文字体)")
        self.font_path.setWordWrap(True)
        choose_font = QPushButton("选择打印字体…")
        choose_font.clicked.connect(self.choose_font)
        reset_font = QPushButton("恢复自动")
        reset_font.clicked.connect(lambda: self.set_font(""))
        font_row = QHBoxLayout()
        font_row.addWidget(self.font_path, 1)
        font_row.addWidget(choose_font)
        font_row.addWidget(reset_font)
        form = QFormLayout()
        form.addRow("外观", self.dark)
        form.addRow("当前用户", QLabel(f"{ctx.actor.display_name or ctx.actor.username}"
                                      f"({code_table('user_role').label(ctx.actor.role)})"))
        form.addRow("数据库文件", QLabel(str(ctx.store.path)))
        form.addRow("数据目录", QLabel(str(data_dir())))
        form.addRow("版本", QLabel(f"{APP_TITLE} {__version__}"))
        form.addRow("打印字体(TrueType)", font_row)
        form.addRow("维护", reindex)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addLayout(form)
        lay.addStretch(1)

    def _toggle_dark(self, on: bool) -> None:
        win: Any = self.window()
        current = self.ctx.settings.value("ui/dark", False, type=bool)
        if on != current and hasattr(win, "on_toggle_theme") and win.on_toggle_theme:
            win.on_toggle_theme()

    def choose_font(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择打印用的中文字体", "", "TrueType 字体 (*.ttf *.ttc)")
        if path:
            self.set_font(path)

    def set_font(self, path: str) -> None:
        """The font printing embeds first (before the installer's and the system's)."""
        from desktop.reports import font_info

        if path:
            info = font_info(path)
            if info.get("path") != path or info.get("warning"):
                QMessageBox.warning(self, "不能使用该字体", f"“{path}”不能嵌入 PDF(需要 TrueType 中文字体)。"
                                    + (f"\n{info['warning']}" if info.get("warning") else ""))
                return
        self.ctx.settings.setValue("print/font", path)
        self.font_path.setText(path or "自动(系统中文字体)")

    def reindex(self) -> None:
        from desktop.db.ddl import rebuild_search_sql

        with self.ctx.store.transaction() as s:
            conn = s.connection()
            for stmt in rebuild_search_sql():
                conn.exec_driver_sql(stmt)
        QMessageBox.information(self, "完成", "检索索引已重建。")
