"""Workbooks for the import tests are generated here: messy the way office files are."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.factories import id_number, years_ago


def write_xlsx(path: Path, rows: list[list[Any]], *, merges: list[tuple[int, int, int, int]] = (),
               sheet: str = "Sheet1", extra_sheets: dict[str, list[list[Any]]] | None = None) -> Path:
    """Rows of str / int / float / date / None; merges (r0, c0, r1, c1), 0-based, value from the rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name, data in (extra_sheets or {}).items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(data):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write(r, c, v)
    ws = wb.add_worksheet(sheet)
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    merged_cells = {(r, c) for r0, c0, r1, c1 in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None or (r, c) in merged_cells:
                continue
            if isinstance(v, datetime | date):
                ws.write_datetime(r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day), fmt)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write(r, c, v)
    for r0, c0, r1, c1 in merges:
        v = rows[r0][c0]
        if (r0, c0) == (r1, c1):
            continue
        ws.merge_range(r0, c0, r1, c1, v)
    wb.close()
    return path


@pytest.fixture
def make_xlsx(tmp_path: Path):
    def make(rows: list[list[Any]], name: str = "data.xlsx", **kw: Any) -> Path:
        return write_xlsx(tmp_path / name, rows, **kw)
    return make


def person_ids(n: int, seed: int = 11) -> list[tuple[str, date, str]]:
    """(ID number, birth date, gender) of synthetic people."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        age = rng.randint(1, 85)
        gender = rng.choice("12")
        born = years_ago(age)
        out.append((id_number(born, gender), born, gender))
    return out


@pytest.fixture
def other_community(store, admin, community):
    """A second community whose grid is also called 第1网格."""
    from desktop.services.records import Records

    r = Records(store, admin)
    comm = r.create("area", {"level": "community", "code": "620104001002", "name": "福利社区",
                             "parent_id": community.community["parent_id"]})
    grid = r.create("area", {"level": "grid", "code": "62010400100201", "name": "第1网格", "parent_id": comm["id"]})
    return {"community": comm, "grid": grid}
