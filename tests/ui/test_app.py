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
