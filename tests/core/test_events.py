"""Event workflow with illegal transitions refused; visits with needs escalated into events."""

from __future__ import annotations

import pytest

from desktop.services.errors import IllegalTransition, ServiceError, ValidationFailed
from desktop.services.events import TRANSITIONS, Events, Visits, allowed_transitions
from desktop.services.households import Households


def test_full_workflow_with_steps(store, admin, community):
    ev = Events(store, admin)
    e = ev.report({"grid_id": community.grid1["id"], "title": "楼道灯损坏", "category": "设施维修"})
    assert e["state"] == "reported"
    with pytest.raises(IllegalTransition, match="不能直接转为“结案”;可选:受理"):
        ev.advance(e["id"], "closed")
    ev.advance(e["id"], "accepted")
    with pytest.raises(ValidationFailed, match="责任单位"):
        ev.advance(e["id"], "dispatched")
    ev.advance(e["id"], "dispatched", responsible_unit="社区物业")
    ev.advance(e["id"], "handling", note="已更换灯泡")
    ev.advance(e["id"], "verified")
    with pytest.raises(ValidationFailed, match="办结类型"):
        ev.advance(e["id"], "closed")
    done = ev.advance(e["id"], "closed", result_type="部门办结")
    assert done["closed_at"] is not None and done["result_type"] == "2"
    final = ev.advance(e["id"], "evaluated", satisfaction="满意")
    assert final["state"] == "evaluated" and final["satisfaction"] == "1"
    assert [s["state"] for s in ev.steps(e["id"])] == [
        "reported", "accepted", "dispatched", "handling", "verified", "closed", "evaluated"]
    with pytest.raises(IllegalTransition, match="流程已结束"):
        ev.advance(e["id"], "handling")


def test_state_cannot_be_edited_directly(store, admin, community):
    ev = Events(store, admin)
    e = ev.report({"grid_id": community.grid1["id"], "title": "占道经营", "category": "市容环境"})
    with pytest.raises(ValidationFailed, match="事件流转"):
        ev.update("grid_event", e["id"], {"state": "closed"})
    with pytest.raises(ValidationFailed, match="上报"):
        ev.create("grid_event", {"grid_id": community.grid1["id"], "title": "x", "category": "其他", "state": "closed"})


def test_every_state_has_a_defined_exit_set():
    assert allowed_transitions("verified") == ("closed", "handling")
    assert set(TRANSITIONS) == {"reported", "accepted", "dispatched", "handling", "verified", "closed", "evaluated"}


def test_visit_with_needs_and_escalation(store, admin, community):
    h = Households(store, admin)
    hh = h.register(grid_id=community.grid1["id"], address={"estate": "和平小区", "building": "1", "room": "101"},
                    members=[community.member("马明", 66)])
    v = Visits(store, admin)
    visit = v.record(
        {"household_id": hh["household"]["id"], "method": "入户", "situation": "老人独居,身体尚可"},
        needs=[{"category": "群众诉求", "content": "楼道灯损坏"}, {"category": "就业", "content": "孙子想找工作"}],
    )
    assert visit["grid_id"] == community.grid1["id"] and visit["visitor"] == "admin"
    assert len(visit["needs"]) == 2
    event = v.escalate(visit["needs"][0]["id"])
    assert event["state"] == "reported" and event["household_id"] == hh["household"]["id"]
    assert v.get("visit_need", visit["needs"][0]["id"])["status"] == "escalated"
    with pytest.raises(ServiceError, match="重复转办"):
        v.escalate(visit["needs"][0]["id"])
    assert Events(store, admin).steps(event["id"])[0]["note"] == "由走访诉求转办"
    with pytest.raises(ValidationFailed, match="第1条诉求"):
        v.record({"household_id": hh["household"]["id"]}, needs=[{"category": "不存在的类", "content": "x"}])
