"""Field lengths are bounded in the core's one record check and in the sync protocol alike: a
String(n) column takes at most n characters, a Text column at most TEXT_MAX_CHARS (item 4 of the
hardening issue: a 5-million-character note synced to every laptop)."""

from __future__ import annotations

import pytest

from desktop.models import TEXT_MAX_CHARS
from desktop.services.errors import ValidationFailed
from desktop.services.records import Records
from desktop.sync.protocol import check_value


def test_text_columns_are_capped_in_forms(store, admin, community):
    r = Records(store, admin)
    grid = community.grid1["id"]
    with pytest.raises(ValidationFailed) as caught:
        r.create("person", {"name": "张三", "grid_id": grid, "note": "长" * 5_000_000})
    text = str(caught.value.issues if hasattr(caught.value, "issues") else caught.value)
    assert "备注" in text and f"{TEXT_MAX_CHARS:,}" in text
    ok = r.create("person", {"name": "张三", "grid_id": grid, "note": "长" * TEXT_MAX_CHARS})
    assert len(ok["note"]) == TEXT_MAX_CHARS
    with pytest.raises(ValidationFailed, match="备注"):
        r.update("person", ok["id"], {"note": "长" * (TEXT_MAX_CHARS + 1)})


def test_string_columns_take_their_declared_length(store, admin, community):
    r = Records(store, admin)
    with pytest.raises(ValidationFailed) as caught:
        r.create("person", {"name": "张" * 65, "grid_id": community.grid1["id"]})
    assert "姓名" in str(caught.value) and "64" in str(caught.value)
    assert r.create("person", {"name": "张" * 64, "grid_id": community.grid1["id"]})["name"] == "张" * 64


def test_the_sync_check_applies_the_same_limits():
    assert check_value("person", "note", "长" * TEXT_MAX_CHARS) is None
    assert "person.note" in check_value("person", "note", "长" * (TEXT_MAX_CHARS + 1))
    assert check_value("person", "note", "长" * 5_000_000) is not None
    assert check_value("person", "name", "张" * 64) is None
    assert check_value("person", "name", "张" * 65) is not None
    assert check_value("visit", "situation", "x" * (TEXT_MAX_CHARS + 1)) is not None
    # a column the core derives (the pinyin of a 64-character name) is not held to the typed length
    assert check_value("person", "name_py", "zhang " * 64) is None
