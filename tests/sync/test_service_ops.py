"""Running the server as a service: the systemd unit and its environment file (deploy/) start a
real server; SIGTERM under a push lets the push commit (or refuses it cleanly), the server exits
0, and the laptop's retry finishes the sync with nothing half-applied; /healthz and /readyz."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from desktop.cli.main import build_parser
from desktop.services.store import Store
from server.models import Received
from server.schema import VERSION_TABLE, head_revision
from server.store import ServerStore
from tests.sync.harness import PASSWORD, ThreadServer, demo_file, free_port, laptop_snapshot
from tests.sync.test_processes import BIN, gl, scalar, server_counts, sync_proc

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "gridledger-server.service"
ENV_FILE = ROOT / "deploy" / "gridledger-server.env"
SENT = "SELECT count(*) FROM sync_outbox WHERE table_name NOT IN ('app_user', 'user_grid')"


def env_file() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_FILE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def unit_command(env: dict[str, str]) -> list[str]:
    """The unit's ExecStart as systemd runs it (${VAR} from the environment), our gridledger first."""
    line = next(x for x in UNIT.read_text(encoding="utf-8").splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line.split("=", 1)[1])
    return [str(BIN)] + [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words[1:]]


def test_the_unit_runs_a_command_the_cli_accepts():
    env = env_file()
    assert {"GRIDLEDGER_SERVER_DB", "GRIDLEDGER_HOST", "GRIDLEDGER_PORT", "GRIDLEDGER_SECRET_FILE"} <= set(env)
    args = build_parser().parse_args(unit_command(env)[1:])
    assert args.database is None  # so the server reads GRIDLEDGER_SERVER_DB (server/cli.py _database)
    assert args.port == int(env["GRIDLEDGER_PORT"]) and args.secret_file == env["GRIDLEDGER_SECRET_FILE"]
    unit = UNIT.read_text(encoding="utf-8")
    stop = int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1))
    from server.cli import GRACE_SECONDS

    assert stop > GRACE_SECONDS  # systemd waits for the graceful stop before it kills


class UnitServe:
    """`gridledger serve` started as the unit starts it, with the environment file's settings
    pointed at this test's database, port and secret."""

    def __init__(self, tmp: Path, db_url: str, port: int | None = None) -> None:
        secret = tmp / "secret.key"
        if not secret.exists():
            secret.write_text("Zq8vN3xK7pL2mR9tW4yB6cD1fG5hJ0sA-unit-test-secret-Ue7Ko2\n")
            secret.chmod(0o600)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env_file(), "GRIDLEDGER_SERVER_DB": db_url, "GRIDLEDGER_HOST": "127.0.0.1",
                    "GRIDLEDGER_PORT": str(self.port), "GRIDLEDGER_SECRET_FILE": str(secret)}
        import os

        self.proc = subprocess.Popen(unit_command(self.env), env={**os.environ, **self.env},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            time.sleep(0.1)
        raise AssertionError("serve did not start")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        err = ""
        if self.proc.stderr and not self.proc.stderr.closed:
            err = self.proc.stderr.read()
            self.proc.stderr.close()
        return code, err


@pytest.fixture(scope="module")
def laptop_template(tmp_path_factory) -> Path:
    return demo_file(tmp_path_factory.mktemp("svc") / "demo.db", 1000, 6)


def _received_seqs(db_url: str) -> list[int]:
    st = ServerStore(db_url, create=False)
    try:
        with st.session() as s:
            return sorted(s.scalars(select(Received.device_seq)))
    finally:
        st.close()


def _outbox(db: Path) -> tuple[list[int], set[int]]:
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        sendable = [r[0] for r in con.execute(
            "SELECT seq FROM sync_outbox WHERE table_name NOT IN ('app_user', 'user_grid') ORDER BY seq")]
        acknowledged = {r[0] for r in con.execute("SELECT seq FROM sync_outbox WHERE sent = 2")}
        return sendable, acknowledged
    finally:
        con.close()


def test_sigterm_under_a_push_finishes_it_and_the_retry_completes(laptop_template, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = UnitServe(tmp_path, db_url)
    admin = tmp_path / "admin.db"
    shutil.copy(laptop_template, admin)
    total = scalar(admin, SENT)
    client = None
    try:
        gl("server", "--database", db_url, "add-user", "admin", "--role", "community_admin", "--password-stdin",
           stdin=PASSWORD + "\n")
        client = sync_proc(admin, srv.url, "admin")
        deadline = time.time() + 120
        while scalar(admin, "SELECT count(*) FROM sync_outbox WHERE sent = 2") < total * 0.25:
            assert time.time() < deadline and client.poll() is None, "the push finished before SIGTERM"
            time.sleep(0.01)
        code, err = srv.stop(signal.SIGTERM)
        assert code == 0 and "已停止" in err and "Traceback" not in err, err
        assert client.wait(120) in (0, 3)  # done, or told the server went away (it retries later)
        # nothing half-applied: the server holds a prefix of the laptop's changes, whole pushes,
        # including every change the laptop saw acknowledged
        received = _received_seqs(db_url)
        sendable, acknowledged = _outbox(admin)
        assert 0 < len(received) < total
        assert received == sendable[: len(received)] and acknowledged <= set(received)
        srv = UnitServe(tmp_path, db_url, srv.port)
        for _ in range(2):
            assert sync_proc(admin, srv.url, "admin").wait(300) == 0
        records, received_n, distinct = server_counts(db_url)
        assert received_n == distinct == total
        store = Store.open(admin)
        try:
            assert len(laptop_snapshot(store)) == records
        finally:
            store.close()
    finally:
        if client is not None and client.poll() is None:
            client.kill()
        srv.stop()


def test_health_and_readiness(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    srv = ThreadServer(db_url).start()
    try:
        assert httpx.get(srv.url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(srv.url + "/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "schema": head_revision()}
        engine = create_engine(db_url)
        with engine.begin() as conn:  # a schema behind this program's head
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0001'"))
        engine.dispose()
        behind = httpx.get(srv.url + "/readyz")
        assert behind.status_code == 503 and "重新启动服务器" in behind.json()["message"]
        good = srv.store.engine
        srv.store.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # unreachable
        try:
            down = httpx.get(srv.url + "/readyz")
            assert down.status_code == 503 and "无法连接服务器数据库" in down.json()["message"]
            assert httpx.get(srv.url + "/healthz").status_code == 200  # alive all the same
        finally:
            srv.store.engine.dispose()
            srv.store.engine = good
    finally:
        srv.stop()
