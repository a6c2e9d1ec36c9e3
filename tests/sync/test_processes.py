"""kill -9 with real processes: a real `gridledger serve`, real `gridledger sync` clients, killed
midway through a push, through a pull, and the server killed under a push. Afterwards every copy
converges and nothing was applied twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop.services.store import Store
from server.models import Device, Received, Record
from server.store import ServerStore
from tests.sync.harness import (
    BIN,
    PASSWORD,
    ServeProcess,
    StallingProxy,
    demo_file,
    laptop_snapshot,
)

HOUSEHOLDS = 1500


def gl(*args: str, stdin: str | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN), *args], input=stdin, capture_output=True, text=True, timeout=300, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"gridledger {' '.join(args)} failed: {done.stderr}")
    return done


def sync_proc(db: Path, url: str, user: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN), "--db", str(db), "sync", "--server", url, "--user", user, "--password-stdin", "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(PASSWORD + "\n")
    proc.stdin.close()
    return proc


def scalar(db: Path, sql: str) -> int:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(con.execute(sql).fetchone()[0] or 0)
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> bool:
    """SIGKILL `proc` as soon as `ready()` is true; False if it finished first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return True
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("condition never met")


@pytest.fixture(scope="module")
def big_template(tmp_path_factory) -> Path:
    return demo_file(tmp_path_factory.mktemp("big") / "demo.db", HOUSEHOLDS, 5)


def server_counts(db_url: str) -> tuple[int, int, int]:
    st = ServerStore(db_url, create=False)
    try:
        with st.session() as s:
            recs = s.scalar(select(func.count()).select_from(Record))
            rec_n = s.scalar(select(func.count()).select_from(Received))
            distinct = s.scalar(select(func.count()).select_from(
                select(Received.device_id, Received.device_seq).distinct().subquery()))
        return int(recs or 0), int(rec_n or 0), int(distinct or 0)
    finally:
        st.close()


