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
