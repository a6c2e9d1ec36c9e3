import dataclasses

import pytest

from desktop.validation import CheckResult, Issue, mask_id, mask_phone
from desktop.validation.masking import mask_name


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("62010419850101201X", "620104********201X"),
        ("620104850101201", "620104*****1201"),
        ("E12345678", "E1*****78"),
        ("H1234", "H***4"),
        ("AB", "**"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id(value, masked):
    assert mask_id(value) == masked


def test_mask_id_configurable():
    assert mask_id("62010419850101201X", head=3, tail=2) == "620*************1X"
    assert mask_id("62010419850101201X", head=6, tail=0) == "620104************"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("0931-8123456", "0931-***3456"),
        ("010-62345678", "010-****5678"),
        ("400-123-4567", "400*****4567"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_mask_name():
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳修") == "欧**"
    assert mask_name("") == ""


def test_check_result():
    issue = Issue("证件号码", "id.checksum", "证件号码没有通过校验（至少有一位输错），请对照证件逐位核对")
    r = CheckResult("x", None, errors=(issue,))
    assert not r.ok
    assert CheckResult("x", "x").ok
    assert r.to_dict() == {
        "raw": "x",
        "normalized": None,
        "ok": False,
        "errors": [
            {
                "field": "证件号码",
                "code": "id.checksum",
                "message": "证件号码没有通过校验（至少有一位输错），请对照证件逐位核对",
            }
        ],
        "warnings": [],
        "details": {},
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.raw = "y"  # type: ignore[misc]


def test_public_api():
    import desktop.validation as v

    for name in [
        "Issue",
        "CheckResult",
        "check_id_number",
        "check_plate",
        "check_phone",
        "check_uscc",
        "mask_id",
        "mask_phone",
        "code_table",
        "region_name",
        "make_id_number",
        "id_check_char",
        "uscc_check_char",
    ]:
        assert hasattr(v, name), name
        assert name in v.__all__


def test_no_qt_or_database_imports():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, desktop.validation as v; v.region_name('110101'); v.code_table('gender');"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','sqlalchemy','stdnum')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
