"""Importing people from messy office workbooks: every row accounted for, one transaction."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from desktop.exchange import ImportOptions, dry_run, read_sheet, run_import, suggest_mapping
from desktop.exchange.cells import serial_to_date
from desktop.models import Address, AuditEntry, House, Household, OutboxEntry, Person
from desktop.services import rules
from desktop.services.errors import ServiceError
from desktop.services.households import Households
from desktop.services.store import Actor
from tests.exchange.conftest import person_ids, write_xlsx
from tests.exchange.xls import write_xls
from tests.factories import id_number, years_ago


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)


def _serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


def counts(store) -> dict[str, int]:
    with store.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Person, Household, House, Address, OutboxEntry, AuditEntry)}


def _import(store, actor, path, options=None, kind="person", **kw):
    sheet = read_sheet(path, kind=kind)
    mapping = suggest_mapping(kind, sheet.headers)
    return run_import(store, actor, kind, sheet, mapping, options or ImportOptions(), **kw), sheet


@pytest.fixture
def messy(make_xlsx, community, store, admin):
    """A register with title rows, merged cells, renamed and shuffled headers and every date form."""
    ids = person_ids(12)
    registered = ids[9]
    Households(store, admin).register(grid_id=community.grid2["id"], members=[
        {"name": "老住户", "cert_no": registered[0], "phone": "13700000000"}],
        address={"estate": "老小区", "building": "9", "unit": "1", "room": "101"})
    fifteen_src = id_number(date(1968, 4, 5), "1")
    fifteen = fifteen_src[:6] + fifteen_src[8:17]
    bad = ids[7][0][:17] + ("0" if ids[7][0][17] != "0" else "1")
    b = [x[1] for x in ids]
    head = ["序号", "名字", "性别", "出生年月日", "居民身份证号码", "手机号", "关系", "户号", "网格", "小区", "楼栋", "单元",
            "房号", "民族", "文化程度", "备注"]
    rows = [
        ["第一网格 2026 年人口信息采集表", *[None] * 15],
        ["填报单位:兰化22街区社区", *[None] * 15],
        head,
        [1, "张 三", "男" if ids[0][2] == "1" else "女", b[0], ids[0][0], "13800000001", "户主", "H001", "第1网格",
         "幸福小区", 3, 1, 101, "汉", "本科", None],
        [2, "李四", "1" if ids[1][2] == "1" else "2", b[1].strftime("%Y/%-m/%-d"), ids[1][0], "138 0000 0002", "妻",
         None, None, None, None, None, None, "汉族", "大学本科", None],
        [3, "张小", None, _serial(b[2]), ids[2][0], None, "之子", None, None, None, None, None, None, "01", None, None],
        [None] * 16,
        [4, "王五", None, int(b[3].strftime("%Y%m%d")), _fullwidth(ids[3][0]), _fullwidth("13900000004"), "户主", "H002",
         "62010400100101", "幸福小区", "3", "1", "102", "回", "初中", None],
        [5, "赵六", None, b[4].strftime("%Y.%-m.%-d"), ids[4][0].lower(), None, "女", "H002", None, None, None, None,
         None, "汉", None, None],
        [6, "钱七", None, f"{b[5].year}年{b[5].month}月{b[5].day}日", ids[5][0], None, "户主", "H003", None, "阳光小区",
         "1", "2", "301", None, None, "默认网格"],
        [7, "孙八", None, "1968-04-05", fifteen, None, "户主", "H004", None, None, None, None, None, None, None, None],
        [8, "周九", None, None, bad, None, "户主", "H005", None, None, None, None, None, None, None, None],
        [9, "张三重复", None, None, ids[0][0], None, "户主", "H006", None, None, None, None, None, None, None, None],
        [10, "老住户", None, None, registered[0], "13711112222", "户主", None, None, None, None, None, None, None, None, None],
        [11, "吴十", None, f"{b[10].year}.{b[10].month:02d}", ids[10][0], None, "户主", "H007", None, None, None, None,
         None, None, None, None],
        [12, "郑数字", None, None, float(ids[11][0]), None, "户主", "H008", None, None, None, None, None, None, None, None],
        [13, "冯未来", None, (date.today() + timedelta(days=30)).isoformat(), None, None, "户主", "H009", None, None,
         None, None, None, "火星族", None, None],
    ]
    path = make_xlsx(rows, merges=[(0, 0, 0, 15), (3, 7, 5, 7), (3, 9, 5, 9), (3, 10, 5, 10), (3, 11, 5, 11), (3, 12, 5, 12)])
    return path, ids, registered


def test_messy_register_dry_run_then_import(store, admin, community, messy):
    path, ids, registered = messy
    sheet = read_sheet(path, kind="person")
    assert sheet.header_row == 3 and len(sheet.rows) == 13 and 7 not in sheet.row_numbers
    mapping = suggest_mapping("person", sheet.headers)
    assert {sheet.headers[i]: k for i, k in mapping.items() if k}["出生年月日"] == "birth_date"
    before = counts(store)
    with store.session() as s:
        old_version = s.scalars(select(Person.version).where(Person.cert_no == registered[0])).one()
    options = ImportOptions(default_grid_id=community.grid1["id"])
    report = dry_run(store, admin, "person", sheet, mapping, options)
    assert counts(store) == before and not report.written
    by_row = {r.row_no: r for r in report.rows}
    c = report.counts
    assert c["imported"] + c["updated"] + c["skipped"] + c["rejected"] == report.total == 13
    assert [by_row[n].status for n in (4, 5, 6, 8, 9, 10, 11)] == ["imported"] * 7
    assert "升级为18位" in " ".join(by_row[11].messages)  # 15-digit number upgraded
    assert by_row[12].status == "rejected" and by_row[12].messages[0].startswith("【居民身份证号码】")
    assert "没有通过校验" in by_row[12].messages[0] and by_row[12].columns == [4]
    assert by_row[13].status == "skipped" and "与第 4 行的证件号码相同" in by_row[13].messages[0]
    # registered before: listed for confirmation with the change, field by field and masked
    assert by_row[14].status == "ask" and "需确认" in by_row[14].messages[0]
    assert [c.text() for c in by_row[14].changes] == ["联系电话: 137****0000 → 137****2222"]
    assert by_row[15].status == "imported"  # 出生年月 1985.03 agrees with the ID number
    assert by_row[16].status == "rejected" and "文本" in by_row[16].messages[0]
    r17 = " ".join(by_row[17].messages)
    assert by_row[17].status == "rejected" and "晚于今天" in r17 and "火星族" in r17 and "【民族】" in r17
    assert c == {"imported": 8, "updated": 0, "skipped": 2, "rejected": 3, "ask": 1}

    # without valid_only one rejected row keeps the whole file out
    report = run_import(store, admin, "person", sheet, mapping, options)
    assert not report.written and "未写入" in report.message and counts(store) == before

    report = run_import(store, admin, "person", sheet, mapping, ImportOptions(
        default_grid_id=community.grid1["id"], valid_only=True, confirmed=frozenset({14})))
    assert report.written and report.counts == {**c, "updated": 1, "skipped": 1, "ask": 0}
    assert by_row[14].changes[0].text() == {r.row_no: r for r in report.rows}[14].changes[0].text()
    with store.session() as s:
        people = {p.cert_no: p for p in s.scalars(select(Person))}
        zhang = people[ids[0][0]]
        assert zhang.name == "张三" and zhang.birth_date == ids[0][1] and zhang.ethnicity == "01" and zhang.education == "20"
        li = people[ids[1][0]]
        assert li.household_id == zhang.household_id and li.house_id == zhang.house_id and li.relation == "12"
        assert li.phone == "13800000002" and li.birth_date == ids[1][1]
        kid = people[ids[2][0]]
        assert kid.relation == "20" and kid.household_id == zhang.household_id and kid.birth_date == ids[2][1]
        wang = people[ids[3][0]]  # full-width digits, 19850302 as a number
        assert wang.phone == "13900000004" and wang.birth_date == ids[3][1] and wang.grid_id == community.grid1["id"]
        zhao = people[ids[4][0]]
        assert zhao.household_id == wang.household_id and zhao.house_id == wang.house_id
        qian = people[ids[5][0]]  # no 网格 column value: the default grid
        assert qian.grid_id == community.grid1["id"] and qian.note == "默认网格"
        assert [p for p in people if p and p[6:14] == "19680405"]  # the 15-digit number, upgraded
        old = people[registered[0]]
        assert old.phone == "13711112222" and old.version == old_version + 1 and old.grid_id == community.grid2["id"]
        hh = s.get(Household, zhang.household_id)
        assert hh.hh_no == "H001" and hh.head_person_id == zhang.id and hh.grid_id == community.grid1["id"]
        addr = s.get(Address, s.get(House, hh.house_id).address_id)
        assert addr.full_text == "幸福小区3栋1单元101室" and addr.floor == 1
        # derived marks were computed as the core computes them
        assert rules.refresh_derived_marks(s, admin) == 0
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).all()
        assert len(audits) == 1
        detail = json.loads(audits[0].detail)
        assert detail["imported"] == 8 and detail["updated"] == 1 and detail["rejected"] == 3
        for secret in ("张三", ids[0][0], "13800000001"):
            assert secret not in audits[0].detail and secret not in audits[0].summary
        # the triggers wrote the change log and the search index for every new row
        new_ids = [p.id for p in people.values() if p.version == 1 and p.created_by == "admin" and p.name != "老住户"]
        outbox = s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.row_id.in_(new_ids), OutboxEntry.op == "I"))
        assert outbox == len(new_ids) == 8
        docs = s.execute(text("SELECT count(*) FROM search_doc WHERE kind = 'person'")).scalar()
        assert docs == 9


def test_existing_people_update_skip_or_ask(store, admin, community, make_xlsx):
    (cert, born, _g), = person_ids(1, seed=3)
    Households(store, admin).register(grid_id=community.grid1["id"], members=[{"name": "王芳", "cert_no": cert}],
                                      address={"estate": "幸福小区", "building": "1", "unit": "1", "room": "101"})
    path = make_xlsx([["姓名", "身份证号", "联系电话", "网格"], ["王芳", cert, "13912345678", "第1网格"]])
    for policy, status in (("skip", "skipped"), ("ask", "ask"), ("update", "updated")):
        report, _ = _import(store, admin, path, ImportOptions(on_existing=policy))
        assert [r.status for r in report.rows] == [status], policy
        assert report.counts["skipped"] == (1 if policy in ("skip", "ask") else 0)
        assert report.counts["ask"] == (1 if policy == "ask" else 0)
        if policy == "ask":
            assert "需确认" in report.rows[0].messages[0]
    with store.session() as s:
        p = s.scalars(select(Person).where(Person.cert_no == cert)).one()
        assert p.phone == "13912345678" and p.updated_by == "admin"
    report, _ = _import(store, admin, path)
    assert report.rows[0].status == "skipped" and "无变化" in report.rows[0].messages[0]


def test_households_by_head_and_address_without_hh_no(store, admin, community, make_xlsx):
    ids = person_ids(6, seed=9)
    path = make_xlsx([
        ["姓名", "公民身份号码", "与户主关系", "现住址"],
        ["甲", ids[0][0], "户主", "金城花园5栋2单元301室"],
        ["乙", ids[1][0], "配偶", "金城花园5栋2单元301室"],
        ["丙", ids[2][0], "户主", "金城花园5栋2单元302室"],
        ["丁", ids[3][0], "子", "金城花园5栋2单元302室"],
        ["戊", ids[4][0], "女", "金城花园5栋2单元301室"],
        ["己", ids[5][0], None, None],
    ])
    report, _ = _import(store, admin, path, ImportOptions(default_grid_id=community.grid2["id"]))
    assert report.written and report.counts["imported"] == 6
    assert report.created == {"households": 2, "addresses": 2, "houses": 2}
    with store.session() as s:
        people = {p.name: p for p in s.scalars(select(Person))}
        assert people["甲"].household_id == people["乙"].household_id == people["戊"].household_id
        assert people["丙"].household_id == people["丁"].household_id != people["甲"].household_id
        assert people["己"].household_id is None and people["己"].grid_id == community.grid2["id"]
        hh = s.get(Household, people["甲"].household_id)
        assert hh.head_person_id == people["甲"].id and hh.hh_no.startswith("00100102")
        a = s.get(Address, s.get(House, hh.house_id).address_id)
        assert (a.estate, a.building, a.unit, a.room) == ("金城花园", "5", "2", "301")
    # the same addresses again: the people join the households already there
    more = person_ids(8, seed=10)[6:]
    path2 = write_xlsx(path.parent / "more.xlsx", [["姓名", "公民身份号码", "与户主关系", "现住址"],
                                                   ["庚", more[0][0], "孙子", "金城花园5栋2单元301室"],
                                                   ["辛", more[1][0], "户主", "金城花园5栋2单元301室"]])
    report, _ = _import(store, admin, path2, ImportOptions(default_grid_id=community.grid2["id"]))
    assert [r.status for r in report.rows] == ["imported", "imported"]
    with store.session() as s:
        people = {p.name: p for p in s.scalars(select(Person))}
        assert people["庚"].household_id == people["甲"].household_id
        assert people["辛"].household_id != people["甲"].household_id  # a second household in that house
        assert people["辛"].house_id == people["甲"].house_id


def test_grid_by_name_code_default_and_ambiguity(store, admin, community, other_community, make_xlsx):
    ids = person_ids(5, seed=4)
    path = make_xlsx([
        ["姓名", "身份证号", "网格"],
        ["甲", ids[0][0], "第2网格"],
        ["乙", ids[1][0], "62010400100201"],
        ["丙", ids[2][0], "第1网格"],
        ["丁", ids[3][0], "福利社区第1网格"],
        ["戊", ids[4][0], "第9网格"],
    ])
    report, _ = _import(store, admin, path, ImportOptions(valid_only=True))
    st = [r.status for r in report.rows]
    assert st == ["imported", "imported", "rejected", "imported", "rejected"]
    assert "重名" in report.rows[2].messages[0] and "找不到“第9网格”" in report.rows[4].messages[0]
    # a default grid in a community says which 第1网格 is meant
    ids2 = person_ids(7, seed=8)[5:]
    path2 = write_xlsx(path.parent / "b.xlsx", [["姓名", "身份证号", "网格"], ["庚", ids2[0][0], "第1网格"], ["辛", ids2[1][0], None]])
    report, _ = _import(store, admin, path2, ImportOptions(default_grid_id=other_community["grid"]["id"]))
    assert report.counts["imported"] == 2
    with store.session() as s:
        grids = {p.name: p.grid_id for p in s.scalars(select(Person))}
    assert grids["庚"] == grids["辛"] == grids["乙"] == other_community["grid"]["id"]
    assert grids["甲"] == community.grid2["id"] and grids["丁"] == other_community["grid"]["id"]


def test_a_grid_worker_imports_into_their_own_grid_only(store, admin, community, make_xlsx):
    worker = Actor("wgy001", "grid_worker", frozenset({community.grid1["id"]}))
    ids = person_ids(2, seed=12)
    path = make_xlsx([["姓名", "身份证号", "网格"], ["甲", ids[0][0], "第1网格"], ["乙", ids[1][0], "第2网格"]])
    report, _ = _import(store, worker, path, ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["imported", "rejected"]
    assert "没有权限" in report.rows[1].messages[0]
    with pytest.raises(ServiceError, match="没有权限"):
        _import(store, worker, path, ImportOptions(default_grid_id=community.grid2["id"]))


@pytest.mark.parametrize("where", ["checking", "writing"])
def test_cancel_leaves_the_database_unchanged(store, admin, community, make_xlsx, where):
    ids = person_ids(30, seed=21)
    rows = [["姓名", "身份证号", "户号", "现住址"]]
    rows += [[f"人{i}", c, f"H{i // 3}", f"幸福小区{i // 3}栋1单元101室"] for i, (c, _b, _g) in enumerate(ids)]
    path = make_xlsx(rows)
    before = counts(store)
    texts: list[str] = []

    def progress(done: int, total: int, text_: str) -> None:
        texts.append(text_)

    def cancel() -> bool:
        return any(("写入" if where == "writing" else "检查") in t for t in texts) and len(texts) > 1

    with pytest.raises(ServiceError, match="已取消"):
        _import(store, admin, path, ImportOptions(default_grid_id=community.grid1["id"]), progress=progress, cancel=cancel)
    assert counts(store) == before
    if where == "writing":
        assert any("写入" in t for t in texts)
    report, _ = _import(store, admin, path, ImportOptions(default_grid_id=community.grid1["id"]))
    assert report.counts["imported"] == 30


def test_report_xlsx_fix_and_reimport(store, admin, community, make_xlsx, tmp_path):
    ids = person_ids(4, seed=31)
    bad = ids[1][0][:17] + ("0" if ids[1][0][17] != "0" else "1")
    path = make_xlsx([
        ["社区人口表", None, None, None, None],
        ["姓名", "身份证号", "出生日期", "性别", "网格"],
        ["甲", ids[0][0], ids[0][1], None, "第1网格"],
        ["乙", bad, None, "男", "第1网格"],
        ["丙", ids[2][0], _serial(ids[2][1]), None, "第几网格"],
        ["丁", ids[3][0], None, None, "第1网格"],
    ], merges=[(0, 0, 0, 4)])
    report, sheet = _import(store, admin, path, ImportOptions(valid_only=True))
    assert report.counts["imported"] == 2 and report.counts["rejected"] == 2
    out = report.save_xlsx(tmp_path / "问题清单.xlsx")
    fixed = read_sheet(out)
    assert fixed.headers == ["姓名", "身份证号", "出生日期", "性别", "网格", "未通过原因", "原行号"]
    assert [r[0] for r in fixed.rows] == ["乙", "丙"]
    assert "没有通过校验" in fixed.rows[0][5] and fixed.rows[0][6] == 4
    assert fixed.rows[1][2] == _serial(ids[2][1])  # the original cell value, as it was
    assert serial_to_date(fixed.rows[1][2]) == ids[2][1]
    # the office fixes the two rows and imports the same file again
    rows = [fixed.headers] + [list(r) for r in fixed.rows]
    rows[1][1] = ids[1][0]
    rows[1][3] = "男" if ids[1][2] == "1" else "女"
    rows[2][4] = "第1网格"
    again = write_xlsx(tmp_path / "改好了.xlsx", rows)
    report2, sheet2 = _import(store, admin, again)
    assert [r.status for r in report2.rows] == ["imported", "imported"] and report2.written
    assert report2.unused_columns == ["未通过原因", "原行号"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 4
    # the JSON form of the report
    data = report.to_dict()
    assert data["counts"]["rejected"] == 2 and len(data["rows"]) == 4 and data["rows"][1]["status_label"] == "未通过"
    json.dumps(data, ensure_ascii=False)


def test_csv_gbk_and_utf8_bom_and_xls_import(store, admin, community, tmp_path):
    ids = person_ids(6, seed=41)
    lines = ["姓名,身份证号,性别,民族,出生日期,联系电话,网格"]
    lines += [f"人{i},{c},{'男' if g == '1' else '女'},汉,{b.strftime('%Y/%-m/%-d')},1380000000{i},第1网格"
              for i, (c, b, g) in enumerate(ids[:2])]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("\r\n".join(lines).encode("gbk"))
    lines2 = [lines[0]] + [f"人{i},{c},,汉族,{b.isoformat()},,第2网格" for i, (c, b, g) in enumerate(ids[2:4], 2)]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines2).encode("utf-8"))
    xls = write_xls(tmp_path / "old.xls", [["姓名", "身份证号", "出生日期", "网格"]] + [
        [f"人{i}", c, _serial(b), "第1网格"] for i, (c, b, g) in enumerate(ids[4:], 4)])
    for path in (gbk, bom, xls):
        report, sheet = _import(store, admin, path)
        assert report.written and report.counts["imported"] == 2, (path, report.rows)
    with store.session() as s:
        people = {p.name: p for p in s.scalars(select(Person))}
    assert people["人0"].phone == "13800000000" and people["人0"].ethnicity == "01"
    assert people["人2"].grid_id == community.grid2["id"] and people["人5"].birth_date == ids[5][1]


def test_mapping_can_be_fixed_by_the_caller(store, admin, community, make_xlsx):
    ids = person_ids(1, seed=51)
    path = make_xlsx([["名称", "号码", "说明"], ["甲", ids[0][0], "测试"]])
    sheet = read_sheet(path, kind="person")
    assert suggest_mapping("person", sheet.headers) == {0: None, 1: None, 2: None}
    report = run_import(store, admin, "person", sheet, {0: "name", 1: "cert_no", 2: "note"},
                        ImportOptions(default_grid_id=community.grid1["id"]))
    assert report.counts["imported"] == 1
    with pytest.raises(ServiceError, match="两列都对应"):
        run_import(store, admin, "person", sheet, {0: "name", 1: "name"}, ImportOptions())
    with pytest.raises(ServiceError, match="不是人员导入可用的字段"):
        run_import(store, admin, "person", sheet, {0: "password_hash"}, ImportOptions())
    with pytest.raises(ServiceError, match="ask、update 或 skip"):
        run_import(store, admin, "person", sheet, {0: "name"}, ImportOptions(on_existing="merge"))


def test_raw_sqlite_view_of_an_import(store, admin, community, make_xlsx, db_path):
    ids = person_ids(2, seed=61)
    path = make_xlsx([["姓名", "身份证号", "户号", "网格"], ["甲", ids[0][0], "HX", "第1网格"], ["乙", ids[1][0], "HX", "第1网格"]])
    _import(store, admin, path)
    raw = sqlite3.connect(db_path)
    ops = raw.execute("SELECT table_name, op, new_version FROM sync_outbox WHERE table_name IN ('person', 'household')").fetchall()
    raw.close()
    assert sorted(ops) == [("household", "I", 1), ("person", "I", 1), ("person", "I", 1)]
    _ = years_ago
