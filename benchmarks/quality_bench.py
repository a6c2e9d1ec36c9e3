"""Data-quality benchmarks on a generated street (run by `make bench`; desktop/services/quality.py).

1. Every figure and every queue count for the whole street (`Quality.figures()` and
   `Quality.counts()`, as the dashboard asks them), target ≤ 2 s for 100,000 people.
2. One grid's queue (`Quality.queue(grid_id=…)`, every item with its reason), p50 and max over
   20 grids, target ≤ 100 ms.
3. Duplicates by name + birth date across the street (`Quality.queue(reason="dup_name_birth")`),
   target ≤ 1 s.

Each beside a raw SQL baseline run in the same process on the same file with plain `sqlite3`:
(1) one grouped count per table over person, house, household and vehicle; (2) every person,
house and vehicle row of the grid; (3) the bare GROUP BY name, birth_date HAVING count(*) > 1.
Best of --repeat runs after one warm-up. Results replace the section between
<!-- quality-bench --> and <!-- /quality-bench --> in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/quality_bench.py --db benchmarks/out/bench.db
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from results_md import replace_section  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- quality-bench -->", "<!-- /quality-bench -->"
TARGETS = {"street": 2.0, "grid": 0.100, "dups": 1.0}


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description="GridLedger data-quality benchmark")
    ap.add_argument("--db", required=True, help="a generated demo database (e.g. benchmarks/out/bench.db)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--grids", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args()

    from desktop.services.quality import Quality
    from desktop.services.store import SYSTEM, Store

    src = Path(args.db)
    if not src.is_file():
        print(f"找不到数据库 {src}:先运行 `gridledger --db {src} demo --households 37400`", file=sys.stderr)
        return 2
    store = Store.open(src)
    raw = sqlite3.connect(str(src))
    q = Quality(store, SYSTEM)
    people = raw.execute("SELECT count(*) FROM person WHERE deleted_at IS NULL").fetchone()[0]
    grids = [r[0] for r in raw.execute("SELECT id FROM area WHERE level = 'grid' AND deleted_at IS NULL ORDER BY code")]

    # 1. the whole street
    t_street, (fig, counts) = best(lambda: (q.figures(), q.counts()), args.repeat)

    def base_street() -> None:
        for sql in ("SELECT grid_id, count(*), sum(house_id IS NOT NULL) FROM person WHERE deleted_at IS NULL GROUP BY grid_id",
                    "SELECT grid_id, count(*) FROM house WHERE deleted_at IS NULL GROUP BY grid_id",
                    "SELECT grid_id, count(*) FROM household WHERE deleted_at IS NULL GROUP BY grid_id",
                    "SELECT grid_id, count(*) FROM vehicle WHERE deleted_at IS NULL GROUP BY grid_id"):
            raw.execute(sql).fetchall()
    b_street, _ = best(base_street, args.repeat)

    # 2. one grid's queue
    sample = random.Random(args.seed).sample(grids, min(args.grids, len(grids)))
    grid_times, base_times, sizes = [], [], []
    for gid in sample:
        t, items = best(lambda g=gid: q.queue(grid_id=g), 1)
        grid_times.append(t)
        sizes.append(len(items))

        def base_grid(g: str = gid) -> None:
            for table in ("person", "house", "vehicle"):
                raw.execute(f"SELECT * FROM {table} WHERE grid_id = ? AND deleted_at IS NULL", (g,)).fetchall()
        bt, _ = best(base_grid, 1)
        base_times.append(bt)

    # 3. duplicates by name + birth date
    t_dups, dups = best(lambda: q.queue(reason="dup_name_birth"), args.repeat)
    b_dups, groups = best(lambda: raw.execute(
        "SELECT name, birth_date, count(*) FROM person WHERE deleted_at IS NULL AND birth_date IS NOT NULL "
        "GROUP BY name, birth_date HAVING count(*) > 1").fetchall(), args.repeat)
    store.close()
    raw.close()

    def ok(value: float, key: str) -> str:
        return "**PASS**" if value <= TARGETS[key] else "**FAIL**"

    g50, gmax = statistics.median(grid_times), max(grid_times)
    text = "\n".join([
        "## Data quality (`benchmarks/quality_bench.py`)",
        "",
        f"- Date: {datetime.now().astimezone().isoformat(timespec='seconds')}; {platform.platform()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        f"- Dataset: {src.name}, {people:,} people in {len(grids)} grids; queue {counts['total']:,} items "
        f"({', '.join(f'{k} {v:,}' for k, v in counts['by_group'].items())})",
        f"- Best of {args.repeat} runs after a warm-up; grid queue: {len(sample)} grids sampled (seed {args.seed}), "
        f"{int(statistics.median(sizes)):,} items per grid (median)",
        "",
        "| measure | time | raw SQL baseline | ratio | target | |",
        "|---|---:|---:|---:|---:|---|",
        f"| every figure and queue count, whole street | {t_street * 1000:.0f} ms | {b_street * 1000:.0f} ms | "
        f"{t_street / b_street:.1f}× | ≤ 2,000 ms | {ok(t_street, 'street')} |",
        f"| one grid's queue, p50 (max) | {g50 * 1000:.1f} ms ({gmax * 1000:.1f}) | "
        f"{statistics.median(base_times) * 1000:.1f} ms | {g50 / statistics.median(base_times):.1f}× | ≤ 100 ms | "
        f"{ok(gmax, 'grid')} |",
        f"| duplicates by name + birth date, whole street | {t_dups * 1000:.0f} ms | {b_dups * 1000:.0f} ms | "
        f"{t_dups / b_dups:.1f}× | ≤ 1,000 ms | {ok(t_dups, 'dups')} |",
        "",
        f"Duplicates found: {len(dups):,} records in {len(groups):,} name + birth-date groups. Baselines: "
        "(1) one grouped count per table (person, house, household, vehicle), no figures; (2) every person, "
        "house and vehicle row of the grid, no checks; (3) the bare `GROUP BY name, birth_date HAVING count(*) > 1` "
        "(the service also requires two different households and returns every record with its grid). "
        f"Street figures: 人房关联(房屋) {fig['total']['link_houses']['rate']}, 人房关联(人员) "
        f"{fig['total']['link_people']['rate']}, 人员信息完整率 {fig['total']['complete']['person']['rate']}, "
        f"重点人群知晓率 {fig['total']['known']['rate']}, 核实率 {fig['total']['verified']['rate']}.",
    ])
    replace_section(Path(args.out), BEGIN, END, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
