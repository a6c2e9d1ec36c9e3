from datetime import date

import pytest

from desktop.validation import check_id_number, id_check_char, make_id_number

TODAY = date(2025, 6, 15)


def ref_check(first17: str) -> str:
    """Independent implementation of GB 11643: W_i = 2^(17-i) mod 11 for i = 0..16."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def valid(first17: str) -> str:
    return first17 + ref_check(first17)


def codes(result):
    return [i.code for i in result.errors], [i.code for i in result.warnings]


# --- literal vectors, verified by hand -----------------------------------------------------


def test_gb11643_example_is_valid():
    # The example of GB 11643-1999: 北京市朝阳区, 1949-12-31, female, check X.
    r = check_id_number("11010519491231002X", today=TODAY)
    assert r.ok, r.errors
    assert r.normalized == "11010519491231002X"
    assert r.warnings == ()
    d = r.details
    assert d["kind"] == "resident"
    assert d["birth_date"] == "1949-12-31"
    assert d["gender"] == "2" and d["gender_label"] == "女"
    assert d["region_code"] == "110105"
    assert d["region_name"] == "北京市朝阳区"
    assert d["age"] == 75
    assert d["upgraded_from_15"] is False


def test_gb11643_second_example_has_correct_check_but_is_before_1900():
    # 440524188001010014 is the standard's other example: its check character is right,
    # but the project rule rejects births before 1900 (and 440524 was withdrawn before our tables begin).
    assert id_check_char("44052418800101001") == "4"
    r = check_id_number("440524188001010014", today=TODAY)
    errors, warnings = codes(r)
    assert errors == ["id.too_old"]
    assert warnings == ["id.unknown_region"]
    assert r.details["gender"] == "1"


def test_check_char_matches_reference_for_many_bodies():
    for n in range(0, 10**17, 10**17 // 997):
        body = f"{n:017d}"
        assert id_check_char(body) == ref_check(body)


@pytest.mark.parametrize("bad", ["", "1234", "1" * 18, "1101051949123100X", "a" * 17, "１" * 17])
def test_id_check_char_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        id_check_char(bad)


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        "110105\u300019491231002X",
        "110105\t19491231\n002X",
        "\ufeff11010519491231002X",
    ],
)
def test_normalisation(raw):
    r = check_id_number(raw, today=TODAY)
    assert r.ok, r.errors
    assert r.normalized == "11010519491231002X"
    assert r.raw == raw


# --- the 15-digit legacy form --------------------------------------------------------------


def test_fifteen_digit_upgrade():
    r = check_id_number("620104850101201", today=TODAY)
    assert r.ok
    expected = valid("62010419850101201")
    assert r.normalized == expected
    assert codes(r) == ([], ["id.upgraded"])
    assert expected in r.warnings[0].message
    assert r.details["upgraded_from_15"] is True
    assert r.details["birth_date"] == "1985-01-01"
    assert r.details["gender"] == "1"
    assert r.details["region_name"] == "甘肃省兰州市西固区"


def test_fifteen_digit_with_bad_date():
    r = check_id_number("620104850230201", today=TODAY)
    assert codes(r)[0] == ["id.bad_date"]


def test_fifteen_digit_with_x_is_rejected():
    r = check_id_number("62010485010120X", today=TODAY)
    assert codes(r)[0] == ["id.bad_char"]
    assert "第15位" in r.errors[0].message


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("", "id.empty", "未填写"),
        ("   ", "id.empty", "未填写"),
        ("1101051949123100", "id.length", "实际为16位"),
        ("1101051949123100222", "id.length", "实际为19位"),
        ("11010519491231002-", "id.bad_char", "第18位“-”"),
        ("110105-19491231002X", "id.bad_char", "第7位“-”"),
        ("1101051949I231002X", "id.bad_char", "第11位“I”"),
        ("11010519491231X02X", "id.bad_char", "第15位为“X”"),
        ("110105194912310021", "id.checksum", "没有通过校验"),
        ("USA123456789012", "id.old_foreign_format", "2017年版"),
    ],
)
def test_errors(raw, code, fragment):
    r = check_id_number(raw, today=TODAY)
    assert not r.ok
    assert r.errors[0].code == code
    assert fragment in r.errors[0].message
    assert r.errors[0].field == "证件号码"
    assert r.errors[0].message.startswith("证件号码")


def test_checksum_error_wording():
    body = "62010419900101123"
    wrong = "0" if ref_check(body) != "0" else "1"
    r = check_id_number(body + wrong, today=TODAY)
    assert [i.code for i in r.errors] == ["id.checksum"]
    message = r.errors[0].message
    assert message == "证件号码没有通过校验（至少有一位输错），请对照证件逐位核对"
    # the expected check character is not given away (it would turn a typo into a valid number)
    assert ref_check(body) not in message and "应为" not in message
    assert r.normalized == body + wrong  # shape is fine, value is not
    assert r.details["birth_date"] == "1990-01-01"


def test_custom_field_label_is_used():
    r = check_id_number("123", field="户主证件号码")
    assert r.errors[0].field == "户主证件号码"
    assert r.errors[0].message.startswith("户主证件号码")


@pytest.mark.parametrize(
    ("birth", "fragment"),
    [
        ("19990230", "2月只有28天"),
        ("19990431", "4月只有30天"),
        ("19991301", "月份“13”不存在"),
        ("19990001", "月份“00”不存在"),
        ("19990100", "日期为“00”"),
        ("20230229", "2023年不是闰年"),
        ("19000229", "1900年不是闰年"),
    ],
)
def test_impossible_dates(birth, fragment):
    r = check_id_number(valid("620104" + birth + "201"), today=TODAY)
    assert [i.code for i in r.errors] == ["id.bad_date"]
    assert birth in r.errors[0].message
    assert fragment in r.errors[0].message
    assert r.details["birth_date"] is None
    assert r.details["age"] is None


@pytest.mark.parametrize("birth", ["20000229", "20240229", "19960229"])
def test_feb_29_in_leap_years(birth):
    r = check_id_number(valid("620104" + birth + "202"), today=TODAY)
    assert r.ok, r.errors


def test_feb_29_birthday_age():
    number = valid("62010420000229202")
    assert check_id_number(number, today=date(2025, 2, 28)).details["age"] == 24
    assert check_id_number(number, today=date(2025, 3, 1)).details["age"] == 25
    assert check_id_number(number, today=date(2024, 2, 29)).details["age"] == 24


def test_future_date():
    r = check_id_number(valid("62010420250616201"), today=TODAY)
    assert [i.code for i in r.errors] == ["id.future_date"]
    assert "2025-06-16" in r.errors[0].message and "2025-06-15" in r.errors[0].message
    assert r.details["age"] is None


def test_born_today_is_fine():
    r = check_id_number(valid("62010420250615201"), today=TODAY)
    assert r.ok
    assert r.details["age"] == 0


def test_today_defaults_to_real_today():
    assert check_id_number(valid("62010430000101201")).errors[0].code == "id.future_date"


@pytest.mark.parametrize(("birth", "ok"), [("18991231", False), ("19000101", True)])
def test_year_1900_boundary(birth, ok):
    r = check_id_number(valid("620104" + birth + "201"), today=TODAY)
    assert r.ok is ok
    if not ok:
        assert [i.code for i in r.errors] == ["id.too_old"]


def test_age_and_gender():
    r = check_id_number(valid("62010419900616202"), today=TODAY)
    assert r.details["age"] == 34  # birthday tomorrow
    assert r.details["gender"] == "2" and r.details["gender_label"] == "女"
    r = check_id_number(valid("62010419900615203"), today=TODAY)
    assert r.details["age"] == 35
    assert r.details["gender"] == "1" and r.details["gender_label"] == "男"


# --- regions -----------------------------------------------------------------------------------


def test_unknown_county_is_only_a_warning():
    r = check_id_number(valid("62019919900101201"), today=TODAY)
    assert r.ok
    assert codes(r) == ([], ["id.unknown_region"])
    assert "620199" in r.warnings[0].message
    assert r.details["region_name"] is None
    assert r.details["region_code"] == "620199"


def test_unknown_province_is_a_stronger_warning():
    r = check_id_number(valid("00010119900101201"), today=TODAY)
    assert r.ok
    assert codes(r) == ([], ["id.unknown_province"])
    assert "“00”" in r.warnings[0].message and "很可能有误" in r.warnings[0].message


def test_retired_county_is_known_without_warning():
    # 130223 滦县 became 滦州市 130284 in 2018; old cards keep 130223.
    r = check_id_number(valid("13022319800101201"), today=TODAY)
    assert r.ok and r.warnings == ()
    assert r.details["region_name"] == "河北省唐山市滦县"
    assert r.details["region_retired"] is True


@pytest.mark.parametrize(
    ("prefix", "name"),
    [("810000", "香港特别行政区"), ("820000", "澳门特别行政区"), ("830000", "台湾省")],
)
def test_hmt_residence_permits(prefix, name):
    r = check_id_number(valid(prefix + "19900101201"), today=TODAY)
    assert r.ok and r.warnings == ()
    assert r.details["kind"] == "hmt_residence"
    assert r.details["region_name"] == name
    assert r.details["birth_date"] == "1990-01-01"


def test_hmt_residence_permit_wrong_check():
    body = "81000019900101201"
    wrong = "0" if ref_check(body) != "0" else "1"
    r = check_id_number(body + wrong, today=TODAY)
    assert [i.code for i in r.errors] == ["id.checksum"]


def test_foreign_permanent_residence_card():
    # 9 + issuing province 11 (北京) + nationality 840 + birth date + sequence + check.
    r = check_id_number(valid("91184019850101002"), today=TODAY)
    assert r.ok and r.warnings == ()
    d = r.details
    assert d["kind"] == "foreign_permanent"
    assert d["region_code"] is None and d["region_name"] is None
    assert d["issuing_province"] == "北京市"
    assert d["nationality_code"] == "840"
    assert d["birth_date"] == "1985-01-01"
    assert d["gender"] == "2"


def test_foreign_permanent_unknown_issuing_province():
    r = check_id_number(valid("99984019850101002"), today=TODAY)
    assert r.ok
    assert codes(r) == ([], ["id.unknown_province"])


# --- agreement with typed values -------------------------------------------------------------


def test_birth_date_disagreement():
    number = valid("62010419900101201")
    assert check_id_number(number, today=TODAY, birth_date=date(1990, 1, 1)).ok
    r = check_id_number(number, today=TODAY, birth_date=date(1990, 1, 2))
    assert [i.code for i in r.errors] == ["id.birth_mismatch"]
    issue = r.errors[0]
    assert issue.field == "出生日期"
    assert issue.message.startswith("出生日期与证件号码不一致")
    assert "1990-01-02" in issue.message and "1990-01-01" in issue.message


@pytest.mark.parametrize(
    ("gender", "ok"),
    [("1", True), ("男", True), ("2", False), ("女", False), ("9", True), ("", True), (None, True)],
)
def test_gender_disagreement(gender, ok):
    r = check_id_number(valid("62010419900101201"), today=TODAY, gender=gender)
    assert r.ok is ok
    if not ok:
        assert r.errors[0].code == "id.gender_mismatch"
        assert r.errors[0].field == "性别"
        assert "第17位" in r.errors[0].message


# --- generators ------------------------------------------------------------------------------


def test_make_id_number():
    n = make_id_number("620104", date(1990, 1, 1), 201)
    assert n == valid("62010419900101201")
    assert check_id_number(n, today=TODAY).details["gender"] == "1"
    even = make_id_number("620104", date(1990, 1, 1), 0)
    assert check_id_number(even, today=TODAY).details["gender"] == "2"
    assert make_id_number("110105", date(1949, 12, 31), 2) == "11010519491231002X"


@pytest.mark.parametrize(
    ("region", "seq"),
    [("62010", 1), ("6201045", 1), ("62010a", 1), ("620104", -1), ("620104", 1000)],
)
def test_make_id_number_rejects_bad_input(region, seq):
    with pytest.raises(ValueError):
        make_id_number(region, date(1990, 1, 1), seq)


def test_result_is_json_serialisable():
    import json

    r = check_id_number("620104850101201", today=TODAY, gender="女")
    text = json.dumps(r.to_dict(), ensure_ascii=False)
    back = json.loads(text)
    assert back["ok"] is False
    assert back["normalized"] == r.normalized
    assert back["errors"][0]["code"] == "id.gender_mismatch"
    assert back["warnings"][0]["code"] == "id.upgraded"
