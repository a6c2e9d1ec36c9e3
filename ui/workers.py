"""Background jobs: one QRunnable per long task, results delivered back on the GUI thread by signals.

Every long task in the UI (search, lists, printing, Excel in and out, photos, backups, encryption,
sync and bundles) runs as a Job:
- `fn(*args)`, or `fn(*args, job=job)` with `with_job=True` for work that reports progress or can
  be cancelled;
- progress is (done, total, text): `job.report(done, total, text)`; total 0 means "unknown";
- cancel is cooperative: `job.cancel()` sets a flag that the work checks (`job.check()` raises
  Cancelled, `job.cancelled` reads it, `job.cancel_event` goes to code that takes a threading.Event);
- a failure arrives as a JobFailure: a stable `code` (see FAILURE_CODES) and the Chinese `message`;
  work that returns normally is finished, even if a cancel came too late to stop it;
- an unexpected exception (code "bug") is logged with its traceback, and the app's problem dialog
  (ui/crash.py) says so, saying what was being done (`what`, else the page); on_error still
  follows, so the page can put itself back.

No database session crosses threads: the function a job runs calls services, and every service
call opens and closes its own session on the worker thread."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.services.errors import ServiceError
from desktop.sync.bundle_sync import BundleRefused
from desktop.sync.client import SyncError

log = logging.getLogger(__name__)

# the codes a failure carries besides a sync's own (SyncError.code: "bad_credentials", "network"…)
FAILURE_CODES = {
    "cancelled": "the user cancelled (the work stopped at its next check)",
    "service": "a service refused (ServiceError: validation, permission, not found…)",
    "bundle": "a sync bundle was refused (BundleRefused)",
    "file": "a file could not be read or written (OSError)",
    "bug": "anything else: a programming error (traceback to the log, the problem dialog shown)",
}


class Cancelled(Exception):
    """Raised by Job.check() once the job was cancelled."""


@dataclass(frozen=True)
class JobFailure:
    code: str
    message: str  # Chinese, shown to the user as it is
    error: BaseException | None = None  # for "bug": the exception itself (its traceback is logged)

    def __str__(self) -> str:
        return self.message


def failure_for(exc: BaseException) -> JobFailure:
    """The stable code and the Chinese message for what stopped a job."""
    if isinstance(exc, Cancelled):
        return JobFailure("cancelled", "已取消")
    if isinstance(exc, SyncError):  # its own code; a cancelled sync says what was kept
        return JobFailure(exc.code, str(exc))
    if isinstance(exc, BundleRefused):
        return JobFailure("bundle", str(exc))
    if isinstance(exc, ServiceError):
        return JobFailure("service", exc.message)
    if isinstance(exc, OSError):
        return JobFailure("file", f"无法读写文件:{exc.strerror or exc}")
    # the exception's text is for the log: it may quote a record, and it means nothing to the user
    return JobFailure("bug", f"操作失败:程序遇到问题({type(exc).__name__}),详情已写入日志文件", exc)


class JobSignals(QObject):
    finished = Signal(object)
    failed = Signal(object)  # JobFailure
    progress = Signal(int, int, str)  # done, total, text


class Job(QRunnable):
    """Runs `fn(*args, job=self)` if `with_job`, else `fn(*args)`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_job: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.with_job = with_job
        self.signals = JobSignals()
        self.cancel_event = threading.Event()
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        if self.cancel_event.is_set():
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
        except Exception as exc:
            failure = failure_for(exc)
            if failure.code == "bug":  # keep the window alive, and leave the trace for a bug report
                log.error("background job %s failed", getattr(self.fn, "__qualname__", "?"), exc_info=exc)
            self._emit("failed", failure)
            return
        # work that finished despite a late cancel did happen: say so
        self._emit("finished", result)


# jobs still running, so none is freed while its thread runs (dropped when its answer arrives)
_live: set[Job] = set()


def run_job(
    fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[JobFailure], None] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    pool: QThreadPool | None = None, with_job: bool = False, what: str | None = None,
) -> Job:
    """Start `fn` on the pool; exactly one of on_done(result) / on_error(JobFailure) follows.
    `what` (Chinese, e.g. "重建检索索引") names the work in the problem dialog of a "bug"."""
    job = Job(fn, *args, with_job=with_job)
    _live.add(job)

    def done(result: Any) -> None:
        _live.discard(job)
        if on_done:
            on_done(result)

    def failed(failure: JobFailure) -> None:
        _live.discard(job)
        if failure.code == "bug":
            from ui.crash import report_shown

            report_shown(what)
        if on_error:
            on_error(failure)

    job.signals.finished.connect(done)
    job.signals.failed.connect(failed)
    if on_progress:
        job.signals.progress.connect(on_progress)
    (pool or QThreadPool.globalInstance()).start(job)
    return job


def wait_all(timeout_ms: int = 10000) -> bool:
    """Wait for every running job (used at exit and at the end of tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
