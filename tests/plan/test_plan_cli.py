"""gridledger plan: the plan the app shows, as text, as JSON and as a route sheet (one page per
building, phones masked), on the hand-built street."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main
from desktop.services.records import Records
from desktop.services.store import Actor, Store
from tests.plan.street import D, build
from tests.printing.conftest import needs_poppler, pdfpages, pdftext

ADMIN = Actor("admin", "community_admin", None, "dev-1", "管理员")


@pytest.fixture(scope="module")
def street_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "street.db"
    store = Store.open(path, create=True)
    street = build(store, ADMIN)
    Records(store, ADMIN).update("household", street.hh["H1"], {"phone": "13912345678"})
    store.close()
    return str(path), street


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_as_text_and_json(capsys, street_db):
    db, _ = street_db
    code, out, _ = run(capsys, "--db", db, "plan", "--user", "wgy_a", "--date", D.isoformat())
    assert code == 0
    assert out.splitlines()[0] == "今日走访 2026-06-10(到 2026-06-10):11 项,逾期 6 项"
    assert "■ 幸福小区1栋" in out and "    201\t张建国\t残障人员 每 30 天一次,已 40 天未访\t上次 2026-05-01\t逾期 10 天" in out
    code, out, _ = run(capsys, "--db", db, "plan", "--user", "wgy_a", "--date", D.isoformat(), "--json")
    data = json.loads(out)
    assert (data["count"], data["overdue"], data["households"]) == (11, 6, 10)
    assert data["items"][1]["head"] == "王秀英" and data["items"][1]["phone"] == "139****5678"
    code, out, _ = run(capsys, "--db", db, "plan", "--grid", "62010400100102", "--date", D.isoformat(),
                       "--scope", "overdue", "--json")
    assert [i["head"] for i in json.loads(out)["items"]] == ["曹敏", "钱老汉", "孔亮"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--date", "2026-02-30"], "日期“2026-02-30”不对"),
    (["--grid", "第9网格"], "找不到网格“第9网格”"),
    (["--worker", "wgy_b"], "您只能查看自己的走访计划"),
    (["--mark", "外星人"], "关注标识“外星人”不认识"),
])
def test_plan_refusals_are_one_chinese_sentence(capsys, street_db, argv, message):
    db, _ = street_db
    code, out, err = run(capsys, "--db", db, "plan", "--user", "wgy_a", *argv)
    assert code == 2 and err.startswith("错误:" + message) and "Traceback" not in err


@needs_poppler
def test_route_sheet_has_a_page_per_building_with_blank_columns(capsys, street_db, tmp_path):
    db, _ = street_db
    pdf = tmp_path / "route.pdf"
    code, out, _ = run(capsys, "--db", db, "plan", "--user", "wgy_a", "--date", D.isoformat(), "--print", str(pdf))
    assert code == 0 and "共 2 页,10 户" in out
    assert pdfpages(pdf) == 2
    first, second = pdftext(pdf, 1, 1), pdftext(pdf, 2, 2)
    assert "走访路线单 · 幸福小区1栋" in first and "走访情况" in first and "签字" in first
    assert "张建国" in first and "何静" not in first and "何静" in second
    assert "139****5678" in first and "13912345678" not in first  # masked
    assert "共 6 项,其中逾期 4 项" in first


def test_on_time_figures_in_stats(capsys, street_db):
    db, _ = street_db
    code, out, _ = run(capsys, "--db", db, "stats", "--from", "2026-06-01", "--to", D.isoformat(), "--grids")
    assert code == 0
    assert "  按时走访率 27.3%:应访 11,按时 3,迟访 3,仍逾期 5" in out
    assert "  - 网格员 王网格(第1网格):应访 6,按时 2,迟访 1,仍逾期 3,按时走访率 33.3%" in out
    code, out, _ = run(capsys, "--db", db, "stats", "--from", "2026-06-01", "--to", D.isoformat(), "--json",
                       "--area", "62010400100102")
    o = json.loads(out)["ontime"]
    assert [(g["name"], g["due"]) for g in o["grids"]] == [("第2网格", 5)] and o["total"]["rate"] == 0.2


@needs_poppler
def test_on_time_ledger_prints_and_exports(capsys, street_db, tmp_path):
    from openpyxl import load_workbook

    db, _ = street_db
    pdf = tmp_path / "ontime.pdf"
    code, out, err = run(capsys, "--db", db, "print", "ledger", "visit_ontime", "--from", "2026-06-01",
                         "--to", D.isoformat(), "--out", str(pdf))
    assert code == 0, err
    text = pdftext(pdf)
    assert "按时走访统计表" in text and "27.3%" in text and "33.3%" in text and "王网格" in text
    xlsx = tmp_path / "ontime.xlsx"
    code, out, err = run(capsys, "--db", db, "export", "visit_ontime", "--out", str(xlsx), "--from", "2026-06-01",
                         "--to", D.isoformat())
    assert code == 0, err
    ws = load_workbook(xlsx).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert ["网格", "第1网格", "wgy_a", 6, 2, 1, 3, "33.3%"] in values
    assert ["合计", None, None, 11, 3, 3, 5, "27.3%"] in values or ["合计", "", "", 11, 3, 3, 5, "27.3%"] in values
