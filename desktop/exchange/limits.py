"""Bounds on what an import file may make the reader do, checked before the file is read.

python-calamine builds a dense grid of the rectangle that holds every cell: a 1.6 KB workbook
with one cell at A1 and one at XFD1048576 asks for 17 billion cells and aborts the process (no
exception to catch), a million-row sheet takes a gigabyte, and one 200 MB cell compresses into a
200 KB file. So before calamine sees an .xlsx / .xlsm / .ods:

- the zip directory is checked: the number of parts, each part's uncompressed size and the total
  (Python's zipfile never inflates more than the declared size, and a lying size fails its CRC);
- every worksheet's XML is streamed in 1 MiB pieces (never held whole) for its ``<dimension>``
  and the position of every cell that holds a value, giving the rectangle calamine would build;
- no text run in any XML part (a cell's text, an attribute) may be longer than an Excel cell
  can be (32,767 characters).

The limits (MAX_ROWS, MAX_COLUMNS, MAX_CELLS) are far above a community's registers — the
benchmark's 100,000-person street is 100,000 × 20 — and refusals say in Chinese what to do.
An .xls is bounded by its format (65,536 × 256) and a CSV by MAX_TEXT_FILE_BYTES; both, and
every Excel sheet, are checked again on the sheet's size before its cells become Python values.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
from xlsxwriter.utility import xl_col_to_name

from desktop.services.errors import ServiceError

MAX_ROWS = 200_000  # rows of one sheet, header and title rows included
MAX_COLUMNS = 500
MAX_CELLS = 10_000_000  # rows x columns of the rectangle the reader allocates
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_PARTS = 10_000  # files inside one workbook
MAX_PART_BYTES = 512 * 1024 * 1024  # one part, uncompressed
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # all parts, uncompressed
MAX_FILE_BYTES = 200 * 1024 * 1024  # the file on disk (.xls, .xlsx)
MAX_TEXT_FILE_BYTES = 100 * 1024 * 1024  # a CSV
# a cell of 32,767 characters is at most this many bytes of XML (entities like &#x4E00; take 8)
MAX_TEXT_RUN = MAX_CELL_CHARS * 10
CHUNK = 1 << 20

_REF = re.compile(rb"([A-Z]{1,4})([0-9]{1,8})")
_DIMENSION = re.compile(rb'dimension ref="([A-Z]{1,4}[0-9]{1,8})(?::([A-Z]{1,4}[0-9]{1,8}))?"')
# the fast path: every writer puts r= first in a cell (<c r="B7" ...>); literal prefixes keep
# these patterns at C speed (about 1.5 s for 100,000 x 20 cells; calamine itself takes 2 s)
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,4})')
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,4}([0-9]{1,8})')
# a cell without r= first (or without r= at all), and prefixed element names (<x:c>)
_ODD_CELL = re.compile(rb'<c(?:[>/]| (?!r="))')
_PREFIXED = re.compile(rb":(?:c[\s>/]|row[\s>])")
# the exact walk: cells without r= (placed after the previous one), prefixed element names, and
# only cells that hold something (a styled empty cell is not read)
_TOKEN = re.compile(rb"<(?:\w+:)?(row|c)(\s[^>]*?)?(/?)>")
_R_ATTR = re.compile(rb'\br="([A-Z]{0,4})([0-9]{1,8})"')
_LONG_RUN = re.compile(rb"<[^<]{%d}" % MAX_TEXT_RUN)


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _limits_text() -> str:
    return f"最多 {MAX_ROWS:,} 行、{MAX_COLUMNS} 列"


def check_size(rows: int, cols: int, where: str) -> None:
    """Refuse a sheet of `rows` x `cols` cells (the rectangle from A1) beyond the limits."""
    if rows > MAX_ROWS:
        raise ServiceError(f"{where}有 {rows:,} 行,超过导入上限({_limits_text()}):"
                           "请删除表格下方多余的行,或把数据分成几个文件后再导入")
    if cols > MAX_COLUMNS:
        raise ServiceError(f"{where}用到了第 {cols:,} 列(到 {xl_col_to_name(cols - 1)} 列),超过导入上限({_limits_text()}):"
                           "请删除表格右侧多余的列后再导入")
    if rows * cols > MAX_CELLS:
        raise ServiceError(f"{where}有 {rows:,} 行 × {cols} 列,单元格太多(最多 {MAX_CELLS:,} 个):"
                           "请删除多余的行和列,或把数据分成几个文件后再导入")


def check_file_size(p: Path, limit: int = MAX_FILE_BYTES) -> None:
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ServiceError(f"无法读取文件“{p.name}”:{exc.strerror or exc}") from exc
    if size > limit:
        raise ServiceError(f"文件“{p.name}”有 {size / 1048576:,.0f} MB,超过导入上限 {limit // 1048576} MB:"
                           "请把数据分成几个文件后再导入")


def check_workbook(p: Path) -> None:
    """Check a zip-based workbook (.xlsx, .xlsm, .ods) before any reader inflates it; raises
    ServiceError with a Chinese message. A file that is no zip at all is left to the reader."""
    check_file_size(p)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # the reader says what is wrong with it
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PARTS:
            raise ServiceError(f"文件“{p.name}”不是正常的 Excel 工作簿(包含 {len(infos):,} 个部件):请在 Excel 中另存后再导入")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
                raise ServiceError(f"文件“{p.name}”解压后超过 {MAX_TOTAL_BYTES // 1048576:,} MB,超过导入上限:"
                                   "请删除多余的内容,或把数据分成几个文件后再导入")
        names = _sheet_names(zf)
        try:
            for info in infos:
                name = info.filename
                # every XML part, and whatever the workbook names as a sheet (any file name): a
                # part that holds no cells costs a pass of the patterns and nothing more
                if not name.lower().endswith(".xml") and name not in names:
                    continue
                where = f"文件“{p.name}”的工作表“{names[name]}”" if name in names else f"文件“{p.name}”"
                _scan_part(zf, info, where, is_sheet=True)
                if name == "content.xml":  # OpenDocument: rows and cells repeat by a count
                    _walk_ods(zf, info, f"文件“{p.name}”")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            # a part that does not inflate to what its directory says (CRC, size): refuse it here
            raise ServiceError(f"无法读取文件“{p.name}”:文件已损坏或不是 Excel 工作簿({type(exc).__name__})") from exc


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → sheet name (for the messages); empty when the workbook part is odd."""
    try:
        wb, rels = zf.getinfo("xl/workbook.xml"), zf.getinfo("xl/_rels/workbook.xml.rels")
        if wb.file_size > 16 << 20 or rels.file_size > 16 << 20:
            return {}
        targets = {}
        for el in ElementTree.fromstring(zf.read(rels)):
            target = el.get("Target") or ""
            targets[el.get("Id")] = posixpath.normpath(target.lstrip("/") if target.startswith("/") else "xl/" + target)
        out = {}
        for el in ElementTree.fromstring(zf.read(wb)).iter():
            if el.tag.endswith("}sheet"):
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                if rid in targets:
                    out[targets[rid]] = el.get("name") or ""
        return out
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
        return {}


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, is_sheet: bool) -> None:
    rows = cols = 0  # the rectangle of the cells seen so far (1-based: counts)
    exact = False  # the fast path does not apply: walk the sheet
    first = True
    carry = b"<"  # so that a run at the very start is measured like any other
    with zf.open(info) as f:
        while True:
            piece = f.read(CHUNK)
            buf = carry + piece
            cut = max(buf.rfind(b"<"), 0) if piece else len(buf)
            part, carry = buf[:cut], buf[cut:]
            if len(carry) > MAX_TEXT_RUN or _LONG_RUN.search(part):
                _too_long(where)
            if is_sheet and first and (dim := _DIMENSION.search(part)):
                for ref in dim.groups():  # what the sheet says of itself (A1:XFD1048576)
                    if ref and (m := _REF.fullmatch(ref)):
                        check_size(int(m.group(2)), _col_index(m.group(1)) + 1, where)
            first = False
            if is_sheet and part and not exact:
                if _ODD_CELL.search(part) or _PREFIXED.search(part):
                    exact = True
                elif b'<c r="' in part:
                    cols = max(cols, max(_col_index(c) for c in set(_CELL_COLUMN.findall(part))) + 1)
                    rows = max(rows, max(map(int, set(_CELL_ROW.findall(part)))))
                    # over a limit: styled empty cells count here, so let the walk decide
                    exact = rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS
            if not piece:
                break
    if exact:
        _walk_sheet(zf, info, where)


