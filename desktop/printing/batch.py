"""Printing household archives: one household, a building, a grid or a selection; into one PDF or
one file per household; in worker processes for large batches.

The main process reads the data in batches (a few set-based queries per 50 households), turns
it into checked strings (masking, missing glyphs) and hands them to worker processes that only
lay out pages: layout is ~95% of the time and CPU-bound. Workers never open the database (so an
encrypted file, a GUI holding the database open, or a second writer change nothing for them);
they are started with ``spawn`` (safe on Windows and from a GUI thread), register the font once
each, report every finished archive through a queue and stop when the cancel event is set.
Output goes to temporary files in the target folder and is renamed into place only when
everything worked; on cancel or error the temporary files are removed."""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import queue as queue_mod
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from desktop.printing import archive
from desktop.printing.archive_pages import ArchiveContent
from desktop.printing.common import (
    Cancel,
    MissingGlyphs,
    PrintCancelled,
    PrintOptions,
    PrintResult,
    Progress,
    TempFiles,
    actor_label,
    audit_detail,
    cancel_check,
    check_unmask,
    out_file,
    out_folder,
    replace_into,
    safe_stem,
)
from desktop.printing.data import load_archives, reference
from desktop.printing.fonts import FontChoice, resolve_font
from desktop.printing.render import _init_worker, _render_task, _Stopped, render
from desktop.printing.text import Guard
from desktop.services.audit import write_audit
from desktop.services.demo import demo_mark
from desktop.services.errors import ServiceError
from desktop.services.store import Actor, Store

log = logging.getLogger(__name__)

LOAD_BATCH = 50  # households read and checked at a time
SPLIT_TASK = 8  # households per worker task when printing one file per household
PARALLEL_FROM = 80  # fewer households than this are printed in this process
MAX_PROCESSES = 8
ENV_PROCESSES = "GRIDLEDGER_PRINT_PROCESSES"


def process_count(options: PrintOptions, store: Store, households: int) -> int:
    """Worker processes for a batch: 1 (this process) for small batches, else one per core.

    `options.processes` (or GRIDLEDGER_PRINT_PROCESSES) overrides the automatic choice. A frozen
    bundle (PyInstaller) prints in one process unless GRIDLEDGER_PRINT_PROCESSES is set: its
    workers only start if the bundle's entry script calls multiprocessing.freeze_support()."""
    if households < 2 or store.path is None or str(store.path) == ":memory:":
        return 1
    env = os.environ.get(ENV_PROCESSES, "")
    if getattr(sys, "frozen", False) and not env.isdigit():
        return 1
    wanted = options.processes
    if wanted is None and env.isdigit():
        wanted = int(env)
    if wanted is None:
        if households < PARALLEL_FROM:
            return 1  # starting workers (~0.6 s) costs more than it saves
        wanted = os.cpu_count() or 1
    return max(1, min(wanted, MAX_PROCESSES, households))


class _Runner:
    """Runs render tasks inline or in a process pool, with progress and cancel."""

    def __init__(self, processes: int, font: FontChoice, total: int, progress: Progress,
                 cancelled: Callable[[], bool]) -> None:
        self.font = font
        self.total = total
        self.done = 0
        self.progress = progress
        self.cancelled = cancelled
        self.futures: list[Future] = []
        self.inline_pages: list[list[int]] = []
        self.pool: ProcessPoolExecutor | None = None
        if processes > 1:
            ctx = multiprocessing.get_context("spawn")
            self.queue = ctx.Queue()
            self.stop = ctx.Event()
            self.pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=ctx, initializer=_init_worker,
                initargs=(font.path if font.embedded else None, self.queue, self.stop),
            )

    def _tick(self, hh_no: str) -> None:
        self.done += 1
        self.progress(self.done, self.total, f"已生成第 {self.done}/{self.total} 户(户号 {hh_no})")

    def _inline_done(self, c: ArchiveContent) -> None:
        if self.cancelled():
            raise _Stopped
        self._tick(c.hh_no)

    def submit(self, items: list[tuple[list[ArchiveContent], str]]) -> None:
        if self.pool is None:
            self.inline_pages.append([render(cs, Path(p), self.font, self._inline_done) for cs, p in items])
        else:
            self.futures.append(self.pool.submit(_render_task, items))
            self.poll(0)

    def poll(self, timeout: float) -> None:
        """Report finished archives; raise on cancel or on a failed task."""
        if self.pool is not None:
            try:
                item = self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
                self._tick(item)
                while True:
                    self._tick(self.queue.get_nowait())
            except queue_mod.Empty:
                pass
            for f in self.futures:
                if f.done() and f.exception() is not None:
                    exc = f.exception()
                    if isinstance(exc, _Stopped):
                        raise PrintCancelled
                    raise ServiceError(f"生成 PDF 时出错:{exc}") from exc
        if self.cancelled():
            raise PrintCancelled

    def results(self) -> list[list[int]]:
        if self.pool is None:
            return self.inline_pages
        while not all(f.done() for f in self.futures):
            self.poll(0.1)
        self.poll(0)
        return [f.result() for f in self.futures]

    def close(self, *, abort: bool) -> None:
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        if abort:
            self.stop.set()
        pool.shutdown(wait=True, cancel_futures=abort)
        self.queue.close()
        self.queue.join_thread()


def _unique_name(stem: str, used: set[str]) -> str:
    name, k = stem, 1
    while name.casefold() in used:
        k += 1
        name = f"{stem}_{k}"
    used.add(name.casefold())
    return name


