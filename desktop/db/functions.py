"""SQL functions registered on every connection (used by triggers, so every write path gets them)."""

from __future__ import annotations

import re

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def cjk_grams(text: str | None) -> str:
    """Space-separated distinct 1- and 2-character grams of every run of Chinese characters.

    FTS5's trigram tokenizer cannot answer one- and two-character fragments (and its LIKE path
    returns no rows on SQLite 3.40), so short Chinese fragments are looked up in a second FTS5
    table whose tokens are exactly these grams."""
    if not text:
        return ""
    seen: dict[str, None] = {}
    for run in _CJK_RUN.findall(text):
        for i, ch in enumerate(run):
            seen[ch] = None
            if i + 1 < len(run):
                seen[run[i : i + 2]] = None
    return " ".join(seen)


def reverse_text(text: str | None) -> str | None:
    return text[::-1] if text else None
