"""grep: no SQL `IN (...)` list is built by hand; lists are bound as expanding parameters
(desktop/db/sql.py). An `IN ({name})` whose `name` is a subquery or a constant is fine; one
whose `name` is assigned from a `.join(...)` in the same file is a hand-built list."""

from __future__ import annotations

import re

from tests.source import source_files

INTERPOLATED = re.compile(r"IN \(\{([A-Za-z_][A-Za-z_0-9]*)\}\)")
INLINE_JOIN = re.compile(r"IN \(\{[^}]*\.join\(")


def _joined_names(source: str) -> set[str]:
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*=\s*[^\n]*\.join\(", source, re.M))


def test_no_hand_built_in_lists():
    offenders = []
    for rel, source in source_files():
        joined = _joined_names(source)
        for no, line in enumerate(source.splitlines(), 1):
            names = set(INTERPOLATED.findall(line))
            if INLINE_JOIN.search(line) or names & joined:
                offenders.append(f"{rel}:{no}: {line.strip()}")
    assert offenders == []


def test_the_check_sees_a_hand_built_list(tmp_path):
    planted = 'marks = ",".join("?" for _ in grids)\nSQL = f"DELETE FROM t WHERE grid_id IN ({marks})"\n'
    names = set(INTERPOLATED.findall(planted.splitlines()[1]))
    assert names & _joined_names(planted) == {"marks"}
    assert INLINE_JOIN.search("f\"... IN ({', '.join(':' + k for k in keys)})\"")
