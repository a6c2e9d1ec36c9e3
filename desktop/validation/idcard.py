"""Citizen identity numbers (公民身份号码, GB 11643-1999) and the numbers built the same way.

Covers the 18-character number (6 region + 8 birth date + 3 sequence + check character),
the 15-digit legacy number (upgraded to 18), the 外国人永久居留身份证 number (2023 version,
first digit 9) and the 港澳台居民居住证 number (region 810000 / 820000 / 830000).
python-stdnum's ``stdnum.cn.ric`` is not used: it rejects the last two forms and raises
``KeyError`` for some unknown counties.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from desktop.validation import regions
from desktop.validation._text import as_text, drop_spaces, show_char, to_halfwidth
from desktop.validation.codes import code_table
from desktop.validation.dates import DateError, age_on, parse_date
from desktop.validation.result import CheckResult, Findings

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
MIN_BIRTH_YEAR = 1900

# 港澳台居民居住证: fixed "region" codes and the names to show for them.
HMT_REGIONS = {
    "810000": "香港特别行政区",
    "820000": "澳门特别行政区",
    "830000": "台湾省",
}
GENDER_LABELS = {"1": "男", "2": "女"}
KIND_LABELS = {
    "resident": "居民身份证",
    "hmt_residence": "港澳台居民居住证",
    "foreign_permanent": "外国人永久居留身份证",
}


def id_check_char(first17: str) -> str:
    """Check character (0–9 or X) for the first 17 digits of an 18-character number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def make_id_number(region: str, birth: date, seq: int) -> str:
    """Build a valid 18-character number: region code, birth date, sequence (0–999).

    The parity of ``seq`` decides the gender (odd = male). Used by the demo data generator
    and by test factories.
    """
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError("region must be 6 ASCII digits")
    if not 0 <= seq <= 999:
        raise ValueError("seq must be between 0 and 999")
    if not 1000 <= birth.year <= 9999:
        raise ValueError("birth year must have four digits")
    first17 = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return first17 + id_check_char(first17)


def upgrade_15(number15: str) -> str:
    """The 18-character form of a 15-digit legacy number (insert "19", append the check)."""
    if len(number15) != 15 or not number15.isascii() or not number15.isdigit():
        raise ValueError("number15 must be exactly 15 ASCII digits")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + id_check_char(first17)


def normalize_id_text(raw: str) -> str:
    """Full-width to half-width, all spaces removed, lower-case x to X (no other change)."""
    return drop_spaces(to_halfwidth(as_text(raw))).replace("x", "X")


def _date_problem(y: int, m: int, d: int) -> str:
    if not 1 <= m <= 12:
        return f"月份“{m:02d}”不存在"
    last = calendar.monthrange(y, m)[1] if y >= 1 else 31
    if not 1 <= d <= last:
        if m == 2 and d == 29:
            return f"{y}年不是闰年，2月没有29日"
        if d == 0:
            return "日期为“00”"
        return f"{y}年{m}月只有{last}天，没有{d}日"
    return "日期无效"  # pragma: no cover - only reached for year 0


