"""A minimal Excel 97-2003 (.xls, BIFF8 in an OLE2 compound file) writer for the tests.

xlwt is unmaintained, so the tests make their .xls files with this: one worksheet of strings,
numbers and merged ranges - enough to check that imports read .xls (through python-calamine)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SECTOR = 512
ENDOFCHAIN, FREESECT, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def _rec(rtype: int, data: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def _ustr(text: str, *, len_bytes: int = 2) -> bytes:
    raw = text.encode("utf-16-le")
    head = struct.pack("<H" if len_bytes == 2 else "<B", len(text))
    return head + b"\x01" + raw


def _workbook_stream(rows: Sequence[Sequence[Any]], merges: Sequence[tuple[int, int, int, int]], name: str) -> bytes:
    strings: list[str] = []
    index: dict[str, int] = {}
    cells = []
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                if v not in index:
                    index[v] = len(strings)
                    strings.append(v)
                cells.append(_rec(0x00FD, struct.pack("<HHHI", r, c, 15, index[v])))  # LABELSST
            else:
                cells.append(_rec(0x0203, struct.pack("<HHHd", r, c, 15, float(v))))  # NUMBER
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(_ustr(s) for s in strings)
    assert len(sst) < 8224, "test workbook too large for one SST record"
    font = struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + _ustr("Arial", len_bytes=1)
    xf_style = struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    xf_cell = struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    globals_head = b"".join([
        _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0006)),  # BOF
        _rec(0x0042, struct.pack("<H", 1200)),  # CODEPAGE: UTF-16
        _rec(0x003D, struct.pack("<HHHHHHHHH", 0, 0, 0x4000, 0x3000, 0x38, 0, 0, 1, 0x258)),  # WINDOW1
        *[_rec(0x0031, font) for _ in range(5)],
        *[_rec(0x00E0, xf_style) for _ in range(15)],
        _rec(0x00E0, xf_cell),
        _rec(0x0293, struct.pack("<HBB", 0x8000, 0, 0xFF)),  # STYLE (Normal)
    ])
    sheet_name = _ustr(name, len_bytes=1)
    boundsheet_len = 4 + 6 + len(sheet_name)
    tail = _rec(0x00FC, sst) + _rec(0x000A, b"")  # SST, EOF
    offset = len(globals_head) + boundsheet_len + len(tail)
    boundsheet = _rec(0x0085, struct.pack("<IBB", offset, 0, 0) + sheet_name)
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    sheet = [
        _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x0006)),
        _rec(0x0200, struct.pack("<IIHHH", 0, n_rows, 0, n_cols, 0)),  # DIMENSIONS
        *cells,
    ]
    if merges:
        data = struct.pack("<H", len(merges)) + b"".join(struct.pack("<HHHH", r0, r1, c0, c1) for r0, c0, r1, c1 in merges)
        sheet.append(_rec(0x00E5, data))  # MERGEDCELLS
    sheet.append(_rec(0x000A, b""))
    return globals_head + boundsheet + tail + b"".join(sheet)


def _dir_entry(name: str, etype: int, start: int, size: int, *, child: int = FREESECT) -> bytes:
    raw = (name + "\0").encode("utf-16-le") if name else b""
    entry = raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), etype, 1)  # name, size, type, colour black
    entry += struct.pack("<III", FREESECT, FREESECT, child)  # left, right, child
    entry += b"\0" * 16 + b"\0" * 4 + b"\0" * 16  # clsid, state bits, times
    entry += struct.pack("<IQ", start, size)
    assert len(entry) == 128
    return entry


def write_xls(path: str | Path, rows: Sequence[Sequence[Any]], *, merges: Sequence[tuple[int, int, int, int]] = (),
              sheet_name: str = "Sheet1") -> Path:
    """`rows` of str / int / float / None; `merges` as (first row, first col, last row, last col), 0-based."""
    stream = _workbook_stream(rows, merges, sheet_name)
    if len(stream) < 4096:  # smaller streams would live in the mini stream: pad past the cutoff
        stream += b"\0" * (4096 - len(stream))
    n_data = -(-len(stream) // SECTOR)
    # layout: sector 0 = FAT, 1 = directory, 2.. = workbook stream
    fat = [FATSECT, ENDOFCHAIN] + [i + 3 for i in range(n_data - 1)] + [ENDOFCHAIN]
    assert len(fat) <= SECTOR // 4
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108
    assert len(header) == SECTOR
    directory = _dir_entry("Root Entry", 5, ENDOFCHAIN, 0, child=1) + _dir_entry("Workbook", 2, 2, len(stream))
    directory += _dir_entry("", 0, FREESECT, 0) * 2
    data = header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory + stream.ljust(n_data * SECTOR, b"\0")
    p = Path(path)
    p.write_bytes(data)
    return p
