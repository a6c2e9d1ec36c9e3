"""Bounded reading: a tiny crafted workbook must not abort the process, huge sheets and cells are
refused with a Chinese message before they are read (items 11 and 22 of the hardening issue)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.exchange import limits, read_sheet
from desktop.services.errors import ServiceError
from tests.exchange.crafted import crafted_xlsx

ROOT = Path(__file__).resolve().parents[2]


def _cli(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), GRIDLEDGER_DB=str(tmp_path / "cli.db"))
    return subprocess.run([sys.executable, "-m", "desktop.cli", *argv], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)


def test_two_far_apart_cells_are_refused_not_an_abort(tmp_path):
    # 1.6 KB: calamine would allocate A1:XFD1048576 (17 billion cells) and abort the process
    path = crafted_xlsx(tmp_path / "far.xlsx", [("A1", "姓名"), ("XFD1048576", "x")])
    assert path.stat().st_size < 2000
    done = _cli("import", str(path), "--kind", "person", "--dry-run", tmp_path=tmp_path)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "far.xlsx" in done.stderr and "人员" in done.stderr and "行" in done.stderr
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr


def test_a_dimension_over_the_whole_sheet_is_refused(tmp_path):
    path = crafted_xlsx(tmp_path / "dim.xlsx", dimension="A1:XFD1048576")
    with pytest.raises(ServiceError, match="超过导入上限") as caught:
        read_sheet(path)
    assert "dim.xlsx" in caught.value.message and "1,048,576 行" in caught.value.message


def test_cells_without_their_position_are_counted_too(tmp_path):
    # no r= on the cells: the second row's cells run out to column 600
    rows = ['<row r="1"><c t="inlineStr"><is><t>姓名</t></is></c></row>',
            '<row r="2">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 600 + "</row>"]
    path = crafted_xlsx(tmp_path / "wide.xlsx", rows_xml=rows)
    with pytest.raises(ServiceError, match="列"):
        read_sheet(path)


def test_more_rows_than_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 2_000)
    rows = (f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>人{r}</t></is></c></row>' for r in range(1, 2_002))
    path = crafted_xlsx(tmp_path / "long.xlsx", rows_xml=rows)
    with pytest.raises(ServiceError, match="2,001 行") as caught:
        read_sheet(path)
    assert "分成几个文件" in caught.value.message


def test_a_million_rows_are_refused_at_the_real_limit(tmp_path):
    rows = (f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, limits.MAX_ROWS + 2))
    path = crafted_xlsx(tmp_path / "million.xlsx", rows_xml=rows)
    with pytest.raises(ServiceError, match="超过导入上限"):
        read_sheet(path)


def test_one_huge_cell_in_a_small_file_is_refused(tmp_path):
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>',
            '<row r="2"><c r="A2" t="inlineStr"><is><t>', "A" * (8 << 20), "</t></is></c></row>"]
    path = crafted_xlsx(tmp_path / "cell.xlsx", rows_xml=rows)
    assert path.stat().st_size < 100_000
    with pytest.raises(ServiceError, match="32,767 个字符"):
        read_sheet(path)


def test_csv_rows_columns_and_cells_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 100)
    long = tmp_path / "long.csv"
    long.write_text("姓名\n" + "张三\n" * 150, encoding="utf-8")
    with pytest.raises(ServiceError, match="超过导入上限"):
        read_sheet(long)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(["x"] * 600) + "\n", encoding="utf-8")
    with pytest.raises(ServiceError, match="列"):
        read_sheet(wide)
    cell = tmp_path / "cell.csv"
    cell.write_text("姓名,备注\n张三," + "长" * 40_000 + "\n", encoding="utf-8")
    with pytest.raises(ServiceError, match="第 2 行") as caught:
        read_sheet(cell)
    assert "32,767" in caught.value.message


def test_ordinary_files_still_read(tmp_path, make_xlsx):
    path = make_xlsx([["姓名", "身份证号"], ["张三", "1"], [None, None], ["李四", "2"]])
    assert len(read_sheet(path).rows) == 2
    assert len(read_sheet(crafted_xlsx(tmp_path / "plain.xlsx", dimension="A1:A2")).rows) == 1


def _ods(path: Path, rows_xml: str) -> Path:
    import zipfile

    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="人员">' + rows_xml +
               "</table:table></office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" '
                   'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   "</manifest:manifest>")
    return path


def _ods_cell(text: str, repeat: int = 1) -> str:
    rep = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell office:value-type="string"{rep}><text:p>{text}</text:p></table:table-cell>'


def test_repeated_rows_and_cells_of_an_ods_are_bounded(tmp_path, monkeypatch):
    import python_calamine

    # 5,000 rows x 3,000 columns of one repeated value: 15 million cells from a few hundred bytes
    path = _ods(tmp_path / "rep.ods", "<table:table-row>" + _ods_cell("姓名") + "</table:table-row>"
                '<table:table-row table:number-rows-repeated="5000">' + _ods_cell("x", 3000) + "</table:table-row>")
    with monkeypatch.context() as m:  # refused before the reader allocates them
        m.setattr(python_calamine, "CalamineWorkbook", None)
        with pytest.raises(ServiceError, match="超过导入上限") as caught:
            read_sheet(path)
    assert "rep.ods" in caught.value.message
    # LibreOffice's own trailing empty rows and columns count for nothing
    fine = _ods(tmp_path / "fine.ods", "<table:table-row>" + _ods_cell("姓名") + "</table:table-row><table:table-row>"
                + _ods_cell("张三") + '<table:table-cell table:number-columns-repeated="16383"/></table:table-row>'
                '<table:table-row table:number-rows-repeated="1048574"><table:table-cell '
                'table:number-columns-repeated="16384"/></table:table-row>')
    assert read_sheet(fine).rows == [["张三"]]


def test_a_sheet_part_anywhere_in_the_zip_is_measured(tmp_path):
    import zipfile

    path = crafted_xlsx(tmp_path / "moved.xlsx", [("A1", "姓名"), ("XFD1048576", "x")])
    moved = tmp_path / "moved2.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            name = info.filename
            if name == "xl/worksheets/sheet1.xml":
                name = "xl/data/cells.bin"
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"worksheets/sheet1.xml", b"/xl/data/cells.bin")
            elif name == "[Content_Types].xml":
                data = data.replace(b"/xl/worksheets/sheet1.xml", b"/xl/data/cells.bin")
            dst.writestr(name, data)
    with pytest.raises(ServiceError, match="超过导入上限") as caught:
        read_sheet(moved)
    assert "人员" in caught.value.message


def test_a_styled_empty_cell_far_away_is_no_reason_to_refuse(tmp_path):
    # formatting without a value (calamine does not read it): the sheet is still two rows
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>',
            '<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c></row>',
            '<row r="1048576"><c r="XFD1048576" s="0"/></row>']
    assert read_sheet(crafted_xlsx(tmp_path / "styled.xlsx", rows_xml=rows)).rows == [["张三"]]


def test_an_xls_is_measured_before_it_is_read(tmp_path, monkeypatch):
    import python_calamine

    from tests.exchange.xls import write_xls

    # 5 KB: one cell at A1, one at IV65536 - calamine would build 16.7 million cells (over 1 GB)
    path = write_xls(tmp_path / "far.xls", [["姓名"]] + [[] for _ in range(65534)] + [[None] * 255 + ["x"]],
                     sheet_name="人员")
    assert path.stat().st_size < 10_000
    with monkeypatch.context() as m:  # refused before the reader allocates them
        m.setattr(python_calamine, "CalamineWorkbook", None)
        with pytest.raises(ServiceError, match="单元格太多") as caught:
            read_sheet(path)
    assert "far.xls" in caught.value.message and "人员" in caught.value.message
    ok = write_xls(tmp_path / "ok.xls", [["姓名", "户号"], ["张三", "H1"]])
    assert read_sheet(ok).rows == [["张三", "H1"]]
