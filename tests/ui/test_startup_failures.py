"""The app, started offscreen on a database it cannot use, shows one Chinese dialog (the sentence
the command line prints) and exits cleanly, leaving the file as it was."""

from __future__ import annotations

import argparse
import re

import pytest

from tests.broken_files import CASES, broken, fingerprint, make_template
from ui import app as app_module

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def short_busy_wait(monkeypatch):
    from desktop.db import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200, raising=False)


@pytest.mark.parametrize("kind", CASES)
def test_the_app_explains_a_database_it_cannot_use(kind, template, tmp_path, answers, capsys, short_busy_wait):
    from desktop.cli import main as cli

    answers.critical()
    with broken(kind, template, tmp_path / "dbs") as path:
        before = fingerprint(path)
        code = app_module.main(argparse.Namespace(db=str(path), user=None, password_stdin=False, quit_after=None))
        after = fingerprint(path)
        capsys.readouterr()
        assert cli(["--db", str(path), "init"]) == 2
        cli_line = capsys.readouterr().err.strip()
    assert code == 2
    [shown] = answers.texts("critical")
    assert HAN.search(shown) and "Traceback" not in shown and "\n" not in shown
    assert cli_line == f"错误:{shown}"  # the same sentence as the command line's
    assert after == before


def test_sign_in_on_an_encrypted_file_that_cannot_be_opened_says_why(qtbot, template, tmp_path):
    """Unlocked, but the file is from a newer GridLedger: the dialog says so and stays open."""
    import shutil

    import sqlcipher3

    from desktop.db.keys import Keyring, sqlcipher_key
    from desktop.services.session import LocalDatabase, encrypt
    from tests.broken_files import NEWER_REVISION
    from ui.signin import SignInDialog

    path = tmp_path / "enc.db"
    shutil.copyfile(template, path)
    encrypt(path, "admin", "demo1234")
    con = sqlcipher3.connect(str(path))
    con.execute(f"PRAGMA key = \"{sqlcipher_key(Keyring.load(path).unlock('admin', 'demo1234'))}\"")
    with con:
        con.execute("UPDATE alembic_version SET version_num = ?", (NEWER_REVISION,))
    con.close()
    dlg = SignInDialog(LocalDatabase(path), "admin")
    qtbot.addWidget(dlg)
    dlg.password.setText("demo1234")
    dlg.try_sign_in()
    assert dlg.store is None and dlg.result() != SignInDialog.DialogCode.Accepted
    assert HAN.search(dlg.error.text()) and "Traceback" not in dlg.error.text()
