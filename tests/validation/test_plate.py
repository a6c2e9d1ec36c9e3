import pytest

from desktop.validation import check_plate, code_table


@pytest.mark.parametrize(
    ("raw", "normalized", "type_code", "energy"),
    [
        ("京A12345", "京A12345", "02", False),
        ("京A·12345", "京A12345", "02", False),
        ("京a 12345", "京A12345", "02", False),
        ("京ａ１２３４５", "京A12345", "02", False),
        ("甘A-8B7C6", "甘A8B7C6", "02", False),
        ("粤B·D12345", "粤BD12345", "52", True),
        ("粤bf12345", "粤BF12345", "52", True),
        ("粤BDA1234", "粤BDA1234", "52", True),
        ("川AK12345", "川AK12345", "52", True),  # K: energy letter since 2022
        ("沪A12345D", "沪A12345D", "51", True),
        ("沪A12345F", "沪A12345F", "51", True),
        ("京A1234学", "京A1234学", "16", False),
        ("冀B1234挂", "冀B1234挂", "15", False),
        ("京A0006警", "京A0006警", "23", False),
        ("沪A1234领", "沪A1234领", "04", False),
        ("粤Z1234港", "粤Z1234港", "26", False),
        ("粤Z1234澳", "粤Z1234澳", "27", False),
        ("使014578", "使014578", "03", False),
        ("224578使", "224578使", "03", False),
    ],
)
def test_valid_plates(raw, normalized, type_code, energy):
    r = check_plate(raw)
    assert r.ok, r.errors
    assert r.normalized == normalized
    assert r.details["plate_type_code"] == type_code
    assert r.details["plate_type_code"] in code_table("plate_type")
    assert r.details["plate_type_label"] == code_table("plate_type").label(type_code)
    assert r.details["energy"] is energy


def test_details():
    d = check_plate("粤B·D12345").details
    assert d["province"] == "粤" and d["province_name"] == "广东省"
    assert d["authority"] == "B"
    assert d["plate_type_label"] == "小型新能源汽车"
    assert d["energy_kind"] == "纯电动"
    assert check_plate("沪A12345F").details["energy_kind"] == "非纯电动"
    assert check_plate("京A12345").details["energy_kind"] is None


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("", "plate.empty", "未填写"),
        ("贵A0I234", "plate.letter_io", "字母I（第4位）"),
        ("京A1234O", "plate.letter_io", "字母O（第7位）"),
        ("京IA2345", "plate.letter_io", "第2位"),
        ("XA12345", "plate.province", "第1位"),
        ("港A12345", "plate.province", "第1位“港”"),
        ("京112345", "plate.authority", "第2位"),
        ("京A1234", "plate.length", "实际为6位"),
        ("京A1234567", "plate.length", "实际为9位"),
        ("京A1234试", "plate.suffix", "第7位“试”"),
        ("京A12#45", "plate.char", "第5位“#”"),
        ("京A123456", "plate.energy_letter", "第3位"),
        ("粤BL12345", "plate.energy_letter", "字母L"),
        ("粤BD1A234", "plate.nev_small", "第5位为“A”"),
        ("沪A1234AD", "plate.nev_large", "第7位为“A”"),
        ("沪A12345L", "plate.energy_letter", "第8位“L”"),
        ("京A12345学", "plate.length", "应为7位"),
        ("使01457", "plate.embassy", "6位数字"),
    ],
)
def test_errors(raw, code, fragment):
    r = check_plate(raw)
    assert not r.ok
    assert code in [i.code for i in r.errors]
    issue = next(i for i in r.errors if i.code == code)
    assert fragment in issue.message
    assert issue.field == "号牌号码"
    assert issue.message.startswith("号牌号码")


def test_io_message_matches_house_style():
    r = check_plate("京A12I45")
    assert r.errors[0].message == "号牌号码含有字母I（第5位），号牌中不使用I和O这两个字母"


def test_hk_plate_outside_guangdong_only_warns():
    r = check_plate("京A1234港")
    assert r.ok
    assert [i.code for i in r.warnings] == ["plate.hk_macao"]


def test_every_province_abbreviation_is_accepted():
    for p in "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼":
        assert check_plate(p + "A12345").ok, p


def test_field_label():
    assert check_plate("X", field="车牌").errors[0].message.startswith("车牌")
