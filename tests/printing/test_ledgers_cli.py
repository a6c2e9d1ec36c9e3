"""Ledgers on A4 landscape with repeated headers; the `gridledger print` command."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import text

from desktop.cli import main
from desktop.kinds import ledger_titles
from desktop.printing import PrintOptions, print_ledger
from desktop.services.errors import ServiceError
from desktop.services.store import SYSTEM
from desktop.validation import code_table
from tests.printing.conftest import GRID1, needs_poppler, pdfinfo, pdfpages, pdftext

pytestmark = needs_poppler
PAGE_NO = r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页"
HEADERS = {
    "visit": ("走访日期", "户主", "家庭情况", "满意度"),
    "key_person": ("姓名", "证件号码", "现住址", "情况说明"),
    "floating": ("姓名", "户籍地", "居住事由", "居住证号"),
    "house": ("地址", "用途", "房主", "住户数"),
    "vehicle": ("号牌号码", "品牌型号", "车主", "停放位置"),
    "visit_ontime": ("户主", "地址", "应访日期", "情况"),
}


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.mark.parametrize("kind", list(ledger_titles(printable=True)))
def test_every_ledger_is_landscape_with_repeated_header(street_store, tmp_path, kind):
    out = tmp_path / "o" / f"{kind}.pdf"
    start = date(date.today().year - 1, 1, 1)
    result = print_ledger(street_store, SYSTEM, kind, grid_code=GRID1, date_from=start, date_to=date.today(),
                          out=out, options=PrintOptions())
    info = pdfinfo(out)
    assert "841.89 x 595.276" in info["Page size"]  # A4 landscape
    pages = pdfpages(out)
    assert result.pages == pages >= 2, f"{kind}: {pages} page(s), cannot see the repeated header"
    page1, page2 = _flat(pdftext(out, 1, 1)), _flat(pdftext(out, 2, 2))
    assert _flat(ledger_titles(printable=True)[kind]) in page1
    for word in HEADERS[kind]:
        assert word in page2, (kind, word)  # the table header repeats on page 2
    numbers = re.findall(PAGE_NO, pdftext(out))
    assert [int(x) for x, _ in numbers] == list(range(1, pages + 1))
    assert {int(y) for _, y in numbers} == {pages}
    last = _flat(pdftext(out, pages, pages))
    assert "制表人:" in last and "审核人:" in last  # signed at the end, on the last page only
    assert "制表人" not in page1 or pages == 1
    assert list(out.parent.iterdir()) == [out]


def test_key_person_roster_has_a_section_per_care_mark(street_store, tmp_path):
    out = tmp_path / "key.pdf"
    print_ledger(street_store, SYSTEM, "key_person", grid_code=None, date_from=None, date_to=None, out=out)
    text = _flat(pdftext(out))
    for _code, label in code_table("care_mark").items:
        assert label in text, label
    for six in ("流动人口", "失业人员", "帮扶人员", "重点人员", "残障人员", "独居老人"):
        assert re.search(six + r"\(\d+人\)", text), six
    assert "网格" in _flat(pdftext(out, 1, 1))  # several grids: a grid column


def test_visit_ledger_respects_the_period(street_store, tmp_path):
    out = tmp_path / "v.pdf"
    print_ledger(street_store, SYSTEM, "visit", grid_code=GRID1, date_from=date(2001, 1, 1),
                 date_to=date(2001, 12, 31), out=out)
    text = _flat(pdftext(out))
    assert "2001-01-01至2001-12-31" in text and "(无)" in text
    with pytest.raises(ServiceError, match="晚于"):
        print_ledger(street_store, SYSTEM, "visit", grid_code=GRID1, date_from=date(2002, 1, 1),
                     date_to=date(2001, 1, 1), out=out)
    with pytest.raises(ServiceError, match="未知的台账类型"):
        print_ledger(street_store, SYSTEM, "nope", grid_code=GRID1, date_from=None, date_to=None, out=out)


# --- command line ------------------------------------------------------------------------------

def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_archive_one_household_and_a_building(capsys, street_store, tmp_path):
    db = street_store.path
    with street_store.session() as s:
        hh_no, estate, building = s.execute(text(
            "SELECT hh.hh_no, a.estate, a.building FROM household hh JOIN house h ON h.id = hh.house_id "
            "JOIN address a ON a.id = h.address_id JOIN area g ON g.id = hh.grid_id WHERE g.code = :g "
            "ORDER BY hh.hh_no LIMIT 1"), {"g": GRID1}).one()
    code, out, err = run(capsys, "--db", db, "print", "archive", "--household", hh_no, "--out", tmp_path / "one.pdf")
    assert code == 0, err
    assert "one.pdf" in out and "共" in out and "已完成" in err
    code, out, err = run(capsys, "--db", db, "print", "archive", "--building", f"{GRID1}/{estate}/{building}",
                         "--split", "--out", tmp_path / "bld")
    assert code == 0, err
    files = list((tmp_path / "bld").iterdir())
    assert files and all(f.name.endswith(".pdf") and "_" in f.name for f in files)
    assert f"生成 {len(files)} 个文件" in out


def test_cli_errors_are_chinese_with_exit_2(capsys, street_store, tmp_path):
    db = street_store.path
    code, _, err = run(capsys, "--db", db, "print", "archive", "--grid", GRID1, "--user", "wgy001", "--unmask",
                       "--out", tmp_path / "x.pdf")
    assert code == 2 and "没有权限打印完整证件号码" in err and "Traceback" not in err
    code, _, err = run(capsys, "--db", db, "print", "archive", "--grid", "999", "--out", tmp_path / "x.pdf")
    assert code == 2 and "找不到代码为 999 的网格" in err
    code, _, err = run(capsys, "--db", db, "print", "ledger", "visit", "--grid", GRID1, "--from", "2026-13-01",
                       "--out", tmp_path / "x.pdf")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = run(capsys, "--db", db, "print", "archive", "--out", tmp_path / "x.pdf")
    assert code == 2 and "--household" in err
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(db), "print", "archive", "--grid", GRID1, "--all", "--out", str(tmp_path / "x.pdf")])
    assert exc.value.code == 2 and "不能同时使用" in capsys.readouterr().err
    code, _, err = run(capsys, "--db", db, "print", "ledger", "house", "--grid", GRID1, "--user", "wgy002",
                       "--out", tmp_path / "x.pdf")
    assert code == 2 and "没有权限" in err
    assert not (tmp_path / "x.pdf").exists()


def test_cli_missing_glyphs_and_allow_missing(capsys, store, admin, community, tmp_path):
    from desktop.services.households import Households

    view = Households(store, admin).register(
        grid_id=community.grid1["id"], address={"estate": "幸福家园", "building": "9", "unit": "1", "room": "101"},
        members=[community.member("王䶮", 30)])
    hh = view["household"]["hh_no"]
    code, _, err = run(capsys, "--db", store.path, "print", "archive", "--household", hh, "--out", tmp_path / "a.pdf")
    assert code == 2 and "䶮" in err and "--allow-missing" in err
    assert not (tmp_path / "a.pdf").exists()
    code, out, err = run(capsys, "--db", store.path, "print", "archive", "--household", hh, "--allow-missing",
                         "--out", tmp_path / "a.pdf")
    assert code == 0 and "U+4DAE" in err
    assert "王□" in _flat(pdftext(tmp_path / "a.pdf"))


def test_cli_ledger_as_a_real_console_script(street_store, tmp_path):
    out = tmp_path / "vehicles.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--db", str(street_store.path), "print", "ledger", "vehicle",
         "--grid", GRID1, "--user", "wgz001", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.exists() and "共" in done.stdout
    assert "Traceback" not in done.stderr


def test_cancel_while_laying_out_a_ledger_leaves_nothing(street_store, tmp_path):
    from desktop.printing import PrintCancelled

    seen = []

    def progress(done, total, text_):
        seen.append(text_)

    out = tmp_path / "o" / "key.pdf"
    with pytest.raises(PrintCancelled):
        print_ledger(street_store, SYSTEM, "key_person", grid_code=None, date_from=None, date_to=None, out=out,
                     progress=progress, cancel=lambda: sum("页" in t for t in seen) >= 3)
    assert sum("页" in t for t in seen) == 3  # stopped inside the long tables, page by page
    assert list(out.parent.iterdir()) == []
