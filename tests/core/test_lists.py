"""List queries: columns, every filter, scope, masking, sorting, paging; revealing masked values."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from desktop import kinds
from desktop.models import AuditEntry
from desktop.services.errors import NotFound, PermissionDenied, ServiceError
from desktop.services.events import Events, Visits
from desktop.services.households import Households
from desktop.services.lists import Lists, grid_choices
from desktop.services.privacy import reveal
from desktop.services.records import Records
from desktop.services.store import Actor
from desktop.validation import mask_id, mask_phone

KINDS = kinds.keys(where=lambda k: k.listed)


@pytest.fixture
def town(store, admin, community):
    h = Households(store, admin)
    r = Records(store, admin)
    g1, g2 = community.grid1["id"], community.grid2["id"]
    a = h.register(
        grid_id=g1, address={"estate": "幸福小区", "building": "3", "unit": "2", "room": "501"},
        members=[community.member("张三丰", 61, phone="13812345678"),
                 community.member("李娜", 30, "2", relation="10"),
                 community.member("张小明", 8, relation="20")],
        house={"use": "自住", "area_m2": 89.5, "owner_name": "张三丰"},
    )
    b = h.register(
        grid_id=g1, address={"estate": "幸福小区", "building": "3", "unit": "2", "room": "502"},
        members=[community.member("王老汉", 75)], house={"use": "自住"},
    )
    c = h.register(
        grid_id=g2, address={"estate": "和平家园", "building": "1", "unit": "1", "room": "101"},
        members=[community.member("赵流", 30, person_type="流动人口", residence_reason="务工", marks="帮扶人员")],
        house={"use": "出租", "tenant_name": "赵流", "owner_name": "钱房东"},
    )
    r.create("vehicle", {"grid_id": g1, "plate_no": "甘A12345", "owner_person_id": a["members"][0]["id"],
                         "brand": "大众朗逸", "plate_type": "小型汽车"})
    r.create("vehicle", {"grid_id": g2, "plate_no": "甘B54321"})
    unit = r.create("org_unit", {"grid_id": g1, "name": "幸福超市", "legal_person": "孙老板",
                                 "contact_phone": "13900001111", "employees": 6})
    v = Visits(store, admin)
    today = date.today()
    v.record({"household_id": a["household"]["id"], "visited_on": today - timedelta(days=10), "method": "入户",
              "situation": "一家三口,生活稳定"},
             needs=[{"category": "群众诉求", "content": "楼道灯损坏"}, {"category": "就业", "content": "找工作"}])
    v.record({"household_id": c["household"]["id"], "visited_on": today - timedelta(days=40), "method": "电话",
              "situation": "电话回访,一切正常"})
    ev = Events(store, admin)
    now = datetime.now().replace(microsecond=0)
    e1 = ev.report({"grid_id": g1, "title": "楼道灯损坏", "category": "设施维修", "reported_at": now - timedelta(days=5)})
    e2 = ev.report({"grid_id": g1, "title": "占道经营", "category": "市容环境", "reported_at": now - timedelta(days=3)})
    for st in ("accepted", "handling", "verified"):
        ev.advance(e2["id"], st)
    ev.advance(e2["id"], "closed", result_type="自办自结")
    e3 = ev.report({"grid_id": g2, "title": "噪音扰民", "category": "治安隐患", "reported_at": now - timedelta(days=60)})
    r.create("dispute", {"grid_id": g1, "dispute_type": "邻里纠纷", "parties": "张三丰与王老汉",
                         "occurred_on": today - timedelta(days=2), "mediator": "调解员甲"})
    r.create("dispute", {"grid_id": g2, "dispute_type": "物业纠纷", "parties": "赵流与物业",
                         "occurred_on": today - timedelta(days=90), "result": "调解成功"})
    people = {m["name"]: m for hh in (a, b, c) for m in hh["members"]}
    return {"a": a, "b": b, "c": c, "people": people, "unit": unit, "events": (e1, e2, e3)}


def names(rows, key="name"):
    return sorted(r[key] for r in rows)


def test_columns_for_every_kind():
    for kind in KINDS:
        cols = Lists.columns(kind)
        assert cols and cols[-1].title == "网格"
        assert len({c.key for c in cols}) == len(cols)
    titles = [c.title for c in Lists.columns("person")]
    assert titles == ["姓名", "性别", "出生日期", "年龄", "证件号码", "联系电话", "人员类型", "与户主关系",
                      "关注标识", "现住址", "网格"]
    sensitive = {c.key for c in Lists.columns("person") if c.sensitive}
    assert sensitive == {"cert_no", "phone"}
    assert not any(c.sortable for c in Lists.columns("person") if c.sensitive)
    assert [c.key for c in Lists.columns("org_unit") if c.sensitive] == ["contact_phone"]
    with pytest.raises(ValueError):
        Lists.columns("app_user")


def test_person_rows_show_labels_dates_and_masked_values(store, admin, town):
    lists = Lists(store, admin)
    rows = {r["name"]: r for r in lists.page("person", {})}
    zhang = rows["张三丰"]
    person = town["people"]["张三丰"]
    assert zhang["id"] == person["id"]
    assert zhang["gender"] == "男" and zhang["relation"] == "户主" and zhang["person_type"] == "户籍人口"
    assert zhang["birth_date"] == person["birth_date"].isoformat() and zhang["age"] == 61
    assert zhang["cert_no"] == mask_id(person["cert_no"]) and person["cert_no"] not in str(zhang)
    assert zhang["cert_no"][:6] == person["cert_no"][:6] and zhang["cert_no"][-4:] == person["cert_no"][-4:]
    assert zhang["phone"] == mask_phone("13812345678") == "138****5678"
    assert "幸福小区" in zhang["address"] and zhang["grid"] == "第1网格"
    assert rows["赵流"]["marks"] == "流动人口、帮扶人员"  # derived and manual, in code-table order
    assert rows["王老汉"]["marks"] == "独居老人"
    assert rows["张小明"]["marks"] == ""


def test_other_kinds_rows(store, admin, town):
    lists = Lists(store, admin)
    houses = {r["owner"]: r for r in lists.page("house", {})}
    assert houses["张三丰"]["use"] == "自住" and houses["张三丰"]["area_m2"] == 89.5
    assert houses["张三丰"]["residents"] == 3 and houses["钱房东"]["tenant_name"] == "赵流"
    cars = {r["plate_no"]: r for r in lists.page("vehicle", {})}
    assert cars["甘A12345"]["owner"] == "张三丰" and cars["甘A12345"]["plate_type"] == "小型汽车"
    unit = lists.page("org_unit", {})[0]
    assert unit["name"] == "幸福超市" and unit["contact_phone"] == "139****1111" and unit["employees"] == 6
    visits = lists.page("visit", {})
    assert [v["needs"] for v in visits] == [2, 0]  # newest first
    assert visits[0]["household"].startswith("张三丰户") and "幸福小区" in visits[0]["household"]
    assert visits[0]["method"] == "入户" and visits[0]["visitor"] == "admin"
    events = lists.page("grid_event", {})
    assert [e["title"] for e in events] == ["占道经营", "楼道灯损坏", "噪音扰民"]  # newest first
    assert events[0]["state"] == "结案" and events[1]["state"] == "上报" and events[1]["category"] == "设施维修"
    assert len(events[0]["reported_at"]) == 16  # "YYYY-MM-DD HH:MM"
    disputes = lists.page("dispute", {})
    assert [d["result"] for d in disputes] == ["待调解", "调解成功"]
    assert disputes[0]["dispute_type"] == "邻里"


def test_person_filters(store, admin, community, town):
    lists = Lists(store, admin)

    def who(**f):
        rows = lists.page("person", f)
        assert lists.count("person", f) == len(rows)
        return names(rows)

    assert who() == ["张三丰", "张小明", "李娜", "王老汉", "赵流"]
    assert who(grid_id=community.grid2["id"]) == ["赵流"]
    assert who(community_id=community.community["id"]) == who()
    assert who(community_id=community.grid1["id"]) == ["张三丰", "张小明", "李娜", "王老汉"]
    assert who(person_type="2") == ["赵流"]
    assert who(person_type="流动人口") == ["赵流"]  # a label works too
    assert who(care_mark="lone_elderly") == ["王老汉"]
    assert who(care_mark="assisted") == ["赵流"]  # manual mark
    assert who(care_mark="floating") == ["赵流"]  # derived mark
    assert who(age_min=60) == ["张三丰", "王老汉"]
    assert who(age_max=8) == ["张小明"]
    assert who(age_min=30, age_max=61) == ["张三丰", "李娜", "赵流"]
    assert who(age_min=31, age_max=60) == []
    assert who(text="张") == ["张三丰", "张小明"]
    assert who(text="和平家园") == ["赵流"]  # address
    assert who(text="%") == []  # LIKE wildcards are literal
    assert who(person_type=None, text="") == who()  # None and empty values are ignored
    with pytest.raises(ValueError, match="未知的筛选条件"):
        lists.count("person", {"colour": "red"})
    with pytest.raises(ValueError, match="关注标识"):
        lists.count("person", {"care_mark": "martian"})


def test_filters_of_other_kinds(store, admin, community, town):
    lists = Lists(store, admin)
    today = date.today()
    assert [r["tenant_name"] for r in lists.page("house", {"house_use": "2"})] == ["赵流"]
    assert lists.count("house", {"house_use": "自住"}) == 2
    assert names(lists.page("grid_event", {"event_state": "open"}), "title") == sorted(["楼道灯损坏", "噪音扰民"])
    assert names(lists.page("grid_event", {"event_state": "closed"}), "title") == ["占道经营"]
    recent = {"date_from": today - timedelta(days=30), "date_to": today}
    assert names(lists.page("grid_event", recent), "title") == sorted(["占道经营", "楼道灯损坏"])
    # date_to includes the whole last day of a timestamp column
    e1 = town["events"][0]["reported_at"].date()
    assert names(lists.page("grid_event", {"date_from": e1.isoformat(), "date_to": e1.isoformat()}), "title") == ["楼道灯损坏"]
    assert lists.count("visit", recent) == 1
    assert lists.count("visit", {"date_to": (today - timedelta(days=30)).isoformat()}) == 1
    assert lists.count("dispute", recent) == 1 and lists.count("dispute", {}) == 2
    assert lists.count("vehicle", {"text": "甘A"}) == 1 and lists.count("vehicle", {"text": "张三丰"}) == 1
    assert lists.count("org_unit", {"text": "超市"}) == 1
    assert lists.count("dispute", {"text": "物业"}) == 1
    assert lists.count("visit", {"text": "张三丰"}) == 1
    for kind in KINDS:
        assert lists.count(kind, {"grid_id": community.grid2["id"]}) == len(
            lists.page(kind, {"grid_id": community.grid2["id"]}))


def test_grid_worker_sees_only_their_grid(store, admin, community, town):
    g2 = community.grid2["id"]
    worker = Actor("w", "grid_worker", frozenset({g2}))
    lists = Lists(store, worker)
    assert names(lists.page("person", {})) == ["赵流"]
    for kind in KINDS:
        assert lists.count(kind, {}) == len(lists.page(kind, {}))
        assert all(r["grid"] == "第2网格" for r in lists.page(kind, {}))
    # asking for another grid gives nothing rather than widening the scope
    assert lists.count("person", {"grid_id": community.grid1["id"]}) == 0
    assert lists.page("person", {"community_id": community.community["id"]})[0]["name"] == "赵流"
    # rows fetched by id honour the scope too
    assert lists.rows("person", [town["people"]["张三丰"]["id"], town["people"]["赵流"]["id"]])[0]["name"] == "赵流"
    assert len(lists.rows("person", [town["people"]["张三丰"]["id"]])) == 0
    assert [g["id"] for g in grid_choices(store, worker)] == [g2]
    assert len(grid_choices(store, admin)) == 2


def test_deleted_rows_are_not_listed(store, admin, town):
    lists = Lists(store, admin)
    before = lists.count("vehicle", {})
    car = lists.page("vehicle", {"text": "甘B"})[0]
    Records(store, admin).delete("vehicle", car["id"])
    assert lists.count("vehicle", {}) == before - 1
    assert lists.rows("vehicle", [car["id"]]) == []


def test_sorting_and_paging(store, admin, town):
    lists = Lists(store, admin)
    assert [r["age"] for r in lists.page("person", {}, sort=("age", True))] == [8, 30, 30, 61, 75]
    assert [r["age"] for r in lists.page("person", {}, sort=("age", False))] == [75, 61, 30, 30, 8]
    by_name = [r["name"] for r in lists.page("person", {}, sort=("name", True))]
    assert by_name == ["李娜", "王老汉", "张三丰", "张小明", "赵流"]  # pinyin order
    assert [r["name"] for r in lists.page("person", {}, sort=("name", False))] == by_name[::-1]
    grids = [r["grid"] for r in lists.page("person", {}, sort=("grid", False))]
    assert grids == ["第2网格"] + ["第1网格"] * 4
    # default: grid, then household, head first
    default = [r["name"] for r in lists.page("person", {})]
    assert default[0] == "张三丰" and default[-1] == "赵流"
    # a column that cannot be sorted keeps the default order; unknown columns are refused
    assert [r["name"] for r in lists.page("person", {}, sort=("cert_no", True))] == default
    with pytest.raises(ValueError):
        lists.page("person", {}, sort=("salary", True))
    # pages are consecutive slices of one order, matching the id snapshot
    ids = lists.ids("person", {}, sort=("name", True))
    pages = [r["id"] for off in range(0, 5, 2) for r in lists.page("person", {}, sort=("name", True), offset=off, limit=2)]
    assert pages == ids and len(ids) == lists.count("person", {}) == 5
    assert [r["id"] for r in lists.rows("person", ids[::-1])] == ids[::-1]
    assert lists.page("person", {}, offset=5) == []
    # every sortable column of every kind sorts both ways
    for kind in KINDS:
        n = lists.count(kind, {})
        for col in Lists.columns(kind):
            for asc in (True, False):
                assert len(lists.page(kind, {}, sort=(col.key, asc))) == n


def test_ages_are_computed_from_the_given_day(store, admin, town):
    born = town["people"]["王老汉"]["birth_date"]
    on_birthday = born.replace(year=born.year + 80)
    lists = Lists(store, admin, today=on_birthday)
    assert lists.page("person", {"text": "王老汉"})[0]["age"] == 80
    assert lists.count("person", {"age_min": 80, "text": "王老汉"}) == 1
    day_before = Lists(store, admin, today=on_birthday - timedelta(days=1))
    assert day_before.page("person", {"text": "王老汉"})[0]["age"] == 79
    assert day_before.count("person", {"age_min": 80, "text": "王老汉"}) == 0
    assert day_before.count("person", {"age_max": 79, "text": "王老汉"}) == 1


def _reveal_audits(store):
    with store.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "reveal")))


def test_reveal_writes_an_audit_entry_without_the_value(store, admin, town):
    person = town["people"]["张三丰"]
    assert reveal(store, admin, "person", person["id"], "cert_no") == person["cert_no"]
    assert reveal(store, admin, "person", person["id"], "phone") == "13812345678"
    assert reveal(store, admin, "org_unit", town["unit"]["id"], "contact_phone") == "13900001111"
    # the household's 联系电话 is its head's unless given (Households.register); an empty one reveals ""
    assert reveal(store, admin, "household", town["a"]["household"]["id"], "phone") == "13812345678"
    assert reveal(store, admin, "household", town["b"]["household"]["id"], "phone") == ""
    audits = _reveal_audits(store)
    assert [(a.entity, a.entity_id, json.loads(a.detail)) for a in audits[:2]] == [
        ("person", person["id"], {"field": "cert_no"}), ("person", person["id"], {"field": "phone"})]
    assert all(a.actor == "admin" for a in audits)
    for a in audits:
        text = f"{a.summary} {a.detail}"
        assert person["cert_no"] not in text and "13812345678" not in text and "13900001111" not in text


def test_reveal_refused(store, admin, community, town):
    person = town["people"]["赵流"]
    worker = Actor("w", "grid_worker", frozenset({community.grid2["id"]}))
    with pytest.raises(PermissionDenied, match="没有权限查看完整的证件号码"):
        reveal(store, worker, "person", person["id"], "cert_no")
    supervisor_of_grid1 = Actor("s", "supervisor", frozenset({community.grid1["id"]}))
    with pytest.raises(PermissionDenied):  # out of scope
        reveal(store, supervisor_of_grid1, "person", person["id"], "cert_no")
    with pytest.raises(ServiceError, match="不是需要脱敏"):
        reveal(store, admin, "person", person["id"], "name")
    with pytest.raises(NotFound):
        reveal(store, admin, "person", "no-such-id", "phone")
    assert _reveal_audits(store) == []
