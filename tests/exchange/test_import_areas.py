"""The area tree from Excel, with the import wizard's machinery: communities, grids and 小区 are
found or created, whole buildings are generated from their counts (numbered as in 地址与网格), a
single room can be added; what exists is skipped; a bad row names its column; a grid worker
cannot run it. The template's example row is skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop.exchange import ImportOptions, dry_run, read_sheet, run_import, suggest_mapping
from desktop.exchange.templates import write_template
from desktop.models import Address, Area
from desktop.services.areas import AreaAdmin
from desktop.services.errors import PermissionDenied
from desktop.services.store import Actor

HEAD = ["社区", "社区代码", "网格", "网格代码", "小区", "楼栋", "单元数", "层数", "每层户数", "单元", "户室"]


def _import(store, actor, path, options=None, *, dry=False):
    sheet = read_sheet(path, kind="area")
    mapping = suggest_mapping("area", sheet.headers)
    assert all(mapping.values()), (sheet.headers, mapping)
    return (dry_run if dry else run_import)(store, actor, "area", sheet, mapping, options or ImportOptions())


def _n(store, model, **where):
    with store.session() as s:
        q = select(func.count()).select_from(model).where(model.deleted_at.is_(None))
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q)


def test_an_area_tree_sheet_on_an_empty_laptop(store, admin, make_xlsx):
    path = make_xlsx([HEAD,
        ["兰化22街区社区", "620104001001", "第1网格", None, "幸福小区", "3", 3, 6, 2, None, None],
        ["兰化22街区社区", None, "第1网格", None, "幸福小区", "4号楼", 1, 2, 2, None, None],
        ["兰化22街区社区", None, "第2网格", "62010400100105", "和平家园", "1", None, None, None, "1", "101"],
        [None, None, "第2网格", None, None, None, None, None, None, None, None],
        ["兰化22街区社区", None, "第1网格", None, "幸福小区", "3", 3, 6, 2, None, None],
    ])
    preview = _import(store, admin, path, dry=True)
    assert [r.status for r in preview.rows] == ["imported", "imported", "imported", "skipped", "skipped"]
    assert _n(store, Area) == 0  # a dry run writes nothing
    report = _import(store, admin, path)
    assert report.written and report.created == {"communities": 1, "grids": 2, "estates": 2, "addresses": 41}
    rows = report.rows
    assert rows[0].messages == ["新建社区“兰化22街区社区”(代码 620104001001)",
                                "新建网格“第1网格”(代码 62010400100101)", "新建小区“幸福小区”(代码 62010400100101X01)",
                                "生成幸福小区3栋 36 个户室"]
    assert rows[4].messages == ["幸福小区3栋已有 36 个户室,未再生成"]
    grids = {g["name"]: g for g in AreaAdmin(store, admin).grids()}
    assert grids["第2网格"]["code"] == "62010400100105"
    g1 = grids["第1网格"]["id"]
    assert _n(store, Address, grid_id=g1) == 40
    with store.session() as s:
        a = s.scalars(select(Address).where(Address.full_text == "幸福小区3栋3单元602室")).one()
        assert (a.grid_id, a.unit, a.floor, a.room, a.code) == (g1, "3", 6, "602", "62010400100101" + "03" + "3" + "602")
        assert s.scalar(select(Address.full_text).where(Address.grid_id == grids["第2网格"]["id"])) == "和平家园1栋1单元101室"
    # the same tree the dialogs build: the service sees the 小区 and can add to them
    assert AreaAdmin(store, admin).estates(g1) == ["幸福小区"]


def test_bad_rows_name_their_column_and_nothing_is_written(store, admin, community, make_xlsx):
    path = make_xlsx([HEAD,
        [None, None, "第1网格", None, "幸福小区", "3", 3, 0, 2, None, None],
        [None, None, "第1网格", None, None, "3", None, None, None, None, "101"],
        [None, "62010400100101", "第9网格", "62010400100101", None, None, None, None, None, None, None],
        [None, None, "第1网格", None, "幸福小区", "5", None, None, None, None, None],
    ])
    report = _import(store, admin, path)
    assert not report.written and [r.status for r in report.rows] == ["rejected"] * 4
    assert report.rows[0].messages == ["【层数】层数:应为 1 到 99 之间的整数,现为“0”"]
    assert report.rows[1].messages == ["【小区】小区:已填写楼栋或户室,但没有填写小区名称"]
    assert report.rows[2].messages == ["【网格】网格:代码 62010400100101 是“第1网格”,与“第9网格”不符,请核对"]
    assert report.rows[3].messages[0].startswith("【户室】户室:只填了楼栋时")
    assert _n(store, Address) == 0 and _n(store, Area, level="estate") == 0


def test_the_template_round_trips_and_a_grid_worker_cannot_import(store, admin, community, tmp_path):
    path = write_template("area", tmp_path / "area.xlsx")
    report = _import(store, admin, path, dry=True)
    assert [r.status for r in report.rows] == ["skipped"] and report.rows[0].messages == ["模板中的示例行,已跳过"]
    worker = Actor("w1", "grid_worker", frozenset({community.grid1["id"]}))
    with pytest.raises(PermissionDenied, match="您没有权限导入社区、网格、小区和楼栋"):
        _import(store, worker, path, dry=True)


def test_only_the_valid_rows_leave_nothing_of_a_rejected_one(store, admin, community, make_xlsx):
    path = make_xlsx([HEAD,
        ["新社区", "620104001009", None, None, None, None, None, None, None, None, None],
        [None, None, "第3网格", None, "新小区", "1", 2, 1, 0, None, None],
        [None, None, "第1网格", None, "幸福小区", "1", None, None, None, "1", "101"],
    ])
    report = _import(store, admin, path, ImportOptions(valid_only=True))
    assert [r.status for r in report.rows] == ["rejected", "rejected", "imported"]
    assert report.rows[0].messages == ["【网格】网格:请填写网格名称或网格代码"]
    assert report.created == {"communities": 0, "grids": 0, "estates": 1, "addresses": 1}
    with store.session() as s:
        names = set(s.scalars(select(Area.name).where(Area.deleted_at.is_(None))))
    assert "新社区" not in names and "第3网格" not in names and "新小区" not in names and "幸福小区" in names
