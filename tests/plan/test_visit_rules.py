"""走访频次规则: the defaults, a community's changes, refusals in Chinese, audit, and the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from desktop.cli import main
from desktop.domain.visits import DEFAULT_RULES
from desktop.services.errors import PermissionDenied, ServiceError
from desktop.services.store import Actor
from desktop.services.visit_rules import VisitRules, effective_rules


def _effective(store):
    with store.session() as s:
        return [(r.target_kind, r.target_value, r.interval_days, r.reason) for r in effective_rules(s)]


def test_a_new_community_uses_the_documented_defaults(store, admin):
    assert _effective(store) == [
        ("group", "high_risk_elderly", 7, "高龄独居或重病老人"),
        ("mark", "lone_elderly", 30, "独居老人"),
        ("mark", "disabled", 30, "残障人员"),
        ("mark", "assisted", 30, "帮扶人员"),
        ("mark", "key_person", 30, "重点人员"),
        ("house_use", "2", 90, "出租房屋"),
        ("all", "", 90, "常规走访"),
    ]
    rows = VisitRules(store, admin).list()
    assert all(r["is_default"] for r in rows) and rows[5]["target"] == "房屋用途:出租"


def test_admin_changes_adds_switches_off_and_resets_rules_with_an_audit(store, admin):
    rules = VisitRules(store, admin)
    rules.set("mark", "独居老人", 14)  # a label is accepted, stored as its code
    rules.set("mark", "left_behind_child", "60", "留守儿童每两月")
    rules.set("house_use", "出租", 90, active=False)
    got = {(k, v): (d, r) for k, v, d, r in _effective(store)}
    assert got[("mark", "lone_elderly")] == (14, "独居老人")
    assert got[("mark", "left_behind_child")] == (60, "留守儿童每两月")
    assert ("house_use", "2") not in got
    rules.set("mark", "lone_elderly", 10)  # the same target again: one row, updated
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM visit_rule WHERE deleted_at IS NULL")).scalar() == 3
        assert s.execute(text("SELECT count(*) FROM sync_outbox WHERE table_name = 'visit_rule'")).scalar() >= 4
        audits = s.execute(text("SELECT summary FROM audit_log WHERE entity = 'visit_rule'")).scalars().all()
    assert "修改走访规则:关注标识:独居老人" in audits and len(audits) == 4
    assert rules.reset("mark", "lone_elderly") == 1
    assert dict(((k, v), d) for k, v, d, _ in _effective(store))[("mark", "lone_elderly")] == 30
    assert rules.reset() == 2
    assert _effective(store) == [(r.target_kind, r.target_value, r.interval_days, r.reason) for r in DEFAULT_RULES]


@pytest.mark.parametrize(("kind", "value", "days", "message"), [
    ("mark", "外星人", 7, "关注标识“外星人”不认识"),
    ("colour", "red", 7, "规则对象类型“colour”不认识"),
    ("mark", "", 7, "请写出规则针对的关注标识"),
    ("all", "x", 7, "“全部户”规则不带对象值"),
    ("mark", "disabled", 0, "走访间隔“0”不对:请写 1 到 3650 之间的整数天数"),
    ("mark", "disabled", 3651, "走访间隔“3651”不对"),
    ("mark", "disabled", "七", "走访间隔“七”不对"),
    ("group", "孕妇", 7, "人群“孕妇”不认识"),
])
def test_bad_rules_are_refused_in_one_chinese_sentence_and_nothing_is_written(store, admin, kind, value, days, message):
    with pytest.raises(ServiceError) as exc:
        VisitRules(store, admin).set(kind, value, days)
    assert message in exc.value.message
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM visit_rule")).scalar() == 0


def test_a_grid_worker_cannot_edit_rules(store):
    worker = Actor("wgy", "grid_worker", frozenset({"g1"}))
    with pytest.raises(PermissionDenied) as exc:
        VisitRules(store, worker).set("mark", "disabled", 7)
    assert "修改走访频次规则" in exc.value.message and "社区管理员" in exc.value.message
    with pytest.raises(PermissionDenied):
        VisitRules(store, worker).reset()
    assert len(VisitRules(store, worker).list()) == len(DEFAULT_RULES)  # reading is allowed


def test_rules_on_the_command_line(capsys, db_path, store):
    store.close()
    db = str(db_path)
    assert main(["--db", db, "rules", "set", "mark:残障人员", "14", "--reason", "残障人员每两周"]) == 0
    assert "已设置:关注标识:残障人员 每 14 天一次(残障人员每两周)" in capsys.readouterr().out
    assert main(["--db", db, "rules", "list", "--json"]) == 0
    rows = {r["target"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["关注标识:残障人员"]["interval_days"] == 14 and not rows["关注标识:残障人员"]["is_default"]
    assert main(["--db", db, "rules", "set", "mark:火星人", "14"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误:关注标识“火星人”不认识") and "Traceback" not in err
    assert main(["--db", db, "rules", "reset"]) == 0
    assert "撤销 1 条" in capsys.readouterr().out
    assert main(["--db", db, "rules", "list"]) == 0
    assert "关注标识:残障人员\t每 30 天\t残障人员\t默认" in capsys.readouterr().out


def test_no_generic_write_path_lets_a_grid_worker_add_a_rule(store):
    from desktop.services.records import Records

    worker = Actor("wgy", "grid_worker", frozenset({"g1"}))
    with pytest.raises(PermissionDenied) as exc:
        Records(store, worker).create("visit_rule", {"target_kind": "all", "target_value": "", "interval_days": 1,
                                                     "reason": "天天去", "active": True})
    assert "修改走访频次规则" in exc.value.message
