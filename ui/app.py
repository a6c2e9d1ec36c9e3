"""Start the desktop app: open the database, sign in, show the main window, offer drafts back."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, cast

from desktop import APP_NAME, APP_TITLE, __version__, disable_core_dumps, private_files
from desktop.paths import default_db_path
from desktop.policy import Ability, allows

log = logging.getLogger(__name__)


def _display_problem() -> str | None:
    """A Chinese explanation when there is no screen to open a window on (instead of Qt aborting)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None  # chosen explicitly (offscreen for tests and scripts, xcb, wayland...)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return ("没有检测到图形界面(未设置 DISPLAY),无法打开窗口。请在桌面环境中运行;"
                "在服务器上可用 gridledger stats / search 等命令,或设置 QT_QPA_PLATFORM=offscreen。")
    return None


def main(args: Any = None) -> int:
    private_files()  # 0600 files in 0700 folders (POSIX): residents' data and keys
    disable_core_dumps()  # a core file would hold the database key and residents' data
    from desktop.paths import start_log_file
    from ui.crash import enable_faulthandler, release_faulthandler

    start_log_file()  # (again, when the `gridledger` command already did: once per process)
    enable_faulthandler()  # a hard crash leaves every thread's stack in crash.log
    try:
        return _main(args)
    finally:
        release_faulthandler()


def _main(args: Any) -> int:
    problem = _display_problem()
    if problem:
        print(f"错误:{problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ui.context import app_settings
    from ui.theme import apply_theme

    app = cast(QApplication | None, QApplication.instance()) or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_TITLE)
    app.setApplicationVersion(__version__)
    from PySide6.QtGui import QIcon

    from desktop.paths import resources_dir

    icon = resources_dir() / "icons" / "gridledger.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    settings = app_settings()
    dark = bool(settings.value("ui/dark", False, type=bool))
    apply_theme(app, dark=dark)
    from ui.chinese import install_chinese
    app.setProperty("gl_translators", len(install_chinese(app)))  # parented to app: they live with it
    from ui.widgets.popups import install_wide_popups

    install_wide_popups(app)  # every drop-down list as wide as its longest entry

    db = Path(getattr(args, "db", None) or default_db_path()).expanduser()
    from desktop.services.session import start_using, stop_using

    try:  # the app holds the database for its lifetime: nobody replaces the file under it
        start_using(db, APP_PROGRAM)
    except Exception as exc:  # held by another program (named), or a file that cannot be used
        QMessageBox.critical(None, APP_TITLE, start_failure(exc, db))
        return 2
    try:
        return _signed_in_and_run(app, args, db, settings, dark)
    finally:
        stop_using(db)


APP_PROGRAM = "网格台账桌面程序"


def _signed_in_and_run(app: Any, args: Any, db: Path, settings: Any, dark: bool) -> int:
    from PySide6.QtWidgets import QMessageBox

    from desktop.services.auth import sign_in
    from desktop.services.first_run import is_new
    from desktop.services.session import LocalDatabase
    from desktop.services.store import Store

    local_db = LocalDatabase(db)
    store = None
    actor = None
    after: str | None = None
    if is_new(db):  # no database yet: the first-run assistant is the only way one is made
        opened = first_run(db)
        if opened is None:
            return 0
        store, actor, after = opened
    try:
        if store is None and not local_db.encrypted:  # an encrypted file opens only once a user has unlocked it
            store = Store.open(db)
    except Exception as exc:  # any storage or file failure: one dialog, the traceback to the log
        QMessageBox.critical(None, APP_TITLE, start_failure(exc, db))
        return 2

    username = getattr(args, "user", None)
    first = True
    state = {"dark": dark}  # the theme, kept across 切换用户
    while True:  # once, or again after 切换用户
        if actor is not None:
            pass  # signed in by the assistant
        elif first and username and getattr(args, "password_stdin", False):
            password = sys.stdin.readline().rstrip("\n")
            try:
                if store is None:
                    store, actor = local_db.open(username, password)
                else:
                    actor = sign_in(store, username, password)
            except Exception as exc:
                print(f"错误:{start_failure(exc, db)}", file=sys.stderr)
                if store is not None:
                    store.close()
                return 2
        else:
            from ui.signin import SignInDialog

            try:
                dialog = SignInDialog(store if store is not None else local_db, settings.value("ui/last_user", None))
            except Exception as exc:  # an encrypted file's keyring that cannot be read
                QMessageBox.critical(None, APP_TITLE, start_failure(exc, db))
                if store is not None:
                    store.close()
                return 2
            accepted = dialog.exec() == SignInDialog.DialogCode.Accepted
            if dialog.wants_first_run:  # a database nobody can sign in to: the assistant
                if store is not None:
                    store.close()
                opened = first_run(db)
                if opened is None:
                    return 0
                store, actor, after = opened
            elif not accepted or dialog.actor is None or dialog.store is None:
                if dialog.store is not None:
                    dialog.store.close()
                return 0
            else:
                actor = dialog.actor
                store = dialog.store
        assert store is not None and actor is not None
        settings.setValue("ui/last_user", actor.username)

        code, left = run_session(app, store, actor, settings, state, args, after)
        if left != "switch":
            return int(code)
        # 切换用户: the same file, signed in again (an encrypted one is opened by whoever signs in)
        first, actor, after = False, None, None
        try:
            store = None if local_db.encrypted else Store.open(db)
        except Exception as exc:  # the file went away meanwhile: one dialog, as at start-up
            QMessageBox.critical(None, APP_TITLE, start_failure(exc, db))
            return 2


