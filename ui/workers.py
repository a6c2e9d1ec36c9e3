"""Background jobs: one QRunnable per task, results delivered back on the GUI thread by signals.

No database session crosses threads: the function a job runs calls services, and every service
call opens and closes its own session on the worker thread."""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.services.errors import ServiceError


class Cancelled(Exception):
    pass


class JobSignals(QObject):
    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int, str)


class Job(QRunnable):
    """Runs `fn(*args, job=self)` if `fn` accepts `job`, else `fn(*args)`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_job: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.with_job = with_job
        self.signals = JobSignals()
        self._cancel = threading.Event()
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def report(self, done: int, total: int, text: str = "") -> None:
        self._emit("progress", done, total, text)

    def _emit(self, signal_name: str, *args: Any) -> None:
        # RuntimeError: the receiver side is gone (window closed while the job ran): nothing to tell
        with contextlib.suppress(RuntimeError):
            getattr(self.signals, signal_name).emit(*args)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, job=self) if self.with_job else self.fn(*self.args)
        except Cancelled:
            self._emit("failed", "已取消")
            return
        except ServiceError as exc:
            self._emit("failed", exc.message)
            return
        except Exception as exc:  # a bug: keep the window alive and say what happened
            traceback.print_exc()
            self._emit("failed", f"操作失败:{exc}")
            return
        if not self._cancel.is_set():
            self._emit("finished", result)


_live: set[Job] = set()


def run_job(
    fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[str], None] | None = None, on_progress: Callable[[int, int, str], None] | None = None,
    pool: QThreadPool | None = None, with_job: bool = False,
) -> Job:
    job = Job(fn, *args, with_job=with_job)
    _live.add(job)

    def done(result: Any) -> None:
        _live.discard(job)
        if on_done:
            on_done(result)

    def failed(msg: str) -> None:
        _live.discard(job)
        if on_error:
            on_error(msg)

    job.signals.finished.connect(done)
    job.signals.failed.connect(failed)
    if on_progress:
        job.signals.progress.connect(on_progress)
    (pool or QThreadPool.globalInstance()).start(job)
    return job


def wait_all(timeout_ms: int = 10000) -> bool:
    """Wait for every running job (used at exit and at the end of tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
