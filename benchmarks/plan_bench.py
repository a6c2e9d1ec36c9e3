"""The visit plan (`make bench`): desktop.services.plan against raw SQL in the same run.

1. Today's plan of one grid worker's 250 households with three years of visit history
   (`VisitPlan.plan`), on a street generated here (`generate(households=250, history_years=3)`;
   the worker is given both of its grids, 200 + 50 households). Target ≤ 100 ms.
   Baseline: one raw `sqlite3` query listing the households whose last visit is 90 days old
   (the least any plan must read: every household and its last visit).
2. The per-worker on-time overview of the whole 100,000-person street for this month
   (`VisitPlan(store, SYSTEM).on_time`), on the street `run.py` generated (`--db`). Target ≤ 1 s.
   Baseline: one raw query counting this month's visits per assigned worker.

Figures go to benchmarks/RESULTS.md between <!-- plan-bench --> markers."""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.results_md import replace_section  # noqa: E402
from desktop.services.demo import generate  # noqa: E402
from desktop.services.plan import VisitPlan  # noqa: E402
from desktop.services.store import SYSTEM, Actor, Store  # noqa: E402

BEGIN, END = "<!-- plan-bench -->", "<!-- /plan-bench -->"
GRID_TARGET_MS = 100.0
STREET_TARGET_MS = 1000.0

BASELINE_PLAN = (
    "SELECT hh.id, max(v.visited_on) AS last FROM household hh "
    "LEFT JOIN visit v ON v.household_id = hh.id AND v.deleted_at IS NULL AND v.visited_on <= ? "
    "WHERE hh.deleted_at IS NULL AND hh.grid_id IN ({marks}) GROUP BY hh.id "
    "HAVING last IS NULL OR last <= date(?, '-90 day')"
)
BASELINE_ONTIME = (
    "SELECT u.username, count(v.id) FROM app_user u JOIN user_grid ug ON ug.user_id = u.id "
    "LEFT JOIN visit v ON v.grid_id = ug.grid_id AND v.deleted_at IS NULL AND v.visited_on BETWEEN ? AND ? "
    "WHERE u.role = 'grid_worker' GROUP BY u.username"
)


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def row(name: str, xs: list[float]) -> str:
    return f"| {name} | {statistics.median(xs):.1f} | {p95(xs):.1f} | {max(xs):.1f} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="visit plan benchmark")
    ap.add_argument("--db", type=Path, help="the 100,000-person street (run.py --keep); without it part 2 is skipped")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args(argv)
    started = datetime.now()
    today = date.today()
    lines = [
        "## Visit plan (`benchmarks/plan_bench.py`)",
        "",
        f"Date {started:%Y-%m-%d %H:%M}; {platform.platform()}; {os.cpu_count()} cores; "
        f"SQLite {sqlite3.sqlite_version}. Times in ms; each figure beside its raw-SQL baseline of the same run.",
        "",
    ]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GRIDLEDGER_DATA_DIR", tmp)
        path = Path(tmp) / "grid.db"
        store = Store.open(path, create=True)
        try:
            generate(store, households=250, seed=1, history_years=3)
            with store.engine.connect() as c:
                grids = list(c.exec_driver_sql("SELECT id FROM area WHERE level = 'grid' ORDER BY code").scalars())
                visits, first = c.exec_driver_sql("SELECT count(*), min(visited_on) FROM visit").one()
            worker = Actor("bench", "grid_worker", frozenset(grids))
            vp = VisitPlan(store, worker)
            plan = vp.plan(today=today)
            mine = timed(lambda: vp.plan(today=today), args.runs)
            raw = sqlite3.connect(path)
            sql = BASELINE_PLAN.format(marks=",".join("?" * len(grids)))
            base = timed(lambda: raw.execute(sql, (today.isoformat(), *grids, today.isoformat())).fetchall(), args.runs)
            raw.close()
        finally:
            store.close()
    grid_ok = p95(mine) <= GRID_TARGET_MS
    ok = ok and grid_ok
    lines += [
        f"### 1. Today's plan of 250 households ({len(grids)} grids of one worker), {visits:,} visits since {first}",
        "",
        f"{args.runs} runs after one warm-up; the plan has {len(plan.items)} items "
        f"({sum(1 for i in plan.items if i.overdue)} overdue).",
        "",
        "| measure | p50 | p95 | max |",
        "|---|---:|---:|---:|",
        row("`VisitPlan(store, worker).plan()`", mine),
        row("baseline: raw `sqlite3` last visit per household, 90-day rule", base),
        "",
        f"Ratio p50 {statistics.median(mine) / statistics.median(base):.1f}×. "
        f"Target p95 ≤ {GRID_TARGET_MS:.0f} ms: **{'PASS' if grid_ok else 'FAIL'}**.",
        "",
    ]
    if args.db:
        store = Store.open(args.db)
        try:
            with store.engine.connect() as c:
                people, households, visits = c.exec_driver_sql(
                    "SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM household), (SELECT count(*) FROM visit)").one()
            vp = VisitPlan(store, SYSTEM)
            start = today.replace(day=1)
            result = vp.on_time(start, today, today=today)
            runs = max(3, args.runs // 6)
            mine = timed(lambda: vp.on_time(start, today, today=today), runs)
            raw = sqlite3.connect(args.db)
            base = timed(lambda: raw.execute(BASELINE_ONTIME, (start.isoformat(), today.isoformat())).fetchall(), runs)
            raw.close()
            worker = next(w["username"] for w in result["workers"])
            from desktop.services.auth import actor_for

            wp = VisitPlan(store, actor_for(store, worker))
            one = timed(lambda: wp.plan(today=today), runs)
        finally:
            store.close()
        street_ok = p95(mine) <= STREET_TARGET_MS
        ok = ok and street_ok
        t = result["total"]
        lines += [
            f"### 2. On-time overview of the street: {people:,} people, {households:,} households, {visits:,} visits",
            "",
            f"This month ({start} to {today}), {len(result['workers'])} workers, {runs} runs after one warm-up: "
            f"{t['due']:,} due, {t['on_time']:,} on time, {t['late']:,} late, {t['overdue']:,} still overdue.",
            "",
            "| measure | p50 | p95 | max |",
            "|---|---:|---:|---:|",
            row("`VisitPlan(store, SYSTEM).on_time()` (every grid and worker)", mine),
            row("baseline: raw `sqlite3` visits per worker this month", base),
            row(f"for reference: today's plan of one worker on this street ({worker})", one),
            "",
            f"Ratio p50 {statistics.median(mine) / statistics.median(base):.1f}×. "
            f"Target p95 ≤ {STREET_TARGET_MS:.0f} ms: **{'PASS' if street_ok else 'FAIL'}**.",
        ]
    else:
        lines.append("(Part 2 skipped: no `--db` street given.)")
    text = "\n".join(lines)
    print(text)
    replace_section(args.out, BEGIN, END, text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
