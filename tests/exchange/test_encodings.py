"""A CSV's encoding is decided for the whole file with a confidence check: lines in different
encodings (UTF-8 rows pasted under GBK ones) or an encoding that is neither (Big5) are refused
with a Chinese message instead of imported as garbled names (item 17 of the hardening issue)."""

from __future__ import annotations

import pytest

from desktop.cli import main
from desktop.exchange import read_sheet
from desktop.services.errors import ServiceError

HEAD = "姓名,户号,小区\n"


def _mixed(tmp_path):
    path = tmp_path / "混合.csv"
    path.write_bytes((HEAD + "张三,H1,幸福小区\n").encode("gbk") + "李四,H2,兰化小区\n王五,H3,西固小区\n".encode())
    return path


def test_lines_in_two_encodings_are_refused(tmp_path):
    with pytest.raises(ServiceError, match="编码") as caught:
        read_sheet(_mixed(tmp_path))
    message = caught.value.message
    assert "混合.csv" in message and "第 3 行" in message and "UTF-8" in message and "GBK" in message
    # the other way round too: UTF-8 first, GBK later
    path = tmp_path / "mixed2.csv"
    path.write_bytes((HEAD + "张三,H1,幸福小区\n").encode("utf-8") + "李四,H2,兰化小区\n".encode("gbk"))
    with pytest.raises(ServiceError, match="第 3 行"):
        read_sheet(path)


def test_a_utf8_bom_file_with_gbk_lines_is_refused(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + "张三,H1,幸福小区\n").encode("utf-8") + "李四,H2,兰化小区\n".encode("gbk"))
    with pytest.raises(ServiceError, match="编码"):
        read_sheet(path)


def test_an_encoding_that_is_neither_is_refused(tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes("姓名,身份證號,戶號,社區\n張三,620104198503021234,H001,幸福社區\n李四,,H001,蘭化二十二街區\n"
                     .encode("big5"))
    with pytest.raises(ServiceError, match="编码"):
        read_sheet(path)


def test_ascii_lines_agree_with_either(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes((HEAD + "张三,H1,幸福小区\n").encode("gbk") + b"Tom,H2,A\n" + "李四,H3,兰化小区\n".encode("gbk"))
    assert [r[0] for r in read_sheet(path).rows] == ["张三", "Tom", "李四"]


def test_the_cli_refuses_it_with_exit_2(tmp_path, capsys):
    code = main(["--db", str(tmp_path / "x.db"), "import", str(_mixed(tmp_path)), "--kind", "person", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "编码" in err and "Traceback" not in err
