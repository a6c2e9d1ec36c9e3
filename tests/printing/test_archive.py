"""The household archive: content through pdftotext, page numbering, versions, fonts, previews."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from desktop.models import AuditEntry
from desktop.printing import (
    PrintOptions,
    font_info,
    households_for,
    print_archives,
    render_pages,
)
from desktop.services.households import Households
from desktop.validation import mask_id, mask_phone
from tests.printing.conftest import needs_poppler, pdffonts, pdfinfo, pdfpages, pdftext

pytestmark = needs_poppler
PAGE_NO = r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页"


def _print(store, actor, family, tmp_path, **opts):
    out = tmp_path / "archive.pdf"
    result = print_archives(store, actor, [family["household_id"]], out, PrintOptions(**opts))
    return out, result


def test_archive_contains_every_section_masked(store, admin, family, tmp_path):
    out, result = _print(store, admin, family, tmp_path)
    assert result.files == [out] and result.households == 1 and result.warnings == []
    text = pdftext(out)
    flat = re.sub(r"\s+", "", text)
    view = family["view"]
    # cover: community, grid, address, 户号, printed by and when
    for word in ("户档案", "兰化22街区社区", "第1网格", "幸福家园3栋2单元501室", view["household"]["hh_no"], "管理员", "打印时间"):
        assert word in flat, word
    # every member, with masked numbers only
    for m in view["members"]:
        assert m["name"] in flat
        assert mask_id(m["cert_no"]) in flat
        assert m["cert_no"] not in flat
    for phone in ("13700001111", "13900002222", "13800003333", "13600004444"):
        assert phone not in flat
        assert mask_phone(phone) in flat
    # member facts and care marks
    for word in ("配偶", "大学本科", "中共党员", "在校学生", "帮扶人员", "残障人员", "肢体残疾三级", "低保"):
        assert word in flat, word
    # house with rental details, vehicle, the unit at the address
    for word in ("两室一厅", "89.5平方米", "赵德明", "1,500元", "24个月", "甘A12345", "大众朗逸", "幸福家园便民小卖部"):
        assert word in flat, word
    # visits (date, method, visitor, situation, need, what was done, satisfaction)
    for word in ("2026-03-02", "入户30分钟", "申请临时救助", "已联系民政", "[救助]", "满意", "电话回访"):
        assert word in flat, word
    # open events only
    assert "楼道照明损坏待维修" in flat
    assert "已办结的噪音投诉" not in flat


def test_page_numbers_and_versions(store, admin, family, tmp_path):
    # one more edit: the household is now at version 2
    Households(store, admin).update("household", family["household_id"], {"note": "常住"})
    out, result = _print(store, admin, family, tmp_path)
    pages = pdfpages(out)
    assert result.pages == pages >= 2
    text = pdftext(out)
    numbers = re.findall(PAGE_NO, text)
    assert sorted(int(x) for x, _ in numbers) == list(range(1, pages + 1))
    assert {int(y) for _, y in numbers} == {pages}
    view = Households(store, admin).view(family["household_id"])
    assert view["household"]["version"] == family["view"]["household"]["version"] + 1
    # the footer: the household and the print date, never the records' version counters
    assert f"户号 {view['household']['hh_no']} · 打印日期 " in text
    assert not re.search(r"户 v\d+|成员 v\d+|房屋 v\d+", text)
    info = pdfinfo(out)
    assert "595.276 x 841.89" in info["Page size"]  # A4 portrait


def test_font_is_an_embedded_truetype_subset(store, admin, family, tmp_path):
    out, _ = _print(store, admin, family, tmp_path)
    fonts = pdffonts(out)
    assert fonts, "no fonts listed"
    for row in fonts:
        # name type... emb sub uni: every font in the file is an embedded TrueType subset
        assert "TrueType" in row and row[-5:-2] == ["yes", "yes", "yes"], row
        assert re.match(r"[A-Z]{6}\+", row[0]), row
    info = font_info()
    assert info["embedded"] is True and info["warning"] is None and info["path"]


def test_unmask_by_supervisor_shows_full_numbers_and_is_audited(store, admin, family, tmp_path):
    out, result = _print(store, admin, family, tmp_path, unmask=True)
    flat = re.sub(r"\s+", "", pdftext(out))
    for m in family["view"]["members"]:
        assert m["cert_no"] in flat
    assert "13700001111" in flat and "未脱敏" in flat
    with store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "print").order_by(AuditEntry.seq.desc())).first()
    detail = json.loads(entry.detail)
    assert entry.actor == "admin" and entry.entity == "household" and entry.entity_id == family["household_id"]
    assert detail["masked"] is False and detail["pages"] == result.pages
    assert detail["households"] == [family["household_id"]] and detail["kind"] == "archive"
    # never personal values in the audit trail
    blob = (entry.detail or "") + (entry.summary or "")
    for m in family["view"]["members"]:
        assert m["name"] not in blob and m["cert_no"] not in blob
    assert "13700001111" not in blob


def test_long_text_wraps_without_closing_punctuation_at_line_start(store, admin, family, tmp_path):
    out, _ = _print(store, admin, family, tmp_path)
    from desktop.printing.text import NO_START

    lines = [ln.strip() for ln in pdftext(out, layout=False).splitlines() if ln.strip()]
    wrapped = [ln for ln in lines if any(frag in ln for frag in ("老人独自", "腿脚", "临时救助", "楼道照明", "噪音较大", "影响休息"))]
    assert len(wrapped) >= 4  # the situation text really wrapped over several lines
    bad = [ln for ln in lines if ln[0] in NO_START]
    assert bad == []


def test_households_for_orders_and_scopes(store, admin, family, community):
    h = Households(store, admin)
    other = h.register(grid_id=community.grid1["id"],
                       address={"estate": "幸福家园", "building": "3", "unit": "1", "room": "101"},
                       members=[community.member("周一", 40)])
    ids = households_for(store, admin, grid_code="62010400100101")
    assert ids == [other["household"]["id"], family["household_id"]]  # unit 1 before unit 2
    assert households_for(store, admin, building="62010400100101/幸福家园/3栋") == ids
    assert households_for(store, admin, all_=True) == ids
    assert households_for(store, admin, household_ids=[family["household_id"]]) == [family["household_id"]]
    with pytest.raises(Exception, match="只能选一种"):
        households_for(store, admin, grid_code="62010400100101", all_=True)


def test_render_pages_gives_png_previews(store, admin, family, tmp_path):
    out, result = _print(store, admin, family, tmp_path)
    images = render_pages(out, first=0, count=3, dpi=60)
    assert len(images) == min(3, result.pages)
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") and len(img) > 2000 for img in images)
    assert render_pages(out, first=result.pages, count=3) == []
