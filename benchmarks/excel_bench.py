"""Excel import and export on 100,000 people (desktop.exchange).

1. export of the people ledger of a generated street (≈100,000 people) to .xlsx, beside a bare
   xlsxwriter write of the same cells (no query, no styles, no labels);
2. import of 100,000 people from a typical 20-column register (.xlsx: title row, Chinese
   headers, labels for codes, dates as Excel dates) into a database that has only the street's
   grids - every row validated, 37,000 addresses, houses and households created - beside the bare
   python-calamine read of the same file; once with the parallel writer (the default for large
   files) and once all in one process (GRIDLEDGER_IMPORT_PROCESSES=0), plus the dry run.

    .venv/bin/python benchmarks/excel_bench.py --db benchmarks/out/bench.db [--people 100000]

--db is the street to export and to take the grids and people from (make bench keeps one at
benchmarks/out/bench.db); it is generated there when missing and never modified (the export
runs on a copy). Figures go to benchmarks/RESULTS.md between <!-- excel-bench --> markers."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from results_md import replace_section  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from desktop.exchange import ImportOptions, dry_run, export, read_sheet, run_import, suggest_mapping  # noqa: E402
from desktop.models import Area, Household, Person, User  # noqa: E402
from desktop.services.store import SYSTEM, Store  # noqa: E402
from desktop.validation import code_table  # noqa: E402

BEGIN, END = "<!-- excel-bench -->", "<!-- /excel-bench -->"
IMPORT_TARGET_S = 30.0
EXPORT_TARGET_S = 30.0
HEADERS = ["序号", "姓名", "性别", "民族", "出生日期", "公民身份号码", "联系电话", "与户主关系", "户号", "网格代码",
           "小区", "楼栋", "单元", "户室", "文化程度", "政治面貌", "婚姻状况", "就业状况", "工作单位", "人员类型"]


def say(msg: str) -> None:
    print(msg, flush=True)


def ensure_street(db: Path, households: int = 37400) -> None:
    if db.exists():
        return
    from desktop.services.demo import generate

    say(f"[street] {db} not found: generating {households:,} households (≈{households * 2.7:,.0f} people) …")
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(db, create=True)
    try:
        rep = generate(store, households=households, seed=1)
    finally:
        store.close()
    say(f"  {rep.people:,} people in {rep.seconds:.1f} s")


def register_file(store: Store, out: Path, n: int) -> int:
    """A typical office register of the street's first `n` people (not timed)."""
    import xlsxwriter

    labels = {k: code_table(k).label for k in ("gender", "ethnicity", "relation", "education", "political", "marital",
                                                "employment_status", "person_type")}
    with store.session() as s:
        rows = s.execute(text(
            "SELECT p.name, p.gender, p.ethnicity, p.birth_date, p.cert_no, p.phone, p.relation, hh.hh_no, g.code, "
            "a.estate, a.building, a.unit, a.room, p.education, p.political, p.marital, p.employment, p.employer, "
            "p.person_type FROM person p JOIN area g ON g.id = p.grid_id LEFT JOIN household hh ON hh.id = p.household_id "
            "LEFT JOIN house h ON h.id = p.house_id LEFT JOIN address a ON a.id = h.address_id "
            "WHERE p.deleted_at IS NULL ORDER BY g.code, hh.hh_no, p.relation LIMIT :n"), {"n": n}).all()
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ws = wb.add_worksheet("实有人口")
    ws.merge_range(0, 0, 0, len(HEADERS) - 1, "福利路街道实有人口信息登记表")
    ws.write_row(1, 0, HEADERS)
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    code_cols = {2: "gender", 3: "ethnicity", 7: "relation", 14: "education", 15: "political", 16: "marital",
                 17: "employment_status", 19: "person_type"}
    for i, r in enumerate(rows):
        values = [i + 1, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
                  r[15], r[16], r[17], r[18]]
        for c, v in enumerate(values):
            if v is None or v == "":
                continue
            if c in code_cols:
                ws.write_string(i + 2, c, labels[code_cols[c]](v))
            elif c == 4:
                ws.write_datetime(i + 2, c, datetime.fromisoformat(str(v)), fmt)
            elif isinstance(v, int | float):
                ws.write_number(i + 2, c, v)
            else:
                ws.write_string(i + 2, c, str(v))
    wb.close()
    return len(rows)


