"""A throwaway PostgreSQL cluster for tests: initdb into a fresh folder under /tmp, start it on a
free loopback port with trust auth, hand out SQLAlchemy URLs, and remove everything on stop.

As root (CI), `initdb` refuses to run, so initdb/pg_ctl run as the `postgres` user through
`runuser -u postgres --`, in a folder that user owns (docs/design/STACK.md § Database). As any other user
they run directly. The cluster is built for speed, not durability (fsync off).

    with PgCluster() as pg:
        url = pg.create_database("gl_test")  # postgresql+psycopg://postgres@127.0.0.1:PORT/gl_test
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"  # the cluster's superuser name (initdb -U), whoever runs the server
RUN_AS = "postgres"  # the OS account that runs the server when we are root
_PG_TOOLS = ("initdb", "pg_ctl", "postgres")
_SOCKET_PATH_MAX = 107  # sun_path limit on Linux, including ".s.PGSQL.<port>"


class PgClusterError(RuntimeError):
    pass


def find_pg_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL under /usr/lib/postgresql (Debian layout), else the
    folder that `initdb` on PATH resolves to; None when PostgreSQL is not installed."""

    def has_tools(d: Path) -> bool:
        return all(os.access(d / t, os.X_OK) and (d / t).is_file() for t in _PG_TOOLS)

    def version_key(d: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", d.parent.name)) or (0,)

    if PG_ROOT.is_dir():
        found = [d / "bin" for d in PG_ROOT.iterdir() if has_tools(d / "bin")]
        if found:
            return max(found, key=version_key)
    on_path = shutil.which("initdb")
    if on_path:
        d = Path(on_path).resolve().parent
        if has_tools(d):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]


