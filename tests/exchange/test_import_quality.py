"""Import keeps the 数据质量 queue honest: footers listed as skipped (never rejected), a person
without an ID number imported with a warning and queued, a title naming a grid proposed."""

from __future__ import annotations

import json

from desktop.cli import main
from desktop.exchange import dry_run, proposed_grid, read_sheet, run_import, suggest_mapping
from desktop.exchange.report import ImportOptions
from desktop.services.quality import NO_CERT_WARNING, Quality
from tests.exchange.conftest import write_xlsx
from tests.factories import id_number, years_ago

HEAD = ["序号", "姓名", "证件号码", "性别", "出生日期", "户号", "小区", "楼栋", "户室", "与户主关系", "无证件原因"]


def _rows():
    return [
        ["兰化22街区社区第1网格实有人口登记表", *[None] * 10],
        HEAD,
        [1, "张一", id_number(years_ago(40)), None, None, "H1", "甲小区", "1", "101", "户主", None],
        [2, "钱七", None, "男", years_ago(30).isoformat(), "H1", "甲小区", "1", "101", "子", None],
        [3, "孙八", None, "女", years_ago(30).isoformat(), "H1", "甲小区", "1", "101", "女", "户口尚未落户"],
        [4, "小宝", None, "男", years_ago(5).isoformat(), "H1", "甲小区", "1", "101", "孙子", None],
        ["合 计", "4人", None, None, None, None, None, None, None, None, None],
        ["制表人:王五", None, None, "审核人:李四", None, None, "填报日期:2026-12-01", None, None, None, None],
        ["说明:本表由社区网格员填写,每季度更新一次。", None, None, None, None, None, None, None, None, None, None],
    ]


def test_footers_warnings_and_proposed_grid(store, admin, community, tmp_path):
    path = write_xlsx(tmp_path / "人口.xlsx", _rows())
    sheet = read_sheet(path, kind="person")
    assert [n for n, _t in sheet.footers] == [7, 8, 9] and len(sheet.rows) == 4
    assert sheet.footers[0][1].startswith("合 计") and "审核人:李四" in sheet.footers[1][1]
    grid_id, label = proposed_grid(store, admin, sheet)
    assert (grid_id, label) == (community.grid1["id"], "兰化22街区社区 第1网格")
    mapping = suggest_mapping("person", sheet.headers)
    options = ImportOptions(default_grid_id=grid_id)
    rep = dry_run(store, admin, "person", sheet, mapping, options)
    assert rep.counts["rejected"] == 0 and rep.counts["skipped"] == 0 and rep.total == 4
    assert "表尾 3 行" in rep.summary()
    warned = {r.row_no: r.messages for r in rep.rows}
    assert NO_CERT_WARNING in warned[4]  # 钱七, 30, no number, no reason
    assert NO_CERT_WARNING not in warned[5] and NO_CERT_WARNING not in warned[6]  # a reason; under 16
    rep = run_import(store, admin, "person", sheet, mapping, options)
    assert rep.written and rep.counts["imported"] == 4
    missing = {i["title"]: i["fields"] for i in Quality(store, admin).queue(reason="missing") if i["kind"] == "person"}
    # 钱七 lacks the ID number; 张一 is the head and lacks a phone; 孙八 (a reason) and 小宝 (5) are complete
    assert missing == {"钱七": ["cert_no"], "张一": ["phone"]}


def test_no_grid_proposed_when_the_title_is_ambiguous(store, admin, community, tmp_path):
    rows = _rows()
    rows[0][0] = "兰化22街区社区实有人口登记表"  # the community has two grids
    sheet = read_sheet(write_xlsx(tmp_path / "a.xlsx", rows), kind="person")
    assert proposed_grid(store, admin, sheet) is None
    rows[0][0] = "实有人口登记表"
    sheet = read_sheet(write_xlsx(tmp_path / "b.xlsx", rows), kind="person")
    assert proposed_grid(store, admin, sheet) is None


def test_cli_import_lists_footers_and_uses_the_proposed_grid(store, admin, community, tmp_path, db_path, capsys):
    path = write_xlsx(tmp_path / "人口.xlsx", _rows())
    assert main(["--db", str(db_path), "import", str(path), "--kind", "person", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "标题写明了“兰化22街区社区 第1网格”" in out
    assert "第 7 行 表尾,已跳过:合 计 4人" in out and "未通过 0" in out
    assert main(["--db", str(db_path), "import", str(path), "--kind", "person", "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["row_no"] for f in data["footers"]] == [7, 8, 9] and data["counts"]["rejected"] == 0
