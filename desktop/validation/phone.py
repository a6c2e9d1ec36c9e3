"""Telephone numbers: mainland mobile numbers, landlines with area code, 400/800 lines."""

from __future__ import annotations

import re
from typing import Any

from desktop.validation._text import as_text, show_char, to_halfwidth
from desktop.validation.result import CheckResult, Findings

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = frozenset("-()–—.·")
_LIST_SEPARATORS = frozenset("/,;、，；|")
_EXTENSION_WORDS = ("分机", "转", "EXT", "ext", "Ext")


def normalize_phone_digits(raw: str) -> str:
    """Digits only (full-width converted), for searching and duplicate checks."""
    return "".join(ch for ch in to_halfwidth(as_text(raw)) if ch.isascii() and ch.isdigit())


def check_phone(raw: str, *, field: str = "联系电话") -> CheckResult:
    """Check a telephone number.

    ``normalized`` is "13812345678" for mobiles, "0931-8123456" (with "转123" for an
    extension) for landlines, "400-123-4567" for service lines. details: kind
    ("mobile" / "landline" / "service" / "international"), area_code, extension.
    """
    raw_text = as_text(raw)
    found = Findings(raw_text, field)
    err, done = found.err, found.done
    warn = found.warn

    text = to_halfwidth(raw_text)
    if not text.strip():
        err("phone.empty", f"{field}未填写")
        return done(None)

    # Extension ("转123", "分机123", "ext 123").
    extension = ""
    body = text
    for word in _EXTENSION_WORDS:
        if word in body:
            body, _, ext_text = body.partition(word)
            extension = "".join(ch for ch in ext_text if not ch.isspace())
            if not (extension.isascii() and extension.isdigit() and 1 <= len(extension) <= 6):
                err("phone.extension", f"{field}的分机号“{ext_text.strip()}”应为1至6位数字")
                return done(None)
            break

    # Characters: digits, a leading "+", spaces and the usual separators.
    for i, ch in enumerate(body, 1):
        if ch.isspace() or ch in _SEPARATORS or (ch.isascii() and ch.isdigit()):
            continue
        if ch == "+" and not body[: i - 1].strip():
            continue
        if ch in _LIST_SEPARATORS:
            err("phone.multiple", f"{field}只能填写一个号码，发现分隔符{show_char(ch)}（第{i}位）")
        else:
            err("phone.bad_char", f"{field}第{i}位{show_char(ch)}不是数字")
        return done(None)

    digits = "".join(ch for ch in body if ch.isdigit())
    plus = body.strip().startswith("+")
    international = False
    if plus or digits.startswith("00"):
        rest = digits[2:] if digits.startswith("00") else digits
        if not rest.startswith("86"):
            warn("phone.international", f"{field}为境外号码，无法按国内号码规则校验，请核对")
            return done(
                "+" + rest,
                {"kind": "international", "area_code": None, "extension": extension or None},
            )
        digits = rest[2:]
        international = True
    elif len(digits) == 13 and digits.startswith("861") and MOBILE_RE.fullmatch(digits[2:]):
        digits = digits[2:]
        international = True
    if international and not MOBILE_RE.fullmatch(digits) and not digits.startswith("0"):
        digits = "0" + digits  # +86 931 8123456: the trunk prefix 0 is dropped abroad

    if not digits:
        err("phone.format", f"{field}中没有数字")
        return done(None)

    details: dict[str, Any] = {"kind": None, "area_code": None, "extension": extension or None}

    if digits.startswith("1"):
        details["kind"] = "mobile"
        if len(digits) != 11:
            err("phone.length", f"{field}（手机号码）应为11位，实际为{len(digits)}位")
            return done(None)
        if digits[1] not in "3456789":
            err(
                "phone.mobile_prefix",
                f"{field}第2位应为3至9（手机号码以13至19开头），实际为{digits[1]}",
            )
            return done(digits)
        if extension:
            err("phone.extension", f"{field}为手机号码，不能带分机号")
        return done(digits, details)

    if digits[:3] in ("400", "800"):
        details["kind"] = "service"
        if len(digits) != 10:
            err("phone.length", f"{field}（{digits[:3]}服务号码）应为10位，实际为{len(digits)}位")
            return done(None)
        warn("phone.service", f"{field}是{digits[:3]}服务热线，不是个人电话，请核对")
        normalized = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
        return done(normalized + (f"转{extension}" if extension else ""), details)

    if digits.startswith("0"):
        details["kind"] = "landline"
        area_len = 3 if digits[1:2] in ("1", "2") else 4
        area, local = digits[:area_len], digits[area_len:]
        details["area_code"] = area
        if area == "0" * area_len or len(area) < area_len:
            err("phone.area_code", f"{field}的区号“{area}”无效")
            return done(None)
        if not 7 <= len(local) <= 8:
            err(
                "phone.landline_length",
                f"{field}（固定电话）区号{area}之后应为7至8位，实际为{len(local)}位",
            )
            return done(None)
        if local[0] == "0":
            err("phone.landline_first", f"{field}（固定电话）区号{area}之后的第1位不能是0")
            return done(None)
        if local[0] == "1":
            warn(
                "phone.landline_first",
                f"{field}（固定电话）区号{area}之后的号码通常不以1开头，请核对",
            )
        normalized = f"{area}-{local}" + (f"转{extension}" if extension else "")
        return done(normalized, details)

    if 7 <= len(digits) <= 8:
        err(
            "phone.no_area_code",
            f"{field}“{digits}”缺少区号，固定电话请加区号，如0931-8123456",
        )
        return done(None)

    err("phone.format", f"{field}“{body.strip()}”不是有效的手机号码或固定电话")
    return done(None)
