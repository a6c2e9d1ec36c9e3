"""A 50,000-row register goes in through the bulk path in one transaction. (How fast is the
benchmark's question, not this test's: benchmarks/excel_bench.py times 100,000 rows against
its IMPORT_TARGET_S.)"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from desktop.exchange import ImportOptions, read_sheet, run_import, suggest_mapping
from desktop.models import AuditEntry, Household, Person
from desktop.validation import make_id_number

N = 50_000


@pytest.mark.slow
def test_fifty_thousand_people(store, admin, community, tmp_path):
    import xlsxwriter

    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 0, 9, "大表")
    ws.write_row(1, 0, ["姓名", "性别", "出生日期", "公民身份号码", "联系电话", "与户主关系", "户号", "网格", "小区", "户室"])
    from datetime import date

    for i in range(N):
        born = date(1940 + i % 70, 1 + i % 12, 1 + i % 28)
        seq = (i // 840) % 1000
        gender = "1" if seq % 2 else "2"
        cert = make_id_number("620104", born, seq)
        hh = i // 3
        ws.write_row(i + 2, 0, [f"人{i}", "男" if gender == "1" else "女", (born - date(1899, 12, 30)).days, cert,
                                f"139{i:08d}", "户主" if i % 3 == 0 else "子", f"B{hh:06d}",
                                "第1网格" if hh % 2 else "第2网格", f"大楼{hh // 100}号", f"{hh % 100 + 101}"])
    wb.close()
    sheet = read_sheet(path)
    report = run_import(store, admin, "person", sheet, suggest_mapping("person", sheet.headers), ImportOptions())
    c = report.counts
    assert report.written, report.message
    # the same (birth date, sequence) can repeat: those rows are duplicates inside the file
    assert (c["rejected"], c["updated"], c["imported"] + c["skipped"]) == (0, 0, N)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == c["imported"]
        assert s.scalar(select(func.count()).select_from(Household)) == report.created["households"]
        assert s.scalar(text("SELECT count(*) FROM sync_outbox WHERE table_name = 'person'")) == c["imported"]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")) == 1
