"""Starting the app: no screen gives a Chinese message instead of a Qt abort; sign-in by stdin."""

from __future__ import annotations

import io
import sys

from ui import app as app_module


def test_no_display_is_explained(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    problem = app_module._display_problem()
    assert problem and "DISPLAY" in problem and "QT_QPA_PLATFORM=offscreen" in problem
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app_module._display_problem() is None


def test_wrong_password_on_stdin_is_refused(monkeypatch, capsys, tmp_path, qapp):
    import argparse

    from desktop.services.demo import generate
    from desktop.services.store import Store

    db = tmp_path / "a.db"
    store = Store.open(db, create=True)
    generate(store, households=20, seed=2)
    store.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO("not-the-password\n"))
    code = app_module.main(argparse.Namespace(db=str(db), user="admin", password_stdin=True, quit_after=None))
    assert code == 2 and "用户名或密码不正确" in capsys.readouterr().err


def test_the_app_logs_its_start_and_keeps_hard_crashes(monkeypatch, tmp_path, qapp):
    """The first lines of the log name the versions (Qt and SQLCipher included) and the database;
    faulthandler writes to crash.log while the app runs; the hooks are given back at the end."""
    import argparse
    import json
    import logging

    from desktop.db.migrate import head_revision
    from desktop.paths import start_log_file, tidy_path
    from desktop.services.demo import DEMO_PASSWORD, generate
    from desktop.services.store import Store

    monkeypatch.setenv("GRIDLEDGER_LOG_DIR", str(tmp_path / "logs"))
    root = logging.getLogger()
    before = list(root.handlers)
    db = tmp_path / "a.db"
    store = Store.open(db, create=True)
    generate(store, households=5, seed=2)
    store.close()
    hook = sys.excepthook
    monkeypatch.setattr(sys, "stdin", io.StringIO(DEMO_PASSWORD + "\n"))
    try:
        code = app_module.main(argparse.Namespace(db=str(db), user="admin", password_stdin=True, quit_after=200))
        log = start_log_file().read_text(encoding="utf-8")
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
    assert code == 0
    assert sys.excepthook is hook
    (line,) = [ln for ln in log.splitlines() if "app start-up: " in ln]
    facts = json.loads(line.split("app start-up: ", 1)[1])
    from PySide6.QtCore import qVersion

    assert (facts["qt"], facts["database"]["path"], facts["database"]["revision"], facts["database"]["encrypted"]) \
        == (qVersion(), tidy_path(db), head_revision(), False)
    assert facts["sqlite"] and facts["sqlcipher"] and facts["version"] and facts["platform"]
    assert (tmp_path / "logs" / "crash.log").exists()


def test_the_app_started_as_a_program_leaves_cleanly(tmp_path):
    """The real program in its own process (offscreen), signed in on an encrypted demo street, its
    window closed by the program's own timer: exit status 0 and nothing from Qt about objects
    deleted twice ("QObject: shared QObject was deleted directly", which Qt 6 can only print from a
    destructor reading freed or overwritten memory) or a crash."""
    import os
    import subprocess
    from pathlib import Path

    from desktop.services.demo import DEMO_PASSWORD, generate
    from desktop.services.session import encrypt
    from desktop.services.store import Store

    db = tmp_path / "street.db"
    store = Store.open(db, create=True)
    generate(store, households=30, seed=4)
    store.close()
    encrypt(db, "admin", DEMO_PASSWORD)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GRIDLEDGER_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p),
           "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "--db", str(db), "gui", "--user", "admin",
                           "--password-stdin", "--quit-after", "2500"],
                          input=DEMO_PASSWORD + "\n", capture_output=True, text=True, cwd=root, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shared QObject" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]


def test_qt_calls_that_give_back_nothing_keep_none_alive(qapp):
    """A Qt call that gives back nothing (a widget without parent, an item without data, a child not
    found, an unset property) hands Python None: the binding must add the reference it returns.
    PySide6 6.12.0 does not on Python 3.11 (where None is not immortal), so a long session — or the
    whole test run — drains None's count until the interpreter deallocates None and dies at exit
    (pyproject.toml keeps that release out)."""
    import gc

    from PySide6.QtWidgets import QComboBox, QLabel, QListWidgetItem, QWidget

    widget, item, combo = QWidget(), QListWidgetItem("x"), QComboBox()
    combo.addItem("无数据", None)
    calls = {
        "parentWidget()": widget.parentWidget,
        "QListWidgetItem.data()": lambda: item.data(256),
        "findChild() not found": lambda: qapp.findChild(QLabel, "no such child"),
        "property() unset": lambda: widget.property("gl_no_such_property"),
        "currentData() empty": combo.currentData,
    }
    lost = {}
    for name, call in calls.items():
        call()
        gc.collect()
        before = sys.getrefcount(None)
        for _ in range(1000):
            call()
        gc.collect()
        lost[name] = before - sys.getrefcount(None)
    assert all(n < 50 for n in lost.values()), f"references to None lost per 1000 calls: {lost}"
