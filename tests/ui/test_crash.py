"""Unexpected exceptions in the app: a page's handler and a background job that raise show the
problem dialog, leave their traceback in the log file, and the app goes on; a hard crash leaves
its stacks in crash.log. 设置 → 关于 / 诊断 shows the facts and exports a package with no record."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from desktop.paths import start_log_file
from desktop.services.households import Households
from tests.privacy_scan import personal_values, scan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDLEDGER_LOG_DIR", str(tmp_path / "logs"))
    root = logging.getLogger()
    before = list(root.handlers)
    path = start_log_file()
    assert path == tmp_path / "logs" / "gridledger.log"
    yield path
    for h in list(root.handlers):
        if h not in before:
            root.removeHandler(h)
            h.close()


@pytest.fixture
def window(qtbot, ui_ctx):
    from ui.crash import install
    from ui.main_window import MainWindow

    w = MainWindow(ui_ctx)
    qtbot.addWidget(w)
    w.show()
    uninstall = install(w)
    yield w
    uninstall()


def _boom(*_args, **_kw):
    raise RuntimeError("planted failure 4711")


@pytest.mark.qt_no_exception_capture  # the app's own hook is what is tested
def test_an_exception_in_a_page_handler_shows_the_dialog_logs_the_traceback_and_the_app_goes_on(
        qtbot, window, log_path, answers, monkeypatch):
    from ui.pages.settings import SettingsPage

    monkeypatch.setattr(SettingsPage, "_toggle_dark", _boom)  # before the page connects it
    page = window.show_page("settings")
    answers.critical()
    page.dark.click()  # the checkbox's handler raises, inside Qt's event handling
    qtbot.waitUntil(lambda: bool(answers.asked), timeout=5000)
    (asked,) = answers.asked
    assert (asked.kind, asked.title) == ("critical", "程序遇到问题")
    assert "在“设置”页面的操作没有完成" in asked.text
    assert "没有丢失" in asked.text and "草稿" in asked.text
    assert str(log_path) in asked.text
    assert "planted failure 4711" not in asked.text  # the exception's text is for the log only
    logged = log_path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: planted failure 4711" in logged and "_boom" in logged
    # the app goes on: the window is up and another page opens
    assert window.isVisible()
    assert window.show_page("home") is window.current_page()


def test_an_exception_in_a_job_shows_the_dialog_and_logs_the_traceback(qtbot, window, log_path, answers,
                                                                        monkeypatch):
    import desktop.services.search as search

    monkeypatch.setattr(search, "rebuild_index", _boom)
    page = window.show_page("settings")
    answers.critical().warning()  # the problem dialog, then the page's own "未能重建检索索引"
    page.reindex()
    qtbot.waitUntil(lambda: len(answers.asked) == 2, timeout=10000)
    kinds = {a.kind: a for a in answers.asked}
    assert kinds["critical"].title == "程序遇到问题"
    assert "在“设置”页面的操作没有完成" in kinds["critical"].text and str(log_path) in kinds["critical"].text
    assert "planted failure 4711" not in kinds["warning"].text
    logged = log_path.read_text(encoding="utf-8")
    assert "background job _boom failed" in logged
    assert "RuntimeError: planted failure 4711" in logged and "Traceback (most recent call last)" in logged
    assert page.reindex_button.isEnabled()  # the page put itself back


def test_a_job_names_what_it_was_doing(qtbot, qapp, log_path, answers):
    from ui.workers import run_job

    failures = []
    answers.critical()
    run_job(_boom, what="导出诊断包", on_error=failures.append)
    qtbot.waitUntil(lambda: bool(answers.asked) and bool(failures), timeout=10000)
    assert failures[0].code == "bug" and failures[0].error is not None
    assert answers.asked[0].text.startswith("程序遇到问题…导出诊断包没有完成")


def test_a_hard_crash_leaves_its_stacks_in_crash_log(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("from pathlib import Path; import faulthandler; from ui.crash import enable_faulthandler; "
            f"assert enable_faulthandler(Path({str(tmp_path)!r})); faulthandler._sigsegv()")
    # (the app enables it first thing: ui.app.main; and puts stderr back when it ends)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert proc.returncode != 0
    text = (tmp_path / "crash.log").read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text and "<string>" in text


# --- 设置 → 关于 / 诊断 ------------------------------------------------------------------------------

def test_about_shows_the_version_the_database_and_the_log_folder(qtbot, ui_ctx, log_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from desktop import __version__
    from desktop.db.migrate import head_revision
    from desktop.services.diagnostics import database_state, size_text
    from ui.pages.settings import SettingsPage

    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    text = page.about_text()
    assert f"版本:网格台账 {__version__}" in text
    size = size_text(database_state(ui_ctx.store).size)
    assert f"数据库:{ui_ctx.store.path},{size},未加密,数据库结构 {head_revision()}" in text
    assert "上次同步:从未同步" in text and f"日志文件夹:{log_path.parent}" in text
    ui_ctx.store.set_meta("sync_last_at", "2026-03-01 08:00:00")
    assert "上次同步:2026-03-01 08:00:00(UTC)" in page.about_text()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    assert page.open_log_folder()
    assert [u.toLocalFile() for u in opened] == [str(log_path.parent)]


def test_the_diagnostics_package_holds_the_logs_and_no_personal_value(qtbot, ui_ctx, community, log_path, answers,
                                                                      tmp_path):
    from desktop.services.backup import backup_now
    from tests.factories import id_number, years_ago
    from ui.pages.settings import SettingsPage

    Households(ui_ctx.store, ui_ctx.actor).register(
        grid_id=community.grid1["id"], address={"estate": "槐香里", "building": "3", "room": "302"},
        members=[{"name": "诸葛晴川", "cert_no": id_number(years_ago(52), "2"), "phone": "13698765432"}])
    backup_now(ui_ctx.store, ui_ctx.actor)  # something in the log
    logging.getLogger("desktop.test").error("a failure", exc_info=RuntimeError("x"))
    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    target = tmp_path / "out" / "诊断包"
    target.parent.mkdir()
    answers.save_file(str(target)).information()
    page.export_diagnostics()
    qtbot.waitUntil(lambda: bool(answers.asked[1:]), timeout=10000)
    assert answers.titles() == ["导出诊断包", "诊断包已导出"]
    package = target.with_suffix(".zip")
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        facts = json.loads(zf.read("environment.json"))
        logged = zf.read("logs/gridledger.log").decode("utf-8")
    assert names == {"environment.json", "logs/gridledger.log"}
    assert facts["version"] and facts["sqlite"] and facts["qt"] and facts["database"]["encrypted"] is False
    assert facts["database"]["revision"] and facts["database"]["size"] > 0
    assert "backup " in logged and "RuntimeError: x" in logged
    secrets = personal_values(ui_ctx.store.path)
    assert "诸葛晴川" in secrets["name"] and "13698765432" in secrets["phone"]
    assert scan([package], secrets) == []
