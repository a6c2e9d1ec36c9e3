"""Smaller things: date fields that say YYYY-MM-DD, no SQLCipher or 重建检索索引 for grid workers."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from desktop.policy import Role
from desktop.services.store import Actor


def test_date_fields_say_the_format(qtbot, ui_ctx):
    from ui.forms.record_form import RecordForm

    form = RecordForm(ui_ctx, "visit")
    qtbot.addWidget(form)
    assert form.widgets["visited_on"].placeholderText() == "YYYY-MM-DD"
    assert isinstance(form.widgets["follow_up_on"], QLineEdit)
    assert form.widgets["follow_up_on"].placeholderText() == "YYYY-MM-DD"


def test_grid_workers_see_no_database_jargon(qtbot, store, community):
    from ui.context import AppContext
    from ui.pages.settings import SettingsPage

    worker = Actor("wgy", Role.GRID_WORKER, grid_ids=frozenset({community.grid1["id"]}))
    page = SettingsPage(AppContext(store, worker))
    qtbot.addWidget(page)
    page.show()
    shown = " ".join(w.text() for kind in (QLabel, QPushButton) for w in page.findChildren(kind) if w.isVisible())
    assert "加密" in shown  # the page is there, in plain words
    assert "SQLCipher" not in shown and "重建检索索引" not in shown
    office = SettingsPage(AppContext(store, Actor("admin", Role.COMMUNITY_ADMIN)))
    qtbot.addWidget(office)
    office.show()
    assert office.reindex_button.isVisible()