def test_client_killed_mid_push_and_mid_pull_then_everything_converges(big_template, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = ServeProcess(db_url).start()
    try:
        srv.add_user("admin", "community_admin")
        admin = tmp_path / "admin.db"
        shutil.copy(big_template, admin)
        total = scalar(admin, "SELECT count(*) FROM sync_outbox WHERE table_name NOT IN ('app_user', 'user_grid')")
        assert total > 10_000
        kills = 0
        # kill the pushing client three times at different depths of its queue
        for fraction in (0.1, 0.4, 0.7):
            proc = sync_proc(admin, srv.url, "admin")
            if kill_when(proc, lambda f=fraction: scalar(admin, "SELECT count(*) FROM sync_outbox WHERE sent = 2") > total * f):
                kills += 1
        assert kills >= 2, "the push finished before it could be killed: make the data set larger"
        # a fresh laptop pulling the community, killed twice midway through its pages
        other = tmp_path / "other.db"
        Store.open(other, create=True).close()  # an empty plain file (init now makes a community)
        people, last_seq = server_people(db_url)
        for fraction in (0.2, 0.6):
            proc = sync_proc(other, srv.url, "admin")
            killed = kill_when(proc, lambda f=fraction: scalar(other, "SELECT count(*) FROM person") > people * f)
            assert killed, f"the pull finished before {fraction:.0%} of the people had arrived: make the data set larger"
            # the kill caught the pull in progress: part of the people, a cursor short of the server's
            have = scalar(other, "SELECT count(*) FROM person")
            cursor = scalar(other, "SELECT value FROM local_meta WHERE key = 'sync_cursor'")
            assert people * fraction < have < people, (fraction, have, people)
            assert 0 < cursor < last_seq, (cursor, last_seq)
            _check_pull_atomic(other, db_url)
        # finish both, then once more each so every copy has the latest versions
        for db in (admin, other, admin, other):
            done = sync_proc(db, srv.url, "admin")
            assert done.wait(300) == 0
        records, received, distinct = server_counts(db_url)
        assert received == distinct  # nothing applied twice
        assert received == total  # every change arrived
        a, o = Store.open(admin), Store.open(other)
        try:
            snap_a, snap_o = laptop_snapshot(a), laptop_snapshot(o)
        finally:
            a.close()
            o.close()
        assert len(snap_a) == records
        assert snap_a == snap_o
    finally:
        srv.kill()


def server_people(db_url: str) -> tuple[int, int]:
    """The people the server holds, and its last sequence number."""
    st = ServerStore(db_url, create=False)
    try:
        with st.session() as s:
            people = s.scalar(select(func.count()).select_from(Record).where(Record.table_name == "person"))
            last = s.scalar(select(func.max(Record.server_seq)))
        return int(people or 0), int(last or 0)
    finally:
        st.close()


def _check_pull_atomic(db: Path, db_url: str) -> None:
    """After a kill, the laptop holds exactly the records up to its stored cursor (all or none
    of each page, cursor included)."""
    cursor = scalar(db, "SELECT value FROM local_meta WHERE key = 'sync_cursor'")
    st = ServerStore(db_url, create=False)
    try:
        with st.session() as s:
            want = s.scalar(select(func.count()).select_from(Record).where(
                Record.server_seq <= cursor, Record.table_name == "person"))
    finally:
        st.close()
    assert scalar(db, "SELECT count(*) FROM person") == want


def test_server_killed_under_a_push_loses_nothing(big_template, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = ServeProcess(db_url).start()
    srv.add_user("admin", "community_admin")
    admin = tmp_path / "admin.db"
    shutil.copy(big_template, admin)
    total = scalar(admin, "SELECT count(*) FROM sync_outbox WHERE table_name NOT IN ('app_user', 'user_grid')")
    proc = sync_proc(admin, srv.url, "admin")
    try:
        deadline = time.time() + 120
        while scalar(admin, "SELECT count(*) FROM sync_outbox WHERE sent = 2") < total * 0.3:
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.01)
        srv.kill()  # the server dies mid-stream; the client sees a network error
        assert proc.wait(120) == 3
        srv2 = ServeProcess(db_url)
        srv2.port, srv2.url = srv.port, srv.url
        srv2.start()
        try:
            for _ in range(2):
                assert sync_proc(admin, srv2.url, "admin").wait(300) == 0
            records, received, distinct = server_counts(db_url)
            assert received == distinct == total
            a = Store.open(admin)
            try:
                assert len(laptop_snapshot(a)) == records
            finally:
                a.close()
        finally:
            srv2.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
        srv.kill()


def _meta(db: Path, key: str) -> str | None:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute("SELECT value FROM local_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def _devices(db_url: str) -> list[tuple[str, bool]]:
    st = ServerStore(db_url, create=False)
    try:
        with st.session() as s:
            return [(d.id, d.active) for d in s.scalars(select(Device))]
    finally:
        st.close()


def test_two_syncs_at_once_on_one_laptop(tmp_path):
    """The second `gridledger sync` on the same file says a sync is running and does nothing:
    no clone alarm, no new enrolment (before the lock, each overlap enrolled a new device)."""
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = ServeProcess(db_url).start()
    proxy = StallingProxy(srv.port)
    first = None
    try:
        srv.add_user("admin", "community_admin")
        laptop = demo_file(tmp_path / "laptop.db", 30, 4)
        args = ["--db", str(laptop), "sync", "--user", "admin", "--password-stdin", "--quiet"]
        gl(*args, "--server", srv.url, stdin=PASSWORD + "\n")
        device = _meta(laptop, "sync_device_id")
        assert device and _devices(db_url) == [(device, True)]
        first = sync_proc(laptop, proxy.url, "admin")  # held at its first request
        assert proxy.first_seen.wait(120)
        second = gl(*args, "--server", srv.url, stdin=PASSWORD + "\n", check=False)
        assert second.returncode == 3, second.stderr
        assert ("正在同步" in second.stderr, "laptop.db" in second.stderr, "Traceback" in second.stderr) == (True, True, False), \
            second.stderr
        proxy.release()
        assert first.wait(300) == 0
        again = gl(*args, "--server", srv.url, "--json", stdin=PASSWORD + "\n")
        assert json.loads(again.stdout.splitlines()[-1])["reenrolled"] is False
        assert _meta(laptop, "sync_device_id") == device and _meta(laptop, "sync_predecessor") is None
        assert _devices(db_url) == [(device, True)]
    finally:
        proxy.close()
        if first is not None and first.poll() is None:
            first.kill()
            first.wait(10)
        srv.kill()


def test_two_first_syncs_at_once_make_one_laptop(tmp_path):
    """Two first syncs of a new (not yet existing) laptop file: the second is refused before it
    touches the file, the first encrypts and enrols it once."""
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = ServeProcess(db_url).start()
    proxy = StallingProxy(srv.port)
    first = None
    try:
        srv.add_user("admin", "community_admin")
        laptop = tmp_path / "new" / "laptop.db"
        first = sync_proc(laptop, proxy.url, "admin")
        assert proxy.first_seen.wait(120)
        second = gl("--db", str(laptop), "sync", "--server", srv.url, "--user", "admin", "--password-stdin",
                    stdin=PASSWORD + "\n", check=False)
        assert second.returncode == 3 and "正在同步" in second.stderr, second.stderr
        proxy.release()
        assert first.wait(300) == 0
        (device, active), = _devices(db_url)
        assert active
        status = gl("--db", str(laptop), "keys", "--user", "admin", "--password-stdin", "status",
                    stdin=PASSWORD + "\n")
        assert "admin" in status.stdout
    finally:
        proxy.close()
        if first is not None and first.poll() is None:
            first.kill()
            first.wait(10)
        srv.kill()
