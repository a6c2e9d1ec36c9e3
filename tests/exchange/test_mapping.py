"""Columns are mapped by their Chinese headers, with synonyms; the caller can change the mapping."""

from __future__ import annotations

import pytest

from desktop.exchange import field_choices, suggest_mapping
from desktop.kinds import import_labels
from desktop.services.errors import ServiceError


@pytest.mark.parametrize(("header", "field"), [
    ("姓名", "name"), ("名字", "name"), ("公民身份号码", "cert_no"), ("身份证号", "cert_no"), ("身份证号码", "cert_no"),
    ("证件号码", "cert_no"), ("联系电话", "phone"), ("手机号", "phone"), ("电话", "phone"), ("与户主关系", "relation"),
    ("关系", "relation"), ("现住址", "address"), ("居住地址", "address"), ("住址", "address"), ("性别", "gender"),
    ("民族", "ethnicity"), ("出生日期", "birth_date"), ("出生年月", "birth_date"), ("户号", "hh_no"), ("网格", "grid"),
    ("小区", "estate"), ("楼栋", "building"), ("栋", "building"), ("单元", "unit"), ("房号", "room"), ("户室", "room"),
    ("门牌", "room"), ("*姓名", "name"), ("姓 名", "name"), ("身份证号码(必填)", "cert_no"), ("联系电话（手机）", "phone"),
    ("户籍地址", "hukou_address"), ("文化程度", "education"), ("序号", None), ("户主身份证号", None), ("年龄", None),
])
def test_person_headers(header, field):
    assert suggest_mapping("person", [header]) == {0: field}


def test_each_field_goes_to_one_column_the_best_one():
    headers = ["网格", "网格代码", "姓名", "身份证", "身份证号码", "户主身份证号"]
    m = suggest_mapping("person", headers)
    # 网格代码 beats 网格 for the grid; of two equally good columns the first one is taken
    assert m == {0: None, 1: "grid", 2: "name", 3: "cert_no", 4: None, 5: None}


def test_shuffled_and_renamed_headers():
    headers = ["手机号码", "名字", "备注", "民族", "居民身份证号码", "关系", "所在小区", "栋号", "单元号", "房间号"]
    m = suggest_mapping("person", headers)
    assert [m[i] for i in range(len(headers))] == [
        "phone", "name", "note", "ethnicity", "cert_no", "relation", "estate", "building", "unit", "room"]


def test_other_kinds():
    assert suggest_mapping("vehicle", ["车牌号", "车主", "车主身份证号", "颜色"]) == {
        0: "plate_no", 1: "owner_name", 2: "owner_cert_no", 3: "colour"}
    assert suggest_mapping("household", ["户号", "户主姓名", "户主身份证号", "户别"]) == {
        0: "hh_no", 1: "head_name", 2: "head_cert_no", 3: "hh_type"}
    assert suggest_mapping("org_unit", ["单位名称", "统一社会信用代码", "法人"]) == {0: "name", 1: "uscc", 2: "legal_person"}
    assert suggest_mapping("visit", ["走访日期", "户号", "走访方式", "诉求"]) == {
        0: "visited_on", 1: "hh_no", 2: "method", 3: "need"}
    assert suggest_mapping("house", ["房屋地址", "房主", "面积"]) == {0: "address", 1: "owner_name", 2: "area_m2"}


def test_field_choices_for_the_mapping_ui():
    for kind in import_labels():
        choices = field_choices(kind)
        keys = [k for k, _ in choices]
        assert len(keys) == len(set(keys)) and all(label for _, label in choices)
    assert ("cert_no", "证件号码") in field_choices("person") and ("grid", "网格") in field_choices("person")
    with pytest.raises(ServiceError):
        field_choices("nonsense")
