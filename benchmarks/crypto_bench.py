"""Cost of encryption at rest (`make bench`): the same work on the same street, plain SQLite against
SQLCipher, in one run: search, saving a record, and a first sync to an empty laptop.
Figures go to benchmarks/RESULTS.md between <!-- crypto-bench --> markers."""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.results_md import replace_section  # noqa: E402
from desktop.services.auth import actor_for, hash_password  # noqa: E402
from desktop.services.demo import DEMO_PASSWORD, generate  # noqa: E402
from desktop.services.records import Records  # noqa: E402
from desktop.services.search import Search  # noqa: E402
from desktop.services.session import LocalDatabase, encrypt  # noqa: E402
from desktop.services.store import Store  # noqa: E402
from desktop.sync.client import SyncClient  # noqa: E402
from desktop.sync.replica import set_local_user  # noqa: E402

BEGIN, END = "<!-- crypto-bench -->", "<!-- /crypto-bench -->"


def _cipher_build() -> str:
    """Which SQLCipher build ran (the package, SQLCipher and its crypto library)."""
    from importlib import metadata

    import sqlcipher3  # type: ignore[import-not-found]

    dist = next((d for d in ("sqlcipher3-wheels", "sqlcipher3-binary", "sqlcipher3") if _has(metadata, d)), "?")
    con = sqlcipher3.connect(":memory:")
    try:
        con.execute("PRAGMA key = 'x'")
        version = con.execute("PRAGMA cipher_version").fetchone()[0]
        provider = con.execute("PRAGMA cipher_provider_version").fetchone()[0]
    finally:
        con.close()
    return f"{dist} {metadata.version(dist) if dist != '?' else ''}: SQLCipher {version}, {provider}"


def _has(metadata, dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(store: Store, queries: list[str], people: list[str]) -> dict[str, float]:
    actor = actor_for(store, "admin")
    search = Search(store, actor)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        search.search(q, limit=20)
        times.append((time.perf_counter() - t0) * 1000)
    records = Records(store, actor)
    saves = []
    for i, pid in enumerate(people):
        t0 = time.perf_counter()
        records.update("person", pid, {"occupation": f"基准{i}"})
        saves.append((time.perf_counter() - t0) * 1000)
    return {"search_p50": statistics.median(times), "search_p95": pct(times, 0.95),
            "save_p50": statistics.median(saves), "save_p95": pct(saves, 0.95)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="encryption cost benchmark")
    ap.add_argument("--households", type=int, default=8000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gridledger-crypto-"))
    started = datetime.now().astimezone()
    srv_proc = None
    try:
        plain = work / "plain.db"
        st = Store.open(plain, create=True)
        rep = generate(st, households=args.households, seed=11)
        with st.engine.connect() as c:
            names = [r[0] for r in c.exec_driver_sql("SELECT name FROM person ORDER BY random() LIMIT 150")]
            certs = [r[0][-6:] for r in c.exec_driver_sql(
                "SELECT cert_no FROM person WHERE cert_no IS NOT NULL ORDER BY random() LIMIT 150")]
            people = [r[0] for r in c.exec_driver_sql("SELECT id FROM person ORDER BY random() LIMIT 200")]
        st.close()
        rng = random.Random(1)
        queries = [n[:2] for n in names[:75]] + certs[:75] + [n for n in names[75:]]
        rng.shuffle(queries)
        enc = work / "enc.db"
        shutil.copy(plain, enc)
        encrypt(enc, "admin", DEMO_PASSWORD)
        print(f"[crypto] {rep.people:,} people; measuring plain and encrypted …", flush=True)
        st = Store.open(plain)
        plain_m = measure(st, queries, people)
        st.close()
        t0 = time.perf_counter()
        st, _ = LocalDatabase(enc).open("admin", DEMO_PASSWORD)
        unlock_s = time.perf_counter() - t0
        enc_m = measure(st, queries, people)
        st.close()

        # first sync: the plain street pushed to a server, then pulled into two empty laptops
        from benchmarks.sync_bench import add_user, serve, sync

        db_url = f"sqlite:///{work / 'server.db'}"
        srv_proc, url = serve(db_url)
        add_user(db_url, "admin", "community_admin")
        add_user(db_url, "sup", "supervisor")
        st = Store.open(plain)
        with SyncClient(st, url, "admin", "bench-pass-1234") as c:
            c.run()
        st.close()
        fresh_plain = Store.open(work / "fresh-plain.db", create=True)
        t_plain, _ = sync(fresh_plain, url, "sup")
        fresh_plain.close()
        path = work / "fresh-enc.db"
        st = Store.open(path, create=True)
        set_local_user(st, {"username": "sup", "role": "supervisor", "grids": None}, hash_password("bench-pass-1234"))
        st.close()
        encrypt(path, "sup", "bench-pass-1234")
        st, _ = LocalDatabase(path).open("sup", "bench-pass-1234")
        t_enc, _ = sync(st, url, "sup")
        st.close()
        print(f"  first sync plain {t_plain:.1f} s, encrypted {t_enc:.1f} s", flush=True)

        def row(label: str, a: float, b: float, unit: str) -> str:
            return f"| {label} | {a:.2f} {unit} | {b:.2f} {unit} | {b / a:.2f}× |"

        lines = [
            "## Encryption at rest (`benchmarks/crypto_bench.py`)",
            "",
            f"Date {started:%Y-%m-%d %H:%M}; {platform.platform()}; {os.cpu_count()} cores; "
            f"Python {platform.python_version()}. The same street ({rep.people:,} people), plain SQLite against "
            "SQLCipher (" + _cipher_build() + "; raw 256-bit key: no key derivation when a connection opens), "
            "measured one after the other in this run.",
            "",
            "| work | plain | encrypted | ratio |",
            "|---|---|---|---|",
            row("search p50 (150 queries: 2-character names, ID fragments, full names)", plain_m["search_p50"],
                enc_m["search_p50"], "ms"),
            row("search p95", plain_m["search_p95"], enc_m["search_p95"], "ms"),
            row("save a person (service update, p50 of 200)", plain_m["save_p50"], enc_m["save_p50"], "ms"),
            row("save a person p95", plain_m["save_p95"], enc_m["save_p95"], "ms"),
            row("first sync of the street to an empty laptop", t_plain, t_enc, "s"),
            "",
            f"Unlocking (scrypt on the password, then opening the file) takes {unlock_s * 1000:.0f} ms once per sign-in.",
        ]
        replace_section(args.out, BEGIN, END, "\n".join(lines))
        print(f"[crypto] written to {args.out}")
        return 0
    finally:
        if srv_proc is not None:
            srv_proc.kill()
            srv_proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
