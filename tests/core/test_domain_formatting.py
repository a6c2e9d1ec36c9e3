"""One way to show dates, ages and care marks (desktop.domain.formatting), and only one place
that turns care-mark codes into labels."""

from __future__ import annotations

import ast
import json
from datetime import date, datetime
from pathlib import Path

from desktop.domain.formatting import (
    age,
    care_mark_codes,
    care_mark_labels,
    care_mark_table,
    day,
    minute,
)

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "desktop" / "domain" / "formatting.py"


def test_days_and_minutes():
    assert day(date(2026, 3, 1)) == "2026-03-01"
    assert day(datetime(2026, 3, 1, 8, 30)) == "2026-03-01"
    assert day("2026-03-01T08:30:00") == "2026-03-01"
    assert day(None) == day("") == ""
    assert minute(datetime(2026, 3, 1, 8, 30, 59)) == "2026-03-01 08:30"
    assert minute("2026-03-01T08:30:59.123") == "2026-03-01 08:30"
    assert minute(None) == ""


def test_ages():
    today = date(2026, 3, 1)
    assert age(date(1966, 3, 1), today) == 60
    assert age("1966-03-02", today) == 59
    assert age(datetime(1966, 3, 1, 12, 0), today) == 60
    assert age(None, today) is None and age("", today) is None and age("unknown", today) is None


def test_care_marks_in_table_order_whatever_the_stored_order():
    table = [c for c, _ in care_mark_table()]
    assert table[:3] == ["floating", "unemployed", "assisted"]
    assert care_mark_labels(",veteran,key_person,", ",lone_elderly,floating,") == "流动人口、重点人员、独居老人、退役军人"
    assert care_mark_labels(",key_person,", ",key_person,") == "重点人员"
    assert care_mark_labels(["veteran", "floating"]) == "流动人口、退役军人"
    assert care_mark_labels(None, "") == ""
    assert care_mark_codes(",zzz,floating,") == ["floating", "zzz"]  # unknown codes last


def _care_mark_labels() -> set[str]:
    codes = json.loads((ROOT / "desktop" / "data" / "codes.json").read_text(encoding="utf-8"))
    return {label for _c, label in codes["care_mark"]["items"]}


def _python_files() -> list[Path]:
    return [p for top in ("desktop", "ui", "server") for p in (ROOT / top).rglob("*.py")
            if "migrations" not in p.parts]


def test_no_second_care_mark_label_table():
    """A module outside formatting.py that holds three or more care-mark labels in its string
    constants (docstrings aside) is a second label table (a second order, a second spelling)."""
    labels = _care_mark_labels()
    offenders = {}
    for path in _python_files():
        if path == HOME:
            continue
        found = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(n) is not None}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                found |= {lbl for lbl in labels if lbl in node.value}
        if len(found) >= 3:
            offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert offenders == {}


def test_care_mark_codes_become_labels_only_in_formatting():
    """code_table("care_mark") is read by formatting.py (labels, order) and by the person rule
    that reads typed marks (rules.py, labels -> codes); everyone else asks formatting."""
    allowed = {HOME, ROOT / "desktop" / "services" / "rules.py"}
    offenders = []
    for path in _python_files():
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "code_table"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "care_mark"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
