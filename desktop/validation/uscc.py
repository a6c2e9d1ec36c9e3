"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters from a 31-character alphabet (no I O S V Z): 1 registration authority,
1 organisation type, 6 region code, 9 organisation code (GB 11714, with its own check
character), 1 check character (weights 3^i mod 31). python-stdnum's ``stdnum.cn.uscc``
wrongly requires the first 8 characters to be digits (the first two are letters for
some authorities, e.g. N2…, Y1…), so it is not used.
"""

from __future__ import annotations

from typing import Any

from desktop.validation import regions
from desktop.validation._text import as_text, drop_spaces, show_char, to_halfwidth
from desktop.validation.codes import code_table
from desktop.validation.result import CheckResult, Findings

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# GB 11714 organisation code (positions 9–17): 8 body characters + check.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """Check character (position 18) for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError("first17 must be 17 characters from the USCC alphabet")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """GB 11714 check character (0–9 or X) for the 8-character organisation code body."""
    if len(first8) != 8 or any(ch not in _VALUE for ch in first8):
        raise ValueError("first8 must be 8 digits or upper-case letters")
    total = sum(
        (int(ch) if ch.isdigit() else ord(ch) - 55) * w
        for ch, w in zip(first8, _ORG_WEIGHTS, strict=True)
    )
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def normalize_uscc_text(raw: str) -> str:
    """Upper-case, half-width, without spaces and hyphens."""
    return drop_spaces(to_halfwidth(as_text(raw))).replace("-", "").upper()


def check_uscc(raw: str, *, field: str = "统一社会信用代码") -> CheckResult:
    """Check a unified social credit code; details: authority, org type, region."""
    raw_text = as_text(raw)
    s = normalize_uscc_text(raw_text)
    found = Findings(raw_text, field)
    err, done = found.err, found.done
    warn = found.warn

    if not s:
        err("uscc.empty", f"{field}未填写")
        return done(None)

    for i, ch in enumerate(s, 1):
        if ch in _VALUE:
            continue
        if ch in "IOSVZ":
            err(
                "uscc.forbidden_letter",
                f"{field}第{i}位为字母{ch}，统一社会信用代码不使用I、O、S、V、Z",
            )
        else:
            err("uscc.bad_char", f"{field}第{i}位{show_char(ch)}不是数字或大写字母")
        return done(None)

    if len(s) != 18:
        err("uscc.length", f"{field}应为18位，实际为{len(s)}位")
        return done(None)

    expected = uscc_check_char(s[:17])
    if s[17] != expected:
        err("uscc.checksum", f"{field}第18位校验码应为{expected}，实际为{s[17]}")

    authorities = code_table("uscc_authority")
    org_types = code_table("uscc_org_type")
    details: dict[str, Any] = {
        "authority_code": s[0],
        "authority_label": authorities.label(s[0]) if s[0] in authorities else None,
        "org_type_code": s[:2],
        "org_type_label": org_types.label(s[:2]) if s[:2] in org_types else None,
        "region_code": s[2:8],
        "region_name": None,
        "org_code": s[8:17],
    }
    if s[0] not in authorities:
        warn("uscc.authority", f"{field}第1位登记管理部门代码“{s[0]}”不在国家标准代码表中，请核对")
    elif s[:2] not in org_types:
        warn(
            "uscc.org_type",
            f"{field}第2位机构类别代码“{s[1]}”不属于登记管理部门“{authorities.label(s[0])}”，请核对",
        )

    region = s[2:8]
    if not region.isdigit():
        pos = next(i for i, ch in enumerate(region, 3) if not ch.isdigit())
        warn(
            "uscc.region",
            f"{field}第3至8位应为行政区划代码（数字），第{pos}位为“{s[pos - 1]}”，请核对",
        )
    else:
        name = regions.region_name(region)
        details["region_name"] = name
        if name is None:
            warn(
                "uscc.region", f"{field}第3至8位行政区划代码“{region}”不在行政区划代码表中，请核对"
            )

    org_expected = org_code_check_char(s[8:16])
    if s[16] != org_expected:
        warn(
            "uscc.org_checksum",
            f"{field}第9至17位组织机构代码的校验码（第17位）应为{org_expected}，实际为{s[16]}，请核对",
        )
    return done(s, details)
