"""The app's own masked people ledger comes back: exported masked, corrected in another program
(openpyxl writes the file again, as Excel, WPS or LibreOffice would), imported. The file is
recognised and said to be masked once; a row that names one person beyond doubt (户号 + 姓名 +
the visible characters of the ID number) updates that person with a field-by-field preview; a
masked value is never written into a record, and a masked row never creates anyone."""

from __future__ import annotations

import openpyxl
from sqlalchemy import select

from desktop.exchange import ImportOptions, dry_run, read_sheet, run_import, suggest_mapping
from desktop.exchange.export import export
from desktop.models import Person
from desktop.services.households import Households
from tests.exchange.conftest import person_ids

PHONES = ["13800001111", "13800002222", "13800003333", "13800004444"]


def _register(store, admin, community):
    ids = person_ids(4, seed=17)
    hh = Households(store, admin)
    hh.register(grid_id=community.grid1["id"], household={"hh_no": "M001"},
                members=[{"name": "刘一", "cert_no": ids[0][0], "phone": PHONES[0], "relation": "02"},
                         {"name": "刘二", "cert_no": ids[1][0], "phone": PHONES[1], "relation": "20", "note": "上学"}],
                address={"estate": "幸福小区", "building": "5", "unit": "1", "room": "101"})
    hh.register(grid_id=community.grid1["id"], household={"hh_no": "M002"},
                members=[{"name": "陈三", "cert_no": ids[2][0], "phone": PHONES[2], "relation": "02"},
                         {"name": "陈四", "cert_no": ids[3][0], "phone": PHONES[3], "relation": "10"}],
                address={"estate": "幸福小区", "building": "5", "unit": "1", "room": "102"})
    return [i[0] for i in ids]


def _people(store):
    with store.session() as s:
        return {p.name: (p.cert_no, p.phone, p.note, p.employer, p.version)
                for p in s.scalars(select(Person).where(Person.deleted_at.is_(None)))}


def _edit(path, edits):
    """Change cells by header and person name in another program, and save it there."""
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "网格")
    headers = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(header_row + 1, ws.max_row + 1):
        name = ws.cell(r, headers["姓名"]).value
        for header, value in edits.get(name, {}).items():
            ws.cell(r, headers[header]).value = value
    extra = edits.get("(new row)")
    if extra:
        r = ws.max_row + 1
        for header, value in extra.items():
            ws.cell(r, headers[header]).value = value
    wb.save(path)
    return path


def _check(store, admin, path, options=None, *, dry=True):
    sheet = read_sheet(path, kind="person")
    fn = dry_run if dry else run_import
    return fn(store, admin, "person", sheet, suggest_mapping("person", sheet.headers), options or ImportOptions())


def test_masked_export_round_trip(store, admin, community, tmp_path):
    certs = _register(store, admin, community)
    out = tmp_path / "人口台账.xlsx"
    assert export(store, admin, "person", out) == 4
    before = _people(store)
    _edit(out, {"刘二": {"联系电话": "17000009999", "备注": "在外地上大学"}, "陈三": {"工作单位": "兰州石化"}})
    report = _check(store, admin, out)
    # said once, in one sentence; no row refused for the mask itself
    assert report.notice.startswith("这是脱敏导出的台账") and report.notice.count("。") == 1
    assert not any("不是数字" in m for r in report.rows for m in r.messages)
    by_name = {r.values["姓名"]: r for r in report.rows}
    assert report.counts["rejected"] == 0 and report.total == 4
    liu2 = by_name["刘二"]
    assert liu2.status == "ask"
    assert [c.text() for c in liu2.changes] == ["联系电话: 138****2222 → 170****9999", "备注: 上学 → 在外地上大学"]
    assert [c.text() for c in by_name["陈三"].changes] == ["工作单位: (空) → 兰州石化"]
    assert by_name["刘一"].status == "skipped" and not by_name["刘一"].changes  # unchanged
    assert _people(store) == before  # the default writes no update

    report = _check(store, admin, out, ImportOptions(on_existing="update"), dry=False)
    assert report.written and report.counts["updated"] == 2 and report.counts["rejected"] == 0
    after = _people(store)
    assert after["刘二"][:3] == (certs[1], "17000009999", "在外地上大学")
    assert after["陈三"][3] == "兰州石化"
    for name in ("刘一", "陈四"):
        assert after[name] == before[name]  # their masked cells went nowhere
    for cert, phone, *_rest in after.values():
        assert "*" not in cert and "*" not in (phone or "")


def test_masked_rows_that_do_not_name_one_person_are_refused_and_never_create(store, admin, community, tmp_path):
    certs = _register(store, admin, community)
    out = tmp_path / "人口台账.xlsx"
    export(store, admin, "person", out)
    masked_liu1 = certs[0][:6] + "*" * 8 + certs[0][-4:]
    _edit(out, {
        "陈四": {"户号": "M001"},  # 户号 no longer fits: not this person beyond doubt
        "(new row)": {"网格": "第1网格", "户号": "M002", "姓名": "新人", "证件号码": masked_liu1},
    })
    report = _check(store, admin, out, ImportOptions(on_existing="update", valid_only=True), dry=False)
    by_name = {r.values["姓名"]: r for r in report.rows}
    assert by_name["陈四"].status == "rejected" and by_name["新人"].status == "rejected"
    assert "找不到姓名为“陈四”" in by_name["陈四"].messages[0] and "户 M001 中" in by_name["陈四"].messages[0]
    assert "新增人员请填写完整的证件号码" in by_name["新人"].messages[0]
    assert "新人" not in _people(store)


def test_a_masked_phone_in_an_ordinary_import_is_not_written(store, admin, community, make_xlsx):
    certs = _register(store, admin, community)
    path = make_xlsx([["姓名", "身份证号", "联系电话", "网格"], ["刘一", certs[0], "138****1111", "第1网格"]])
    report = _check(store, admin, path, ImportOptions(on_existing="update"), dry=False)
    assert report.rows[0].status == "skipped"
    assert report.notice.startswith("文件中有 1 行带“*”的脱敏号码:带“*”的证件号码和电话不会导入")
    assert _people(store)["刘一"][1] == PHONES[0]
