"""Whole-household registration, moving people, setting the head, derived care marks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop.models import Address, House, Household, Person
from desktop.services.errors import ServiceError, ValidationFailed
from desktop.services.households import Households
from desktop.services.records import Records
from tests.factories import id_number


def register(h, community, members, **kw):
    return h.register(grid_id=community.grid1["id"],
                      address={"estate": "幸福小区", "building": "3", "unit": "2", "room": kw.pop("room", "501")},
                      members=members, **kw)


def test_register_whole_household_in_one_call(store, admin, community):
    h = Households(store, admin)
    view = register(h, community, [
        community.member("陈建国", 52),
        community.member("李秀英", 50, "2", relation="10"),
        community.member("陈欣", 20, "2", relation="30", phone="13700001111"),
    ], house={"use": "自住", "area_m2": "89.5"})
    assert view["address"]["full_text"] == "幸福小区3栋2单元501室"
    assert view["address"]["floor"] == 5
    assert view["house"]["area_m2"] == 89.5 and view["house"]["use"] == "1"
    assert [m["name"] for m in view["members"]] == ["陈建国", "李秀英", "陈欣"]
    head = view["members"][0]
    assert view["household"]["head_person_id"] == head["id"] and head["relation"] == "02"
    assert all(m["house_id"] == view["house"]["id"] for m in view["members"])
    assert view["household"]["hh_no"].endswith("0001")
    assert "陈建国:缺少联系电话" in view["missing"]


def test_register_reports_member_position_and_writes_nothing(store, admin, community):
    h = Households(store, admin)
    good = community.member("甲", 40)
    bad = {"name": "乙", "cert_no": "620104199001011234"}  # wrong check character
    with pytest.raises(ValidationFailed) as exc:
        register(h, community, [good, bad])
    assert any(i.message.startswith("第2位成员乙:") for i in exc.value.issues)
    with store.session() as s:
        for model in (Address, House, Household, Person):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def test_move_person_and_set_head(store, admin, community):
    h = Households(store, admin)
    a = register(h, community, [community.member("刘大", 40), community.member("刘二", 12, relation="20")], room="101")
    b = register(h, community, [community.member("何一", 35, "2")], room="102")
    kid = a["members"][1]["id"]
    moved = h.move_person(kid, to_household_id=b["household"]["id"], relation="99")
    assert moved["household_id"] == b["household"]["id"] and moved["house_id"] == b["house"]["id"]
    assert moved["relation"] == "99"
    # the head of a household with other members cannot simply leave
    h.move_person(kid, to_household_id=a["household"]["id"], relation="20")
    with pytest.raises(ServiceError, match="变更户主"):
        h.move_person(a["members"][0]["id"], to_household_id=b["household"]["id"])
    view = h.set_head(a["household"]["id"], kid, relations={a["members"][0]["id"]: "50"})
    assert view["household"]["head_person_id"] == kid
    rel = {m["name"]: m["relation"] for m in view["members"]}
    assert rel == {"刘二": "02", "刘大": "50"}
    with pytest.raises(ServiceError, match="本户成员"):
        h.set_head(a["household"]["id"], b["members"][0]["id"])


def test_derived_marks_follow_the_data(store, admin, community):
    h = Households(store, admin)
    r = Records(store, admin)
    old = register(h, community, [community.member("独居老人", 72, "2")], room="201")
    person = old["members"][0]
    assert person["derived_marks"] == ",lone_elderly,"
    # someone moves in: no longer alone
    other = register(h, community, [community.member("外孙", 25, employment="失业")], room="202")
    assert other["members"][0]["derived_marks"] == ",unemployed,"
    h.move_person(other["members"][0]["id"], to_household_id=old["household"]["id"], relation="40")
    assert r.get("person", person["id"])["derived_marks"] == ""
    # and out again
    h.move_person(other["members"][0]["id"], to_household_id=other["household"]["id"], relation="02")
    assert r.get("person", person["id"])["derived_marks"] == ",lone_elderly,"
    # floating from person type; manual marks cannot claim derived ones
    f = r.create("person", {"grid_id": community.grid1["id"], "name": "流动者", "person_type": "流动人口",
                            "residence_reason": "务工", "marks": "帮扶人员、重点人员"})
    assert f["derived_marks"] == ",floating," and f["marks"] == ",assisted,key_person,"
    with pytest.raises(ValidationFailed, match="关注类别"):
        r.update("person", f["id"], {"marks": "外星人"})


def test_photos_follow_a_person_who_moves_grids(store, admin, community, tmp_path):
    from PIL import Image

    from desktop.services.photos import Photos

    h = Households(store, admin)
    a = register(h, community, [community.member("照片人", 30)], room="301")
    b = h.register(grid_id=community.grid2["id"], address={"estate": "乙小区", "building": "1", "room": "101"},
                   members=[community.member("乙户主", 40)])
    img = tmp_path / "p.png"
    Image.new("RGB", (40, 30), "red").save(img)
    person_id = a["members"][0]["id"]
    photo = Photos(store, admin).attach("person", person_id, img)
    assert photo["grid_id"] == community.grid1["id"]
    h.move_person(person_id, to_household_id=b["household"]["id"], relation="99")
    moved = Records(store, admin).get("attachment", photo["id"])
    assert moved["grid_id"] == community.grid2["id"] and moved["version"] == 2


def test_daily_upkeep_marks_people_who_turned_sixty(store, admin, community):
    from datetime import date

    from desktop.services import maintenance

    h = Households(store, admin)
    birth = date(1966, 6, 15)
    view = h.register(grid_id=community.grid1["id"], address={"estate": "庚小区", "building": "1", "room": "1"},
                      members=[{"name": "将满六十", "cert_no": id_number(birth)}])
    pid = view["members"][0]["id"]
    assert Records(store, admin).get("person", pid)["derived_marks"] in ("", ",lone_elderly,")
    assert maintenance.daily(store, admin, today=date(2026, 6, 14)) >= 0
    assert Records(store, admin).get("person", pid)["derived_marks"] == ""
    assert maintenance.daily(store, admin, today=date(2026, 6, 15)) == 1
    assert Records(store, admin).get("person", pid)["derived_marks"] == ",lone_elderly,"
    assert maintenance.daily(store, admin, today=date(2026, 6, 15)) == 0  # once a day
