"""Visit rules and life events travel like every record: an admin's rule and a worker's 出院
reach the other laptops, and the worker's plan there shows the follow-up; a rule pushed from a
grid worker's laptop (written around the service) is refused by the server."""

from __future__ import annotations

from datetime import date

from desktop.models import new_id, utcnow
from desktop.services.areas import AreaAdmin
from desktop.services.households import Households
from desktop.services.life_events import LifeEvents
from desktop.services.plan import VisitPlan
from desktop.services.store import Actor
from desktop.services.visit_rules import VisitRules, effective_rules
from tests.factories import id_number, years_ago
from tests.sync.harness import laptop, running_server, sync


def test_rules_and_life_events_sync_and_a_workers_rule_is_refused(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'server.db'}") as srv:
        srv.add_user("admin", "community_admin")
        office = laptop(tmp_path / "office.db")
        admin = Actor("admin", "community_admin", None, office.meta("device_id"), "管理员")
        areas = AreaAdmin(office, admin)
        community = areas.create_community("兰化22街区社区", code="620104001001")
        grid = areas.create_grid(community["id"], "第1网格")
        VisitRules(office, admin).set("mark", "独居老人", 14, "独居老人两周一次")
        sync(office, srv.url, "admin")
        srv.add_user("w1", "grid_worker", ["62010400100101"])

        field = laptop(tmp_path / "w1.db")
        sync(field, srv.url, "w1")
        with field.session() as s:
            assert [(r.target_value, r.interval_days) for r in effective_rules(s) if r.target_kind == "mark"][0] == (
                "lone_elderly", 14)
        worker = Actor("w1", "grid_worker", frozenset({grid["id"]}), field.meta("device_id"), "网格员")
        hh = Households(field, worker).register(grid_id=grid["id"], address={"estate": "幸福小区", "building": "1",
                                                                            "room": "101"},
                                                members=[{"name": "王秀英", "cert_no": id_number(years_ago(70), "2")}])
        today = date.today()
        LifeEvents(field, worker).record(hh["household"]["id"], "discharged", today, person_id=hh["members"][0]["id"])
        # a rule row written around the service on the worker's laptop: the server refuses it
        with field.transaction() as s:
            s.connection().exec_driver_sql(
                "INSERT INTO visit_rule (id, version, created_at, created_by, updated_at, updated_by, target_kind, "
                "target_value, interval_days, reason, active) VALUES (?, 1, ?, 'w1', ?, 'w1', 'all', '', 1, '天天去', 1)",
                (new_id(), utcnow(), utcnow()))
        pushed = sync(field, srv.url, "w1")
        assert pushed.pushed["life_event"] == 1 and pushed.push_status.get("rejected") == 1

        sync(office, srv.url, "admin")
        plan = VisitPlan(office, admin).plan(today=today)
        assert [(i.head, i.kind, i.reason.split("(")[0]) for i in plan.items if i.kind == "event"] == [
            ("王秀英", "event", "出院后 1 天内回访")]
        with office.session() as s:
            assert ("all", "", 90) in [(r.target_kind, r.target_value, r.interval_days) for r in effective_rules(s)]
