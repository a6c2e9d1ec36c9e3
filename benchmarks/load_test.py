"""A district's load (`make load`, not part of `make test`): simulated laptops against two real
`gridledger serve` processes sharing one throwaway PostgreSQL cluster, on loopback only.

1. set-up (not timed): the community admin's laptop sends the community and its grids; one grid
   worker per laptop is added with its grid (two laptops per grid);
2. first syncs, staggered over --stagger seconds: each laptop enrols, says hello (waiting while
   the server's first-sync admission is full: 503 + Retry-After, server/admission.py), pushes its
   own new records and pulls its grid (its own and its colleague's records and the areas);
3. --rounds rounds: every laptop edits --edits of its records, pushes them and pulls, the
   laptops of a round spread over --round-window seconds.
Reported: p50/p95/max of push and pull requests (first syncs and rounds apart), the admission's
refusals, errors, whether every record and edit arrived exactly once, the database's size.
Figures go to benchmarks/RESULTS.md between <!-- load-test --> markers.

The laptops are simulated with the real client protocol code (desktop.sync.client.Connection:
sign-in, token renewal, error mapping; hello_when_admitted: the busy-server wait with jitter) and
lightweight local state in memory (cursor, device, record versions), not the real SyncClient on
300 SQLite files: creating 300 laptop databases (schema, triggers, search index) and applying every
pulled page into them would cost the two shared cores more than the server under test, and the
figure wanted is the server's. Each laptop has its own HTTP connection and thread."""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.results_md import replace_section  # noqa: E402
from desktop.sync.client import Connection, SyncError, hello_when_admitted  # noqa: E402
from desktop.sync.protocol import PULL_PAGE, SCHEMA_VERSION  # noqa: E402

BEGIN, END = "<!-- load-test -->", "<!-- /load-test -->"
PASSWORD = "load-pass-1234"
BIN = Path(sys.executable).parent / "gridledger"


