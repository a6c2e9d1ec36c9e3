"""How a conflict reads to the reviewer (desktop/sync/conflict_view.py): no Qt, no server."""

from __future__ import annotations

import pytest

from desktop.sync.conflict_view import (
    EMPTY,
    conflict_cells,
    conflict_detail,
    field_label,
    local_time,
    parse_custom,
    parse_value,
    record_caption,
    show_value,
    who,
)

FIELD_CLASH = {
    "id": 7, "kind": "field", "table": "person", "row_id": "0193abcd-ffff", "fields": ["occupation", "gender"],
    "base": {"occupation": None, "gender": "1"},
    "server": {"by": "wgy001", "at": "2026-03-01T02:00:00Z", "device": "abcdef0123456789",
               "value": {"occupation": "厨师", "gender": "2"}},
    "client": {"by": "supervisor", "at": "2026-03-01T03:00:00Z", "value": {"occupation": "司机", "gender": "1"}},
    "record": {"name": "张三", "occupation": "司机"}, "winner": "client",
}


def test_values_read_as_a_user_reads_them():
    assert show_value("person", "gender", "2") == "女"  # code label
    assert show_value("person", "gender", None) == EMPTY and show_value("person", "note", "") == EMPTY
    assert show_value("person", "marks", "floating,assisted") == "流动人口、帮扶人员"  # care marks by label
    assert show_value("house", "grid_id", "g1", {"g1": "兰化22街区社区 第1网格"}) == "兰化22街区社区 第1网格"
    assert show_value("house", "grid_id", "g9", {"g1": "第1网格"}) == "g9"  # an unknown grid: its id
    assert show_value("house", "rent_registered", 1) == "是" and show_value("house", "rent_registered", 0) == "否"
    assert show_value("person", "deleted_at", "2026-03-01T02:00:00Z") == local_time("2026-03-01T02:00:00Z")
    assert local_time(None) == "" and local_time("not a time") == "not a time"
    assert len(local_time("2026-03-01 02:00:00")) == len("2026-03-01 10:00")


def test_labels_captions_and_authors():
    assert field_label("person", "name_py") == "姓名拼音" and field_label("person", "occupation") == "职业"
    assert record_caption(FIELD_CLASH) == "张三"
    assert record_caption({"table": "person", "row_id": "0193abcd-ffff", "record": {}}) == "编号 0193abcd"
    assert record_caption({"table": "vehicle", "record": {"plate_no": "甘A12345", "deleted_at": "x"}}) == "甘A12345(已删除)"
    # a rejected new record is named by what it proposed
    assert record_caption({"table": "area", "change": {"fields": {"name": [None, "第9网格"]}}}) == "第9网格"
    assert who({"by": "wgy001", "device": "abcdef0123456789"}) == "wgy001(设备 abcdef01)"
    assert who(None) == "(未知)"


def test_the_list_row_and_the_detail_of_a_field_clash():
    cells = conflict_cells(FIELD_CLASH)
    assert cells[:4] == ["字段冲突", "人员", "张三", "职业、性别"] and cells[4] == local_time("2026-03-01T03:00:00Z")
    view = conflict_detail(FIELD_CLASH)
    assert view.title == "人员 · 张三 · 字段冲突" and "本机值" in view.reason
    assert view.headers == ["字段", "原值", "服务器值", "本机值"]
    assert view.rows == [["职业", EMPTY, "厨师", "司机"], ["性别", "男", "女", "男"]]
    assert view.server_who.startswith("服务器值:wgy001") and "当前生效" not in view.server_who
    assert view.client_who.startswith("本机值:supervisor") and view.client_who.endswith("(当前生效)")
    assert view.choices == ("server", "client", "custom")
    assert view.custom == {"occupation": ("新的职业", "司机"), "gender": ("新的性别", "男")}  # from the winner


def test_the_detail_of_a_delete_and_of_a_refused_change():
    deleted = {"kind": "delete_edit", "table": "person", "fields": ["occupation"], "base": None,
               "server": {"by": "supervisor", "value": {"deleted_at": "2026-03-01T02:00:00Z"}},
               "client": {"by": "wgy001", "value": {"occupation": "厨师"}}, "record": {"name": "李四"}, "winner": "server"}
    view = conflict_detail(deleted)
    assert view.rows == [["职业", "—", "(删除该记录)", "厨师"]] and view.choices == ("delete", "restore")
    assert view.custom == {} and "(当前生效)" in view.server_who
    refused = {"kind": "rejected", "table": "area", "fields": ["note"], "reason": "不在您的网格",
               "client": {"by": "wgy001"}, "record": {"name": "第1网格"},
               "change": {"fields": {"note": [None, "网格员的备注"]}}}
    view = conflict_detail(refused)
    assert view.headers == ["字段", "修改前", "修改为", "服务器现值"]
    assert view.rows == [["备注", EMPTY, "网格员的备注", EMPTY]] and view.choices == ("apply", "discard")
    assert "服务器说明:不在您的网格" in view.reason and view.client_who == "被拒绝的修改:wgy001"
    # a derived search column says which field it follows
    derived = {**FIELD_CLASH, "fields": ["name_py"]}
    assert "该字段由“姓名”自动生成" in conflict_detail(derived).reason


def test_typed_values_back_to_stored_form():
    assert parse_value("person", "gender", "女") == "2"
    assert parse_value("person", "birth_date", "1990/01/02") == "1990-01-02"
    assert parse_value("house", "area_m2", "") is None and parse_value("house", "area_m2", EMPTY) is None
    assert parse_value("house", "rent_registered", "是") == 1
    with pytest.raises(ValueError, match="性别"):
        parse_value("person", "gender", "不知道")
    with pytest.raises(ValueError, match="建筑面积"):
        parse_value("house", "area_m2", "很大")
    assert parse_custom(FIELD_CLASH, {"occupation": " 教师 ", "gender": "男"}) == {"occupation": "教师", "gender": "1"}
