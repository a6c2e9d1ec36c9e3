"""Read an import file into a `Sheet`: .xlsx / .xlsm / .xls / .ods through python-calamine, .csv
in whatever encoding Chinese Excel or a web system saved it in (GB18030/GBK, UTF-8 with or
without BOM, UTF-16), detected without asking.

The header row is found below title rows (the row that names the most known fields), a second
header row under merged group labels ("现住址" over 小区 / 楼栋 / 单元 / 户室) is folded into the
first, and merged cells are filled: calamine gives a merged range's value in its top-left cell
only, while a 户号 or an address merged down over a household's member rows belongs to each row."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from xlsxwriter.utility import xl_col_to_name

import desktop.exchange.limits as limits
from desktop.exchange.fields import exact_header, known_header_score
from desktop.exchange.formulas import FORMULA_START, original
from desktop.kinds import import_labels
from desktop.services.errors import ServiceError

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
SCAN_ROWS = 40  # the header is looked for among the first rows that have content
MIN_HEADER_SCORE = 2.0
FOOTER_WORDS = ("填表人", "制表人", "审核人", "审核", "填报人", "填报单位", "填报日期", "制表日期", "制表:",
                "填表日期", "负责人签字", "统计人", "注:", "说明:", "备注:", "合计", "总计", "小计")
# after the data, a line that opens with one of these is a note, whatever it holds beside
NOTE_WORDS = ("说明", "备注", "注:", "注:")


def footer_text(cells: list[Any]) -> str | None:
    """The text of a footer row (合计/总计, 制表人/审核人/填表人/填报日期, 说明/备注 …): its first
    filled cell, spaces removed, opens with a footer word. None for a data row."""
    first = next((v for v in cells if v is not None), None)
    if not isinstance(first, str):
        return None
    head = "".join(first.split()).replace(":", ":")
    if head.startswith(FOOTER_WORDS) or head.startswith(NOTE_WORDS):
        return "".join(str(v).strip() + " " for v in cells if v is not None).strip()[:80]
    return None


@dataclass
class Sheet:
    """The data of one worksheet: `headers` (one per column), `rows` (data rows only, blank rows
    dropped, each as long as `headers`), `header_row` (1-based row of the (last) header row in
    the file) and `row_numbers` (the 1-based file row of each entry of `rows`)."""

    path: Path
    headers: list[str]
    rows: list[list[Any]]
    header_row: int
    sheet_name: str | None = None
    row_numbers: list[int] = field(default_factory=list)
    title: str | None = None  # text of the title rows above the header, if any
    file_format: str = "xlsx"  # xlsx | xls | ods | csv
    encoding: str | None = None  # csv only
    # When the file was last saved (naive UTC): an .xlsx's own "modified" property (written by
    # Excel, WPS, LibreOffice, openpyxl and the app), else the file system's modification time.
    # An import never overwrites a field edited in the app after this time without being told to.
    modified: datetime | None = None
    # When the workbook was first made (an .xlsx's "created" property; for the app's own export,
    # the moment of the export): a cell still holding the record's value of that moment was not
    # changed in the file, so it never puts back what the app changed since.
    created: datetime | None = None
    # footer rows after the data (合计, 制表人, 说明 …): (file row, text), skipped, never rejected
    footers: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.row_numbers:
            self.row_numbers = [self.header_row + 1 + i for i in range(len(self.rows))]

    def __len__(self) -> int:
        return len(self.rows)


def read_sheet(path: str | Path, *, kind: str | None = None, sheet_name: str | None = None) -> Sheet:
    """Read the sheet of `path` that holds the data (the one whose header matches best, or
    `sheet_name`). `kind` narrows the header search to that kind's fields. Raises ServiceError
    with a Chinese message when the file cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise ServiceError(f"找不到文件“{p.name}”")
    kinds = (kind,) if kind in import_labels() else None
    fmt = _format_of(p)
    if fmt == "csv":
        grid, encoding = _read_csv(p)
        sheet = _to_sheet(p, grid, [], kinds, None, "csv", encoding)
    else:
        sheet = _read_excel(p, fmt, kinds, sheet_name)
    sheet.modified = file_modified(p, fmt)
    sheet.created = core_times(p).get("created") if fmt == "xlsx" else None
    return sheet


_CORE_TIME = re.compile(rb"<dcterms:(created|modified)[^>]*>\s*([0-9T:.\-+Z ]+?)\s*</dcterms:(?:created|modified)>")


