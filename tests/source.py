"""The project's own source lines, for the grep tests (no role names, no kind-label tables, no
hand-built IN lists outside the one module that owns them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("desktop", "ui", "server")


def source_files(*, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(path relative to the repository, text) of every module of the three packages, migrations
    and the modules in `skip` left out."""
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in skip or "/migrations/" in rel:
                continue
            yield rel, path.read_text(encoding="utf-8")


def source_lines(*, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, int, str]]:
    """(path, line number, line) of every line of `source_files`."""
    for rel, text in source_files(skip=skip):
        for no, line in enumerate(text.splitlines(), 1):
            yield rel, no, line
