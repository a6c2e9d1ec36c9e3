"""Unexpected exceptions in the app: the traceback to the log file, one Chinese dialog to the user,
and the app goes on.

- on the GUI thread (a page's handler, a slot, a timer), through `sys.excepthook`, which PySide6
  calls for an exception escaping Python code it called; the dialog is shown from the event loop
  (never inside the failing call), and only one at a time;
- in a background job (ui/workers.run_job): the job's "bug" failure comes here on the GUI thread;
- on another Python thread (`threading.excepthook`): logged only (no widget may be touched there);
- a hard crash (a segfault in a native library): `faulthandler` writes the stacks to crash.log in
  the log folder.

The dialog says what was being done, that nothing typed is lost (forms save drafts as the user
types: ui/drafts.py) and where the log file is. It never shows the exception's text, which may
quote a record."""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from desktop.paths import CRASH_LOG, log_dir, log_file

log = logging.getLogger(__name__)

TITLE = "程序遇到问题"
_state: dict[str, Any] = {"showing": False, "window": None, "fault_file": None}


def message(doing: str | None) -> str:
    what = f"{doing}没有完成" if doing else "刚才的操作没有完成"
    return (f"程序遇到问题…{what}。\n\n"
            "您已输入的内容没有丢失:正在填写的表单会自动保存为草稿,下次打开时可以恢复。程序可以继续使用。\n\n"
            f"详细信息已写入日志文件:\n{log_file()}\n\n"
            "如果问题反复出现,请在 设置 → 关于 / 诊断 中点击“导出诊断包”,把文件发给技术支持。")


def _current_activity() -> str | None:
    """What the user was doing, as far as the window knows: the page they are on."""
    window = _state["window"]
    if window is None:
        return None
    try:
        page = window.current_page()
    except Exception:  # the window is being torn down
        return None
    title = getattr(page, "title", None)
    return f"在“{title}”页面的操作" if title else None


def show(doing: str | None, parent: Any = None) -> None:
    """The dialog, now (on the GUI thread); a second problem while one is shown is only logged."""
    from PySide6.QtWidgets import QMessageBox

    if _state["showing"]:
        return
    _state["showing"] = True
    try:
        QMessageBox.critical(parent if parent is not None else _state["window"], TITLE, message(doing))
    finally:
        _state["showing"] = False


def report(exc: BaseException, doing: str | None = None, *, parent: Any = None) -> None:
    """Log `exc` with its traceback and show the dialog once the event loop is back."""
    from PySide6.QtCore import QTimer

    doing = doing or _current_activity()
    log.error("unexpected error (%s)", doing or "no activity known", exc_info=exc)
    QTimer.singleShot(0, lambda: show(doing, parent))


def report_shown(doing: str | None = None, *, parent: Any = None) -> None:
    """The dialog for a problem already logged (a background job's): shown once the event loop is back."""
    from PySide6.QtCore import QTimer

    doing = doing or _current_activity()
    QTimer.singleShot(0, lambda: show(doing, parent))


def _hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    try:
        report(exc.with_traceback(tb))
    except Exception:  # the report itself failed: the log still gets the first problem
        log.error("unexpected error (and the dialog could not be shown)", exc_info=(kind, exc, tb))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    log.error("unexpected error in thread %s", getattr(args.thread, "name", "?"),
              exc_info=args.exc_value)  # the exception with its own traceback


def enable_faulthandler(folder: Path | None = None) -> Path | None:
    """Hard crashes (a native library's segfault) write every thread's stack to crash.log."""
    folder = folder or log_dir()
    path = folder / CRASH_LOG
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle: TextIO = path.open("a", encoding="utf-8")
    except OSError:
        return None
    old = _state["fault_file"]
    faulthandler.enable(handle, all_threads=True)
    _state["fault_file"] = handle
    if old is not None:
        old.close()
    return path


def release_faulthandler() -> None:
    """Back to stderr (or off), and crash.log closed: the app has ended."""
    handle = _state["fault_file"]
    if handle is None:
        return
    _state["fault_file"] = None
    if sys.__stderr__ is not None:
        faulthandler.enable(sys.__stderr__, all_threads=True)
    else:  # a windowed program has no stderr
        faulthandler.disable()
    handle.close()


def install(window: Any = None) -> Callable[[], None]:
    """Take over sys.excepthook and threading.excepthook; `window` (the main window) parents the
    dialog and names the page. Returns a function that puts the previous hooks back."""
    previous = sys.excepthook, threading.excepthook
    _state["window"] = window
    sys.excepthook = _hook
    threading.excepthook = _thread_hook

    def uninstall() -> None:
        sys.excepthook, threading.excepthook = previous
        _state["window"] = None

    return uninstall
