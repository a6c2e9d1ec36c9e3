"""Where an import's writes go: the importing session's own transaction, or - for large files -
a second process that holds the transaction and writes while this one goes on checking rows.

Checking a row is Python work and writing it is mostly SQLite work (the storage triggers fill
the sync change log and the search index for every row, three quarters of the write time), so on
two cores the two overlap: 100,000 people take about the time of writing them instead of the
time of checking plus writing. Either way the writes are the same statements, executed by
`execute` below, in ONE transaction that commits only when the parent says so; a cancel, an
error or a rejected file rolls it back.

The second process is `python -m desktop.exchange.writer DB` (a plain subprocess: nothing of the
caller's main module is re-run, unlike multiprocessing's spawn) or, in a frozen (PyInstaller)
build whose entry script calls multiprocessing.freeze_support(), a spawned multiprocessing
process. For an encrypted (SQLCipher) database the key is the first frame the child reads from
its pipe: never on its command line or in its environment. It is not used for an in-memory
database, on one core, below PARALLEL_MIN_ROWS rows, or when GRIDLEDGER_IMPORT_PROCESSES=0."""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from desktop.services.errors import ServiceError

PARALLEL_MIN_ROWS = 10_000  # below this, starting a process costs more than it saves
Command = tuple[Any, ...]


def execute(conn: Any, session: Session, cmd: Command) -> None:
    """Run one write command on a connection inside the import's transaction."""
    op = cmd[0]
    if op == "many":
        _op, sql, params, expected = cmd
        cur = conn.exec_driver_sql(sql, params) if params else None
        if expected is not None and cur is not None and cur.rowcount is not None and 0 <= cur.rowcount < expected:
            raise ServiceError("导入期间有记录被其他操作修改,已全部撤销,请重新导入")
    elif op == "refresh":
        from desktop.services import rules
        from desktop.services.store import Actor

        _op, household_ids, person_ids, username = cmd
        actor = Actor(username)
        if household_ids:
            rules.refresh_derived_marks(session, actor, household_ids=household_ids)
        if person_ids:
            rules.refresh_derived_marks(session, actor, person_ids=person_ids)
    elif op == "audit":
        from desktop.services.audit import write_audit
        from desktop.services.store import Actor

        _op, actor_fields, action, entity, detail, summary = cmd
        write_audit(session, Actor(**actor_fields), action, entity, None, detail, summary=summary)
        session.flush()
    else:  # pragma: no cover - a programming error
        raise ValueError(f"unknown write command {op!r}")


class Sink:
    """Receives the write commands of one import."""

    parallel = False

    def send(self, cmd: Command) -> None:
        raise NotImplementedError

    def check(self) -> None:
        """Raise if the writing side has failed (so the checking can stop early)."""

    def finish(self, commit: bool) -> None:
        """Commit (or roll back) everything sent; raises ServiceError if the writes failed."""

    def abort(self) -> None:
        self.finish(False)


class NullSink(Sink):
    """A dry run: nothing is written."""

    def send(self, cmd: Command) -> None:
        pass


class LocalSink(Sink):
    """Writes at once through the importing session (its transaction is committed by the caller)."""

    def __init__(self, conn: Any, session: Session) -> None:
        self.conn = conn
        self.session = session

    def send(self, cmd: Command) -> None:
        execute(self.conn, self.session, cmd)


def parallel_possible(store: Any, rows: int) -> bool:
    if rows < PARALLEL_MIN_ROWS or os.environ.get("GRIDLEDGER_IMPORT_PROCESSES", "") == "0":
        return False
    if (os.cpu_count() or 1) < 2:
        return False
    url = store.engine.url
    return (url.drivername in ("sqlite", "sqlite+pysqlcipher") and bool(url.database)
            and url.database != ":memory:" and store.path is not None)


