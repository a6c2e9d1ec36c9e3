"""Motor-vehicle plate numbers (号牌号码, GA 36-2018) with a guess of the plate type (GA 24.7).

Forms accepted (after normalising):
* ordinary 7 characters: province + authority letter + 5 serial characters (京A12345);
* suffixed: province + authority letter + 4 serial characters + 挂/学/警/领/港/澳 (京A1234学);
* small new-energy, 8 characters: serial = energy letter + letter-or-digit + 4 digits (粤BD12345);
* large new-energy, 8 characters: serial = 5 digits + energy letter (沪A12345D);
* embassy: 使 + 6 digits, or 6 digits + 使 (使014578, 224578使).
Serial letters never include I or O.
"""

from __future__ import annotations

from typing import Any

from desktop.validation._text import as_text, drop_spaces, show_char, to_halfwidth
from desktop.validation.codes import code_table
from desktop.validation.result import CheckResult, Findings

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PROVINCE_NAMES = dict(
    zip(
        PROVINCES,
        [
            "北京市",
            "天津市",
            "上海市",
            "重庆市",
            "河北省",
            "河南省",
            "云南省",
            "辽宁省",
            "黑龙江省",
            "湖南省",
            "安徽省",
            "山东省",
            "新疆维吾尔自治区",
            "江苏省",
            "浙江省",
            "江西省",
            "湖北省",
            "广西壮族自治区",
            "甘肃省",
            "山西省",
            "内蒙古自治区",
            "陕西省",
            "吉林省",
            "福建省",
            "贵州省",
            "广东省",
            "青海省",
            "西藏自治区",
            "四川省",
            "宁夏回族自治区",
            "海南省",
        ],
        strict=True,
    )
)
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # A–Z without I and O
SERIAL_CHARS = frozenset(LETTERS + "0123456789")
# Energy letters: D (pure electric) and F (other) since 2016; since 2022 also A B C E (pure
# electric) and G H J K (other).
ELECTRIC_LETTERS = "ABCDE"
HYBRID_LETTERS = "FGHJK"
ENERGY_LETTERS = ELECTRIC_LETTERS + HYBRID_LETTERS
SUFFIX_TYPES = {"挂": "15", "学": "16", "警": "23", "领": "04", "港": "26", "澳": "27"}
ORDINARY, EMBASSY, SMALL_NEV, LARGE_NEV = "02", "03", "52", "51"
_SEPARATORS = frozenset("·•・‧∙.-_—")


def normalize_plate_text(raw: str) -> str:
    """Upper-case, half-width, without spaces, middle dots and hyphens."""
    s = drop_spaces(to_halfwidth(as_text(raw)))
    return "".join(ch for ch in s if ch not in _SEPARATORS).upper()


