"""Qt's own texts in Chinese: message boxes, file dialogs, context menus.

Qt's translations for zh_CN (qtbase_zh_CN.qm, shipped in PySide6's translations folder) cover the
file dialog, the line edit's context menu and the rest; on top of them `ButtonTexts` gives the
standard buttons of every dialog shown short, explicit texts (是 / 否 / 保存 / 取消 / 打开 …) rather
than "是(&Y)" (Enter and Escape still answer them)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QLibraryInfo, QLocale, QObject, QTranslator
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QWidget

log = logging.getLogger(__name__)

# every standard button, by role: short explicit texts (Qt's translation says "是(&Y)")
Std = QDialogButtonBox.StandardButton
BUTTONS = {
    Std.Ok: "确定", Std.Save: "保存", Std.SaveAll: "全部保存", Std.Open: "打开", Std.Yes: "是",
    Std.YesToAll: "全部是", Std.No: "否", Std.NoToAll: "全部否", Std.Abort: "中止", Std.Retry: "重试",
    Std.Ignore: "忽略", Std.Close: "关闭", Std.Cancel: "取消", Std.Discard: "放弃", Std.Help: "帮助",
    Std.Apply: "应用", Std.Reset: "重置", Std.RestoreDefaults: "恢复默认值",
}
# what Qt itself would write on them (English, or its zh_CN translation): only those are replaced,
# a button the program labelled itself ("登记 (Ctrl+S)") keeps its text
QT_TEXTS = {"OK", "&OK", "Save", "&Save", "Save All", "Open", "&Open", "Yes", "&Yes", "Yes to &All", "No", "&No",
            "N&o to All", "Abort", "Retry", "Ignore", "Close", "&Close", "Cancel", "&Cancel", "Discard",
            "Help", "Apply", "Reset", "Restore Defaults", "Choose", "&Choose"}


class ButtonTexts(QObject):
    """Watches dialogs being shown and writes the standard buttons' texts in Chinese."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show and isinstance(watched, QDialog):
            chinese_buttons(watched)
        return False


def chinese_buttons(dialog: QWidget) -> None:
    for box in dialog.findChildren(QDialogButtonBox):
        for button in box.buttons():
            text = BUTTONS.get(box.standardButton(button))
            if text and _qt_wrote(button.text()):
                button.setText(text)


def _qt_wrote(text: str) -> bool:
    if text in QT_TEXTS:
        return True
    # Qt's Chinese translation: "是(&Y)", "打开(&O)", "取消" …
    return any(text.split("(")[0] == zh for zh in BUTTONS.values()) or text in ("&Open", "&Save")


def install_chinese(app: QApplication) -> list[QObject]:
    """Install Qt's zh_CN translations and the button texts; returns what was installed (parented
    to the application, so it lives as long). A missing .qm file is logged, not fatal."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    installed: list[QObject] = []
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qt = QTranslator(app)
    if qt.load("qtbase_zh_CN", folder):
        app.installTranslator(qt)
        installed.append(qt)
    else:
        log.warning("Qt's Chinese translations (qtbase_zh_CN.qm) were not found in %s", folder)
    buttons = ButtonTexts(app)
    app.installEventFilter(buttons)
    installed.append(buttons)
    return installed
