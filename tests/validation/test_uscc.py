import pytest

from desktop.validation import check_uscc, uscc_check_char

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ref_check(first17: str) -> str:
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return ALPHABET[(31 - total % 31) % 31]


def test_weights_are_the_published_ones():
    published = "1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28"
    assert " ".join(str(pow(3, i, 31)) for i in range(17)) == published


@pytest.mark.parametrize("code", ["91110000802100433B", "91110000600037341L"])
def test_known_real_codes(code):
    # Public codes of large enterprises in Beijing; verified with the reference algorithm.
    assert ref_check(code[:17]) == code[17]
    r = check_uscc(code)
    assert r.ok and r.warnings == ()
    assert r.details["authority_label"] == "工商"
    assert r.details["org_type_label"] == "企业"
    assert r.details["region_name"] == "北京市"


def test_normalisation():
    r = check_uscc(" 9111 0000 8021 0043 3b ")
    assert r.ok
    assert r.normalized == "91110000802100433B"
    assert check_uscc("９１１１００００８０２１００４３３Ｂ").normalized == "91110000802100433B"


def test_letters_in_first_two_positions_are_allowed():
    # stdnum.cn.uscc wrongly requires 8 leading digits; an N2 (村级集体经济组织) code must pass.
    body = "N2620104" + "MA1234560"[:8]
    from desktop.validation.uscc import org_code_check_char

    body = body + org_code_check_char(body[8:16])
    code = body + ref_check(body)
    r = check_uscc(code)
    assert r.ok, r.errors
    assert r.warnings == ()
    assert r.details["authority_label"] == "农业"
    assert r.details["org_type_label"] == "村级集体经济组织"
    assert r.details["region_name"] == "甘肃省兰州市西固区"


def test_uscc_check_char_matches_reference():
    for body in [
        "91110000802100433",
        "12100000400000624",
        "N2620104MA1234564",
        "Y1000000000000000",
    ]:
        assert uscc_check_char(body) == ref_check(body)
    with pytest.raises(ValueError):
        uscc_check_char("9111000080210043I")


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("", "uscc.empty", "未填写"),
        ("911100008021004335", "uscc.checksum", "第18位校验码应为B，实际为5"),
        ("91110000802I00433B", "uscc.forbidden_letter", "第12位为字母I"),
        ("9111000080210043OB", "uscc.forbidden_letter", "第17位为字母O"),
        ("91110000S02100433B", "uscc.forbidden_letter", "第9位为字母S"),
        ("91110000802100433", "uscc.length", "实际为17位"),
        ("91110000802100433B1", "uscc.length", "实际为19位"),
        ("9111000080210043#B", "uscc.bad_char", "第17位“#”"),
    ],
)
def test_errors(raw, code, fragment):
    r = check_uscc(raw)
    assert not r.ok
    assert r.errors[0].code == code
    assert fragment in r.errors[0].message
    assert r.errors[0].message.startswith("统一社会信用代码")


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        ("91620199802100433", "uscc.region"),  # unknown county
        ("B1110000802100433", "uscc.authority"),
        ("94110000802100433", "uscc.org_type"),
        ("91110000802100434", "uscc.org_checksum"),
    ],
)
def test_warnings(body, warning):
    r = check_uscc(body + ref_check(body))
    assert r.ok
    assert [i.code for i in r.warnings] == [warning]
