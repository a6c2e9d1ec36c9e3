"""Test harness: a real sync server (uvicorn in a thread, or a real process) and laptop files."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from desktop.services.store import Store
from desktop.sync.client import SyncClient, SyncResult
from server import service
from server.app import Settings, create_app
from server.store import ServerStore

PASSWORD = "demo-pass-1234"
BIN = Path(sys.executable).parent / "gridledger"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """A real `gridledger serve` process on a loopback port (plain http; `TlsServe` adds TLS)."""

    scheme = "http"
    startup_seconds = 30.0

    def __init__(self, db_url: str, *extra: str, port: int | None = None) -> None:
        self.db_url = db_url
        self.extra = extra  # more `serve` options
        self.port = port or free_port()
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's stderr, open as long as it runs
        self.log.close()  # opened afresh by each start

    def serve_args(self) -> list[str]:
        return ["serve", "--database", self.db_url, "--port", str(self.port), "--dev", *self.extra]

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def start(self) -> ServeProcess:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by kill/stop
        self.proc = subprocess.Popen(
            [str(BIN), *self.serve_args()],
            # a file, not a pipe: the server writes a JSON line per request, and a pipe nobody
            # reads fills up and stops the server mid-request
            stdout=subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.time() + self.startup_seconds
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/info", timeout=2, verify=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.log_text()}")
            time.sleep(0.1)
        raise AssertionError("serve did not start")

    def kill(self) -> None:
        """kill -9: nothing is finished."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: in-flight requests finish."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def add_user(self, name: str, role: str, grids: str | None = None) -> None:
        args = ["server", "--database", self.db_url, "add-user", name, "--role", role, "--password-stdin"]
        if grids:
            args += ["--grids", grids]
        done = subprocess.run([str(BIN), *args], input=PASSWORD + "\n", capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"gridledger {' '.join(args)} failed: {done.stderr}")


class ThreadServer:
    """uvicorn serving the app on a loopback port, in this process."""

    def __init__(self, db_url: str) -> None:
        self.store = ServerStore(db_url)
        self.app = create_app(Settings.load(db_url, development=True), self.store)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("sync server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.store.close()

    def add_user(self, username: str, role: str, areas: list[str] | None = None) -> None:
        service.add_user(self.store, username, PASSWORD, role, areas=areas)

    def set_grids(self, username: str, areas: list[str]) -> None:
        service.set_areas(self.store, username, areas)


@contextmanager
def running_server(db_url: str) -> Iterator[ThreadServer]:
    srv = ThreadServer(db_url).start()
    try:
        yield srv
    finally:
        srv.stop()


class StallingProxy:
    """A TCP proxy on loopback to the server at `target_port` that holds its first connection
    until release(): a sync started through it is caught midway, with no timing involved
    (`first_seen` is set once that sync has taken its lock and opened its connection)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.first_seen = threading.Event()
        self.released = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        first = True
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn, first), daemon=True).start()
            first = False

    def _serve(self, conn: socket.socket, hold: bool) -> None:
        if hold:
            self.first_seen.set()
            self.released.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            conn.close()
            return
        self.sockets.append(upstream)
        threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
        _pipe(conn, upstream)

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        for s in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                s.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def demo_file(path: Path, households: int, seed: int) -> Path:
    """A demo community file, never synced, checkpointed so it can be copied as one file."""
    from desktop.services.demo import generate

    store = Store.open(path, create=True)
    try:
        generate(store, households=households, seed=seed)
        with store.engine.begin() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path


def laptop(path: Path) -> Store:
    return Store.open(path, create=True)


def sync(store: Store, url: str, username: str, **kw: Any) -> SyncResult:
    client = SyncClient(store, url, username, PASSWORD, **kw)
    try:
        return client.run()
    finally:
        client.close()


def person_in(store: Store, grid_id: str) -> Any:
    """(id, name, phone, occupation, employer) of a live person of the grid who heads no
    household (so it can be deleted or purged without changing the head first)."""
    with store.engine.connect() as c:
        return c.exec_driver_sql(
            "SELECT id, name, phone, occupation, employer FROM person WHERE grid_id = ? AND deleted_at IS NULL "
            "AND id NOT IN (SELECT head_person_id FROM household WHERE head_person_id IS NOT NULL) "
            "ORDER BY id LIMIT 1", (grid_id,)
        ).one()


# --- convergence -------------------------------------------------------------------------------

def laptop_snapshot(store: Store, grids: list[str] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Every synced row of a laptop (optionally only some grids), as comparable plain values."""
    from desktop.sync.protocol import FIELDS, has_grid

    out: dict[tuple[str, str], dict[str, Any]] = {}
    with store.engine.connect() as c:
        for table, cols in FIELDS.items():
            names = ["id", "version", *cols]
            sql = f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM "{table}"'
            for row in c.exec_driver_sql(sql):
                d = dict(zip(names, row, strict=True))
                if grids is not None and has_grid(table) and d["grid_id"] not in grids:
                    continue
                out[(table, d["id"])] = d
    return out


def server_snapshot(srv: ThreadServer, grids: list[str] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    import orjson
    from sqlalchemy import select

    from desktop.sync.protocol import FIELDS, has_grid
    from server.models import Record

    out: dict[tuple[str, str], dict[str, Any]] = {}
    with srv.store.session() as s:
        for table, row_id, data in s.execute(select(Record.table_name, Record.row_id, Record.data)):
            d = orjson.loads(data)
            if grids is not None and has_grid(table) and d.get("grid_id") not in grids:
                continue
            out[(table, row_id)] = {k: d.get(k) for k in ["id", "version", *FIELDS[table]]}
    return out


def assert_converged(srv: ThreadServer, *laptops: tuple[Store, list[str] | None]) -> int:
    """Each laptop holds exactly the server's rows of its grids, field for field."""
    expected_all = server_snapshot(srv)
    for store, grids in laptops:
        want = expected_all if grids is None else server_snapshot(srv, grids)
        got = laptop_snapshot(store, grids)
        # a worker's laptop must not hold rows of other grids at all
        if grids is not None:
            assert laptop_snapshot(store).keys() == got.keys(), "rows of other grids left on the laptop"
        assert got.keys() == want.keys(), (
            f"{store.path}: missing {len(want.keys() - got.keys())}, extra {len(got.keys() - want.keys())}"
        )
        diffs = [(k, f, got[k].get(f), want[k].get(f)) for k in want for f in want[k] if _norm(got[k].get(f)) != _norm(want[k].get(f))]
        assert not diffs, f"{store.path}: {len(diffs)} differing fields, e.g. {diffs[:3]}"
    return len(expected_all)


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
