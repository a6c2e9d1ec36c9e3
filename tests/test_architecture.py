"""The core never imports Qt: every module under desktop/ imports with PySide6 blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import importlib, pkgutil, sys

class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6", "qt_material"}:
            raise ImportError("Qt is not allowed in desktop/: " + name)
        return None

sys.meta_path.insert(0, BlockQt())
import desktop
names = [m.name for m in pkgutil.walk_packages(desktop.__path__, "desktop.")
         if ".migrations" not in m.name]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_core_imports_without_qt():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 20


def test_no_qt_import_statement_in_core():
    offenders = []
    for path in (ROOT / "desktop").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import PySide", "from PySide", "import qt_material", "from qt_material")):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []
