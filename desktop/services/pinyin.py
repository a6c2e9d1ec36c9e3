"""Pinyin for names: full pinyin and initials, with surname readings fixed.

pypinyin reads many surnames with their common-word reading (单 dan, 曾 ceng, 解 jie...), and
`Style.INITIALS` gives '' for zero-initial syllables (欧 -> ''), so initials are taken as the
first letter of the syllable (`Style.FIRST_LETTER` semantics). Readings are cached per character:
a name is a few characters out of a few thousand distinct ones."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

# Compound surnames first, then single-character surnames whose reading differs as a surname.
COMPOUND_SURNAMES = {
    "欧阳": ["ou", "yang"], "司马": ["si", "ma"], "上官": ["shang", "guan"],
    "诸葛": ["zhu", "ge"], "东方": ["dong", "fang"], "皇甫": ["huang", "fu"],
    "尉迟": ["yu", "chi"], "长孙": ["zhang", "sun"], "慕容": ["mu", "rong"],
    "司徒": ["si", "tu"], "夏侯": ["xia", "hou"], "令狐": ["ling", "hu"],
    "单于": ["chan", "yu"], "宇文": ["yu", "wen"], "公孙": ["gong", "sun"],
    "澹台": ["tan", "tai"], "万俟": ["mo", "qi"], "闻人": ["wen", "ren"],
}
SURNAMES = {
    "单": "shan", "曾": "zeng", "解": "xie", "朴": "piao", "乐": "yue", "区": "ou",
    "仇": "qiu", "查": "zha", "盖": "ge", "缪": "miao", "翟": "zhai", "尉": "yu",
    "覃": "qin", "召": "shao", "种": "chong", "秘": "bi", "繁": "po", "员": "yun",
    "黑": "he", "过": "guo", "隗": "wei", "眭": "sui", "冼": "xian", "折": "she",
    "莘": "shen", "句": "gou", "费": "fei", "华": "hua", "任": "ren", "宁": "ning",
    "沈": "shen", "柏": "bai", "贲": "ben", "郇": "huan", "阚": "kan", "洗": "xian",
    "谌": "chen", "蕃": "pi", "宓": "mi", "啜": "chuai", "褚": "chu", "么": "yao",
    "祭": "zhai", "长": "chang", "薄": "bo", "纪": "ji", "卜": "bu", "说": "yue",
    "臧": "zang", "都": "du", "藏": "zang", "殷": "yin", "鲜": "xian", "便": "pian",
}


def _each_char(s: str) -> Any:
    # a list, each character its own item: pypinyin takes one from `errors`, though its hints say str
    return [c.lower() for c in s]


@lru_cache(maxsize=32768)
def _char(ch: str) -> str:
    out = lazy_pinyin(ch, style=Style.NORMAL, errors=_each_char)
    return (out[0] if out else ch).lower()


def name_syllables(name: str) -> list[str]:
    name = (name or "").strip()
    if not name:
        return []
    head = COMPOUND_SURNAMES.get(name[:2])
    if head:
        return head + [_char(c) for c in name[2:] if not c.isspace()]
    first = SURNAMES.get(name[0]) or _char(name[0])
    return [first] + [_char(c) for c in name[1:] if not c.isspace()]


def name_pinyin(name: str) -> tuple[str, str]:
    """(full pinyin, initials), lower-case ASCII without separators: ("zhangsan", "zs")."""
    syl = [s for s in name_syllables(name) if s]
    full = "".join(syl)
    initials = "".join(s[0] for s in syl)
    return full, initials


def _chars(s: str) -> Any:
    # as _each_char, without lower-casing (text_pinyin lower-cases what it keeps)
    return [c for c in s]


def text_pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of an ordinary word such as a code label ("母亲" → ("muqin", "mq")),
    read as words, not as a name: 长子 is zhangzi here."""
    syl = [s.lower() for s in lazy_pinyin(text or "", style=Style.NORMAL, errors=_chars)
           if s and s.isascii() and s.isalnum()]
    return "".join(syl), "".join(s[0] for s in syl)