def run_session(app: Any, store: Any, actor: Any, settings: Any, state: dict[str, Any], args: Any,
                after: str | None) -> tuple[int, str | None]:
    """One signed-in session: the main window until it closes; (exit code, how it was left:
    None, "switch" for 切换用户 or "sign_out" for 退出登录)."""
    from PySide6.QtCore import QTimer

    from ui.context import AppContext
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    ctx = AppContext(store, actor, settings)

    def toggle_theme() -> None:
        state["dark"] = not state["dark"]
        settings.setValue("ui/dark", state["dark"])
        apply_theme(app, dark=state["dark"])

    window = MainWindow(ctx, on_toggle_theme=toggle_theme)
    from PySide6.QtCore import qVersion

    from desktop.services.diagnostics import log_start
    from ui.crash import install

    uninstall = install(window)  # an unexpected exception: logged, one dialog, the app goes on
    try:
        log_start(store, qt_version=qVersion())
    except Exception:  # a fact that cannot be read must not stop the start
        log.warning("start-up facts not logged", exc_info=True)
    window.show()
    if os.environ.get("GRIDLEDGER_REPORT_READY"):  # benchmarks: the window is up and the event loop runs
        QTimer.singleShot(0, lambda: print("GRIDLEDGER_READY", flush=True))
    from desktop.services.maintenance import daily
    from ui.forms.opener import offer_drafts
    from ui.workers import run_job

    # calendar-dependent marks (独居老人 at 60) are brought up to date once a day, off the GUI thread
    run_job(daily, store, actor, on_done=lambda n: window.data_changed() if n else None, pool=ctx.pool)

    if after == "start":  # a new community: import the existing Excel ledgers, or start entering
        QTimer.singleShot(300, window, lambda: offer_import(window))
    QTimer.singleShot(300, window, lambda: offer_drafts(window, ctx))
    QTimer.singleShot(600, window, lambda: offer_encryption(window, ctx))  # not once the window is gone
    quit_after = getattr(args, "quit_after", None)
    if quit_after:
        QTimer.singleShot(int(quit_after), window.close)
    code = app.exec()
    uninstall()
    store.close()
    return int(code), window.signed_out


def first_run(db: Path) -> tuple[Any, Any, str | None] | None:
    """The first-run assistant on `db`: (store, actor, what to offer next) once signed in, None
    when the user left it (nothing was made)."""
    from ui.first_run import FirstRunDialog

    wizard = FirstRunDialog(db)
    if wizard.exec() != FirstRunDialog.DialogCode.Accepted or wizard.store is None or wizard.actor is None:
        return None
    return wizard.store, wizard.actor, wizard.after


def offer_import(window: Any) -> Any:
    """A new community is empty: offer the import of the Excel ledgers kept so far (non-modal)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Question, "社区已建好",
                      "社区和网格已建好。要现在从 Excel 导入已有的人员台账吗?\n"
                      "也可以以后在 首页 点 从 Excel 导入…,或直接开始逐户录入。", parent=window)
    now = box.addButton("从 Excel 导入…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("开始录入", QMessageBox.ButtonRole.RejectRole)

    def answered(_result: int) -> None:
        if box.clickedButton() is now:
            window.import_excel("person")

    box.finished.connect(answered)
    box.open()
    return box


def start_failure(exc: BaseException, db: Path) -> str:
    """The sentence for a start-up that cannot go on (the command line's words for the same
    failure); the exception goes to the log file, never to the user."""
    from desktop.services.failures import unexpected, user_message

    message = user_message(exc, db)
    log.warning("start-up on %s refused: %s", db, message, exc_info=exc)
    return message or unexpected(exc)


def offer_encryption(window: Any, ctx: Any) -> Any:
    """A plain database on a laptop is one lost bag away from a leak: an admin or supervisor is
    asked at each sign-in whether to encrypt it now (non-modal; 以后再说 asks again next time); a
    grid worker is told, in the status bar, to ask them. Returns the box shown, if any."""
    from PySide6.QtWidgets import QMessageBox

    if ctx.store.key is not None or ctx.store.path is None:
        return None
    if not allows(ctx.actor, Ability.ENCRYPT_DATABASE):
        window.statusBar().showMessage("本机数据库未加密:请联系社区管理员或网格长在 设置 中加密。")
        return None
    box = QMessageBox(QMessageBox.Icon.Warning, "本机数据库未加密",
                      "本机数据库尚未加密。电脑丢失时,其中的身份证号、住址、电话等信息可以被直接读取。\n"
                      "现在加密吗?(会先自动备份;加密后程序关闭,重新打开登录即可)", parent=window)
    now = box.addButton("现在加密…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("以后再说", QMessageBox.ButtonRole.RejectRole)

    def answered(_result: int) -> None:
        if box.clickedButton() is now:
            window.show_page("settings").encrypt_database()

    box.finished.connect(answered)
    box.open()
    return box
