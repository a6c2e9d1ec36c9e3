"""Desktop-app benchmarks (run by `make bench` after run.py, on the same 100,000-person database).

Start-up to a usable window, opening the 100,000-person list, search-as-you-type latency and
resident memory with the big list open. Each figure sits beside a baseline measured in the
same run on the same machine; results replace the GUI section of benchmarks/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from results_md import replace_section  # noqa: E402  (benchmarks/ is on sys.path)

BEGIN, END = "<!-- gui-bench -->", "<!-- /gui-bench -->"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def startup(db: str, runs: int) -> tuple[list[float], list[float]]:
    exe = str(Path(sys.executable).with_name("gridledger"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GRIDLEDGER_DATA_DIR": str(Path(db).parent / "bench-data")}
    app_times, base_times = [], []
    baseline = ("import sys,time;from PySide6.QtWidgets import QApplication,QMainWindow;"
                "a=QApplication([]);w=QMainWindow();w.resize(1360,860);w.show();a.processEvents()")
    env["GRIDLEDGER_REPORT_READY"] = "1"
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen([exe, "--db", db, "gui", "--user", "admin", "--password-stdin", "--quit-after", "300"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        proc.stdin.write("demo1234\n")
        proc.stdin.close()
        for line in proc.stdout:  # the app prints this once its window is shown and the event loop runs
            if line.startswith("GRIDLEDGER_READY"):
                app_times.append(time.perf_counter() - t)
                break
        proc.wait(timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"the app exited with {proc.returncode}")
        t = time.perf_counter()
        base = subprocess.Popen([sys.executable, "-c", baseline + ";print('READY', flush=True)"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in base.stdout:
            if line.startswith("READY"):
                base_times.append(time.perf_counter() - t)
                break
        base.wait(timeout=120)
    return app_times, base_times


def in_process(db: str, queries: int) -> dict:
    import sqlite3

    from PySide6.QtWidgets import QApplication

    from desktop.services.auth import actor_for
    from desktop.services.store import Store
    from ui.context import AppContext
    from ui.pages.lists import ListPage
    from ui.search_box import SearchBox
    from ui.theme import apply_theme
    from ui.workers import wait_all

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    rss_before = rss_mb()
    store = Store.open(db)
    ctx = AppContext(store, actor_for(store, "admin"))
    out: dict = {}
    # 1. open the 100k-person list: construct, show, first page + count on screen
    opens = []
    for _ in range(5):
        t = time.perf_counter()
        page = ListPage(ctx, "person")
        page.resize(1300, 800)
        page.show()
        page.activate()
        while page.model.loading:
            app.processEvents()
            wait_all(10)
        app.processEvents()
        opens.append(time.perf_counter() - t)
        total = page.model.total
        page.hide()
        page.deleteLater()
        app.processEvents()
    con = sqlite3.connect(db)
    base = []
    for _ in range(5):
        t = time.perf_counter()
        con.execute("SELECT count(*) FROM person WHERE deleted_at IS NULL").fetchone()
        con.execute("SELECT id, name, cert_no, phone FROM person WHERE deleted_at IS NULL ORDER BY name LIMIT 200").fetchall()
        base.append(time.perf_counter() - t)
    out["list"] = {"rows": total, "open_ms": [x * 1000 for x in opens], "base_ms": [x * 1000 for x in base]}
    # memory with the big list open and scrolled through a few thousand rows
    page = ListPage(ctx, "person")
    page.resize(1300, 800)
    page.show()
    page.activate()
    while page.model.loading:
        app.processEvents()
        wait_all(10)
    for _ in range(20):
        if page.model.canFetchMore():
            page.model.fetchMore()
        app.processEvents()
    page.view.scrollToBottom() if hasattr(page, "view") else None
    app.processEvents()
    out["memory"] = {"rss_mb": rss_mb(), "rss_before_mb": rss_before, "rows_loaded": page.model.rowCount()}
    # 2. search as you type: keystroke -> results on screen (debounce excluded)
    names = [r[0] for r in con.execute(
        "SELECT name_py FROM person WHERE length(name_py) >= 6 ORDER BY rowid LIMIT ? OFFSET 500", (queries,))]
    ids = [r[0] for r in con.execute("SELECT cert_no FROM person ORDER BY rowid LIMIT ? OFFSET 9000", (queries,))]
    box = SearchBox(ctx)
    box.show()
    latencies = []
    for word in names[: queries // 2] + [i[-8:] for i in ids[: queries // 2]]:
        for k in range(1, min(len(word), 6) + 1):
            box.setText(word[:k])
            shown = []
            box.results_shown.connect(lambda n, s=shown: s.append(n))
            t = time.perf_counter()
            box._run()
            while not shown:
                app.processEvents()
                wait_all(1)
            latencies.append((time.perf_counter() - t) * 1000)
            box.results_shown.disconnect()
    base_lat = []
    for word in names[:50]:
        for k in range(1, 7):
            t = time.perf_counter()
            con.execute("SELECT id, name FROM person WHERE name_py LIKE ? LIMIT 20", (word[:k] + "%",)).fetchall()
            base_lat.append((time.perf_counter() - t) * 1000)
    out["search"] = {"ms": latencies, "base_ms": base_lat}
    box.popup.hide()
    wait_all()
    store.close()
    return out


def write(results_md: Path, text: str) -> None:
    replace_section(results_md, BEGIN, END, text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a generated database (run.py --keep PATH)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args()
    app_t, base_t = startup(args.db, args.runs)
    r = in_process(args.db, args.queries)
    s_med, b_med = statistics.median(app_t), statistics.median(base_t)
    lo, lb = statistics.median(r["list"]["open_ms"]), statistics.median(r["list"]["base_ms"])
    sp95, sb95 = p(r["search"]["ms"], 0.95), p(r["search"]["base_ms"], 0.95)
    rss = r["memory"]["rss_mb"]
    checks = {
        "start ≤ 2 s": s_med <= 2.0, "list ≤ 500 ms": lo <= 500, "search p95 ≤ 100 ms": sp95 <= 100,
        "memory ≤ 400 MB": rss <= 400,
    }
    lines = [
        "## Desktop app (benchmarks/gui_bench.py)",
        "",
        f"Date {time.strftime('%Y-%m-%d %H:%M')}; same machine and database as above "
        f"({r['list']['rows']:,} people); Qt offscreen platform.",
        "",
        "| measure | app | baseline in the same run | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| start-up to a usable window (process start → signed in, window shown, event loop running), median of {args.runs} "
        f"| {s_med:.2f} s | {b_med:.2f} s (bare PySide6 window) | {s_med / b_med:.1f}× | ≤ 2 s: "
        f"{'PASS' if checks['start ≤ 2 s'] else 'FAIL'} |",
        f"| open the people list (count + first page on screen), median of 5 | {lo:.0f} ms | {lb:.1f} ms (raw count + "
        f"first 200 rows) | {lo / lb:.1f}× | ≤ 500 ms: {'PASS' if checks['list ≤ 500 ms'] else 'FAIL'} |",
        f"| search as you type, keystroke → results shown, p50 / p95 ({len(r['search']['ms'])} keystrokes) "
        f"| {p(r['search']['ms'], 0.5):.1f} / {sp95:.1f} ms | {p(r['search']['base_ms'], 0.5):.1f} / {sb95:.1f} ms "
        f"(raw pinyin LIKE) | {sp95 / sb95:.1f}× | p95 ≤ 100 ms: {'PASS' if checks['search p95 ≤ 100 ms'] else 'FAIL'} |",
        f"| resident memory, 100k list open and {r['memory']['rows_loaded']:,} rows fetched | {rss:.0f} MB "
        f"| {r['memory']['rss_before_mb']:.0f} MB (Qt + theme, before opening the database) "
        f"| {rss / r['memory']['rss_before_mb']:.1f}× | ≤ 400 MB: {'PASS' if checks['memory ≤ 400 MB'] else 'FAIL'} |",
    ]
    text = "\n".join(lines)
    write(Path(args.out), text)
    print(text)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