def _walk_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> None:
    """The exact positions the way a reader assigns them: a row or cell without r= comes after
    the previous one."""
    row, col = 0, -1
    carry = b""
    with zf.open(info) as f:
        while True:
            piece = f.read(CHUNK)
            buf = carry + piece
            cut = buf.rfind(b"<") if piece else len(buf)
            part, carry = buf[: max(cut, 0)], buf[max(cut, 0):]
            for m in _TOKEN.finditer(part):
                tag, attrs, slash = m.group(1), m.group(2) or b"", m.group(3)
                r = _R_ATTR.search(attrs)
                if tag == b"row":
                    row = int(r.group(2)) if r else row + 1
                    col = -1
                    continue
                if r and r.group(1):
                    col, row = _col_index(r.group(1)), int(r.group(2))
                else:
                    col += 1
                if not slash:
                    check_size(row, col + 1, where)
            if not piece:
                break


_ODS_TOKEN = re.compile(rb"<table:(table|table-row|table-cell|covered-table-cell)(\s[^>]*?)?(/?)>")
_ROWS_REPEATED = re.compile(rb'number-rows-repeated="([0-9]{1,10})"')
_COLUMNS_REPEATED = re.compile(rb'number-columns-repeated="([0-9]{1,10})"')


def _walk_ods(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> None:
    """The rectangle of an OpenDocument sheet, with its repeated rows and cells: empty ones (the
    trailing "1,048,571 empty rows" LibreOffice writes) count for nothing, a repeated value counts
    every time."""
    row = 0  # rows before the current one
    repeat = 0  # how many times the current row repeats
    col = 0
    carry = b""
    with zf.open(info) as f:
        while True:
            piece = f.read(CHUNK)
            buf = carry + piece
            cut = max(buf.rfind(b"<"), 0) if piece else len(buf)
            part, carry = buf[:cut], buf[cut:]
            for m in _ODS_TOKEN.finditer(part):
                tag, attrs, slash = m.group(1), m.group(2) or b"", m.group(3)
                if tag == b"table":
                    row, repeat, col = 0, 0, 0
                elif tag == b"table-row":
                    row += repeat  # the previous row (and its repeats) is done
                    r = _ROWS_REPEATED.search(attrs)
                    repeat, col = (int(r.group(1)) if r else 1), 0
                else:
                    c = _COLUMNS_REPEATED.search(attrs)
                    n = int(c.group(1)) if c else 1
                    if not slash or b"value-type" in attrs:
                        check_size(row + repeat, col + n, where)
                    col += n
            if not piece:
                break


# BIFF8 records that hold a cell with a value (row, column first); MULRK holds several
_XLS_CELLS = frozenset({0x0006, 0x00FD, 0x0203, 0x027E, 0x0204, 0x0205, 0x00D6})
_XLS_MULRK, _XLS_BOF, _XLS_EOF, _XLS_BOUNDSHEET = 0x00BD, 0x0809, 0x000A, 0x0085


def check_xls(p: Path) -> None:
    """Check an .xls before calamine reads it: the rectangle of each sheet's cells from its cell
    records. A file olefile cannot open is left to the reader (it says what is wrong)."""
    check_file_size(p)
    try:
        with olefile.OleFileIO(str(p)) as ole:
            stream = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if stream is None:
                return
            data = ole.openstream(stream).read()
    except (OSError, ValueError, struct.error, IndexError, KeyError, TypeError):
        return
    names: list[str] = []
    sheet = -1  # -1: the workbook globals before the first sheet
    rows = cols = 0
    pos, end = 0, len(data)
    unpack = struct.unpack_from
    while pos + 4 <= end:
        rtype, size = unpack("<HH", data, pos)
        body, pos = pos + 4, pos + 4 + size
        if pos > end:
            break
        if rtype in _XLS_CELLS and size >= 4:
            r, c = unpack("<HH", data, body)
            rows, cols = max(rows, r + 1), max(cols, c + 1)
        elif rtype == _XLS_MULRK and size >= 6:
            r, last = unpack("<H", data, body)[0], unpack("<H", data, pos - 2)[0]
            rows, cols = max(rows, r + 1), max(cols, last + 1)
        elif rtype == _XLS_BOUNDSHEET and size >= 8:
            names.append(_xls_sheet_name(data, body + 6, size - 6))
        elif rtype == _XLS_BOF:
            sheet += 1
            rows = cols = 0
        elif rtype == _XLS_EOF and sheet >= 0:
            name = names[sheet - 1] if 0 < sheet <= len(names) else str(sheet)
            check_size(rows, cols, f"文件“{p.name}”的工作表“{name}”")
            rows = cols = 0


def _xls_sheet_name(data: bytes, at: int, size: int) -> str:
    try:
        n, wide = data[at], data[at + 1] & 1
        raw = data[at + 2: at + 2 + n * (2 if wide else 1)]
        return raw.decode("utf-16-le" if wide else "latin-1", errors="replace")
    except IndexError:
        return ""


def _too_long(where: str) -> None:
    raise ServiceError(f"{where}中有单元格的内容超过 {MAX_CELL_CHARS:,} 个字符(Excel 单元格的上限),"
                       "文件可能已损坏:请检查后另存再导入")
