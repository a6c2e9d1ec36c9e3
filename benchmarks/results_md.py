"""benchmarks/RESULTS.md is written by several scripts: run.py writes the whole file, the others
each own one section between their markers and replace only that."""

from __future__ import annotations

from pathlib import Path


def replace_section(results_md: Path, begin: str, end: str, text: str) -> None:
    old = results_md.read_text(encoding="utf-8") if results_md.exists() else "# GridLedger benchmark results\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + begin + "\n" + text + "\n" + end + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + begin + "\n" + text + "\n" + end + "\n"
    results_md.write_text(new, encoding="utf-8")