def merge(parts: list[Path], dest: Path) -> None:
    """Concatenate PDFs (pypdfium2) into `dest`."""
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    try:
        for p in parts:
            src = pdfium.PdfDocument(str(p))
            try:
                out.import_pages(src)
            finally:
                src.close()
        out.save(str(dest))
    finally:
        out.close()


def print_archives(store: Store, actor: Actor, household_ids: list[str], out: Path | str,
                   options: PrintOptions | None = None, *, progress: Progress | None = None,
                   cancel: Cancel = None) -> PrintResult:
    """Print the archives of `household_ids` into `out` (a PDF file, or with `split` a folder).

    Raises MissingGlyphs (before anything is written) when text has characters the font lacks
    and `allow_missing` is off, PermissionDenied for unmask without the right, PrintCancelled
    when cancelled. Every print is audited (ids, counts and flags; never personal values)."""
    options = options or PrintOptions()
    check_unmask(actor, options)
    ids = list(dict.fromkeys(household_ids))
    if not ids:
        raise ServiceError("没有要打印的户:所选范围内没有住户")
    report: Progress = progress or (lambda done, total, text: None)
    cancelled = cancel_check(cancel)
    font = resolve_font(options.font_path)
    created = options.split and not Path(out).expanduser().exists()
    target = out_folder(out) if options.split else out_file(out)
    folder = target if options.split else target.parent
    total = len(ids)
    report(0, total, f"正在读取 {total} 户的资料…")
    guard = Guard(font, allow=options.allow_missing)
    printed_at = datetime.now().replace(microsecond=0)
    who = actor_label(actor)
    processes = process_count(options, store, total)
    temps = TempFiles()
    runner = _Runner(processes, font, total, report, cancelled)
    finals: list[tuple[Path, Path]] = []  # (temp, final) per file, in order
    grids: set[str] = set()
    used_names: set[str] = set()
    chunk = total if processes == 1 else math.ceil(total / processes)
    pending: list[ArchiveContent] = []
    ok = False
    try:
        with store.session() as s:
            ref = reference(s.connection())
        mark = demo_mark(store)
        for k in range(0, total, LOAD_BATCH):
            if cancelled():
                raise PrintCancelled
            with store.session() as s:
                datas = load_archives(s.connection(), actor, ids[k : k + LOAD_BATCH], ref)
            contents = [archive.content(d, guard, unmask=options.unmask, printed_by=who,
                                        printed_at=printed_at, users=ref["users"]) for d in datas]
            if mark:  # a demo street: on every page (header and footer)
                contents = [replace(c, header=f"{mark} · {c.header}", printed=f"{mark} · {c.printed}")
                            for c in contents]
            grids.update(c.grid_code for c in contents)
            if guard.items and not options.allow_missing:
                continue  # keep reading: the report lists every missing character at once
            if options.split:
                items = []
                for c in contents:
                    temp = temps.new(folder)
                    name = _unique_name(safe_stem(f"{c.hh_no}_{c.head_name or '未定户主'}"), used_names)
                    finals.append((temp, folder / f"{name}.pdf"))
                    items.append(([c], str(temp)))
                for j in range(0, len(items), SPLIT_TASK):
                    runner.submit(items[j : j + SPLIT_TASK])
            else:
                pending += contents
                while len(pending) >= chunk or (pending and k + LOAD_BATCH >= total):
                    part, pending = pending[:chunk], pending[chunk:]
                    temp = temps.new(folder)
                    finals.append((temp, target))
                    runner.submit([(part, str(temp))])
            runner.poll(0)
        if guard.items and not options.allow_missing:
            raise MissingGlyphs(guard.items, font.display)
        page_lists = runner.results()
        pages_each = [p for ps in page_lists for p in ps]
        runner.close(abort=False)
        if cancelled():
            raise PrintCancelled
        if options.split:
            outputs = finals
        elif len(finals) == 1:
            outputs = [(finals[0][0], target)]
        else:
            report(total, total, "正在合并 PDF…")
            merged = temps.new(folder)
            merge([t for t, _ in finals], merged)
            outputs = [(merged, target)]
        pages = sum(pages_each)
        warnings = [font.warning] if font.warning else []
        warnings += guard.notes
        with store.transaction() as s:
            write_audit(
                s, actor, "print", "household", ids[0] if total == 1 else None,
                audit_detail(
                    kind="archive", households=ids, grids=sorted(grids), masked=not options.unmask,
                    pages=pages, files=len(outputs), split=options.split,
                    missing_glyphs=len(guard.items) or None, font=font.display,
                ),
                summary=f"打印户档案 {total} 户({'已脱敏' if not options.unmask else '未脱敏'},共 {pages} 页)",
            )
        for temp, final in outputs:
            replace_into(temp, final)
        ok = True
        log.info("printed archives: %d households, %d pages, %d files, masked %s", total, pages, len(outputs),
                 not options.unmask)
        report(total, total, f"已完成:{total} 户,共 {pages} 页")
        return PrintResult(files=[f for _, f in outputs], pages=pages, households=total, warnings=warnings)
    except _Stopped:
        raise PrintCancelled from None
    finally:
        runner.close(abort=not ok)
        temps.remove_all()
        if not ok and created:
            with contextlib.suppress(OSError):
                target.rmdir()  # only when empty: a folder this print created
