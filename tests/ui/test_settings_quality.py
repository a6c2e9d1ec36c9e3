"""设置 → 核实期限: the months without 核实 after which a record is 久未核实 (the setting
``quality.stale_months``), edited by the office roles only (Ability.QUALITY_SETTINGS), checked by
the service (1 to 120 months, one Chinese sentence) and audited."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from desktop.services.quality import Quality
from desktop.services.store import Actor
from ui.context import AppContext
from ui.pages.settings import SettingsPage


def _audits(store):
    with store.session() as s:
        return [(r[0], r[1], json.loads(r[2])) for r in s.connection().exec_driver_sql(
            "SELECT actor, summary, detail FROM audit_log WHERE summary LIKE '修改核实期限%' ORDER BY seq")]


def test_an_admin_sets_the_stale_months(qtbot, ui_ctx, community, answers):
    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    page.show()
    assert page.stale.value() == 12 and page.stale.isEnabled() and page.stale_button.isVisible()
    assert (page.stale.minimum(), page.stale.maximum()) == (1, 120)
    assert not page.stale_button.isEnabled()  # nothing to save yet
    page.stale.setValue(18)
    assert page.stale_button.isEnabled()
    qtbot.mouseClick(page.stale_button, Qt.MouseButton.LeftButton)
    assert Quality(ui_ctx.store, ui_ctx.actor).stale_months() == 18 and not page.stale_button.isEnabled()
    assert _audits(ui_ctx.store) == [("admin", "修改核实期限:12 个月 → 18 个月",
                                      {"setting": "quality.stale_months", "months": 18, "before": 12})]
    # the queue and the figures use it at once
    assert Quality(ui_ctx.store, ui_ctx.actor).figures()["stale_months"] == 18
    # out of range (the spin box cannot say 0 or 121; a caller can): one sentence, nothing saved
    answers.warning(times=2)
    assert not page.set_stale_months(0) and not page.set_stale_months(121)
    assert answers.titles("warning") == ["未能修改核实期限"] * 2
    assert all("核实期限应为 1 到 120 个月的整数" in t for t in answers.texts("warning"))
    assert page.stale.value() == 18 and len(_audits(ui_ctx.store)) == 1
    # a new page shows the saved value
    again = SettingsPage(ui_ctx)
    qtbot.addWidget(again)
    assert again.stale.value() == 18


def test_a_supervisor_may_and_a_grid_worker_may_not(qtbot, store, community, answers):
    supervisor = SettingsPage(AppContext(store, Actor("sup", "supervisor", None, "dev-1", "网格长")))
    qtbot.addWidget(supervisor)
    assert supervisor.stale.isEnabled()
    worker = SettingsPage(AppContext(store, Actor("w", "grid_worker", frozenset({community.grid1["id"]}))))
    qtbot.addWidget(worker)
    worker.show()
    assert not worker.stale.isEnabled() and not worker.stale_button.isVisible()
    answers.warning()
    assert not worker.set_stale_months(24)  # refused by the policy, not only by the greyed-out box
    assert "修改数据质量设置" in answers.texts("warning")[-1]
    assert Quality(store, Actor("admin", "community_admin", None)).stale_months() == 12 and _audits(store) == []
