"""The audit trail is viewable and filterable by a supervisor, and by nobody below."""

from __future__ import annotations

import pytest

from desktop.services.audit import audit_entries
from desktop.services.errors import PermissionDenied
from desktop.services.records import Records
from desktop.services.store import Actor


def test_supervisor_reads_and_filters_the_trail(qtbot, ui_ctx, store, admin, community):
    from ui.pages.audit import AuditPage

    p = Records(store, admin).create("person", {"grid_id": community.grid1["id"], "name": "被查看的人"})
    Records(store, admin).update("person", p["id"], {"phone": "13912345678"})
    rows = audit_entries(store, admin, entity_id=p["id"])
    assert [r["action"] for r in rows] == ["update", "create"]
    assert all("被查看的人" not in (r["summary"] or "") + (r["detail"] or "") for r in rows)  # no personal values
    page = AuditPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate()
    assert page.table.rowCount() >= 2 + 5  # the community's areas, the person's create and update
    page.action.setCurrentIndex(page.action.findData("update"))
    page.reload()
    assert page.table.rowCount() == 1 and page.table.item(0, 2).text() == "修改"


def test_grid_worker_cannot_read_the_trail(store, community):
    worker = Actor("wgy001", "grid_worker", frozenset({community.grid1["id"]}))
    with pytest.raises(PermissionDenied, match="审计"):
        audit_entries(store, worker)


def test_audit_page_only_in_the_supervisors_window(qtbot, store, admin, community):
    from ui.context import AppContext
    from ui.main_window import MainWindow

    sup = MainWindow(AppContext(store, admin))
    qtbot.addWidget(sup)
    worker = MainWindow(AppContext(store, Actor("wgy001", "grid_worker", frozenset({community.grid1["id"]}))))
    qtbot.addWidget(worker)
    titles = lambda w: [w.sidebar.item(i).text() for i in range(w.sidebar.count())]  # noqa: E731
    assert "审计" in titles(sup) and "审计" not in titles(worker)


def test_who_reached_one_persons_data(qtbot, ui_ctx, store, admin, community, tmp_path, monkeypatch):
    """涉及人员: a supervisor sees who revealed, printed or exported one person's data, by name."""
    from desktop.exchange.export import export
    from desktop.printing import print_archives
    from desktop.services import privacy
    from desktop.services.households import Households
    from ui.pages.audit import AuditPage

    h = Households(store, admin)
    fam = h.register(grid_id=community.grid1["id"], address={"estate": "审计小区", "building": "1", "room": "101"},
                     members=[community.member("查看对象", 40, phone="13900001111")])
    other = h.register(grid_id=community.grid2["id"], address={"estate": "别的小区", "building": "2", "room": "202"},
                       members=[community.member("无关之人", 41, phone="13900002222")])
    pid, other_pid = fam["members"][0]["id"], other["members"][0]["id"]
    nosy = Actor("nosy", "supervisor")
    privacy.reveal(store, nosy, "person", pid, "phone")
    privacy.reveal(store, nosy, "person", other_pid, "phone")
    print_archives(store, nosy, [fam["household"]["id"]], tmp_path / "a.pdf")
    print_archives(store, nosy, [other["household"]["id"]], tmp_path / "b.pdf")
    export(store, nosy, "person", tmp_path / "grid1.xlsx", grid_id=community.grid1["id"])
    export(store, nosy, "person", tmp_path / "grid2.xlsx", grid_id=community.grid2["id"])
    rows = audit_entries(store, admin, who="nosy", about_person=pid)
    assert [r["action"] for r in rows] == ["export", "print", "reveal"]
    assert rows[2]["entity_name"] == "查看对象" and "联系电话" in rows[2]["summary"]
    assert "查看对象" not in " ".join((r["summary"] or "") + (r["detail"] or "") for r in rows)  # names are looked up
    page = AuditPage(ui_ctx)
    qtbot.addWidget(page)
    page.who.setText("nosy")
    page.about.setText("查看对象")
    page.query()
    assert page.table.rowCount() == 3 and "涉及 查看对象 的" in page.count.text()
    assert page.table.item(2, 3).text() == "人员:查看对象"
    page.about.setText("没有这个人")
    page.query()
    assert page.table.rowCount() == 0 and "找不到" in page.count.text()
    page.about.clear()
    page.query()
    assert page.table.rowCount() == 6  # everything nosy did