def fresh_target(source: Store, path: Path) -> Store:
    """A new database with only the street's areas and users."""
    with source.session() as s:
        areas = [dict(r._mapping) for r in s.execute(select(Area.__table__))]
        users = [dict(r._mapping) for r in s.execute(select(User.__table__))]
    store = Store.open(path, create=True)
    with store.transaction() as s:
        s.connection().execute(insert(Area.__table__), areas)
        s.connection().execute(insert(User.__table__), users)
    return store


def timed_import(source: Store, work: Path, name: str, path: Path, *, parallel: bool) -> dict[str, Any]:
    target = fresh_target(source, work / f"{name}.db")
    old = os.environ.get("GRIDLEDGER_IMPORT_PROCESSES")
    if not parallel:
        os.environ["GRIDLEDGER_IMPORT_PROCESSES"] = "0"
    marks: dict[str, float] = {}

    def progress(done: int, total: int, text_: str) -> None:
        if text_ == "检查完成":
            marks["checked"] = time.perf_counter()

    try:
        t0 = time.perf_counter()
        sheet = read_sheet(path, kind="person")
        t_read = time.perf_counter()
        report = run_import(target, SYSTEM, "person", sheet, suggest_mapping("person", sheet.headers), ImportOptions(),
                            progress=progress)
        t_end = time.perf_counter()
    finally:
        if old is None:
            os.environ.pop("GRIDLEDGER_IMPORT_PROCESSES", None)
        else:
            os.environ["GRIDLEDGER_IMPORT_PROCESSES"] = old
    with target.session() as s:
        people = s.scalar(select(func.count()).select_from(Person))
        households = s.scalar(select(func.count()).select_from(Household))
        outbox = s.scalar(text("SELECT count(*) FROM sync_outbox WHERE table_name = 'person'"))
        docs = s.scalar(text("SELECT count(*) FROM search_doc WHERE kind = 'person'"))
    target.close()
    return {
        "total": t_end - t0, "read_sheet": t_read - t0, "checked": marks.get("checked", t_end) - t_read,
        "import": t_end - t_read, "report": report, "people": people, "households": households,
        "outbox": outbox, "docs": docs,
    }


def bare_read(path: Path) -> float:
    from python_calamine import CalamineWorkbook

    t0 = time.perf_counter()
    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows
    return time.perf_counter() - t0


def bare_write(rows: list[list[Any]], out: Path) -> float:
    import xlsxwriter

    t0 = time.perf_counter()
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            else:
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day))
    wb.close()
    return time.perf_counter() - t0