def _frame(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _dumps(obj: Any) -> bytes:
    """marshal (several times faster than pickle for tuples of str / int / float / None, which
    is what bind-processed rows are), pickle for anything else."""
    try:
        return b"M" + marshal.dumps(obj)
    except ValueError:
        return b"P" + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _loads(data: bytes) -> Any:
    return marshal.loads(data[1:]) if data[:1] == b"M" else pickle.loads(data[1:])


def _read_frame(stream: Any) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    return data if len(data) == size else None


class _Subprocess:
    """`python -m desktop.exchange.writer DB`, framed pickles over its stdin / stdout. Nothing of the
    caller's main module runs again in the child (unlike multiprocessing's spawn)."""

    def __init__(self, db_path: str) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # read only when the writer fails (a pipe could fill up); closed in close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "desktop.exchange.writer", db_path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            )
        except OSError as exc:
            self._stderr.close()
            raise ServiceError(f"无法启动写入进程:{exc}") from exc

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_frame(data))
        self.proc.stdin.flush()

    def recv(self) -> bytes | None:
        assert self.proc.stdout is not None
        return _read_frame(self.proc.stdout)

    def done_sending(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = self._stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung writer
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class _Multiprocess:
    """multiprocessing's spawn, for frozen (PyInstaller) builds: there `sys.executable` is the app
    itself and its entry script calls multiprocessing.freeze_support()."""

    def __init__(self, db_path: str) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_mp_child, args=(db_path, child), name="gridledger-import-writer", daemon=True)
        try:
            self.proc.start()
        except OSError as exc:  # pragma: no cover
            raise ServiceError(f"无法启动写入进程:{exc}") from exc
        child.close()

    def send(self, data: bytes) -> None:
        self.conn.send_bytes(data)

    def recv(self) -> bytes | None:
        try:
            return self.conn.recv_bytes()
        except (EOFError, OSError):
            return None

    def done_sending(self) -> None:
        pass

    def stderr_tail(self) -> str:
        return ""

    def wait(self, timeout: float) -> None:
        self.proc.join(timeout=timeout)
        if self.proc.is_alive():  # pragma: no cover - a hung writer
            self.proc.kill()
            self.proc.join(timeout=10)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()


USE_MULTIPROCESSING: bool | None = None  # None: only in frozen builds (tests set True to cover it)


class ChildSink(Sink):
    """Sends the commands to a writer process that holds the transaction."""

    parallel = True

    def __init__(self, db_path: str, key: bytes | None = None) -> None:
        use_mp = getattr(sys, "frozen", False) if USE_MULTIPROCESSING is None else USE_MULTIPROCESSING
        self._t: _Subprocess | _Multiprocess = _Multiprocess(db_path) if use_mp else _Subprocess(db_path)
        try:
            self._t.send(_dumps(("key", key)))  # first frame: the database key (None for a plain file)
        except OSError as exc:
            self._t.close()
            raise ServiceError(f"无法启动写入进程:{exc}") from exc
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._replies: queue.Queue[Command] = queue.Queue()
        self._error: str | None = None
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="gridledger-import-reader", daemon=True)
        self._reader.start()
        reply = self._recv(timeout=120)
        if reply[0] != "ready":
            self._stop()
            raise ServiceError(reply[1] if reply[0] == "error" else "无法启动写入进程")
        self._sender = threading.Thread(target=self._send_loop, name="gridledger-import-sender", daemon=True)
        self._sender.start()

    def _read_loop(self) -> None:
        while True:
            data = self._t.recv()
            if data is None:
                tail = self._t.stderr_tail()
                self._replies.put(("error", "写入进程意外退出,已撤销本次导入" + (f"({tail})" if tail else "")))
                return
            self._replies.put(_loads(data))

    def _send_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._t.done_sending()
                return
            try:
                self._t.send(item)
            except OSError:
                self._error = self._error or "写入进程意外退出,已撤销本次导入"
                return

    def _recv(self, timeout: float | None = None) -> Command:
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            return ("error", "写入进程没有响应,已撤销本次导入")

    def check(self) -> None:
        if self._error is None:
            try:
                reply = self._replies.get_nowait()
            except queue.Empty:
                reply = None
            if reply is not None and reply[0] == "error":
                self._error = reply[1]
        if self._error is not None:
            raise ServiceError(self._error)

    def _put(self, item: bytes | None) -> None:
        while True:
            try:
                self._queue.put(item, timeout=1)
                return
            except queue.Full:
                if not self._sender.is_alive():
                    raise ServiceError(self._error or "写入进程意外退出,已撤销本次导入") from None

    def send(self, cmd: Command) -> None:
        self.check()
        self._put(_dumps(cmd))

    def finish(self, commit: bool) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._put(_dumps(("commit" if commit else "rollback",)))
            self._put(None)
            self._sender.join()
            reply = self._recv() if self._error is None else ("error", self._error)
        finally:
            self._stop()
        if reply[0] == "error":
            raise ServiceError(reply[1] or "写入失败,已撤销本次导入")
        if commit and reply[0] != "committed":
            raise ServiceError("写入失败,已撤销本次导入")

    def abort(self) -> None:
        with contextlib.suppress(ServiceError):
            self.finish(False)

    def _stop(self) -> None:
        self._t.wait(timeout=60)
        self._reader.join(timeout=10)
        self._t.close()


