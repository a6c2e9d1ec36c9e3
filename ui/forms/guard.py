"""Closing a form's window is the same as pressing 取消: typed content is never dropped silently."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog


class CancelOnClose:
    """Mixin for QDialog subclasses that define `cancel()` (which asks before discarding)."""

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        dialog: Any = self
        if not dialog.isVisible() or dialog.result() == QDialog.DialogCode.Accepted:
            event.accept()
            return
        event.ignore()
        dialog.cancel()
