"""设置 → 本机用户: the admin's list of who may sign in on this laptop (role, grids, whether
they can unlock an encrypted file), with add, edit, reset password, disable and enable; and
修改我的密码 for every user. Everything goes through desktop.services.users; a refused input
is shown in the dialog, which stays open with what was typed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.policy import ROLES, Role, sees_all_grids
from desktop.services.errors import ServiceError
from desktop.services.users import MIN_PASSWORD, Users
from ui.context import AppContext
from ui.forms.guard import AskBeforeDiscard
from ui.widgets.buttons import Std, dialog_buttons


def _password_field(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


def _error_label() -> QLabel:
    label = QLabel("")
    label.setProperty("role", "error")
    label.setWordWrap(True)
    return label


class UserForm(AskBeforeDiscard, QDialog):
    """Add a user (with a first password) or edit one (name, role, phone, grids)."""

    def __init__(self, users: Users, existing: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users = users
        self.existing = existing
        self.setWindowTitle("编辑用户" if existing else "新增本机用户")
        self.setMinimumWidth(460)
        self.username = QLineEdit((existing or {}).get("username", ""))
        self.username.setPlaceholderText("英文字母或数字,例如 wangyi")
        self.username.setReadOnly(existing is not None)
        self.display = QLineEdit((existing or {}).get("display_name", ""))
        self.display.setPlaceholderText("姓名")
        self.phone = QLineEdit((existing or {}).get("phone") or "")
        self.role = QComboBox()
        for code, label in ROLES.items():
            self.role.addItem(label, code)
        self.role.setCurrentIndex(max(0, self.role.findData((existing or {}).get("role", Role.GRID_WORKER))))
        self.role.currentIndexChanged.connect(self._role_changed)
        self.grids = QListWidget()
        self.grids.setMinimumHeight(140)
        assigned = {g for g, _ in (existing or {}).get("grids", [])}
        for gid, label in users.grid_choices():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, gid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if gid in assigned else Qt.CheckState.Unchecked)
            self.grids.addItem(item)
        self.password = _password_field(f"至少 {MIN_PASSWORD} 个字符")
        self.again = _password_field("再输入一次")
        form = QFormLayout()
        form.addRow("用户名", self.username)
        form.addRow("姓名", self.display)
        form.addRow("角色", self.role)
        form.addRow("联系电话", self.phone)
        self.grids_label = QLabel("负责网格")
        form.addRow(self.grids_label, self.grids)
        if existing is None:
            form.addRow("初始密码", self.password)
            form.addRow("确认密码", self.again)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        if existing is None and users.encrypted:
            self.note.setText("本机数据库已加密:新用户将用这个密码解锁本机。")
        self.error = _error_label()
        buttons = dialog_buttons(self.save, self.cancel, "保存", "取消", ok=Std.Save)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self._role_changed()
        self.remember()

    def snapshot(self) -> Any:
        return (self.username.text(), self.display.text(), self.phone.text(), self.role.currentData(),
                self.checked_grids(), self.password.text(), self.again.text())

    def _role_changed(self) -> None:
        all_grids = sees_all_grids(self.role.currentData())
        self.grids.setEnabled(not all_grids)
        self.grids_label.setText("负责网格\n(可查看全社区)" if all_grids else "负责网格\n(点击勾选)")

    def checked_grids(self) -> list[str]:
        return [self.grids.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.grids.count())
                if self.grids.item(i).checkState() == Qt.CheckState.Checked]

    def save(self) -> None:
        try:
            if self.existing is None:
                if self.password.text() != self.again.text():
                    self.error.setText("确认密码:两次输入的密码不一致")
                    return
                self.users.create(self.username.text(), self.display.text(), self.role.currentData(),
                                  self.password.text(), grid_ids=self.checked_grids(), phone=self.phone.text())
            else:
                self.users.update(self.existing["username"], display_name=self.display.text(),
                                  role=self.role.currentData(), grid_ids=self.checked_grids(),
                                  phone=self.phone.text())
        except ServiceError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class NewPasswordDialog(AskBeforeDiscard, QDialog):
    """A new password typed twice; with `ask_old` the current one too (for one's own)."""

    def __init__(self, title: str, prompt: str, *, ask_old: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        self.old = _password_field("当前密码")
        self.new = _password_field(f"至少 {MIN_PASSWORD} 个字符")
        self.again = _password_field("再输入一次")
        form = QFormLayout()
        if ask_old:
            form.addRow("原密码", self.old)
        form.addRow("新密码", self.new)
        form.addRow("确认新密码", self.again)
        self.error = _error_label()
        self.action: Any = None  # called with (old, new); raises ServiceError to keep the dialog open
        buttons = dialog_buttons(self.save, self.cancel, "确定", "取消")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(prompt))
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.remember()

    def snapshot(self) -> Any:
        return (self.old.text(), self.new.text(), self.again.text())

    def save(self) -> None:
        if self.new.text() != self.again.text():
            self.error.setText("确认新密码:两次输入的密码不一致")
            return
        try:
            self.action(self.old.text(), self.new.text())
        except ServiceError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


COLUMNS = ("用户名", "姓名", "角色", "负责网格", "状态", "本机解锁")


class UsersDialog(QDialog):
    """The admin's list of local users."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.users = Users(ctx.store, ctx.actor)
        self.setWindowTitle("本机用户")
        self.resize(860, 480)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.edit_user())
        self.add_button = QPushButton("新增用户…")
        self.add_button.clicked.connect(self.add_user)
        self.edit_button = QPushButton("编辑…")
        self.edit_button.clicked.connect(self.edit_user)
        self.reset_button = QPushButton("重置密码…")
        self.reset_button.clicked.connect(self.reset_password)
        self.active_button = QPushButton("停用")
        self.active_button.clicked.connect(self.toggle_active)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.reset_button, self.active_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        self.hint = QLabel(
            "本机数据库已加密:每位用户用自己的密码解锁本机。“未开通”的用户请重置密码后再登录。"
            if self.users.encrypted else
            "本机数据库未加密。同步时,服务器上的角色和网格会覆盖本机设置。")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.hint)
        lay.addLayout(row)
        self.rows: list[dict[str, Any]] = []
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        self.rows = self.users.list()
        self.table.setRowCount(len(self.rows))
        for r, u in enumerate(self.rows):
            unlock = {None: "—", True: "已开通", False: "未开通"}[u["can_unlock"]]
            grids = "全社区" if sees_all_grids(u["role"]) else "、".join(name for _, name in u["grids"]) or "(未分配)"
            cells = (u["username"], u["display_name"], u["role_label"], grids,
                     "启用" if u["active"] else "已停用", unlock if u["active"] else "—")
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
            if u["username"] == select:
                self.table.selectRow(r)
        self.table.resizeColumnsToContents()
        self._selection_changed()

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        u = self.selected()
        for b in (self.edit_button, self.reset_button, self.active_button):
            b.setEnabled(u is not None)
        if u is not None:
            self.active_button.setText("停用" if u["active"] else "启用…")
            self.active_button.setEnabled(u["username"] != self.ctx.actor.username)
            self.reset_button.setEnabled(u["active"])

    def add_user(self) -> None:
        form = UserForm(self.users, parent=self)
        if form.exec() == QDialog.DialogCode.Accepted:
            self.refresh(select=form.username.text().strip())

    def edit_user(self) -> None:
        u = self.selected()
        if u is None:
            return
        form = UserForm(self.users, u, parent=self)
        if form.exec() == QDialog.DialogCode.Accepted:
            self.refresh(select=u["username"])

    def reset_password(self) -> None:
        u = self.selected()
        if u is None:
            return
        dialog = NewPasswordDialog("重置密码", f"为 {u['display_name']}({u['username']})设置新密码:", parent=self)
        dialog.action = lambda _old, new: self.users.reset_password(u["username"], new)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            QMessageBox.information(self, "已重置", f"{u['username']} 下次请用新密码登录。")
            self.refresh(select=u["username"])

    def toggle_active(self) -> None:
        u = self.selected()
        if u is None:
            return
        if u["active"]:
            answer = QMessageBox.question(
                self, "停用用户",
                f"停用后 {u['display_name']}({u['username']})不能再登录本机"
                + (",其本机解锁密钥也会删除" if self.users.encrypted else "") + "。是否继续?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            try:
                self.users.set_active(u["username"], False)
            except ServiceError as exc:
                QMessageBox.warning(self, "未停用", str(exc))
                return
        else:
            dialog = NewPasswordDialog("启用用户", f"重新启用 {u['username']},请设置新密码:", parent=self)
            dialog.action = lambda _old, new: self.users.set_active(u["username"], True, password=new)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
        self.refresh(select=u["username"])
