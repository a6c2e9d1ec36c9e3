"""Tiny hostile workbooks built by hand with zipfile: what no office program writes, but a file
from anywhere can hold."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WB = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="人员" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def crafted_xlsx(path: Path, cells: Iterable[tuple[str, str]] = (("A1", "姓名"), ("A2", "张三")), *,
                 dimension: str | None = None, rows_xml: Iterable[str] | None = None) -> Path:
    """An .xlsx whose one sheet (人员) holds `cells` ((ref, text), one row each, in order), or the
    `rows_xml` pieces as they are (streamed: a million rows stay small in memory)."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}">'
    if dimension:
        head += f'<dimension ref="{dimension}"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write((head + "<sheetData>").encode())
            if rows_xml is None:
                rows_xml = (f'<row r="{"".join(ch for ch in ref if ch.isdigit())}">{_cell(ref, v)}</row>' for ref, v in cells)
            for piece in rows_xml:
                f.write(piece.encode())
            f.write(b"</sheetData></worksheet>")
    return path
