import json
from importlib import resources

import pytest

from desktop.validation import code_table
from desktop.validation.codes import table_names

REQUIRED = [
    "gender",
    "ethnicity",
    "political",
    "education",
    "marital",
    "relation",
    "cert_type",
    "person_type",
    "residence_reason",
    "household_type",
    "house_use",
    "house_nature",
    "plate_type",
    "vehicle_type",
    "visit_method",
    "need_category",
    "satisfaction",
    "event_state",
    "event_category",
    "event_source",
    "event_result_type",
    "dispute_type",
    "dispute_result",
    "agreement_form",
    "care_mark",
    "assistance_type",
    "disability_category",
    "disability_grade",
    "employment_status",
    "user_role",
]


def test_all_tables_present_with_source():
    raw = json.loads(resources.files("desktop.data").joinpath("codes.json").read_text("utf-8"))
    for name in REQUIRED:
        assert name in table_names()
        assert raw[name]["_source"], name
        assert code_table(name).title


@pytest.mark.parametrize("name", REQUIRED)
def test_labels_round_trip(name):
    t = code_table(name)
    assert len(t) == len(t.items) > 0
    codes = [c for c, _ in t.items]
    assert len(set(codes)) == len(codes)
    for code, label in t.items:
        assert code in t
        assert t.label(code) == label
        assert t.code_for(code) == code
        first = next(c for c, lbl in t.items if lbl == label)  # 其他 may repeat
        assert t.code_for(label) == first


def test_ethnicity():
    t = code_table("ethnicity")
    assert len(t) == 58
    assert t.items[:5] == [
        ("01", "汉族"),
        ("02", "蒙古族"),
        ("03", "回族"),
        ("04", "藏族"),
        ("05", "维吾尔族"),
    ]
    assert t.label("23") == "高山族"
    assert t.label("56") == "基诺族"
    assert t.label("97") == "其他"
    assert t.label("98") == "外国血统中国籍人士"
    assert [c for c, _ in t.items[:56]] == [f"{i:02d}" for i in range(1, 57)]
    assert all(lbl.endswith("族") for _, lbl in t.items[:56])
    assert t.code_for("汉") == "01"
    assert t.code_for("维吾尔") == "05"
    assert t.code_for(" 汉族 ") == "01"
    assert t.code_for("1") == "01"  # Excel lost the leading zero


def test_gender_and_aliases():
    t = code_table("gender")
    assert t.items == [("0", "未知的性别"), ("1", "男"), ("2", "女"), ("9", "未说明的性别")]
    assert t.code_for("男") == "1"
    assert t.code_for("女性") == "2"
    assert t.code_for("m") == "1"
    assert t.code_for("unknown") is None
    assert t.code_for("") is None
    assert t.code_for(None) is None


def test_label_of_unknown_code_is_the_code():
    t = code_table("gender")
    assert t.label("7") == "7"
    assert t.label(None) == ""
    assert "7" not in t
    assert 1 not in t


def test_relation_gb4761():
    t = code_table("relation")
    expected = {
        "01": "本人",
        "02": "户主",
        "03": "小集体户户主",
        "10": "配偶",
        "11": "夫",
        "12": "妻",
        "20": "子",
        "21": "独生子",
        "22": "长子",
        "23": "次子",
        "30": "女",
        "31": "独生女",
        "32": "长女",
        "41": "孙子",
        "50": "父母",
        "51": "父亲",
        "52": "母亲",
        "60": "祖父母或外祖父母",
        "70": "兄弟姐妹",
        "80": "其他",
        "81": "伯父",
        "96": "外甥女",
        "97": "其他亲属",
        "99": "非亲属",
    }
    for code, label in expected.items():
        assert t.label(code) == label
    assert "98" not in t
    assert t.code_for("妻子") == "12"
    assert t.code_for("孙子女") == "40"


def test_political_education_marital():
    p = code_table("political")
    assert [c for c, _ in p.items] == [f"{i:02d}" for i in range(1, 14)]
    assert p.label("13") == "群众"
    assert p.code_for("中国共产党党员") == "01"
    e = code_table("education")
    assert [c for c, _ in e.items] == ["10", "20", "30", "40", "60", "70", "80", "90"]
    assert e.code_for("本科") == "20"
    assert e.code_for("大专") == "30"
    m = code_table("marital")
    assert [c for c, _ in m.items] == ["10", "20", "21", "22", "23", "30", "40", "90"]


def test_workflow_and_local_tables():
    s = code_table("event_state")
    assert [c for c, _ in s.items] == [
        "reported",
        "accepted",
        "dispatched",
        "handling",
        "verified",
        "closed",
        "evaluated",
    ]
    assert [lbl for _, lbl in s.items] == ["上报", "受理", "派遣", "处置", "核查", "结案", "评价"]
    assert code_table("employment_status").code_for("失业") == "20"
    assert code_table("cert_type").code_for("居民身份证") == "111"
    assert code_table("cert_type").code_for("外国人永久居留身份证") == "553"
    marks = code_table("care_mark")
    assert len(marks) == 13
    assert set(marks.extra["derived"]) <= set(marks.codes())
    assert code_table("disability_category").code_for("肢体") == "4"
    assert code_table("user_role").label("grid_worker") == "网格员"
    assert code_table("satisfaction").items == [("1", "满意"), ("2", "基本满意"), ("3", "不满意")]


def test_plate_type_has_ga247_codes():
    t = code_table("plate_type")
    for code, label in [
        ("01", "大型汽车"),
        ("02", "小型汽车"),
        ("15", "挂车"),
        ("16", "教练汽车"),
        ("23", "警用汽车"),
        ("51", "大型新能源汽车"),
        ("52", "小型新能源汽车"),
    ]:
        assert t.label(code) == label


def test_unknown_table():
    with pytest.raises(KeyError):
        code_table("nope")


def test_tables_are_loaded_once():
    assert code_table("gender") is code_table("gender")


def test_common_entries_come_first_and_nothing_is_lost():
    rel = code_table("relation")
    ordered = rel.common_first()
    assert [lbl for _c, lbl in ordered[:5]] == ["配偶", "子", "女", "父亲", "母亲"]
    assert sorted(ordered) == sorted(rel.items) and len(ordered) == len(rel.items)
    assert set(rel.extra["common"]) <= set(rel.codes())
    assert code_table("gender").common_first() == code_table("gender").items  # no common list: table order
