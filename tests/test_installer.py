"""The installer: build build_installer.spec with PyInstaller and smoke-test the frozen app.

One build per run (module fixture, ~30-60 s), then the bundled executable is started as a user
would: the CLI (demo data, stats, validation) and the GUI (offscreen, signed in, auto-closing).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop import APP_NAME, __version__

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build_installer.spec"
NAME = APP_NAME.lower()
IS_WIN = sys.platform == "win32"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        importlib.util.find_spec("PyInstaller") is None,
        reason="PyInstaller is not installed (pip install -e '.[installer]'; `make test` installs it)",
    ),
]


@dataclass(frozen=True)
class Bundle:
    folder: Path  # dist/gridledger
    exe: Path  # the executable the smoke tests start (console one on Windows)
    tmp: Path
    build_seconds: float

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("GRIDLEDGER_DB", None)
        env["GRIDLEDGER_DATA_DIR"] = str(self.tmp / "data")
        env["QT_QPA_PLATFORM"] = "offscreen"
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self.env(),
            cwd=self.tmp,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    tmp = tmp_path_factory.mktemp("installer")
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(tmp / "dist"),
            "--workpath",
            str(tmp / "build"),
            str(SPEC),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=840,
        check=False,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, (
        f"pyinstaller failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    )
    folder = tmp / "dist" / NAME
    exe = folder / (f"{NAME}-cli.exe" if IS_WIN else NAME)
    assert exe.is_file(), f"no executable at {exe}"
    return Bundle(folder, exe, tmp, took)


def _assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    assert "Traceback" not in proc.stderr, proc.stderr


def test_bundle_ships_its_data_files(bundle: Bundle) -> None:
    internal = bundle.folder / "_internal"
    expected = [
        "desktop/data/codes.json",
        "desktop/data/regions.csv",
        "desktop/models/migrations/env.py",
        "desktop/models/migrations/script.py.mako",
        "resources/icons/gridledger.png",
        "resources/icons/gridledger.ico",
        "qt_material/themes/light_blue.xml",
        "qt_material/themes/dark_blue.xml",
        "qt_material/material.qss.template",
    ]
    missing = [p for p in expected if not (internal / p).is_file()]
    assert not missing, f"missing from the bundle: {missing}"
    versions = sorted(p.name for p in (ROOT / "desktop/models/migrations/versions").glob("*.py"))
    shipped = sorted(p.name for p in (internal / "desktop/models/migrations/versions").glob("*.py"))
    assert versions and shipped == versions
    assert list((internal / "pypinyin").glob("*.json")), "pypinyin dictionaries missing"
    # heavy Qt modules stay out
    heavy_prefixes = (
        "libQt6Quick",
        "libQt6Qml",
        "libQt6WebEngine",
        "Qt6Quick",
        "Qt6Qml",
        "Qt6WebEngine",
    )
    heavy = [p.name for p in internal.rglob("*") if p.name.startswith(heavy_prefixes)]
    assert not heavy, heavy
    size_mb = (
        sum(
            p.lstat().st_size
            for p in bundle.folder.rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        / 1e6
    )
    print(f"\n{NAME} {__version__}: bundle {size_mb:.0f} MB, built in {bundle.build_seconds:.0f} s")


def test_frozen_cli_demo_stats_validate(bundle: Bundle) -> None:
    db = bundle.tmp / "demo.db"
    demo = bundle.run("--db", str(db), "demo", "--households", "50")
    _assert_clean(demo)
    assert "已生成演示社区" in demo.stdout and "50 户" in demo.stdout, demo.stdout

    stats = bundle.run("--db", str(db), "stats", "--json")
    _assert_clean(stats)
    data = json.loads(stats.stdout)
    assert data["total"]["people"] > 0

    valid = bundle.run("validate", "id", "11010519491231002X")
    _assert_clean(valid)
    assert "有效" in valid.stdout


def test_frozen_gui_signs_in_and_quits(bundle: Bundle) -> None:
    db = bundle.tmp / "gui.db"
    _assert_clean(bundle.run("--db", str(db), "demo", "--households", "50"))
    started = time.monotonic()
    gui = bundle.run(
        "--db",
        str(db),
        "gui",
        "--user",
        "admin",
        "--password-stdin",
        "--quit-after",
        "1500",
        stdin="demo1234\n",
        timeout=60,
    )
    _assert_clean(gui)
    assert time.monotonic() - started < 60
    # qt-material ran inside the bundle: it writes its generated icons into our data folder
    assert (bundle.tmp / "data" / "qt_material").is_dir()
