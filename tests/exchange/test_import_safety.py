"""An import never puts back an older value over a newer edit: registered people are listed
for confirmation with what changes field by field (masked as on screen), a field edited in the
app after the file was saved keeps the app's value unless the user says otherwise, and a filled-in
value is never replaced by an empty one."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from desktop.exchange import ImportOptions, dry_run, read_sheet, run_import, suggest_mapping
from desktop.models import Person
from desktop.services.households import Households
from desktop.services.records import Records
from tests.exchange.conftest import person_ids, write_xlsx

OLD_PHONE, NEW_PHONE = "17012342598", "13912348765"


def _utc(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def saved_at(path: Path, when: datetime) -> Path:
    """Make `path` look saved at `when` (naive UTC): the core properties' modified time, as
    Excel, WPS and LibreOffice write it, and the file system's time."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + _utc(when).encode() + rb"\g<2>", data)
            dst.writestr(info, data)
    tmp.replace(path)
    stamp = when.replace(tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _backdate(store, person_id: str, when: datetime) -> None:
    """The person was registered at `when`: their change capture says so."""
    with store.transaction() as s:
        s.execute(text("UPDATE sync_outbox SET changed_at = :t WHERE row_id = :id"),
                  {"t": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "id": person_id})
        s.execute(text("UPDATE person SET updated_at = :t WHERE id = :id"),
                  {"t": when.strftime("%Y-%m-%d %H:%M:%S.000000"), "id": person_id})


def _run(store, actor, path, options=None, *, dry=False):
    sheet = read_sheet(path, kind="person")
    fn = dry_run if dry else run_import
    return fn(store, actor, "person", sheet, suggest_mapping("person", sheet.headers), options or ImportOptions())


def _person(store, cert):
    with store.session() as s:
        p = s.scalars(select(Person).where(Person.cert_no == cert)).one()
        return {"phone": p.phone, "note": p.note, "employer": p.employer, "version": p.version}


def _setup(store, admin, community, tmp_path):
    """王芳 was registered three hours ago; the office saved its sheet two hours ago (her old
    phone, a new 备注, an empty 工作单位 cell); an hour ago her phone was corrected in the app."""
    now = datetime.now(UTC).replace(tzinfo=None)
    (cert, _b, _g), = person_ids(1, seed=5)
    hh = Households(store, admin).register(
        grid_id=community.grid1["id"],
        members=[{"name": "王芳", "cert_no": cert, "phone": OLD_PHONE, "note": "独居", "employer": "兰州石化"}],
        address={"estate": "幸福小区", "building": "2", "unit": "1", "room": "301"})
    pid = hh["members"][0]["id"]
    _backdate(store, pid, now - timedelta(hours=3))
    path = write_xlsx(tmp_path / "people.xlsx", [
        ["姓名", "身份证号", "联系电话", "工作单位", "备注", "网格"],
        ["王芳", cert, OLD_PHONE, None, "独居老人,子女在外地", "第1网格"],
    ])
    saved_at(path, now - timedelta(hours=2))
    Records(store, admin).update("person", pid, {"phone": NEW_PHONE})
    return cert, path


def test_default_lists_registered_people_with_their_changes_and_writes_nothing(store, admin, community, tmp_path):
    cert, path = _setup(store, admin, community, tmp_path)
    before = _person(store, cert)
    report = _run(store, admin, path, dry=True)
    row = report.rows[0]
    assert row.status == "ask" and report.counts["ask"] == 1 and report.counts["updated"] == 0
    texts = [c.text() for c in row.changes]
    assert texts[0].startswith("联系电话: 139****8765 → 170****2598(未更新:本机于 ")
    assert "晚于文件的保存时间" in texts[0]
    assert texts[1] == "备注: 独居 → 独居老人,子女在外地"
    assert len(texts) == 2  # the empty 工作单位 cell changes nothing
    assert NEW_PHONE not in row.detail and OLD_PHONE not in row.detail  # masked as on screen
    # the import itself, with the default, leaves her as she is
    report = _run(store, admin, path)
    assert report.written and report.rows[0].status == "ask"
    assert _person(store, cert) == before


def test_update_keeps_a_field_edited_after_the_file_was_saved(store, admin, community, tmp_path):
    cert, path = _setup(store, admin, community, tmp_path)
    report = _run(store, admin, path, ImportOptions(on_existing="update"))
    assert report.written and report.rows[0].status == "updated"
    p = _person(store, cert)
    assert p["phone"] == NEW_PHONE  # the correction made in the app is not put back
    assert p["note"] == "独居老人,子女在外地"  # older in the app than the file: updated
    assert p["employer"] == "兰州石化"  # never emptied
    assert "未更新:本机于" in report.rows[0].detail


def test_confirming_a_row_updates_it_and_overwriting_newer_edits_is_a_choice(store, admin, community, tmp_path):
    cert, path = _setup(store, admin, community, tmp_path)
    report = _run(store, admin, path, ImportOptions(confirmed=frozenset({2})))
    assert report.rows[0].status == "updated"
    assert _person(store, cert)["phone"] == NEW_PHONE
    report = _run(store, admin, path, ImportOptions(on_existing="update", overwrite_newer=True))
    assert report.rows[0].status == "updated"
    assert [c.text() for c in report.rows[0].changes] == ["联系电话: 139****8765 → 170****2598"]
    assert _person(store, cert)["phone"] == OLD_PHONE


def test_a_value_is_never_replaced_by_an_empty_one(store, admin, community, tmp_path):
    cert, path = _setup(store, admin, community, tmp_path)
    # a cell that looks filled but holds nothing (a zero-width space pasted from a web page)
    blank = write_xlsx(tmp_path / "blank.xlsx", [["姓名", "身份证号", "工作单位", "网格"], ["王芳", cert, " \u200b\ufeff ", "第1网格"]])
    report = _run(store, admin, blank, ImportOptions(on_existing="update"))
    assert report.rows[0].status == "skipped"
    assert _person(store, cert)["employer"] == "兰州石化"


def test_file_time_is_the_saved_time_of_the_workbook(tmp_path):
    when = datetime(2026, 3, 1, 8, 30, 0)
    path = saved_at(write_xlsx(tmp_path / "a.xlsx", [["姓名"], ["王芳"]]), when)
    os.utime(path, None)  # copied later: the workbook still says when it was saved
    assert read_sheet(path).modified == when
    csv = tmp_path / "a.csv"
    csv.write_text("姓名\n王芳\n", encoding="utf-8")
    stamp = when.replace(tzinfo=UTC).timestamp()
    os.utime(csv, (stamp, stamp))
    assert read_sheet(csv).modified == when


def test_report_workbook_lists_the_changes(store, admin, community, tmp_path):
    from python_calamine import CalamineWorkbook

    cert, path = _setup(store, admin, community, tmp_path)
    report = _run(store, admin, path, dry=True)
    out = report.save_xlsx(tmp_path / "report.xlsx")
    wb = CalamineWorkbook.from_path(str(out))
    assert "逐项变化" in wb.sheet_names
    rows = wb.get_sheet_by_name("逐项变化").to_python()
    assert rows[2][2:5] == ["联系电话", "139****8765", "170****2598"] and rows[2][5].startswith("未更新:本机于")
    assert rows[3][2:6] == ["备注", "独居", "独居老人,子女在外地", "需确认"]
    fix = wb.get_sheet_by_name("需修正的行").to_python()
    assert "备注: 独居 → 独居老人,子女在外地" in fix[2][-2]


def test_a_cell_the_clerk_did_not_touch_never_puts_back_an_older_value(store, admin, community, tmp_path):
    """Exported at 9, the phone corrected in the app at 10, another cell corrected in Excel at
    11: the file is newer than the app's edit, but its phone cell still holds the value of the
    export, so the app's correction stays."""
    import openpyxl

    from desktop.exchange.export import export

    now = datetime.now(UTC).replace(tzinfo=None)
    (cert, _b, _g), = person_ids(1, seed=6)
    hh = Households(store, admin).register(
        grid_id=community.grid1["id"], household={"hh_no": "S001"},
        members=[{"name": "赵敏", "cert_no": cert, "phone": OLD_PHONE, "note": "独居"}],
        address={"estate": "幸福小区", "building": "4", "unit": "1", "room": "101"})
    _backdate(store, hh["members"][0]["id"], now - timedelta(hours=3))
    path = tmp_path / "人口台账.xlsx"
    export(store, admin, "person", path, unmask=True)  # 9:00
    Records(store, admin).update("person", hh["members"][0]["id"], {"phone": NEW_PHONE})  # 10:00
    wb = openpyxl.load_workbook(path)  # 11:00: the 备注 corrected in another program
    ws = wb.active
    headers = {c.value: c.column for c in ws[2]}
    assert ws.cell(3, headers["联系电话"]).value == OLD_PHONE
    ws.cell(3, headers["备注"]).value = "独居老人,子女在外地"
    wb.save(path)
    sheet = read_sheet(path, kind="person")
    assert sheet.created is not None and sheet.modified is not None and sheet.modified >= sheet.created
    report = _run(store, admin, path, ImportOptions(on_existing="update"))
    row = report.rows[0]
    assert row.status == "updated"
    phone = next(c for c in row.changes if c.label == "联系电话")
    assert phone.kept.startswith("文件中此项仍是") and "保留本机的值" in phone.kept
    p = _person(store, cert)
    assert p["phone"] == NEW_PHONE and p["note"] == "独居老人,子女在外地"
    # the explicit choice still puts the file's value in
    report = _run(store, admin, path, ImportOptions(on_existing="update", overwrite_newer=True))
    assert _person(store, cert)["phone"] == OLD_PHONE
