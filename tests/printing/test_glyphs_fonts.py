"""Missing glyphs are reported before printing; font lookup and the CID fallback; line breaking."""

from __future__ import annotations

import re

import pytest
from reportlab.lib.styles import ParagraphStyle

from desktop.printing import (
    MissingGlyphs,
    PrintOptions,
    check_glyphs,
    font_info,
    print_archives,
    print_ledger,
)
from desktop.printing import fonts as fonts_mod
from desktop.printing.text import NO_END, NO_START, CJKParagraph, break_points
from desktop.services.households import Households
from tests.printing.conftest import LONG_SITUATION, needs_poppler, pdffonts, pdftext


@pytest.fixture
def rare(store, admin, community):
    """A household whose members' names use characters common fonts lack (䶮: Ext A, 𠮷: Ext B)."""
    view = Households(store, admin).register(
        grid_id=community.grid1["id"], address={"estate": "幸福家园", "building": "5", "unit": "1", "room": "302"},
        members=[community.member("刘䶮", 45), community.member("𠮷野", 40, "2", relation="10")],
    )
    return view


def test_check_glyphs_names_record_field_and_character(store, admin, rare):
    items = check_glyphs(store, admin, [rare["household"]["id"]])
    chars = {ch for _, _, ch in items}
    assert {"䶮", "𠮷"} <= chars
    who, field, ch = next(i for i in items if i[2] == "䶮")
    assert "刘䶮" in who and field == "姓名"
    assert rare["household"]["hh_no"] in who


@needs_poppler
def test_print_refuses_before_writing_anything(store, admin, rare, tmp_path):
    out = tmp_path / "out" / "rare.pdf"
    with pytest.raises(MissingGlyphs) as exc:
        print_archives(store, admin, [rare["household"]["id"]], out, PrintOptions())
    assert {"䶮", "𠮷"} <= {ch for _, _, ch in exc.value.items}
    assert "刘䶮" in exc.value.message and "U+4DAE" in exc.value.message and "□" in exc.value.message
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no temporary file left either


@needs_poppler
def test_allow_missing_prints_a_visible_box_and_a_note(store, admin, rare, tmp_path):
    out = tmp_path / "rare.pdf"
    result = print_archives(store, admin, [rare["household"]["id"]], out, PrintOptions(allow_missing=True))
    flat = re.sub(r"\s+", "", pdftext(out))
    assert "刘□" in flat and "□野" in flat
    assert "刘䶮" not in flat
    assert "注:" in flat and "U+4DAE" in flat and "U+20BB7" in flat  # the note names the character
    assert "含缺字" in flat  # footer marker on every page
    assert any("U+4DAE" in w for w in result.warnings)


def test_font_lookup_prefers_the_configured_file_and_reports_bad_ones(tmp_path, monkeypatch):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font")
    choice = fonts_mod.resolve_font(str(bad))
    assert choice.embedded and choice.path  # fell back to a system font…
    assert "broken.ttf" in choice.warning and "无法使用" in choice.warning  # …and says why
    good = font_info()["path"]
    monkeypatch.setenv(fonts_mod.ENV_FONT, good)
    assert font_info()["path"] == good and font_info()["warning"] is None


def test_fonts_lacking_common_characters_are_rejected(tmp_path, monkeypatch):
    # Droid Sans Fallback has no digits: a font must have every REQUIRED character to be used
    monkeypatch.setattr(fonts_mod, "_registered", {})
    monkeypatch.setattr(fonts_mod, "REQUIRED", fonts_mod.REQUIRED + "䶮")
    with pytest.raises(ValueError, match="缺少常用字符"):
        fonts_mod._load(font_info()["path"])
    with pytest.raises(ValueError, match="不存在"):
        fonts_mod._load(str(tmp_path / "missing.ttf"))


@needs_poppler
def test_cid_fallback_warns_caller_and_page(street_store, monkeypatch, tmp_path):
    from desktop.services.store import SYSTEM

    monkeypatch.setattr(fonts_mod, "_cache", {})
    for name in ("shipped_candidates", "system_candidates", "fontconfig_candidates"):
        monkeypatch.setattr(fonts_mod, name, lambda: [])
    info = font_info()
    assert info["name"] == "STSong-Light" and info["embedded"] is False and "STSong-Light" in info["warning"]
    out = tmp_path / "ledger.pdf"
    result = print_ledger(street_store, SYSTEM, "vehicle", grid_code="62010400100101", date_from=None,
                          date_to=None, out=out)
    assert any("STSong-Light" in w for w in result.warnings)
    text = re.sub(r"\s+", "", pdftext(out, 1, 1))
    assert "字体警告" in text and "实有车辆台账" in text
    assert all(row[-5] == "no" for row in pdffonts(out))  # not embedded: that is what the warning says


def _lines(text: str, width: float) -> list[str]:
    style = ParagraphStyle("t", fontName=fonts_mod.resolve_font().name, fontSize=9, leading=12, wordWrap="CJK")
    p = CJKParagraph(text, style)
    p.wrap(width, 10_000)
    return ["".join(w.text for w in line.words) for line in p.blPara.lines]


def test_line_breaking_follows_chinese_rules():
    text = LONG_SITUATION + "“好的。”……他说——这件事(已办结)《通知》已张贴!编号 ABC-2026-0301 已登记。"
    for width in range(60, 330, 7):
        lines = _lines(text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost
        for k, line in enumerate(lines):
            assert line, (width, lines)
            if k:
                assert line[0] not in NO_START, (width, line)
            if k < len(lines) - 1:
                assert line[-1] not in NO_END, (width, line)
        if width >= 120:
            assert any("ABC-2026-0301" in line for line in lines), (width, lines)  # codes stay whole


def test_break_points_keeps_number_runs_whole():
    chars = list("证件号码620104199001011234已核实")
    widths = [1.0] * len(chars)
    lines = break_points(chars, widths, [20])
    texts = ["".join(chars[a:b]) for a, b in lines]
    assert texts[0] == "证件号码" and texts[1].startswith("620104199001011234")
