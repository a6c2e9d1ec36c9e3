
import pytest

from desktop.validation import region_name
from desktop.validation.regions import (
    _table,
    counties,
    is_known,
    is_retired,
    province_name,
    provinces,
)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("620104", "甘肃省兰州市西固区"),
        ("110101", "北京市东城区"),
        ("310115", "上海市浦东新区"),
        ("500229", "重庆市城口县"),
        ("120116", "天津市滨海新区"),
        ("419001", "河南省济源市"),
        ("659001", "新疆维吾尔自治区石河子市"),
        ("441900", "广东省东莞市"),
        ("620100", "甘肃省兰州市"),
        ("620000", "甘肃省"),
        ("110000", "北京市"),
        ("810000", "香港特别行政区"),
        ("130223", "河北省唐山市滦县"),  # retired, still named
        ("371202", "山东省莱芜市莱城区"),  # retired county under a retired prefecture
    ],
)
def test_region_name(code, name):
    assert region_name(code) == name


@pytest.mark.parametrize(
    "code", ["620199", "000000", "62010", "6201045", "abcdef", "", None, 620104]
)
def test_unknown_or_malformed(code):
    assert region_name(code) is None
    assert not is_known(code)


def test_province_name():
    assert province_name("620104") == "甘肃省"
    assert province_name("62") == "甘肃省"
    assert province_name("990000") is None
    assert province_name("") is None


def test_retired_flag():
    assert is_retired("130223")
    assert not is_retired("130284")
    assert is_known("130284")


def test_counties_for_generator():
    items = counties()
    assert len(items) > 2800
    codes = [c for c, _ in items]
    assert codes == sorted(codes)
    assert ("620104", "甘肃省兰州市西固区") in items
    assert all(not name.endswith("市辖区") for _, name in items)
    assert all(not is_retired(c) for c in codes)
    assert len(counties(include_retired=True)) > len(items)


def test_provinces():
    names = dict(provinces())
    assert len(names) == 34
    assert names["650000"] == "新疆维吾尔自治区"


def test_table_loads_once():
    # speed belongs in `make bench`, not in a timed unit test; here: the table is cached
    _table.cache_clear()
    first = _table()
    assert _table() is first
