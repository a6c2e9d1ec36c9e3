"""Laying out archives into a PDF, in this process or in a worker process.

Workers are started with ``spawn``: this module imports only ReportLab and the small printing
modules (not the database layer), so a worker is ready in a fraction of a second. Each worker
registers the font once (initializer), reports every finished archive through a queue and stops
at the next archive when the cancel event is set."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from reportlab.platypus import BaseDocTemplate, Frame, PageBreak, PageTemplate

from desktop.printing import archive_pages as pages_mod
from desktop.printing import pdf
from desktop.printing.archive_pages import ArchiveContent
from desktop.printing.fonts import FontChoice, font_for


class _Stopped(Exception):
    """Raised inside a layout when the job is cancelled."""


# --- layout (runs in this process or in a worker) ---------------------------------------------

def render(contents: list[ArchiveContent], path: Path, font: FontChoice,
           on_archive: Callable[[ArchiveContent], None] | None = None) -> int:
    """Lay out the archives into one PDF at `path` (each numbered on its own); return the page count."""
    st = pdf.styles(font.name)
    doc = BaseDocTemplate(
        str(path), pagesize=pages_mod.PAGE, leftMargin=pages_mod.MARGIN_X, rightMargin=pages_mod.MARGIN_X,
        topMargin=pages_mod.MARGIN_TOP, bottomMargin=pages_mod.MARGIN_BOTTOM,
        title="户档案" if len(contents) != 1 else f"户档案 {contents[0].hh_no}",
        author="GridLedger 网格台账", creator="GridLedger 网格台账", subject="户档案", initialFontName=font.name,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    story: list[Any] = []
    for k, c in enumerate(contents):
        if k:
            story.append(PageBreak())
        story += pages_mod.flowables(c, st, pages_mod.part_info(c, font.name, font.embedded))
        if on_archive is not None:
            story.append(pdf.Check(partial(on_archive, c)))
    pages: list[int] = []
    doc.build(story, canvasmaker=pdf.numbered_canvas(pages_mod.decorate, pages))
    return pages[0] if pages else 0


# --- worker processes ---------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(font_path: str | None, progress_q: Any, stop: Any) -> None:
    _worker.update(font=font_for(font_path), q=progress_q, stop=stop)


def _worker_done(c: ArchiveContent) -> None:
    if _worker["stop"].is_set():
        raise _Stopped
    _worker["q"].put(c.hh_no)


def _render_task(items: list[tuple[list[ArchiveContent], str]]) -> list[int]:
    """Worker task: each item is (archives, temporary file); returns the page counts."""
    out = []
    for contents, path in items:
        if _worker["stop"].is_set():
            raise _Stopped
        out.append(render(contents, Path(path), _worker["font"], _worker_done))
    return out