def write_results(results_md: Path, body: str) -> None:
    replace_section(results_md, BEGIN, END, body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Excel import/export benchmark; writes benchmarks/RESULTS.md")
    ap.add_argument("--db", type=Path, required=True, help="a generated street (make bench keeps benchmarks/out/bench.db)")
    ap.add_argument("--people", type=int, default=100_000, help="rows of the import file")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    ap.add_argument("--no-single-process", action="store_true", help="skip the one-process import")
    args = ap.parse_args(argv)
    db = args.db.expanduser().resolve()
    ensure_street(db)
    work = Path(tempfile.mkdtemp(prefix="gridledger-excel-"))
    started = datetime.now().astimezone()
    try:
        shutil.copy(db, work / "source.db")
        source = Store.open(work / "source.db")
        with source.session() as s:
            street_people = s.scalar(select(func.count()).select_from(Person).where(Person.deleted_at.is_(None)))
        say(f"[export] people ledger of {street_people:,} people …")
        t0 = time.perf_counter()
        exported = export(source, SYSTEM, "person", work / "people-ledger.xlsx", unmask=True)
        t_export = time.perf_counter() - t0
        from python_calamine import CalamineWorkbook

        cells = CalamineWorkbook.from_path(str(work / "people-ledger.xlsx")).get_sheet_by_index(0).to_python()
        t_export_base = bare_write(cells, work / "bare.xlsx")
        say(f"  {exported:,} rows in {t_export:.1f} s; bare xlsxwriter write of the same cells {t_export_base:.1f} s")

        say(f"[import] building a {args.people:,}-row register …")
        reg = work / "register.xlsx"
        n_rows = register_file(source, reg, args.people)
        size_mb = reg.stat().st_size / 2**20
        t_bare = bare_read(reg)
        say(f"  {n_rows:,} rows × {len(HEADERS)} columns, {size_mb:.1f} MB; bare calamine read {t_bare:.2f} s")
        say("[import] parallel writer (default) …")
        par = timed_import(source, work, "import-parallel", reg, parallel=True)
        say(f"  {par['total']:.1f} s (read_sheet {par['read_sheet']:.1f} s, rows checked after "
            f"{par['checked']:.1f} s, written and committed after {par['import']:.1f} s); {par['report'].summary()}")
        single = None
        if not args.no_single_process:
            say("[import] one process …")
            single = timed_import(source, work, "import-single", reg, parallel=False)
            say(f"  {single['total']:.1f} s (checked after {single['checked']:.1f} s)")
        say("[import] dry run (validation only) …")
        target = fresh_target(source, work / "dry.db")
        t0 = time.perf_counter()
        sheet = read_sheet(reg, kind="person")
        dry = dry_run(target, SYSTEM, "person", sheet, suggest_mapping("person", sheet.headers), ImportOptions())
        t_dry = time.perf_counter() - t0
        target.close()
        source.close()
        say(f"  {t_dry:.1f} s; {dry.summary()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rep = par["report"]
    ok_import = par["total"] <= IMPORT_TARGET_S and rep.counts["imported"] == n_rows
    ok_export = t_export < EXPORT_TARGET_S
    L = [
        "## Excel import and export (benchmarks/excel_bench.py)",
        "",
        f"Date {started:%Y-%m-%d %H:%M}; {platform.platform()}; {os.cpu_count()} cores; Python {platform.python_version()}. "
        f"Street: `{args.db}` ({street_people:,} people). The machine is noisy: compare ratios.",
        "",
        "| measure | time | baseline in the same run | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| import {n_rows:,} people from .xlsx ({len(HEADERS)} columns, {size_mb:.1f} MB): read + map + validate every "
        f"row + write, parallel writer (default) | {par['total']:.1f} s | {t_bare:.2f} s (bare python-calamine read of the "
        f"same file) | {par['total'] / t_bare:.1f}× | ≤ {IMPORT_TARGET_S:.0f} s: {'PASS' if ok_import else 'FAIL'} |",
    ]
    if single is not None:
        L.append(f"| the same import in one process (GRIDLEDGER_IMPORT_PROCESSES=0) | {single['total']:.1f} s "
                 f"| {t_bare:.2f} s | {single['total'] / t_bare:.1f}× | (≤ {IMPORT_TARGET_S:.0f} s: "
                 f"{'PASS' if single['total'] <= IMPORT_TARGET_S else 'FAIL'}) |")
    L += [
        f"| dry run of the same file (read + validate, nothing written) | {t_dry:.1f} s | {t_bare:.2f} s | "
        f"{t_dry / t_bare:.1f}× | — |",
        f"| export the people ledger ({exported:,} rows × 38 columns, styled frozen header, labels, dates) "
        f"| {t_export:.1f} s | {t_export_base:.1f} s (bare xlsxwriter write of the same cells) | "
        f"{t_export / t_export_base:.1f}× | < {EXPORT_TARGET_S:.0f} s: {'PASS' if ok_export else 'FAIL'} |",
        "",
        f"Import, parallel: read_sheet {par['read_sheet']:.1f} s; all rows checked {par['checked']:.1f} s later while the "
        f"writer process was already inserting; last write committed at {par['import']:.1f} s. "
        f"Created: {rep.created.get('households', 0):,} households, {rep.created.get('addresses', 0):,} addresses, "
        f"{rep.created.get('houses', 0):,} houses; {par['people']:,} people, {par['outbox']:,} person change-log rows and "
        f"{par['docs']:,} search documents (the storage triggers ran for every row); one audit entry.",
        "",
        "Where the time goes: the storage triggers (sync change log + search index) cost about 0.13 ms per person and "
        "0.08 ms per household or house, about 20 s of the import; checking a row (the core's `clean`: ID check "
        "character, code tables, phone, pinyin) about 0.1 ms. With the parallel writer the checking overlaps the writing.",
    ]
    write_results(args.out, "\n".join(L))
    say(f"results → {args.out}")
    return 0 if ok_import and ok_export else 1


if __name__ == "__main__":
    sys.exit(main())