class PgCluster:
    """One PostgreSQL server in its own folder; a context manager (start on enter, stop on exit)."""

    def __init__(self, base_dir: Path | None = None, bin_dir: Path | None = None):
        # base_dir: the parent of the cluster's folder (default: the system temp dir, /tmp). As root
        # it must be traversable by the postgres user, and short (the unix socket lives there).
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.bin_dir = Path(bin_dir) if bin_dir is not None else find_pg_bin()
        self.root: Path | None = None  # the folder we create and remove: data/, postgres.log, socket
        self.port: int | None = None
        self.user = SUPERUSER
        self._as_root = os.geteuid() == 0
        self._running = False
        self._atexit_registered = False
        self._owner_pid = os.getpid()

    # -- paths ------------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._root() / "data"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self._root()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this cluster."""
        if self.port is None:
            raise PgClusterError("the cluster is not started")
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string, for psycopg.connect()."""
        if self.port is None:
            raise PgClusterError("the cluster is not started")
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def _root(self) -> Path:
        if self.root is None:
            raise PgClusterError("the cluster is not started")
        return self.root

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        """initdb + pg_ctl start; returns the URL of the `postgres` database once it accepts
        connections. Raises PgClusterError (with initdb/pg_ctl output and the server log)."""
        if self._running:
            return self.url()
        if self.bin_dir is None:
            raise PgClusterError(
                f"PostgreSQL binaries not found under {PG_ROOT}/*/bin or on PATH "
                "(Debian: apt-get install postgresql; `make test` does it as root)"
            )
        if not self._atexit_registered:
            self._owner_pid = os.getpid()
            atexit.register(self._stop_at_exit)
            self._atexit_registered = True
        try:
            self._make_root()
            self._initdb()
            for attempt in range(3):
                self.port = _free_port()
                self._write_conf()
                try:
                    self._pg_ctl_start()
                    break
                except PgClusterError as e:
                    # another process took the port between bind(0) and the server's bind: retry
                    if attempt == 2 or "already in use" not in str(e):
                        raise
            self._running = True
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url()

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        if not self._running:
            raise PgClusterError("the cluster is not started")
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediate mode) and remove its folder. Safe to call more than once."""
        root, self.root = self.root, None
        self._running = False
        if self._atexit_registered:
            atexit.unregister(self._stop_at_exit)
            self._atexit_registered = False
        if root is None:
            return
        data = root / "data"
        if (data / "postmaster.pid").exists():
            try:
                done = self._run(
                    [self._tool("pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w",
                     "-t", "30"],
                    cwd=root, check=False, timeout=40,
                )
                stopped = done.returncode == 0
            except (OSError, subprocess.SubprocessError):
                stopped = False
            if not stopped:
                self._kill_leftover(data)
        shutil.rmtree(root, ignore_errors=True)

    def _stop_at_exit(self) -> None:
        # A forked child (os.fork + sys.exit) inherits atexit handlers: only the starter stops.
        if os.getpid() == self._owner_pid:
            self.stop()

    # -- steps ------------------------------------------------------------------------------------

    def _make_root(self) -> None:
        parent = str(self.base_dir) if self.base_dir is not None else None
        root = Path(tempfile.mkdtemp(prefix="gl-pg-", dir=parent))  # mode 0700
        self.root = root
        if len(str(root)) + len("/.s.PGSQL.65535") > _SOCKET_PATH_MAX:
            raise PgClusterError(f"{root} is too long for a unix socket path; use a shorter base_dir")
        if self._as_root:
            try:
                pw = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise PgClusterError(
                    f"running as root, but there is no '{RUN_AS}' user to run PostgreSQL as "
                    "(the Debian postgresql package creates it)"
                ) from None
            os.chown(root, pw.pw_uid, pw.pw_gid)
            probe = self._run(["test", "-w", str(root)], cwd="/", check=False)
            if probe.returncode != 0:
                raise PgClusterError(
                    f"the '{RUN_AS}' user cannot reach {root}: every parent folder must be "
                    "traversable by it (use a base_dir under /tmp)"
                )
        os.chmod(root, 0o700)

    def _initdb(self) -> None:
        self._run(
            [self._tool("initdb"), "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
             "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
            what="initdb",
        )

    def _write_conf(self) -> None:
        # postgresql.auto.conf is read last; written by us (root or owner), owner stays postgres.
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        lines = [f"{k} = '{v}'" for k, v in settings.items()]
        (self.data_dir / "postgresql.auto.conf").write_text("\n".join(lines) + "\n")

    def _pg_ctl_start(self) -> None:
        try:
            self._run(
                [self._tool("pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-w", "-t", "60"],
                what="pg_ctl start", timeout=90,
            )
        except PgClusterError as e:
            raise PgClusterError(f"{e}\n--- {self.log_file} ---\n{_tail(self.log_file)}") from None

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                if time.monotonic() > deadline:
                    raise PgClusterError(
                        f"PostgreSQL on 127.0.0.1:{self.port} did not accept connections within "
                        f"{timeout:.0f} s: {e}\n--- {self.log_file} ---\n{_tail(self.log_file)}"
                    ) from None
                time.sleep(0.05)

    def _kill_leftover(self, data: Path) -> None:
        """If the postmaster survived pg_ctl stop, SIGKILL it (its children exit with it)."""
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:  # the pid file may be stale and the pid reused: only kill a postgres
            if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return
        except OSError:
            return
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    # -- running tools ----------------------------------------------------------------------------

    def _tool(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"  # a clean machine may have no locales; LANG may name a missing one
        env.pop("LANG", None)
        env.pop("LANGUAGE", None)
        return env

    def _run(
        self,
        cmd: list[str],
        *,
        what: str | None = None,
        cwd: Path | str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
        # cwd: a folder the server's user can enter (root's cwd may be /root: initdb would warn)
        cwd = cwd if cwd is not None else self._root()
        proc = subprocess.run(
            cmd, cwd=cwd, env=self._env(), stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            out = "\n".join(s.strip() for s in (proc.stderr, proc.stdout) if s.strip())
            raise PgClusterError(
                f"{what or cmd[0]} failed (exit {proc.returncode}): {' '.join(cmd)}\n{out}"
            )
        return proc