def check_plate(raw: str, *, field: str = "号牌号码") -> CheckResult:
    """Check a plate number; details: plate_type_code/label, province, energy…"""
    raw_text = as_text(raw)
    s = normalize_plate_text(raw_text)
    found = Findings(raw_text, field)
    errors = found.errors
    err, done = found.err, found.done

    def typed(type_code: str, **extra: Any) -> dict[str, Any]:
        d: dict[str, Any] = {
            "plate_type_code": type_code,
            "plate_type_label": code_table("plate_type").label(type_code),
            "province": None,
            "province_name": None,
            "authority": None,
            "energy": False,
            "energy_kind": None,
        }
        d.update(extra)
        return d

    if not s:
        err("plate.empty", f"{field}未填写")
        return done(None)

    # Embassy plates.
    if "使" in s:
        if len(s) == 7 and s[0] == "使" and s[1:].isascii() and s[1:].isdigit():
            return done(s, typed(EMBASSY))
        if len(s) == 7 and s[-1] == "使" and s[:-1].isascii() and s[:-1].isdigit():
            return done(s, typed(EMBASSY))
        err("plate.embassy", f"{field}“{s}”不是有效的使馆号牌，应为“使”加6位数字（如使014578）")
        return done(None)

    # Province and authority letter.
    if s[0] not in PROVINCES:
        if s[0].isascii():
            err("plate.province", f"{field}第1位应为省份简称（如京、粤），实际为{show_char(s[0])}")
        else:
            err("plate.province", f"{field}第1位{show_char(s[0])}不是省份简称")
    if len(s) < 2:
        err("plate.length", f"{field}应为7位（新能源号牌为8位），实际为{len(s)}位")
        return done(None)
    authority = s[1]
    if authority in "IO":
        err("plate.letter_io", f"{field}第2位发牌机关代号为字母{authority}，号牌中不使用I和O")
    elif not ("A" <= authority <= "Z"):
        err(
            "plate.authority",
            f"{field}第2位应为发牌机关代号字母（A–Z），实际为{show_char(authority)}",
        )

    if len(s) not in (7, 8):
        err("plate.length", f"{field}应为7位（新能源号牌为8位），实际为{len(s)}位")
        return done(None)

    # The serial: everything after the authority letter, except a Chinese suffix.
    suffix = s[-1] if not s[-1].isascii() else ""
    serial = s[2:-1] if suffix else s[2:]
    type_code = ORDINARY
    energy_kind: str | None = None

    if suffix:
        if suffix not in SUFFIX_TYPES:
            err(
                "plate.suffix",
                f"{field}第{len(s)}位{show_char(suffix)}不是有效的号牌后缀（挂、学、警、领、港、澳）",
            )
        elif len(s) != 7:
            err("plate.length", f"{field}带“{suffix}”字的号牌应为7位，实际为{len(s)}位")
        else:
            type_code = SUFFIX_TYPES[suffix]

    for i, ch in enumerate(serial, 3):
        if ch in "IO":
            err("plate.letter_io", f"{field}含有字母{ch}（第{i}位），号牌中不使用I和O这两个字母")
        elif ch not in SERIAL_CHARS:
            err("plate.char", f"{field}第{i}位{show_char(ch)}不是有效字符，序号只能是字母或数字")

    if not suffix and len(s) == 8 and not errors:
        if serial[-1].isalpha():
            type_code = LARGE_NEV
            energy_letter = serial[-1]
            if not serial[:5].isdigit():
                pos = next(i for i, ch in enumerate(serial[:5], 3) if not ch.isdigit())
                err(
                    "plate.nev_large",
                    f"{field}是大型新能源号牌（末位为能源字母）时第3至7位应为数字，第{pos}位为{show_char(s[pos - 1])}",
                )
            if energy_letter not in ENERGY_LETTERS:
                err(
                    "plate.energy_letter",
                    f"{field}第8位{show_char(energy_letter)}不是新能源字母（A–H、J、K）",
                )
        else:
            type_code = SMALL_NEV
            energy_letter = serial[0]
            if energy_letter not in ENERGY_LETTERS:
                what = "数字" if energy_letter.isdigit() else f"字母{energy_letter}"
                err(
                    "plate.energy_letter",
                    f"{field}为8位新能源号牌，第3位应为新能源字母（A–H、J、K），实际为{what}",
                )
            tail = serial[2:]
            if not tail.isdigit():
                pos = next(i for i, ch in enumerate(tail, 5) if not ch.isdigit())
                err(
                    "plate.nev_small",
                    f"{field}为小型新能源号牌时第5至8位应为数字，第{pos}位为{show_char(s[pos - 1])}",
                )
        if energy_letter in ELECTRIC_LETTERS:
            energy_kind = "纯电动"
        elif energy_letter in HYBRID_LETTERS:
            energy_kind = "非纯电动"

    if type_code in ("26", "27") and not s.startswith("粤Z"):
        found.warn("plate.hk_macao", f"{field}为港澳入出境车号牌，通常以“粤Z”开头，请核对")

    if errors:
        return done(s)
    province = s[0]
    return done(
        s,
        typed(
            type_code,
            province=province,
            province_name=PROVINCE_NAMES[province],
            authority=authority,
            energy=type_code in (SMALL_NEV, LARGE_NEV),
            energy_kind=energy_kind,
        ),
    )
