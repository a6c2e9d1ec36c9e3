import pytest

from desktop.validation import check_phone


@pytest.mark.parametrize(
    ("raw", "normalized", "kind"),
    [
        ("13812345678", "13812345678", "mobile"),
        ("138 1234 5678", "13812345678", "mobile"),
        ("138-1234-5678", "13812345678", "mobile"),
        ("１３８１２３４５６７８", "13812345678", "mobile"),
        ("+86 138 1234 5678", "13812345678", "mobile"),
        ("+86-13812345678", "13812345678", "mobile"),
        ("008613812345678", "13812345678", "mobile"),
        ("8613812345678", "13812345678", "mobile"),
        ("19912345678", "19912345678", "mobile"),
        ("0931-8123456", "0931-8123456", "landline"),
        ("09318123456", "0931-8123456", "landline"),
        ("(0931)8123456", "0931-8123456", "landline"),
        ("（0931）8123456", "0931-8123456", "landline"),
        ("010-62345678", "010-62345678", "landline"),
        ("021 6234 5678", "021-62345678", "landline"),
        ("0755-86012345", "0755-86012345", "landline"),
        ("+86 10 62345678", "010-62345678", "landline"),
        ("0931-8123456转123", "0931-8123456转123", "landline"),
        ("0931-8123456 分机 8001", "0931-8123456转8001", "landline"),
    ],
)
def test_valid(raw, normalized, kind):
    r = check_phone(raw)
    assert r.ok, r.errors
    assert r.warnings == ()
    assert r.normalized == normalized
    assert r.details["kind"] == kind


def test_local_number_starting_with_1_only_warns():
    r = check_phone("010-12345678")
    assert r.ok
    assert r.normalized == "010-12345678"
    assert [i.code for i in r.warnings] == ["phone.landline_first"]


def test_service_number_warns():
    r = check_phone("400-123-4567")
    assert r.ok
    assert r.normalized == "400-123-4567"
    assert r.details["kind"] == "service"
    assert [i.code for i in r.warnings] == ["phone.service"]


def test_foreign_number_warns():
    r = check_phone("+1 415 555 0100")
    assert r.ok
    assert r.normalized == "+14155550100"
    assert r.details["kind"] == "international"


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("", "phone.empty", "未填写"),
        ("1381234567", "phone.length", "实际为10位"),
        ("138123456789", "phone.length", "实际为12位"),
        ("12812345678", "phone.mobile_prefix", "实际为2"),
        ("8123456", "phone.no_area_code", "缺少区号"),
        ("0931-812345", "phone.landline_length", "实际为6位"),
        ("0931-0123456", "phone.landline_first", "不能是0"),
        ("138a2345678", "phone.bad_char", "第4位“a”"),
        ("13812345678/13912345678", "phone.multiple", "只能填写一个号码"),
        ("13812345678转12", "phone.extension", "手机号码"),
        ("0931-8123456转abc", "phone.extension", "1至6位数字"),
        ("4001234567890", "phone.length", "400"),
        ("23456", "phone.format", "不是有效"),
    ],
)
def test_errors(raw, code, fragment):
    r = check_phone(raw)
    assert not r.ok
    assert r.errors[0].code == code
    assert fragment in r.errors[0].message
    assert r.errors[0].message.startswith("联系电话")


def test_field_label():
    assert check_phone("1", field="监护人电话").errors[0].message.startswith("监护人电话")
