"""The issue's "done when": two laptops edit the same community offline (one of them for three
weeks, through a bundle), a supervisor syncs both, sees exactly the real clashes, resolves them,
and every copy ends identical."""

from __future__ import annotations

from desktop.services.auth import actor_for
from desktop.services.records import Records
from desktop.sync import bundle_sync, replica
from desktop.sync.client import SyncClient
from server.bundle_import import import_bundle
from tests.sync.harness import PASSWORD, assert_converged


def test_two_laptops_three_weeks_one_bundle_exact_clashes_resolved(world, tmp_path):
    g1 = world.grids[0]
    online, offline, sup = world.laptop("online"), world.laptop("offline"), world.laptop("sup")
    world.sync(online, "w1")  # two laptops of the same grid (a worker and a colleague's spare)
    world.sync(offline, "w1")
    world.sync(sup, "sup")
    with online.engine.connect() as c:
        people = [r[0] for r in c.exec_driver_sql(
            "SELECT id FROM person WHERE grid_id = ? AND id NOT IN (SELECT head_person_id FROM household "
            "WHERE head_person_id IS NOT NULL) ORDER BY id LIMIT 6", (g1,))]
    p_clash1, p_clash2, p_both_fields, p_only_online, p_only_offline, p_deleted = people
    on, off = Records(online, actor_for(online, "w1")), Records(offline, actor_for(offline, "w1"))

    # three weeks offline: the bundle laptop keeps working
    for week in range(1, 4):
        off.update("person", p_clash1, {"occupation": f"离线第{week}周"})
    off.update("person", p_clash2, {"employer": "离线单位"})
    off.update("person", p_both_fields, {"phone": "13600000001"})
    off.update("person", p_only_offline, {"occupation": "只在离线机改"})
    off.update("person", p_deleted, {"occupation": "删了还改"})
    # the online laptop meanwhile
    on.update("person", p_clash1, {"occupation": "在线改"})
    on.update("person", p_clash2, {"employer": "在线单位"})
    on.update("person", p_both_fields, {"occupation": "在线职业"})
    on.update("person", p_only_online, {"occupation": "只在在线机改"})
    on.delete("person", p_deleted)
    world.sync(online, "w1")

    out, reply = tmp_path / "three-weeks.glb", tmp_path / "reply.glb"
    bundle_sync.export_bundle(offline, out)
    import_bundle(world.server.store, out, reply)
    bundle_sync.import_reply(offline, reply)
    assert replica.pending_count(offline) == 0

    # the supervisor sees exactly the real clashes
    world.sync(sup, "sup")
    with SyncClient(sup, world.url, "sup", PASSWORD) as client:
        conflicts = client.conflicts()
        got = sorted((c["kind"], c["row_id"], tuple(c["fields"])) for c in conflicts)
        assert got == sorted([
            ("field", p_clash1, ("occupation",)),
            ("field", p_clash2, ("employer",)),
            ("delete_edit", p_deleted, ("occupation",)),
        ])
        for c in conflicts:
            if c["row_id"] == p_clash1:
                # base / server / laptop values with who and when
                assert c["server"]["value"] == {"occupation": "在线改"} and c["server"]["by"] == "w1"
                assert c["client"]["value"] == {"occupation": "离线第1周"}
                client.resolve(c["id"], "custom", {"occupation": "核实后:在线改"})
            elif c["row_id"] == p_clash2:
                client.resolve(c["id"], "server")
            else:
                client.resolve(c["id"], "delete")
        assert client.conflicts() == []

    for store, user in ((sup, "sup"), (online, "w1"), (offline, "w1"), (world.admin, "admin")):
        world.sync(store, user)
    r = Records(sup, actor_for(sup, "sup"))
    assert r.get("person", p_clash1)["occupation"] == "核实后:在线改"
    assert r.get("person", p_clash2)["employer"] == "在线单位"
    both = r.get("person", p_both_fields)
    assert (both["occupation"], both["phone"]) == ("在线职业", "13600000001")
    assert r.get("person", p_only_online)["occupation"] == "只在在线机改"
    assert r.get("person", p_only_offline)["occupation"] == "只在离线机改"
    assert r.get("person", p_deleted, include_deleted=True)["deleted_at"] is not None
    assert_converged(world.server, (online, [g1]), (offline, [g1]), (sup, None), (world.admin, None))
