"""Reading import files: header under titles and merged cells, encodings, .xls, bad files."""

from __future__ import annotations

import codecs
from datetime import date

import pytest

from desktop.exchange import read_sheet, suggest_mapping
from desktop.services.errors import ServiceError
from tests.exchange.xls import write_xls


def test_header_found_under_title_rows_and_merged_cells(make_xlsx):
    rows = [
        ["兰化22街区社区实有人口登记表", None, None, None, None],
        ["填报单位:第1网格", None, None, "填报日期:2026年3月", None],
        [None, None, None, None, None],
        ["序号", "姓名", "身份证号码", "户号", "联系电话"],
        [1, "张三", "620104198503021234", "H001", "13800000001"],
        [2, "李四", "620104198703021228", None, None],
        [None, None, None, None, None],
        [3, "王五", "620104199003021231", "H002", 13900000002],
        ["填表人:赵六", None, None, None, None],
    ]
    path = make_xlsx(rows, merges=[(0, 0, 0, 4), (4, 3, 5, 3)])
    sh = read_sheet(path)
    assert sh.header_row == 4
    assert sh.headers == ["序号", "姓名", "身份证号码", "户号", "联系电话"]
    assert sh.title and "实有人口登记表" in sh.title
    # the blank row and the footer are gone; row numbers are those of the file
    assert sh.row_numbers == [5, 6, 8]
    # the 户号 merged down over two member rows belongs to both
    assert [r[3] for r in sh.rows] == ["H001", "H001", "H002"]
    assert sh.rows[2][4] == 13900000002


def test_two_row_header_with_group_label(make_xlsx):
    rows = [
        ["姓名", "性别", "现住址", None, None, None, "备注"],
        [None, None, "小区", "楼栋", "单元", "户室", None],
        ["张三", "男", "幸福小区", "3", "1", "101", ""],
    ]
    path = make_xlsx(rows, merges=[(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 5), (0, 6, 1, 6)])
    sh = read_sheet(path)
    assert sh.header_row == 2
    assert sh.headers == ["姓名", "性别", "小区", "楼栋", "单元", "户室", "备注"]
    assert sh.rows == [["张三", "男", "幸福小区", "3", "1", "101", None]]
    m = suggest_mapping("person", sh.headers)
    assert [m[i] for i in range(7)] == ["name", "gender", "estate", "building", "unit", "room", "note"]


def test_numbering_row_under_the_header_is_skipped(make_xlsx):
    path = make_xlsx([["姓名", "性别", "民族", "出生日期"], ["(1)", "(2)", "(3)", "(4)"], ["张三", "男", "汉", date(1985, 3, 2)]])
    sh = read_sheet(path)
    assert sh.rows == [["张三", "男", "汉", date(1985, 3, 2)]]
    assert sh.row_numbers == [3]


def test_the_sheet_with_the_data_is_chosen(make_xlsx):
    path = make_xlsx([["姓名", "公民身份号码", "性别"], ["张三", "620104198503021234", "男"]], sheet="人口",
                     extra_sheets={"说明": [["本表由社区填写"], ["请勿修改表头"]]})
    sh = read_sheet(path)
    assert sh.sheet_name == "人口" and len(sh.rows) == 1
    assert read_sheet(path, sheet_name="说明").rows  # a named sheet is read as asked
    with pytest.raises(ServiceError, match="没有名为"):
        read_sheet(path, sheet_name="不存在")


@pytest.mark.parametrize(("encoding", "bom"), [("gb18030", b""), ("gbk", b""), ("utf-8", codecs.BOM_UTF8), ("utf-8", b"")])
def test_csv_encodings_are_detected(tmp_path, encoding, bom):
    text = "姓名,身份证号,性别,出生日期,联系电话\r\n张三,620104198503021234,男,1985/3/2,13800000001\r\n" \
           "李四,=\"620104198703021228\",女,1987年3月2日,'0931-8123456\r\n"
    path = tmp_path / "people.csv"
    path.write_bytes(bom + text.encode(encoding))
    sh = read_sheet(path)
    assert sh.file_format == "csv"
    assert sh.encoding == {"gb18030": "gb18030", "gbk": "gb18030", "utf-8": "utf-8-sig" if bom else "utf-8"}[encoding]
    assert sh.headers[:2] == ["姓名", "身份证号"]
    assert sh.rows[0][:2] == ["张三", "620104198503021234"]
    assert sh.rows[1][1] == "620104198703021228" and sh.rows[1][4] == "0931-8123456"


def test_tab_separated_text_and_utf16(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "姓名\t性别\t民族\n张三\t男\t汉族\n".encode("utf-16-le"))
    sh = read_sheet(path)
    assert sh.headers == ["姓名", "性别", "民族"] and sh.rows == [["张三", "男", "汉族"]]


def test_xls_is_read(tmp_path):
    # written by tests/exchange/xls.py (a minimal BIFF8 writer; xlwt is unmaintained)
    path = write_xls(tmp_path / "old.xls", [
        ["2026年人口花名册", None, None, None],
        ["姓名", "公民身份号码", "性别", "出生日期"],
        ["张三", "620104198503021234", "男", 31108],
        ["李四", "620104198703021228", "女", 19870302],
    ], merges=[(0, 0, 0, 3)])
    sh = read_sheet(path)
    assert sh.file_format == "xls" and sh.header_row == 2
    assert sh.rows[0] == ["张三", "620104198503021234", "男", 31108.0]


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0 broken ole"])
def test_unreadable_files_give_a_chinese_error(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(ServiceError, match="无法读取文件“broken.xlsx”"):
        read_sheet(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ServiceError, match="找不到文件"):
        read_sheet(tmp_path / "none.xlsx")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ServiceError, match="没有数据"):
        read_sheet(empty)
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ServiceError, match="无法读取"):
        read_sheet(binary)
