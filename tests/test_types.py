"""Type checking as part of `make test` (and `make lint`): mypy over desktop/, server/ and ui/.

- mypy, configured in pyproject.toml ([tool.mypy]), finds no error in the tree.
- The check bites: a type error planted in a temporary copy of a module fails it, in a strict
  module an unannotated function does too, and the same copy without them passes.
- README's development section states how many `# type: ignore` comments the code holds, and that
  number is the real count; every one names its error code and, after it, its reason."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("desktop", "server", "ui")
IGNORE = re.compile(r"#\s*type:\s*ignore")
# `# type: ignore[code]  # reason`: a code in brackets, then a comment saying why
NAMED = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(?:,\s*[a-z-]+)*\]\s+#\s*\S")


def _mypy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_mypy_passes_on_the_tree():
    done = _mypy()
    assert done.returncode == 0, done.stdout + done.stderr


def _copy(tmp_path: Path) -> Path:
    """A tree with pyproject.toml and the strict desktop/validation package: the check on it."""
    (tmp_path / "desktop").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "desktop" / "__init__.py").write_text("")
    shutil.copytree(ROOT / "desktop" / "validation", tmp_path / "desktop" / "validation",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _mypy_copy(tree: Path) -> subprocess.CompletedProcess[str]:
    return _mypy("--config-file", str(tree / "pyproject.toml"), "--cache-dir",
                 str(tree / ".mypy_cache"), "desktop", cwd=tree)


def test_mypy_fails_on_a_planted_type_error(tmp_path):
    tree = _copy(tmp_path)
    clean = _mypy_copy(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    target = tree / "desktop" / "validation" / "plate.py"
    source = target.read_text()
    target.write_text(source + '\n\ndef _planted() -> int:\n    return "七"\n')
    planted = _mypy_copy(tree)
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert "plate.py" in planted.stdout and "[return-value]" in planted.stdout, planted.stdout

    # desktop/validation is strict: a function without annotations is an error there
    target.write_text(source + "\n\ndef _planted(value):\n    return value\n")
    untyped = _mypy_copy(tree)
    assert untyped.returncode == 1, untyped.stdout + untyped.stderr
    assert "[no-untyped-def]" in untyped.stdout, untyped.stdout


def _ignores() -> list[tuple[str, int, str]]:
    out = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if IGNORE.search(line):
                    out.append((str(path.relative_to(ROOT)), n, line.strip()))
    return out


def test_readme_states_the_real_count_of_type_ignores():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"(\d+) `# type: ignore` comments", readme)
    assert stated, "README's development section should say how many `# type: ignore` comments there are"
    assert int(stated.group(1)) == len(_ignores()), (
        f"README says {stated.group(1)}, the code holds {len(_ignores())}")


def test_every_type_ignore_names_its_code_and_reason():
    unnamed = [f"{p}:{n}: {line}" for p, n, line in _ignores() if not NAMED.search(line)]
    assert not unnamed, "\n".join(unnamed)
