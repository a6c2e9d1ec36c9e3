"""GUI tests run offscreen (set before any Qt import) on their own database and settings."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402


@pytest.fixture
def ui_ctx(store, admin):
    from ui.context import AppContext

    return AppContext(store, admin)


@pytest.fixture(autouse=True)
def _no_jobs_left(qapp):
    yield
    from ui.workers import wait_all

    assert wait_all(10000), "a background job was still running at the end of the test"


def type_text(qtbot, widget, text: str) -> None:
    """Type like a user, Chinese included (QTest.keyClicks only knows ASCII keys)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
        else:
            QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))
            QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))