def _coerce_birth(value: date | datetime | str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_date(value)
        except DateError:
            return None
    return None


def check_id_number(
    raw: str,
    *,
    field: str = "证件号码",
    today: date | None = None,
    birth_date: date | None = None,
    gender: str | None = None,
) -> CheckResult:
    """Check an identity number and derive birth date, gender, age and region from it.

    ``birth_date`` / ``gender`` (code "1"/"2" or 男/女) are the values typed elsewhere on the
    form: when given and different from the number, that is an error on those fields.
    """
    raw_text = as_text(raw)
    today = today or date.today()
    found = Findings(raw_text, field)
    err, done = found.err, found.done
    warn = found.warn

    s = normalize_id_text(raw_text)
    if not s:
        err("id.empty", f"{field}未填写")
        return done(None)

    # 1. Characters: only digits and X are possible anywhere.
    bad = [
        (i, ch) for i, ch in enumerate(s, 1) if not (ch.isascii() and (ch.isdigit() or ch == "X"))
    ]
    if bad:
        pos, ch = bad[0]
        more = f"（共{len(bad)}处）" if len(bad) > 1 else ""
        if len(s) == 15 and s[:3].isalpha() and s[:3].isascii() and s[3:].isdigit():
            err(
                "id.old_foreign_format",
                f"{field}“{s}”是2017年版外国人永久居留身份证号码（3位字母+12位数字），"
                "不能按18位身份号码校验，请核对证件类型",
            )
        else:
            err(
                "id.bad_char",
                f"{field}第{pos}位{show_char(ch)}不是数字{more}，号码只能由数字和末位的X组成",
            )
        return done(None)

    # 2. Length.
    if len(s) not in (15, 18):
        err("id.length", f"{field}应为18位（旧版为15位），实际为{len(s)}位")
        return done(None)

    x_positions = [i for i, ch in enumerate(s, 1) if ch == "X"]
    if len(s) == 15 and x_positions:
        err("id.bad_char", f"{field}为15位旧号码时只能由数字组成，第{x_positions[0]}位为“X”")
        return done(None)
    if len(s) == 18 and any(p != 18 for p in x_positions):
        pos = next(p for p in x_positions if p != 18)
        err("id.bad_char", f"{field}第{pos}位为“X”，只有第18位（校验码）可以是X")
        return done(None)

    upgraded = False
    if len(s) == 15:
        original = s
        s = upgrade_15(s)
        upgraded = True
        warn("id.upgraded", f"{field}“{original}”是15位旧号码，已按国家标准升级为18位：{s}")

    # 3. Check character. The expected character is never shown: a wrong digit anywhere makes
    # the last one "wrong", and a hint to change it would turn a typo into a valid wrong number.
    if s[17] != id_check_char(s[:17]):
        err("id.checksum", f"{field}没有通过校验（至少有一位输错），请对照证件逐位核对")

    # 4. Kind and region.
    details: dict[str, Any] = {"kind": "resident"}
    region_code: str | None = s[:6]
    region_name: str | None = None
    if s[0] == "9":
        details["kind"] = "foreign_permanent"
        region_code = None
        issuing = s[1:3] + "0000"
        issuing_name = regions.province_name(issuing)
        details["issuing_province_code"] = issuing
        details["issuing_province"] = issuing_name
        details["nationality_code"] = s[3:6]
        if issuing_name is None:
            warn(
                "id.unknown_province",
                f"{field}第2至3位受理地代码“{s[1:3]}”不是省级行政区划代码，请核对号码",
            )
    elif s[:6] in HMT_REGIONS:
        details["kind"] = "hmt_residence"
        region_name = HMT_REGIONS[s[:6]]
    else:
        region_name = regions.region_name(s[:6])
        if region_name is None:
            if regions.province_name(s[:6]) is None:
                warn(
                    "id.unknown_province",
                    f"{field}前2位“{s[:2]}”不是任何省级行政区划代码，号码很可能有误，请核对",
                )
            else:
                warn(
                    "id.unknown_region",
                    f"{field}前6位地区码“{s[:6]}”不在行政区划代码表中"
                    "（可能是已撤销的旧代码），请核对",
                )
        details["region_retired"] = regions.is_retired(s[:6])
    details["kind_label"] = KIND_LABELS[details["kind"]]
    details["region_code"] = region_code
    details["region_name"] = region_name

    # 5. Birth date.
    where = "中的出生日期" if upgraded else "第7至14位出生日期"
    y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    birth: date | None
    try:
        birth = date(y, m, d)
    except ValueError:
        birth = None
        err("id.bad_date", f"{field}{where}“{s[6:14]}”不是有效日期：{_date_problem(y, m, d)}")
    if birth is not None:
        if birth > today:
            err(
                "id.future_date",
                f"{field}{where}{birth.isoformat()}晚于今天（{today.isoformat()}），请核对",
            )
        elif birth.year < MIN_BIRTH_YEAR:
            err("id.too_old", f"{field}{where}{birth.isoformat()}早于1900年，请核对")
    bad_birth = birth is None or birth > today or birth.year < MIN_BIRTH_YEAR
    details["birth_date"] = birth.isoformat() if birth else None
    details["age"] = None if bad_birth or birth is None else age_on(birth, today)

    # 6. Gender from the 17th digit.
    g = "1" if int(s[16]) % 2 == 1 else "2"
    details["gender"] = g
    details["gender_label"] = GENDER_LABELS[g]
    details["upgraded_from_15"] = upgraded

    # 7. Agreement with values typed elsewhere.
    if birth_date is not None and birth is not None:
        given = _coerce_birth(birth_date)
        if given is not None and given != birth:
            err(
                "id.birth_mismatch",
                f"出生日期与{field}不一致：填写的是{given.isoformat()}，"
                f"{field}中为{birth.isoformat()}",
                on="出生日期",
            )
    if gender is not None and str(gender).strip():
        given_g = code_table("gender").code_for(str(gender))
        if given_g in GENDER_LABELS and given_g != g:
            err(
                "id.gender_mismatch",
                f"性别与{field}不一致：填写的是{GENDER_LABELS[given_g]}，"
                f"{field}第17位表示{GENDER_LABELS[g]}",
                on="性别",
            )

    return done(s, details)
