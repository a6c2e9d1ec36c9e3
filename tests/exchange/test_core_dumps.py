"""A core dump of the app or the CLI would hold the database key and residents' data: both switch
core dumps off at process start (item 11 of the hardening issue)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")  # POSIX only; Windows writes no core files
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import resource, sys
hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
print("before", resource.getrlimit(resource.RLIMIT_CORE))
{start}
print("core", resource.getrlimit(resource.RLIMIT_CORE))
"""


@pytest.mark.parametrize("start", [
    "from desktop.cli import main; main(['validate', 'phone', '13800000000'])",
    "from ui.app import main; main()",  # no display: it returns at once, after the switch
])
def test_the_cli_and_the_app_switch_core_dumps_off(tmp_path, start):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PYTHONPATH=str(ROOT), GRIDLEDGER_DB=str(tmp_path / "x.db"))
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(start=start)], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    if "before (0, 0)" in done.stdout:
        pytest.skip("core dumps are already off for this process tree")
    assert "core (0, 0)" in done.stdout, (done.stdout, done.stderr[-1500:])
