"""设置: theme, where the data lives, the search index, about."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_TITLE, __version__
from desktop.paths import data_dir, log_dir
from desktop.policy import Ability, allows, role_label
from ui.context import AppContext
from ui.pages.base import Page
from ui.workers import JobFailure, run_job, wait_all

log = logging.getLogger(__name__)



def _quit_app() -> None:
    """The application's quit (through its instance: tests replace it there)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.quit()

class SettingsPage(Page):
    title = "设置"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        heading = QLabel("设置")
        heading.setProperty("role", "page-title")
        self.dark = QCheckBox("深色主题")
        self.dark.setChecked(bool(ctx.settings.value("ui/dark", False, type=bool)))
        self.dark.toggled.connect(self._toggle_dark)
        self.reindex_button = reindex = QPushButton("重建检索索引")
        reindex.clicked.connect(self.reindex)
        self.font_path = QLabel(str(ctx.settings.value("print/font", "", type=str)) or "自动(系统中文字体)")
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
        me = QLabel(f"{ctx.actor.display_name or ctx.actor.username}"
                    f"({role_label(ctx.actor.role)})")
        self.password_button = QPushButton("修改我的密码…")
        self.password_button.clicked.connect(self.change_my_password)
        self.users_button = QPushButton("本机用户…")
        self.users_button.clicked.connect(self.manage_users)
        self.users_button.setVisible(allows(ctx.actor, Ability.MANAGE_USERS))
        me_row = QHBoxLayout()
        me_row.addWidget(me, 1)
        me_row.addWidget(self.password_button)
        me_row.addWidget(self.users_button)
        form.addRow("当前用户", me_row)
        self.rules_button = QPushButton("走访规则…")
        self.rules_button.clicked.connect(self.visit_rules)
        rules_row = QHBoxLayout()
        rules_row.addWidget(QLabel("各类户的走访间隔(社区设置)"), 1)
        rules_row.addWidget(self.rules_button)
        form.addRow("走访规则", rules_row)
        # 数据质量: the months without 核实 after which a record is 久未核实 (office roles, audited)
        from desktop.services.quality import MAX_STALE_MONTHS, Quality

        self.quality = Quality(ctx.store, ctx.actor)
        may = allows(ctx.actor, Ability.QUALITY_SETTINGS)
        self.stale = QSpinBox()
        self.stale.setRange(1, MAX_STALE_MONTHS)
        self.stale.setSuffix(" 个月")
        self.stale.setValue(self.quality.stale_months())
        self.stale.setEnabled(may)
        self.stale.setToolTip(f"超过该期限未核实的人员、房屋、车辆列入“数据质量 → 久未核实”,并计入核实率;"
                              f"1 到 {MAX_STALE_MONTHS} 个月(由社区管理员或网格长设置)")
        self.stale_button = QPushButton("保存")
        self.stale_button.setEnabled(False)
        self.stale_button.setVisible(may)
        self.stale_button.clicked.connect(lambda: self.set_stale_months(self.stale.value()))
        self.stale.valueChanged.connect(
            lambda v: self.stale_button.setEnabled(v != self.quality.stale_months()))
        stale_row = QHBoxLayout()
        stale_row.addWidget(QLabel("超过"))
        stale_row.addWidget(self.stale)
        stale_row.addWidget(QLabel("未核实即列为“久未核实”"), 1)
        stale_row.addWidget(self.stale_button)
        form.addRow("核实期限", stale_row)
        form.addRow("数据库文件", QLabel(str(ctx.store.path)))
        form.addRow("数据目录", QLabel(str(data_dir())))
        form.addRow("打印字体(TrueType)", font_row)
        reindex_row = QHBoxLayout()
        reindex_row.addWidget(reindex)
        reindex_row.addStretch(1)
        if allows(ctx.actor, Ability.MAINTAIN):  # upkeep words are for the office, not the door
            form.addRow("维护", reindex_row)
        else:
            reindex.setParent(self)
            reindex.hide()
        # data safety: encryption status, backups (restore is for community admins and supervisors)
        encrypted = ctx.store.key is not None
        self.crypto_state = QLabel(
            "已加密:每位用户用自己的密码解锁" if encrypted
            else "未加密:丢失电脑即泄露全部信息。社区管理员或网格长可在此加密。")
        self.crypto_state.setWordWrap(True)
        self.encrypt_button = QPushButton("加密本机数据库…")
        self.encrypt_button.clicked.connect(self.encrypt_database)
        self.encrypt_button.setVisible(not encrypted and ctx.store.path is not None)
        self.encrypt_button.setEnabled(allows(ctx.actor, Ability.ENCRYPT_DATABASE))
        self.recovery_button = QPushButton("生成新的恢复密钥…")
        self.recovery_button.clicked.connect(self.new_recovery_key)
        self.recovery_button.setVisible(encrypted)
        self.recovery_button.setEnabled(allows(ctx.actor, Ability.ENCRYPT_DATABASE))
        crypto_row = QHBoxLayout()
        crypto_row.addWidget(self.crypto_state, 1)
        crypto_row.addWidget(self.encrypt_button)
        crypto_row.addWidget(self.recovery_button)
        form.addRow("本机数据加密", crypto_row)
        self.backup_button = QPushButton("立即备份")
        self.backup_button.clicked.connect(self.backup_now)
        self.restore_button = QPushButton("从备份恢复…")
        self.restore_button.clicked.connect(self.choose_restore)
        self.restore_button.setEnabled(allows(ctx.actor, Ability.RESTORE_BACKUP))
        self.backup_state = QLabel(self._backup_text())
        self.backup_state.setWordWrap(True)
        backup_row = QHBoxLayout()
        backup_row.addWidget(self.backup_state, 1)
        backup_row.addWidget(self.backup_button)
        backup_row.addWidget(self.restore_button)
        form.addRow("备份", backup_row)
        from ui.idle_lock import DEFAULT_MINUTES

        self.idle = QSpinBox()
        self.idle.setRange(0, 240)
        self.idle.setSuffix(" 分钟")
        self.idle.setSpecialValueText("不自动锁定")
        self.idle.setValue(int(float(str(ctx.settings.value("security/idle_minutes", DEFAULT_MINUTES)))))
        self.idle.setEnabled(allows(ctx.actor, Ability.SET_IDLE_LOCK))
        self.idle.setToolTip("无键盘鼠标操作超过该时间后锁定窗口,需重新输入密码(由社区管理员或网格长设置)")
        self.idle.valueChanged.connect(self.set_idle_minutes)
        idle_row = QHBoxLayout()
        idle_row.addWidget(self.idle)
        idle_row.addStretch(1)
        form.addRow("无操作自动锁定", idle_row)
        # about / diagnostics: what a bug report needs, and no record
        self.about_state = QLabel(self.about_text())
        self.about_state.setWordWrap(True)
        self.about_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_logs_button = QPushButton("打开日志文件夹")
        self.open_logs_button.clicked.connect(self.open_log_folder)
        self.diagnostics_button = QPushButton("导出诊断包…")
        self.diagnostics_button.setToolTip("把日志和软件环境信息打包成一个 zip 文件,发给技术支持;不含任何居民信息")
        self.diagnostics_button.clicked.connect(self.export_diagnostics)
        about_buttons = QHBoxLayout()
        about_buttons.addWidget(self.open_logs_button)
        about_buttons.addWidget(self.diagnostics_button)
        about_buttons.addStretch(1)
        about = QVBoxLayout()
        about.addWidget(self.about_state)
        about.addLayout(about_buttons)
        form.addRow("关于 / 诊断", about)
        inner = QWidget()
        body = QVBoxLayout(inner)
        body.addLayout(form)
        body.addStretch(1)
        scroll = QScrollArea()  # a small screen (1024×768, or 1280×800 at 125 %) scrolls the page
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(scroll, 1)

    # --- about / diagnostics ---------------------------------------------------------------
    def about_text(self) -> str:
        from desktop.services.diagnostics import database_state, size_text

        lines = [f"版本:{APP_TITLE} {__version__}"]
        try:
            st = database_state(self.ctx.store)
        except Exception:  # the facts are a courtesy: the page opens whatever happens
            log.warning("database state not read", exc_info=True)
            lines.append("数据库:状态无法读取(详情见日志)")
        else:
            lines.append(f"数据库:{st.path or '内存数据库'},{size_text(st.size)},"
                         f"{'已加密' if st.encrypted else '未加密'},数据库结构 {st.revision or '未知'}")
            lines.append(f"上次同步:{st.last_sync + '(UTC)' if st.last_sync else '从未同步'}")
        lines.append(f"日志文件夹:{log_dir()}")
        return "\n".join(lines)

    def open_log_folder(self) -> bool:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            QMessageBox.information(self, "日志文件夹", f"无法自动打开,请在文件管理器中打开:\n{folder}")
            return False
        return True

    def export_diagnostics(self) -> None:
        """A zip of the log files and the environment's facts (no database, no record)."""
        from datetime import datetime
        from functools import partial

        from PySide6.QtCore import qVersion

        from desktop.services.diagnostics import write_package

        suggested = str(Path.home() / f"网格台账诊断包-{datetime.now():%Y%m%d-%H%M}.zip")
        path, _ = QFileDialog.getSaveFileName(self, "导出诊断包", suggested, "zip 文件 (*.zip)")
        if not path:
            return
        if not path.lower().endswith(".zip"):
            path += ".zip"
        self.diagnostics_button.setEnabled(False)

        def done(written: Any) -> None:
            self.diagnostics_button.setEnabled(True)
            QMessageBox.information(self, "诊断包已导出",
                                    f"已保存到 {written}。\n其中只有日志和软件环境信息,没有居民信息;请把它发给技术支持。")

        def failed(failure: JobFailure) -> None:
            self.diagnostics_button.setEnabled(True)
            QMessageBox.warning(self, "未能导出诊断包", failure.message)

        run_job(partial(write_package, qt_version=qVersion()), Path(path), self.ctx.store, on_done=done, on_error=failed, pool=self.ctx.pool,
                what="导出诊断包")

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
        from desktop.printing import font_info

        if path:
            info = font_info(path)
            if info.get("path") != path or info.get("warning"):
                QMessageBox.warning(self, "不能使用该字体", f"“{path}”不能嵌入 PDF(需要 TrueType 中文字体)。"
                                    + (f"\n{info['warning']}" if info.get("warning") else ""))
                return
        self.ctx.settings.setValue("print/font", path)
        self.font_path.setText(path or "自动(系统中文字体)")

    def reindex(self) -> None:
        """Off the GUI thread: on a big street the rebuild takes a while."""
        from desktop.services.search import rebuild_index

        self.reindex_button.setEnabled(False)

        def done(_: Any) -> None:
            self.reindex_button.setEnabled(True)
            QMessageBox.information(self, "完成", "检索索引已重建。")

        def failed(failure: JobFailure) -> None:
            self.reindex_button.setEnabled(True)
            QMessageBox.warning(self, "未能重建检索索引", failure.message)

        run_job(rebuild_index, self.ctx.store, on_done=done, on_error=failed, pool=self.ctx.pool)

    def set_idle_minutes(self, minutes: int) -> None:
        self.ctx.settings.setValue("security/idle_minutes", minutes)
        lock = getattr(self.window(), "idle_lock", None)
        if lock is not None:
            lock.set_minutes(minutes)

    def set_stale_months(self, months: int) -> bool:
        """Save the 核实期限 (months before 久未核实); the service checks the role and the range and
        writes the audit entry. Every page showing figures recomputes them."""
        from desktop.services.errors import ServiceError

        try:
            self.quality.set_stale_months(months)
        except ServiceError as exc:
            QMessageBox.warning(self, "未能修改核实期限", exc.message)
            self.stale.setValue(self.quality.stale_months())
            return False
        self.stale.setValue(months)
        self.stale_button.setEnabled(False)
        self.status.emit(f"核实期限已改为 {months} 个月")
        win = self.window()
        if hasattr(win, "data_changed"):
            win.data_changed()
        return True

    def visit_rules(self) -> None:
        from ui.forms.visit_rules import RulesDialog

        RulesDialog(self.ctx, self).exec()
        win = self.window()
        if hasattr(win, "data_changed"):
            win.data_changed()

    # --- users ---------------------------------------------------------------------------
    def manage_users(self) -> None:
        from ui.forms.users import UsersDialog

        UsersDialog(self.ctx, self).exec()

    def change_my_password(self) -> None:
        from desktop.services.users import Users
        from ui.forms.users import NewPasswordDialog

        dialog = NewPasswordDialog("修改我的密码", f"{self.ctx.actor.username} 的新密码:", ask_old=True, parent=self)
        dialog.action = lambda old, new: Users(self.ctx.store, self.ctx.actor).change_own_password(old, new)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            QMessageBox.information(self, "已修改", "密码已修改,下次登录(及解锁)请使用新密码。")

    # --- backups -------------------------------------------------------------------------
    def _backup_text(self) -> str:
        from desktop.services.backup import list_backups

        if self.ctx.store.path is None:
            return "内存数据库,不能备份"
        rows = list_backups(self.ctx.store.path)
        if not rows:
            return "还没有备份(每天自动备份一次,升级前也会自动备份)"
        return f"最近一次:{rows[0].taken_at:%Y-%m-%d %H:%M}({len(rows)} 份,保留最近 10 份)"

    def backup_now(self) -> None:
        from desktop.services.backup import backup_now
        self.backup_button.setEnabled(False)
        self.backup_state.setText("正在备份…")

        def done(path: Any) -> None:
            self.backup_button.setEnabled(True)
            self.backup_state.setText(f"已备份到 {path.name}。" + self._backup_text())

        def failed(failure: JobFailure) -> None:
            self.backup_button.setEnabled(True)
            self.backup_state.setText(f"备份失败:{failure.message}")

        run_job(backup_now, self.ctx.store, self.ctx.actor, on_done=done, on_error=failed, pool=self.ctx.pool)

    def choose_restore(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        from desktop.services.backup import list_backups, restore
        rows = list_backups(self.ctx.store.path) if self.ctx.store.path else []
        if not rows:
            QMessageBox.information(self, "没有备份", "还没有可恢复的备份。")
            return
        labels = [f"{b.taken_at:%Y-%m-%d %H:%M:%S}  {b.label}  ({b.size / 1024 / 1024:.1f} MB)" for b in rows]
        choice, ok = QInputDialog.getItem(self, "从备份恢复", "选择要恢复的备份:", labels, 0, False)
        if not ok:
            return
        backup = rows[labels.index(choice)]
        answer = QMessageBox.question(
            self, "确认恢复",
            f"将用 {backup.taken_at:%Y-%m-%d %H:%M} 的备份替换当前数据库。当前数据库会先另存一份。\n"
            "恢复后程序会关闭,请重新打开;下次同步时本机会重新登记(不会丢失或重复修改)。是否继续?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        path, key = self.ctx.store.path, self.ctx.store.key
        assert path is not None  # the app works on a file (an in-memory store is the tests')
        wait_all(5000)
        self.ctx.store.close()
        try:
            safety = restore(path, backup.path, self.ctx.actor, key=key)
        except Exception as exc:  # the message says what went wrong; the app closes either way
            QMessageBox.critical(self, "恢复失败", f"恢复失败:{exc}\n当前数据库未被替换。程序将关闭,请重新打开。")
        else:
            QMessageBox.information(self, "已恢复", f"已从备份恢复。恢复前的数据库已另存为:\n{safety}\n程序将关闭,请重新打开。")
        _quit_app()

    # --- encryption ------------------------------------------------------------------------
    def new_recovery_key(self) -> None:
        """A new recovery key for this encrypted laptop (one encrypted before recovery keys, or
        whose key sheet is lost): the user's password, then the key shown once."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        from desktop.services.failures import user_message
        from desktop.services.session import new_recovery_key_for

        password, ok = QInputDialog.getText(
            self, "生成新的恢复密钥", f"请输入 {self.ctx.actor.username} 的密码(旧的恢复密钥将不能再解锁本机):",
            QLineEdit.EchoMode.Password)
        if not ok or not password or self.ctx.store.path is None:
            return
        try:
            recovery_key = new_recovery_key_for(self.ctx.store.path, self.ctx.actor.username, password)
        except Exception as exc:  # a wrong password, a storage problem: said in one sentence
            message = user_message(exc, self.ctx.store.path)
            if message is None:
                raise
            QMessageBox.warning(self, "未生成", message)
            return
        show_recovery_key(self, recovery_key)

    def encrypt_database(self) -> None:
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        from desktop.services.session import encrypt
        password, ok = QInputDialog.getText(
            self, "加密本机数据库", f"请输入 {self.ctx.actor.username} 的密码(以后用它解锁本机数据库):",
            QLineEdit.EchoMode.Password)
        if not ok or not password:
            return
        answer = QMessageBox.question(
            self, "确认加密",
            "加密前会自动备份;加密后,该备份和以前的备份也都会加密。加密后程序会关闭,请重新打开并登录。\n"
            "其他用户之后在 设置 → 本机用户 中重置密码即可开通本机。是否继续?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        path, username = self.ctx.store.path, self.ctx.actor.username
        assert path is not None  # the app works on a file (an in-memory store is the tests')
        wait_all(5000)
        self.ctx.store.close()
        # off the GUI thread: a big street with its backups takes a minute; the window shows why
        self.encrypt_progress = box = QProgressDialog(  # type: ignore[call-overload]  # None: no cancel button (the stubs want a str)
            "正在加密本机数据库,请勿关闭程序或电脑…", None, 0, 0, self)
        box.setWindowTitle("加密本机数据库")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setMinimumDuration(0)
        box.show()

        def step(done: int, total: int, text: str) -> None:
            box.setLabelText(f"{text}\n请勿关闭程序或电脑。")
            box.setMaximum(total)
            box.setValue(done)

        def finished(done: Any) -> None:
            box.close()
            show_recovery_key(self, done.recovery_key)
            QMessageBox.information(self, "已加密", f"本机数据库已加密(以前的备份也已加密)。加密前的备份:\n{done.backup}\n"
                                    "程序将关闭,请重新打开并登录。")
            _quit_app()

        def failed(failure: JobFailure) -> None:  # wrong password or a storage problem: the file stays as it was
            box.close()
            QMessageBox.critical(self, "未加密", f"未能加密:{failure.message}\n数据库未改动。程序将关闭,请重新打开。")
            _quit_app()

        run_job(lambda job: encrypt(path, username, password, progress=job.report), with_job=True,
                on_done=finished, on_error=failed, on_progress=step, pool=self.ctx.pool)


def show_recovery_key(parent: Any, recovery_key: str) -> None:
    """The recovery key, shown once (the laptop keeps only a copy of the database key wrapped
    under it): to be written down or printed and kept in the office safe."""
    QMessageBox.information(parent, "恢复密钥(只显示这一次)",
                            "请把下面的恢复密钥抄写或打印下来,锁在办公室保险柜里。\n"
                            "忘记所有密码、或本机密钥文件丢失时,凭它可以恢复本机数据库和备份;"
                            "本机不保存它,以后无法再次查看。\n\n"
                            f"{recovery_key}")
