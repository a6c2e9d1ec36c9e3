"""A core dump of the app or the CLI would hold the database key and residents' data: both switch
core dumps off at process start (item 11 of the hardening issue)."""

from __future__ import annotations

import pytest

resource = pytest.importorskip("resource")  # POSIX only; Windows writes no core files


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: seen.append((which, limits)))
    return seen


def test_the_cli_switches_core_dumps_off_first(calls, tmp_path):
    from desktop.cli import main

    assert main(["--db", str(tmp_path / "x.db"), "validate", "phone", "13800000000"]) == 0
    assert calls[:1] == [(resource.RLIMIT_CORE, (0, 0))]


def test_the_app_switches_core_dumps_off_first(calls, monkeypatch):
    from ui.app import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main() == 2  # no display: it returns at once, after the switch
    assert calls[:1] == [(resource.RLIMIT_CORE, (0, 0))]