def say(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db_url: str, first_syncs: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--database", db_url, "--port", str(port), "--dev",
                             "--first-syncs", str(first_syncs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/info", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    busy: int = 0  # hellos refused by the admission (each laptop waited, then came back)
    busy_laptops: set[str] = field(default_factory=set)
    pushed: int = 0
    applied: int = 0

    def add(self, what: str, seconds: float) -> None:
        with self.lock:
            self.timings.setdefault(what, []).append(seconds)


def _value(kind: str, length: int | None, n: int) -> Any:
    text = str(n % 10) if length is not None and length < 4 else f"v{n}"[: length or None]
    return {"int": n, "float": float(n), "bool": 0, "date": "1980-01-01",
            "datetime": "2026-01-01 08:00:00.000000"}.get(kind, text)


class Laptop:
    """One grid worker's laptop: the client protocol over a real HTTP connection, state in memory."""

    def __init__(self, url: str, username: str, grid_id: str, stats: Stats) -> None:
        self.conn = Connection(url, username, PASSWORD, timeout=300)
        self.username = username
        self.grid_id = grid_id
        self.stats = stats
        self.file_id = str(uuid.uuid4())
        self.epoch = ""
        self.cursor = 0
        self.seq = 0
        self.records: dict[str, int] = {}  # own record id -> version
        self.pulled = 0

    def close(self) -> None:
        self.conn.close()

    def enrol(self) -> None:
        data = self.conn.json("POST", "/devices/enrol", {
            "username": self.username, "password": PASSWORD, "file_id": self.file_id, "name": "load",
            "sign_public": os.urandom(32).hex(), "box_public": os.urandom(32).hex()}, auth=False)
        self.conn.device_id, self.conn.token, self.epoch = data["device_id"], data["access_token"], data["epoch"]

    def hello(self) -> None:
        def busy(stage: str, done: int, total: int) -> None:
            with self.stats.lock:
                self.stats.busy += 1
                self.stats.busy_laptops.add(self.username)

        t0 = time.perf_counter()
        data = hello_when_admitted(self.conn, {"file_id": self.file_id, "epoch": self.epoch,
                                               "schema_version": SCHEMA_VERSION, "cursor": self.cursor},
                                   progress=busy, sleep=time.sleep, check_cancel=lambda: None)
        if data.get("status") != "ok":
            raise SyncError(f"hello: {data}")
        self.epoch = data["epoch"]
        self.stats.add("first hello (incl. waits)" if self.cursor == 0 else "hello", time.perf_counter() - t0)

    def push(self, changes: list[dict[str, Any]], what: str) -> None:
        for i in range(0, len(changes), 500):
            batch = changes[i : i + 500]
            t0 = time.perf_counter()
            results = self.conn.json("POST", "/sync/push", {"changes": batch})["results"]
            self.stats.add(what, time.perf_counter() - t0)
            ok = 0
            for ch, r in zip(batch, results, strict=True):
                if r["status"] in ("applied", "merged", "conflict"):
                    ok += 1
                    if ch["table"] == "person":
                        self.records[ch["id"]] = r.get("version") or self.records.get(ch["id"], 1)
                else:
                    self.stats.errors.append(f"{self.username}: change {ch['seq']} {r['status']} {r.get('message')}")
            with self.stats.lock:
                self.stats.pushed += len(batch)
                self.stats.applied += ok

    def pull(self, what: str) -> None:
        while True:
            t0 = time.perf_counter()
            page = self.conn.json("POST", "/sync/pull", {"cursor": self.cursor, "limit": PULL_PAGE})
            self.stats.add(what, time.perf_counter() - t0)
            self.pulled += len(page["records"])
            self.cursor = int(page["cursor"])
            if not page["more"]:
                return

    def change(self, table: str, row_id: str, op: str, fields: dict[str, list[Any]]) -> dict[str, Any]:
        self.seq += 1
        return {"seq": self.seq, "table": table, "id": row_id, "op": op, "fields": fields, "known": self.cursor,
                "at": "2026-12-01T08:00:00.000Z", "by": self.username, "prev": 0}

    def first_sync(self, records: int, person_fields: dict[str, tuple[str, int | None]]) -> None:
        self.enrol()
        self.hello()
        new = []
        for n in range(records):
            fields = {f: [None, _value(kind, length, n)] for f, (kind, length) in person_fields.items()}
            fields.update(grid_id=[None, self.grid_id], name=[None, f"{self.username}-{n}"],
                          cert_no=[None, f"{self.username}{n:06d}"], household_id=[None, None],
                          house_id=[None, None], deleted_at=[None, None], deleted_by=[None, None])
            new.append(self.change("person", str(uuid.uuid4()), "I", fields))
        self.push(new, "first push (one request: the laptop's new records)")
        self.pull("first pull (a page)")

    def edit_round(self, edits: int, rnd: int, rng: random.Random) -> None:
        self.hello()
        ids = rng.sample(sorted(self.records), min(edits, len(self.records)))
        self.push([self.change("person", rid, "U", {"occupation": [None, f"r{rnd}-{self.username}"]}) for rid in ids],
                  "edit push (20 changes)")
        self.pull("edit pull")


def seed_areas(url: str, grids: int) -> list[tuple[str, str]]:
    """The community admin's laptop sends the community and its grids; returns (id, code) per grid."""
    admin = Laptop(url, "admin", "", Stats())
    admin.enrol()
    admin.hello()
    community = str(uuid.uuid4())
    area = {"level": "community", "code": "620104001001", "name": "负载测试社区", "parent_id": None, "note": None,
            "deleted_at": None, "deleted_by": None}
    changes = [admin.change("area", community, "I", {k: [None, v] for k, v in area.items()})]
    out = []
    for g in range(grids):
        gid, code = str(uuid.uuid4()), f"620104001001{g + 1:03d}"
        grid = {**area, "level": "grid", "code": code, "name": f"第{g + 1}网格", "parent_id": community}
        changes.append(admin.change("area", gid, "I", {k: [None, v] for k, v in grid.items()}))
        out.append((gid, code))
    admin.push(changes, "set-up")
    admin.pull("set-up")
    admin.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="district load test; writes benchmarks/RESULTS.md")
    ap.add_argument("--laptops", type=int, default=300)
    ap.add_argument("--grids", type=int, default=150)
    ap.add_argument("--records", type=int, default=150, help="new records each laptop sends on its first sync")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--stagger", type=float, default=120.0, help="first syncs start within this many seconds")
    ap.add_argument("--round-window", type=float, default=30.0)
    ap.add_argument("--first-syncs", type=int, default=8, help="the servers' admission limit (serve --first-syncs)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args(argv)

    from server import service
    from server.store import ServerStore
    from tests.pgcluster import PgCluster

    started = datetime.now().astimezone()
    t_start = time.perf_counter()
    cluster = PgCluster()
    cluster.start()
    procs: list[subprocess.Popen] = []
    stats = Stats()
    try:
        db_url = cluster.create_database("gl_load")
        store = ServerStore(db_url)
        service.add_user(store, "admin", PASSWORD, "community_admin")
        urls = []
        for _ in range(2):
            proc, url = serve(db_url, args.first_syncs)
            procs.append(proc)
            urls.append(url)
        grids = seed_areas(urls[0], args.grids)
        say(f"[load] {args.grids} grids on the server; adding {args.laptops} grid workers …")
        for i in range(args.laptops):
            service.add_user(store, f"w{i:03d}", PASSWORD, "grid_worker", areas=[grids[i % args.grids][1]])
        from desktop.sync.protocol import FIELDS

        person_fields = {k: (c.kind, c.length) for k, c in FIELDS["person"].items()}
        laptops = [Laptop(urls[i % 2], f"w{i:03d}", grids[i % args.grids][0], stats) for i in range(args.laptops)]
        rng = random.Random(7)
        offsets = sorted(rng.uniform(0, args.stagger) for _ in laptops)

        def run(i: int, offset: float, task: Any) -> None:
            time.sleep(offset)
            try:
                task(laptops[i])
            except Exception as exc:  # counted and shown, never hidden
                with stats.lock:
                    stats.errors.append(f"{laptops[i].username}: {type(exc).__name__}: {exc}")

        say(f"[load] first syncs of {args.laptops} laptops over {args.stagger:.0f} s "
            f"(admission: {args.first_syncs} at once per community) …")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.laptops) as pool:
            list(pool.map(lambda io: run(io[0], io[1], lambda lp: lp.first_sync(args.records, person_fields)),
                          enumerate(offsets)))
        t_first = time.perf_counter() - t0
        say(f"  {t_first:.0f} s, {len(stats.errors)} errors, {stats.busy} busy answers")
        t_rounds = []
        for rnd in range(args.rounds):
            t0 = time.perf_counter()
            rngs = [random.Random(rnd * 1000 + i) for i in range(args.laptops)]
            offs = [r.uniform(0, args.round_window) for r in rngs]
            with ThreadPoolExecutor(args.laptops) as pool:
                def edit(io: tuple[int, float], rnd: int = rnd, rngs: list[random.Random] = rngs) -> None:
                    run(io[0], io[1], lambda lp: lp.edit_round(args.edits, rnd, rngs[io[0]]))

                list(pool.map(edit, enumerate(offs)))
            t_rounds.append(time.perf_counter() - t0)
            say(f"  round {rnd + 1}: {t_rounds[-1]:.0f} s, errors so far {len(stats.errors)}")
        for lp in laptops:
            lp.close()

        # what arrived: every record once, every edit once
        from sqlalchemy import func, select, text

        from server.models import Received, Record

        with store.session() as s:
            people = s.scalar(select(func.count()).select_from(Record).where(Record.table_name == "person")) or 0
            received = s.scalar(select(func.count()).select_from(Received)) or 0
            size = s.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        store.close()
        want_people = args.laptops * args.records
        want_received = want_people + args.laptops * args.rounds * args.edits + 1 + args.grids
        whole = people == want_people and received == want_received and not stats.errors
        short = [lp.username for lp in laptops if lp.pulled < 2 * args.records]
        t_all = time.perf_counter() - t_start

        def row(what: str) -> str:
            v = stats.timings.get(what, [])
            return (f"| {what} | {len(v):,} | {pct(v, 0.5) * 1000:,.0f} | {pct(v, 0.95) * 1000:,.0f} | "
                    f"{max(v, default=0) * 1000:,.0f} |")

        lines = [
            "## A district's load (`benchmarks/load_test.py`, `make load`)",
            "",
            f"Date {started:%Y-%m-%d %H:%M}; {platform.platform()}; {os.cpu_count()} cores (shared: the client "
            f"threads run on the same cores as both servers and PostgreSQL); Python {platform.python_version()}. "
            f"Two `gridledger serve` processes (`--first-syncs {args.first_syncs}`) on one throwaway PostgreSQL "
            f"cluster, loopback. {args.laptops} simulated laptops (real client protocol code, state in memory: see "
            f"the script's docstring for why) in {args.grids} grids, half on each server process. First syncs "
            f"start within {args.stagger:.0f} s: each laptop sends {args.records} new records and pulls its grid "
            f"(≈{2 * args.records} records); then {args.rounds} rounds of {args.edits} edits per laptop within "
            f"{args.round_window:.0f} s each. The whole run took {t_all:.0f} s.",
            "",
            "| request | count | p50 ms | p95 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *(row(w) for w in ("first hello (incl. waits)", "first push (one request: the laptop's new records)", "first pull (a page)",
                               "hello", "edit push (20 changes)", "edit pull")),
            "",
            "| measure | value |",
            "|---|---|",
            f"| first syncs: wall time for all {args.laptops} | {t_first:.0f} s |",
            f"| edit rounds: wall time each | {', '.join(f'{t:.0f} s' for t in t_rounds)} |",
            f"| hellos refused by the admission (503 + Retry-After, then retried) | {stats.busy} "
            f"(from {len(stats.busy_laptops)} laptops) |",
            f"| errors | {len(stats.errors)} |",
            f"| records on the server | {people:,} (expected {want_people:,}) |",
            f"| changes received, each once | {received:,} (expected {want_received:,}) |",
            f"| laptops that pulled less than their grid | {len(short)} |",
            f"| database size (pg_database_size) | {size / 1024 / 1024:,.0f} MB |",
            f"| nothing lost, nothing doubled, no error | {'yes' if whole and not short else 'NO'} |",
        ]
        if stats.errors:
            lines += ["", "Errors (first 5): " + "; ".join(stats.errors[:5])]
        replace_section(args.out, BEGIN, END, "\n".join(lines))
        say("\n".join(lines))
        say(f"[load] written to {args.out}")
        return 0 if whole and not short else 1
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
