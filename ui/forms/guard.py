"""Closing a form's window, or pressing Escape in it, is the same as pressing 取消: typed content
is never dropped silently."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

if TYPE_CHECKING:
    _Dialog = QDialog
else:
    _Dialog = object  # a mixin: the class that uses it is a QDialog


class CancelOnClose(_Dialog):
    """Mixin for QDialog subclasses that define `cancel()` (which asks before discarding)."""

    cancel: Callable[[], None]  # the dialog's own (no default here: it would hide the dialog's)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        # QDialog answers Escape with reject(), which would drop what was typed without asking
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.cancel()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        dialog: Any = self
        if not dialog.isVisible() or dialog.result() == QDialog.DialogCode.Accepted:
            event.accept()
            return
        event.ignore()
        dialog.cancel()


class AskBeforeDiscard(CancelOnClose):
    """For the small entry dialogs (an event step, a user, a password, a move): 取消, Escape and
    closing the window ask before dropping what was entered. A dialog defines `snapshot()` (what
    its fields hold) and calls `remember()` once they are filled in."""

    discard_title = "放弃填写"
    _initial: Any = None

    def snapshot(self) -> Any:
        raise NotImplementedError

    def remember(self) -> None:
        self._initial = self.snapshot()

    def typed(self) -> bool:
        return self.snapshot() != self._initial

    def cancel(self) -> None:
        dialog: Any = self
        if self.typed():
            answer = QMessageBox.question(dialog, self.discard_title, "已填写的内容还没有保存,确定放弃吗?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        dialog.reject()
