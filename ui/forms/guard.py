"""Closing a form's window, or pressing Escape in it, is the same as pressing 取消: typed content
is never dropped silently."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog


class CancelOnClose:
    """Mixin for QDialog subclasses that define `cancel()` (which asks before discarding)."""

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        # QDialog answers Escape with reject(), which would drop what was typed without asking
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.cancel()  # type: ignore[attr-defined]
            return
        super().keyPressEvent(event)  # type: ignore[misc]

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        dialog: Any = self
        if not dialog.isVisible() or dialog.result() == QDialog.DialogCode.Accepted:
            event.accept()
            return
        event.ignore()
        dialog.cancel()
