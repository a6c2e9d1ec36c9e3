"""Writing .xlsx with xlsxwriter: a title row, a styled header row (bold, fill, borders, widths)
frozen under the title, cells streamed row by row in constant-memory mode (100,000 rows x 30
columns stay at a few MB of memory). Every text goes through `formulas.inert`: no formula-shaped
value leaves the app live."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from desktop.exchange.formulas import inert
from desktop.services.errors import ServiceError

HEADER_FILL = "#DDEBF7"
TITLE_SIZE = 14


@dataclass(frozen=True)
class Col:
    title: str
    width: float = 12  # in characters (a Chinese character counts about 2)
    kind: str = "text"  # text | date | number | int


class Workbook:
    """A workbook written to a temporary file beside `path` and renamed onto it by `close()`
    (or, when something must happen in between, `close(publish=False)`, then `publish()`):
    `path` is never half-written, and a failed write leaves a file already there alone.
    `discard()` removes the temporary file (safe to call at any point)."""

    def __init__(self, path: str | Path, *, constant_memory: bool = True) -> None:
        try:
            import xlsxwriter
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ServiceError("无法写入 Excel 文件:缺少 xlsxwriter 组件") from exc
        self.path = Path(path)
        if self.path.suffix.lower() != ".xlsx":
            raise ServiceError(f"请保存为 .xlsx 文件(现为“{self.path.name}”)")
        if self.path.parent and not self.path.parent.exists():
            raise ServiceError(f"文件夹不存在:{self.path.parent}")
        if self.path.is_dir():
            raise ServiceError(f"{self.path} 是一个文件夹:请给出 .xlsx 文件名")
        self.temp = self.path.with_name(f".~gridledger-{uuid.uuid4().hex[:10]}.xlsx")
        self.closed = False
        self.wb = xlsxwriter.Workbook(
            str(self.temp), {"constant_memory": constant_memory, "strings_to_numbers": False,
                             "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.wb.set_properties({"title": self.path.stem, "comments": "GridLedger 网格台账"})
        font = "宋体"
        self.f_title = self.wb.add_format({"bold": True, "font_size": TITLE_SIZE, "font_name": font,
                                           "align": "left", "valign": "vcenter"})
        self.f_head = self.wb.add_format({"bold": True, "bg_color": HEADER_FILL, "border": 1, "font_name": font,
                                          "align": "center", "valign": "vcenter", "text_wrap": True})
        self.f_text = self.wb.add_format({"font_name": font, "num_format": "@"})
        self.f_date = self.wb.add_format({"font_name": font, "num_format": "yyyy-mm-dd"})
        self.f_num = self.wb.add_format({"font_name": font})
        self.f_bad = self.wb.add_format({"font_name": font, "bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.f_note = self.wb.add_format({"font_name": font, "font_color": "#9C0006", "text_wrap": True})
        self.f_plain = self.wb.add_format({"font_name": font})

    def sheet(self, name: str, cols: Sequence[Col], *, title: str | None = None) -> SheetWriter:
        ws = self.wb.add_worksheet(name[:31])
        return SheetWriter(self, ws, list(cols), title)

    def close(self, *, publish: bool = True) -> None:
        self.closed = True
        try:
            self.wb.close()
        except Exception as exc:  # disk full, folder not writable...
            self.discard()
            raise ServiceError(f"无法保存文件“{self.path.name}”:{exc}") from exc
        if publish:
            self.publish()

    def publish(self) -> None:
        """Rename the finished temporary file onto `path`."""
        try:
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise ServiceError(f"无法保存文件“{self.path.name}”:{exc.strerror or exc}。"
                               "如果文件正在 Excel 中打开,请先关闭后重试。") from exc

    def discard(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.wb.close()
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)


class SheetWriter:
    def __init__(self, book: Workbook, ws: Any, cols: list[Col], title: str | None) -> None:
        self.book = book
        self.ws = ws
        self.cols = cols
        for i, c in enumerate(cols):
            fmt = book.f_date if c.kind == "date" else (book.f_text if c.kind == "text" else book.f_num)
            ws.set_column(i, i, c.width, fmt)
        row = 0
        if title:
            ws.set_row(0, 24)
            if len(cols) > 1:
                ws.merge_range(0, 0, 0, len(cols) - 1, inert(title), book.f_title)
            else:
                ws.write_string(0, 0, inert(title), book.f_title)
            row = 1
        ws.set_row(row, 30)
        for i, c in enumerate(cols):
            ws.write_string(row, i, inert(c.title), book.f_head)
        ws.freeze_panes(row + 1, 0)
        self.header_row = row
        self.row = row + 1
        self._writers = [self._writer(c.kind) for c in cols]

    def _writer(self, kind: str) -> Any:
        ws, book = self.ws, self.book
        if kind == "date":
            def w(r: int, c: int, v: Any) -> None:
                if isinstance(v, datetime | date):
                    ws.write_datetime(r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day), book.f_date)
                else:
                    ws.write_string(r, c, inert(str(v)), book.f_text)
            return w
        if kind in ("number", "int"):
            def w(r: int, c: int, v: Any) -> None:
                if isinstance(v, int | float) and not isinstance(v, bool):
                    ws.write_number(r, c, v, book.f_num)
                else:
                    ws.write_string(r, c, inert(str(v)), book.f_text)
            return w

        def text(r: int, c: int, v: Any) -> None:
            ws.write_string(r, c, inert(v if isinstance(v, str) else str(v)), book.f_text)
        return text

    def write(self, values: Sequence[Any]) -> None:
        r = self.row
        for c, v in enumerate(values):
            if v is None or v == "":
                continue
            self._writers[c](r, c, v)
        self.row += 1

    def write_raw(self, values: Iterable[Any], *, bad: set[int] | None = None, note_col: int | None = None) -> None:
        """Original cell values as they were read (numbers stay numbers, dates stay dates)."""
        ws, book, r = self.ws, self.book, self.row
        for c, v in enumerate(values):
            fmt = book.f_bad if bad and c in bad else None
            if c == note_col:
                ws.write_string(r, c, inert(str(v or "")), book.f_note)
            elif v is None or v == "":
                if fmt is not None:
                    ws.write_blank(r, c, None, fmt)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v, fmt or book.f_plain)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v, fmt or book.f_plain)
            elif isinstance(v, datetime | date):
                d = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
                ws.write_datetime(r, c, d, fmt or book.f_date)
            else:
                ws.write_string(r, c, inert(str(v)), fmt or book.f_text)
        self.row += 1

    def autofilter(self) -> None:
        if self.row > self.header_row + 1:
            self.ws.autofilter(self.header_row, 0, self.row - 1, len(self.cols) - 1)


def width_for(title: str, sample: Iterable[Any] = ()) -> float:
    """A column width from the title and a few values: CJK characters count double."""
    def w(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    best = w(title) + 2
    for v in sample:
        if v is not None:
            best = max(best, w(str(v)) + 2)
    return float(min(max(best, 6), 60))
