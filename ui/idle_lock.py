"""Lock the window after a while without keyboard or mouse use: the records are hidden until the
signed-in user types their password again (failures slow down, as at sign-in)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_TITLE
from desktop.services.auth import sign_in
from desktop.services.errors import PermissionDenied
from ui.widgets.buttons import Std, dialog_buttons

DEFAULT_MINUTES = 10
_ACTIVITY = {
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class UnlockDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.failures = 0
        self.setWindowTitle(f"{APP_TITLE} · 已锁定")
        who = ctx.actor.display_name or ctx.actor.username
        self.info = QLabel(f"长时间未操作,已自动锁定。\n请 {who}({ctx.actor.username})输入密码解锁。")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("密码")
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        buttons = dialog_buttons(self.try_unlock, self.reject, "解锁", "退出程序", cancel=Std.Close)
        lay = QVBoxLayout(self)
        for w in (self.info, self.password, self.error, buttons):
            lay.addWidget(w)
        self.password.setFocus()

    def try_unlock(self) -> None:
        try:
            sign_in(self.ctx.store, self.ctx.actor.username, self.password.text())
        except PermissionDenied as exc:
            self.failures += 1
            time.sleep(min(0.25 * 2 ** (self.failures - 1), 4.0))
            self.error.setText(f"{exc.message}(第 {self.failures} 次)")
            self.password.clear()
            return
        self.accept()


class IdleLock(QObject):
    """Watches the whole application's input; after `minutes` of none, locks `window`."""

    def __init__(self, window: QMainWindow, ctx, *, minutes: float | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        if minutes is None:
            minutes = float(ctx.settings.value("security/idle_minutes", DEFAULT_MINUTES))
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.lock)
        self.locked = False
        self.dialog: UnlockDialog | None = None
        self.minutes = 0.0
        self.set_minutes(minutes)

    def set_minutes(self, minutes: float) -> None:
        """A new idle time (0 switches the lock off), taking effect at once."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.timer.stop()
        self.minutes = minutes
        if minutes > 0:
            self.timer.setInterval(max(1, int(minutes * 60_000)))
            if app is not None:
                app.installEventFilter(self)
                self.timer.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if not self.locked and event.type() in _ACTIVITY:
            self.timer.start()
        return False

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        central = self.window.centralWidget()
        if central is not None:
            central.hide()  # nothing of the records stays on screen behind the dialog
        self.window.setWindowTitle(f"{APP_TITLE} — 已锁定")
        self.dialog = UnlockDialog(self.ctx, self.window)
        self.dialog.setModal(True)
        self.dialog.accepted.connect(self.unlock)
        self.dialog.rejected.connect(self.window.close)
        self.dialog.show()

    def unlock(self) -> None:
        central = self.window.centralWidget()
        if central is not None:
            central.show()
        self.locked = False
        self.dialog = None
        self.window.setWindowTitle(self.window.property("gl_title") or APP_TITLE)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
