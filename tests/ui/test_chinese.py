"""Qt's own dialogs speak Chinese (message boxes, file dialogs), with explicit button texts, and
qt-material does not upper-case Latin letters ("Excel", "Ctrl+S", not "EXCEL")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)


@pytest.fixture
def chinese(qapp):
    from ui.chinese import install_chinese

    translators = install_chinese(qapp)
    yield translators
    for t in translators:
        qapp.removeTranslator(t) if isinstance(t, QTranslator) else qapp.removeEventFilter(t)


def test_message_box_buttons_are_explicit_chinese(qtbot, chinese):
    assert len(chinese) == 2  # Qt's qtbase_zh_CN.qm was found and loaded, and the button texts
    box = QMessageBox(QMessageBox.Icon.Question, "放弃登记", "确定放弃吗?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No | QMessageBox.StandardButton.Save
                      | QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Open)
    qtbot.addWidget(box)
    box.show()
    texts = {b: box.button(b).text() for b in (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No,
                                                QMessageBox.StandardButton.Save, QMessageBox.StandardButton.Cancel,
                                                QMessageBox.StandardButton.Open)}
    assert list(texts.values()) == ["是", "否", "保存", "取消", "打开"]
    box.hide()
    # a button the program labelled itself keeps its label
    from ui.widgets.buttons import dialog_buttons

    dialog = QDialog()
    qtbot.addWidget(dialog)
    QVBoxLayout(dialog).addWidget(dialog_buttons(dialog.accept, dialog.reject, "登记 (Ctrl+S)"))
    dialog.show()
    assert sorted(b.text() for b in dialog.findChildren(QPushButton)) == ["取消", "登记 (Ctrl+S)"]
    dialog.hide()


def test_file_dialog_and_context_menu_are_chinese(qtbot, chinese, tmp_path):
    dialog = QFileDialog(None, "选择文件", str(tmp_path))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    qtbot.addWidget(dialog)
    dialog.show()
    QApplication.processEvents()
    buttons = [b.text() for b in dialog.findChildren(QPushButton) if b.text()]
    assert "保存" in buttons and "取消" in buttons
    assert not any(t in ("Save", "&Save", "Cancel") for t in buttons)
    labels = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "文件名" in labels  # "File name:" from Qt's own translation
    dialog.hide()
    edit = QLineEdit()
    qtbot.addWidget(edit)
    menu = edit.createStandardContextMenu()
    assert any("复制" in a.text() for a in menu.actions())


def test_theme_keeps_latin_letters_as_written(qtbot, qapp):
    from ui.theme import apply_theme

    before = qapp.styleSheet()
    try:
        apply_theme(qapp)
        button = QPushButton("从 Excel 导入 (Ctrl+S)")
        qtbot.addWidget(button)
        button.show()
        QApplication.processEvents()
        assert button.font().capitalization() != QFont.Capitalization.AllUppercase
    finally:
        qapp.setStyleSheet(before)