def file_modified(p: Path, fmt: str) -> datetime | None:
    """When `p` was last saved, as naive UTC: the core properties' modified time of an .xlsx
    (it travels with the file, a copy keeps it), else the file's modification time. The core
    time has whole seconds: the file system's time refines it when it lies in that second."""
    try:
        mtime: datetime | None = datetime.fromtimestamp(p.stat().st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        mtime = None
    core = core_times(p).get("modified") if fmt == "xlsx" else None
    if core is None:
        return mtime
    if mtime is not None and core <= mtime < core + timedelta(seconds=1):
        return mtime
    return core


def core_times(p: Path) -> dict[str, datetime]:
    """The "created" and "modified" core properties of an .xlsx, as naive UTC (those present)."""
    out: dict[str, datetime] = {}
    try:
        with zipfile.ZipFile(p) as z:
            info = z.getinfo("docProps/core.xml")
            if info.file_size > 1 << 20:  # the sizes were checked already; a sane bound anyway
                return out
            xml = z.read(info)
    except (KeyError, OSError, zipfile.BadZipFile):
        return out
    for m in _CORE_TIME.finditer(xml):
        try:
            when = datetime.fromisoformat(m.group(2).decode().strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        out[m.group(1).decode()] = when.astimezone(UTC).replace(tzinfo=None)
    return out


def _format_of(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return suffix.lstrip(".").replace("xlsm", "xlsx").replace("xlsb", "xlsx")
    try:
        head = p.read_bytes()[:8]
    except OSError as exc:
        raise ServiceError(f"无法读取文件“{p.name}”:{exc.strerror or exc}") from exc
    if head.startswith(b"PK"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "csv"


# --- Excel ------------------------------------------------------------------------------------

def _read_excel(p: Path, fmt: str, kinds: tuple[str, ...] | None, sheet_name: str | None) -> Sheet:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ServiceError("无法读取 Excel 文件:缺少 python-calamine 组件") from exc
    if p.suffix.lower() == ".xlsb":  # binary parts: not checked before reading, so not read
        raise ServiceError(f"不支持 .xlsb 格式的文件“{p.name}”:请在 Excel 中另存为 .xlsx 后再导入")
    # calamine allocates the whole rectangle of the cells: check it before calamine sees the file
    if fmt in ("xlsx", "ods"):
        limits.check_workbook(p)
    else:
        limits.check_xls(p)
    try:
        wb = CalamineWorkbook.from_path(str(p))
    except Exception as exc:
        raise ServiceError(_excel_error(p, exc)) from exc
    try:
        names = list(wb.sheet_names)
        if sheet_name is not None:
            if sheet_name not in names:
                raise ServiceError(f"文件“{p.name}”中没有名为“{sheet_name}”的工作表")
            names = [sheet_name]
        best: Sheet | None = None
        best_score = -1.0
        for name in names:
            try:
                sh = wb.get_sheet_by_name(name)
                # once more on what calamine found, before any cell becomes a Python value
                end = sh.end or (-1, -1)  # None only for an empty sheet
                limits.check_size(end[0] + 1 if sh.height else 0, end[1] + 1 if sh.width else 0,
                                  f"文件“{p.name}”的工作表“{name}”")
                grid = sh.to_python(skip_empty_area=False)
                merged = list(getattr(sh, "merged_cell_ranges", None) or [])
            except ServiceError:
                raise
            except Exception as exc:
                if len(names) == 1:
                    raise ServiceError(_excel_error(p, exc)) from exc
                continue
            if not any(any(v not in ("", None) for v in row) for row in grid):
                continue
            sheet = _to_sheet(p, grid, merged, kinds, name, fmt, None)
            score = known_header_score(sheet.headers, kinds)
            if score > best_score:
                best, best_score = sheet, score
        if best is None:
            raise ServiceError(f"文件“{p.name}”中没有数据")
        return best
    finally:
        close = getattr(wb, "close", None)
        if close is not None:
            close()


def _excel_error(p: Path, exc: Exception) -> str:
    text = str(exc)
    if "password" in text.lower() or type(exc).__name__ == "PasswordError":
        return f"文件“{p.name}”设置了密码保护,请在 Excel 中取消密码后再导入"
    return f"无法读取文件“{p.name}”:文件已损坏或不是 Excel 工作簿({type(exc).__name__})"


# --- CSV --------------------------------------------------------------------------------------

MAX_MESS = 0.2  # charset-normalizer's "chaos" above which a GB18030 reading is not believed


def decode_text(raw: bytes, where: str = "文件") -> tuple[str, str]:
    """Text and encoding name, decided for the whole file: a BOM first, then UTF-8, then GB18030
    (a superset of GBK), each strictly. Raises ServiceError (`where` names the file) when lines
    disagree - UTF-8 lines and GBK lines in one file, which either reading would turn into
    garbled names - or when the GB18030 reading is not plausible text (a Big5 or Shift-JIS file)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ServiceError(f"{where}不是有效的 UTF-16 文本(第 {_line_of(raw, exc.start)} 行):"
                               "请在 Excel 或记事本中另存为 UTF-8 编码的 CSV 后再导入") from exc
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_line = other_line = 0
    for n, line in enumerate(body.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_line = utf8_line or n
        except UnicodeDecodeError:
            other_line = other_line or n
        if utf8_line and other_line:
            raise ServiceError(
                f"{where}的编码前后不一致:第 {utf8_line} 行是 UTF-8 编码,第 {other_line} 行是 GBK 等其他编码,"
                f"导入会变成乱码。请在 Excel 或记事本中把整个文件另存为一种编码(建议 UTF-8)后再导入")
    if bom:
        raise ServiceError(f"{where}标明是 UTF-8 编码,但第 {other_line} 行不是:"
                           "请在 Excel 或记事本中把整个文件另存为 UTF-8 编码后再导入")
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ServiceError(f"{where}既不是 UTF-8 也不是 GBK/GB18030 编码(第 {_line_of(body, exc.start)} 行):"
                           "请在 Excel 或记事本中另存为 UTF-8 编码的 CSV 后再导入") from exc
    if not _plausible(body):
        raise ServiceError(f"{where}看起来不是 GBK/GB18030 或 UTF-8 编码(可能是繁体 Big5 等),按 GBK 读会变成乱码:"
                           "请在 Excel 或记事本中另存为 UTF-8 编码的 CSV 后再导入")
    return text, "gb18030"


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _plausible(raw: bytes) -> bool:
    """Does GB18030 read `raw` as coherent text? (charset-normalizer's measure of mess.)"""
    return from_bytes(raw, cp_isolation=["gb18030"], threshold=MAX_MESS).best() is not None


def _read_csv(p: Path) -> tuple[list[list[Any]], str]:
    limits.check_file_size(p, limits.MAX_TEXT_FILE_BYTES)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ServiceError(f"无法读取文件“{p.name}”:{exc.strerror or exc}") from exc
    if b"\x00" in raw[:4096] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ServiceError(f"无法读取文件“{p.name}”:不是文本(CSV)文件,也不是 Excel 工作簿")
    text, encoding = decode_text(raw, f"文件“{p.name}”")
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    grid: list[list[Any]] = []
    width = 0
    where = f"文件“{p.name}”"
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for rec in reader:
            if len(rec) > width:
                width = len(rec)
                limits.check_size(len(grid) + 1, width, where)
            if len(grid) % 4096 == 0 or len(grid) >= limits.MAX_ROWS:
                limits.check_size(len(grid) + 1, width, where)
            if rec and max(map(len, rec)) > limits.MAX_CELL_CHARS:
                c, v = next((c, v) for c, v in enumerate(rec) if len(v) > limits.MAX_CELL_CHARS)
                raise ServiceError(
                    f"{where}第 {reader.line_num} 行第 {xl_col_to_name(c)} 列的内容有 {len(v):,} 个字符,"
                    f"超过单元格上限 {limits.MAX_CELL_CHARS:,} 个字符:请检查这一格(可能缺少引号或文件已损坏)")
            grid.append([_csv_cell(v) for v in rec])
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # longer still than the check above
            raise ServiceError(f"{where}第 {reader.line_num} 行有一格的内容超过单元格上限 {limits.MAX_CELL_CHARS:,} 个字符:"
                               "请检查这一行(可能缺少引号或文件已损坏)") from exc
        raise ServiceError(f"无法读取文件“{p.name}”:第 {reader.line_num} 行 CSV 格式有误({exc})") from exc
    if not grid:
        raise ServiceError(f"文件“{p.name}”中没有数据")
    return grid, encoding


def _csv_cell(v: str) -> Any:
    # Excel's ways of keeping digits as text: ="0931..." and a leading apostrophe
    if v.startswith('="') and v.endswith('"'):
        v = v[2:-1]
    elif v.startswith("'") and v[1:2].isdigit():
        v = v[1:]
    return v


# --- header detection -------------------------------------------------------------------------

def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str:
    if _blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return original(str(v)).strip()


def _to_sheet(
    p: Path, grid: list[list[Any]], merged: list[Any], kinds: tuple[str, ...] | None,
    sheet_name: str | None, fmt: str, encoding: str | None,
) -> Sheet:
    width = max((len(r) for r in grid), default=0)
    # the header search sees merged ranges filled in whole
    scan: list[tuple[int, list[Any]]] = []
    filled_top = [list(r) + [None] * (width - len(r)) for r in grid[: SCAN_ROWS * 3]]
    _fill(filled_top, merged, whole=True, limit=len(filled_top))
    for i, row in enumerate(filled_top):
        if any(not _blank(v) for v in row):
            scan.append((i, row))
        if len(scan) >= SCAN_ROWS:
            break
    if not scan:
        raise ServiceError(f"文件“{p.name}”中没有数据")
    best_i, best_score = scan[0][0], -1.0
    for i, row in scan:
        score = known_header_score([_text(v) for v in row], kinds)
        if score > best_score:
            best_i, best_score = i, score
    if best_score < MIN_HEADER_SCORE:
        best_i = scan[0][0]
    top = [_text(v) for v in filled_top[best_i]]
    header_end = best_i
    # a second header row (sub-headers under merged group labels)
    if best_i + 1 < len(filled_top):
        below = [_text(v) for v in filled_top[best_i + 1]]
        subs = [c for c, v in enumerate(below) if v and v != top[c] and exact_header(kinds, v)]
        if subs and not any(v and not exact_header(kinds, v) and v != top[c] for c, v in enumerate(below)):
            top = [below[c] or top[c] for c in range(width)]
            header_end = best_i + 1
    title_rows = [_text(v) for i, row in scan if i < best_i for v in row if not _blank(v)]
    title = "".join(dict.fromkeys(title_rows)) or None
    # data rows: merged ranges fill downwards in their first column
    rows = grid if all(len(r) == width for r in grid) else [list(r) + [None] * (width - len(r)) for r in grid]
    _fill(rows, merged, whole=False, limit=len(rows), start=header_end + 1)
    _fill(rows, merged, whole=True, limit=header_end + 1)
    data: list[list[Any]] = []
    numbers: list[int] = []
    footers: list[tuple[int, str]] = []
    first = header_end + 1
    for i in range(first, len(rows)):
        # blank cells (None, "", spaces) become None; one pass, no call per cell
        cells = [None if v is None or v == "" or (v.__class__ is str and v.isspace()) else v for v in rows[i]]
        # an apostrophe before a formula character (our exports put it there): the original text
        if any(v.__class__ is str and v[0] == "'" and v[1:2] in FORMULA_START for v in cells if v is not None):
            cells = [original(v) if v.__class__ is str else v for v in cells]
        blanks = cells.count(None)
        if blanks == width:
            continue
        foot = footer_text(cells) if data or blanks >= width - 2 else None
        if foot is not None:
            footers.append((i + 1, foot))
            continue
        if blanks >= width - 2:
            filled = [v for v in cells if v is not None]
            if i == first and _is_numbering(filled):
                continue
        elif i == first and _is_numbering([v for v in cells if v is not None]):
            continue
        data.append(cells)
        numbers.append(i + 1)
    # drop columns that are empty in the header and in every data row
    last = width
    while last > 0 and not top[last - 1] and all(r[last - 1] is None for r in data):
        last -= 1
    headers = [top[c] or f"第{xl_col_to_name(c)}列" for c in range(last)]
    if last < width:
        data = [r[:last] for r in data]
    sheet = Sheet(p, headers, data, header_end + 1, sheet_name, numbers, title, fmt, encoding)
    sheet.footers = footers
    return sheet


def _fill(rows: list[list[Any]], merged: list[Any], *, whole: bool, limit: int, start: int = 0) -> None:
    for rng in merged:
        try:
            (r0, c0), (r1, c1) = rng
        except (TypeError, ValueError):
            continue
        if r0 >= limit or r0 >= len(rows):
            continue
        if not whole and r0 < start:
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else None
        if _blank(value):
            continue
        for r in range(r0, min(r1, limit - 1, len(rows) - 1) + 1):
            for c in range(c0, (c1 if whole else c0) + 1):
                if c < len(rows[r]) and _blank(rows[r][c]):
                    rows[r][c] = value


_NUMBERING = re.compile(r"^[((]?\d{1,2}[))]?$")


def _is_numbering(values: list[Any]) -> bool:
    """A row of column numbers under the header ("1 2 3 …" or "(1) (2) …")."""
    if len(values) < 3:
        return False
    nums = []
    for v in values:
        t = _text(v)
        if not _NUMBERING.match(t):
            return False
        nums.append(int(re.sub(r"\D", "", t)))
    return nums == list(range(nums[0], nums[0] + len(nums)))
