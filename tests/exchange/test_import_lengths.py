"""An import row whose cell is longer than its field allows is rejected with the column (item 4)."""

from __future__ import annotations

from desktop.exchange import ImportOptions, dry_run, read_sheet, suggest_mapping
from desktop.models import TEXT_MAX_CHARS


def test_an_overlong_note_rejects_its_row(store, admin, community, make_xlsx):
    path = make_xlsx([["姓名", "备注"], ["张三", "长" * (TEXT_MAX_CHARS + 1)], ["李四", "短"]])
    sheet = read_sheet(path, kind="person")
    report = dry_run(store, admin, "person", sheet, suggest_mapping("person", sheet.headers),
                     ImportOptions(default_grid_id=community.grid1["id"]))
    assert [r.status for r in report.rows] == ["rejected", "imported"]
    assert "备注" in report.rows[0].messages[0] and f"{TEXT_MAX_CHARS:,}" in report.rows[0].messages[0]
    assert report.rows[0].columns == [1]
