"""Sign-in with the local users; failures slow down so guessing is not free."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from desktop import APP_TITLE
from desktop.policy import role_label
from desktop.services.auth import sign_in
from desktop.services.errors import PermissionDenied
from desktop.services.failures import user_message
from desktop.services.session import LocalDatabase, users_of
from desktop.services.store import Actor, Store
from ui.widgets.buttons import dialog_buttons

log = logging.getLogger(__name__)


def local_users(store: Store) -> list[tuple[str, str, str]]:
    return users_of(store)


class SignInDialog(QDialog):
    """Sign in on an open plain database (a Store), or unlock and sign in on a database file
    (a LocalDatabase: an encrypted one opens only with the user's password; `store` is set then)."""

    def __init__(self, source: Store | LocalDatabase, last_user: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.source = source
        self.store: Store | None = source if isinstance(source, Store) else None
        self.actor: Actor | None = None
        self.failures = 0
        self.wants_first_run = False  # the user asked for the first-run assistant instead
        self.setWindowTitle(f"{APP_TITLE} · 登录")
        self.setMinimumWidth(380)
        title = QLabel(APP_TITLE)
        title.setProperty("role", "page-title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.user = QComboBox()
        users = local_users(source) if isinstance(source, Store) else source.users()
        for username, display, role in users:
            label = role_label(role) if role else "本机用户"
            self.user.addItem(f"{display}({username} · {label})", username)
        if last_user:
            idx = self.user.findData(last_user)
            if idx >= 0:
                self.user.setCurrentIndex(idx)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("密码")
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("用户", self.user)
        form.addRow("密码", self.password)
        buttons = dialog_buttons(self.try_sign_in, self.reject, "登录", "退出")
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        if self.user.count() == 0:
            self.error.setText("本数据库中还没有可以登录的用户。请用首次使用向导加入社区服务器、新建社区、"
                               "从备份恢复或体验演示数据。")
            wizard = QPushButton("首次使用向导…")
            wizard.clicked.connect(self.open_first_run)
            lay.insertWidget(lay.count() - 1, wizard)
        self.password.setFocus()

    def open_first_run(self) -> None:
        """加入社区服务器 / 新建社区 / 从备份恢复 / 体验演示数据: the caller shows the assistant."""
        self.wants_first_run = True
        self.reject()

    def try_sign_in(self) -> None:
        username = self.user.currentData()
        if not username:
            return
        try:
            if isinstance(self.source, Store):
                self.actor = sign_in(self.source, username, self.password.text())
            else:
                self.store, self.actor = self.source.open(username, self.password.text())
        except PermissionDenied as exc:
            self.failures += 1
            # each failure waits a little longer (capped), so guessing passwords is slow
            time.sleep(min(0.25 * 2 ** (self.failures - 1), 4.0))
            self.error.setText(f"{exc.message}(第 {self.failures} 次)")
            self.password.selectAll()
            self.password.setFocus()
            return
        except Exception as exc:  # the file cannot be opened (damaged, newer, locked...): say why, stay
            message = user_message(exc, getattr(self.source, "path", None))
            if message is None:
                raise
            log.warning("sign-in: %s", message, exc_info=exc)
            self.error.setText(message)
            return
        self.accept()
