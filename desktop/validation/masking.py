"""Masking for screens and paper (PIPL): ID numbers, phones, names."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1\d{10}")


def mask_id(s: str | None, *, head: int = 6, tail: int = 4) -> str:
    """Keep the first ``head`` and last ``tail`` characters: "620104********1234".

    Short values (passports…) keep a quarter at each end so most of them stays hidden.
    """
    if not s:
        return ""
    s = s.strip()
    n = len(s)
    if n > head + tail:
        return s[:head] + "*" * (n - head - tail) + (s[n - tail :] if tail else "")
    keep = n // 4
    return s[:keep] + "*" * (n - 2 * keep) + (s[n - keep :] if keep else "")


def mask_phone(s: str | None) -> str:
    """Mobile "138****5678"; landline "0931-***3456" (area code and last 4 kept)."""
    if not s:
        return ""
    s = s.strip()
    if _MOBILE.fullmatch(s):
        return s[:3] + "****" + s[7:]
    if "-" in s and s.startswith("0"):
        area, _, local = s.partition("-")
        return area + "-" + _keep_tail(local, 4)
    if len(s) > 7:
        return s[:3] + "*" * (len(s) - 7) + s[-4:]
    return _keep_tail(s, 4 if len(s) > 4 else 0)


def mask_name(name: str | None) -> str:
    """Only the first character: "张**" (for lists shown in public)."""
    if not name:
        return ""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1)


def _keep_tail(s: str, tail: int) -> str:
    if tail <= 0 or len(s) <= tail:
        return "*" * len(s)
    return "*" * (len(s) - tail) + s[-tail:]