def _serve(db_path: str, recv: Any, send: Any) -> None:  # pragma: no cover - runs in the writer process
    """The writer process: BEGIN IMMEDIATE, execute every command, commit or roll back when told."""
    from desktop.db.engine import make_engine

    def reply(*msg: Any) -> None:
        send(_dumps(msg))

    first = recv()
    if first is None:
        return
    _op, key = _loads(first)
    if key is not None:
        from desktop.db.keys import sqlcipher_key

        engine = make_engine(db_path, key=sqlcipher_key(key))
    else:
        engine = make_engine(db_path)
    try:
        with engine.connect() as c:
            raw = c.connection.dbapi_connection
            assert raw is not None  # an open connection holds its DB-API connection
            try:
                if not raw.in_transaction:
                    c.exec_driver_sql("BEGIN IMMEDIATE")
                c.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            except Exception:
                reply("error", "数据库正被其他操作占用(例如正在同步),请稍后再导入")
                return
            session = Session(bind=c)
            reply("ready")
            failed: str | None = None
            while True:
                data = recv()
                if data is None:  # the parent is gone: nothing is kept
                    raw.rollback()
                    return
                cmd = _loads(data)
                if cmd[0] == "rollback":
                    raw.rollback()
                    reply("rolled_back")
                    return
                if cmd[0] == "commit":
                    if failed is not None:
                        reply("error", failed)
                        return
                    try:
                        session.flush()
                        raw.commit()
                    except Exception as exc:
                        raw.rollback()
                        reply("error", f"写入失败,已撤销本次导入:{exc}")
                        return
                    reply("committed")
                    return
                if failed is not None:
                    continue  # drain until the parent says commit or rollback
                try:
                    execute(c, session, cmd)
                except Exception as exc:
                    raw.rollback()
                    failed = exc.message if isinstance(exc, ServiceError) else f"写入失败,已撤销本次导入:{exc}"
                    reply("error", failed)
    finally:
        engine.dispose()


def _mp_child(db_path: str, conn: Any) -> None:  # pragma: no cover - runs in the writer process
    def recv() -> bytes | None:
        try:
            return conn.recv_bytes()
        except (EOFError, OSError):
            return None

    try:
        _serve(db_path, recv, conn.send_bytes)
    finally:
        conn.close()


def _child_main(db_path: str) -> None:  # pragma: no cover - runs in the writer process
    inp, out = sys.stdin.buffer, sys.stdout.buffer

    def send(data: bytes) -> None:
        out.write(_frame(data))
        out.flush()

    _serve(db_path, lambda: _read_frame(inp), send)


if __name__ == "__main__":  # pragma: no cover - the writer process
    _child_main(sys.argv[1])
