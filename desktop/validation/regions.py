"""County-level administrative division table (GB/T 2260 codes).

Data: ``desktop/data/regions.csv`` (see ``desktop/data/REGIONS_SOURCE.md`` for its source and
date). Loaded lazily, once per process.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Names of structural placeholders: they never appear in a full name.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    level: str  # province / prefecture / county
    retired: bool


@cache
def _table() -> dict[str, Region]:
    text = resources.files("desktop.data").joinpath("regions.csv").read_text(encoding="utf-8")
    table: dict[str, Region] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["code"]
        table[code] = Region(code, row["name"], row["level"], row.get("retired") == "1")
    return table


def _clean(code: object) -> str | None:
    if not isinstance(code, str):
        return None
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    return code


def region(code: str) -> Region | None:
    """The table row for a 6-digit code, or ``None``."""
    c = _clean(code)
    return _table().get(c) if c else None


def is_known(code: str) -> bool:
    """True when the 6-digit code is in the table (current or retired)."""
    return region(code) is not None


def is_retired(code: str) -> bool:
    """True when the code is known only from the older table (withdrawn since)."""
    r = region(code)
    return bool(r and r.retired)


def province_name(code: str) -> str | None:
    """Name of the province of a code (only its first two digits are used)."""
    if not isinstance(code, str) or len(code.strip()) < 2:
        return None
    prefix = code.strip()[:2]
    if not prefix.isascii() or not prefix.isdigit():
        return None
    r = _table().get(prefix + "0000")
    return r.name if r else None


@cache
def _full_name(code: str) -> str | None:
    table = _table()
    r = table.get(code)
    if r is None:
        return None
    if r.level == "province":
        return r.name
    parts: list[str] = []
    prov = table.get(code[:2] + "0000")
    if prov is not None:
        parts.append(prov.name)
    if r.level == "county":
        pref = table.get(code[:4] + "00")
        if pref is not None and pref.name not in _PLACEHOLDERS:
            parts.append(pref.name)
    if r.level == "county" or r.name not in _PLACEHOLDERS:
        parts.append(r.name)
    return "".join(parts) or None


def region_name(code: str) -> str | None:
    """Full name "省+市+区县" of a 6-digit code, e.g. "甘肃省兰州市西固区".

    Municipalities and county-level cities directly under a province have no prefecture
    part ("北京市东城区", "河南省济源市"). Unknown or malformed codes give ``None``.
    """
    c = _clean(code)
    return _full_name(c) if c else None


@cache
def _counties(include_retired: bool) -> tuple[tuple[str, str], ...]:
    out = []
    for code, r in _table().items():
        if r.level != "county" or r.name in _PLACEHOLDERS:
            continue
        if r.retired and not include_retired:
            continue
        name = _full_name(code)
        if name:
            out.append((code, name))
    out.sort()
    return tuple(out)


def counties(*, include_retired: bool = False) -> list[tuple[str, str]]:
    """(code, full name) of every county-level division, sorted by code.

    By default only current codes; placeholder "市辖区" rows are never listed.
    """
    return list(_counties(include_retired))


def provinces() -> list[tuple[str, str]]:
    """(code, name) of every province-level division, sorted by code."""
    return sorted((c, r.name) for c, r in _table().items() if r.level == "province")


def children(code: str | None, *, include_retired: bool = False) -> list[tuple[str, str]]:
    """(code, name) of the divisions directly below `code` (None: the provinces), sorted by code:
    a province's prefectures (a municipality's placeholder groups such as "市辖区" included), a
    prefecture's counties (placeholder counties left out)."""
    table = _table()
    if code is None:
        return provinces()
    c = _clean(code)
    parent = table.get(c) if c else None
    if parent is None or c is None:
        return []
    if parent.level == "province":
        prefix, level = c[:2], "prefecture"
    elif parent.level == "prefecture":
        prefix, level = c[:4], "county"
    else:
        return []
    return sorted((k, r.name) for k, r in table.items()
                  if k.startswith(prefix) and k != c and r.level == level
                  and (level == "prefecture" or r.name not in _PLACEHOLDERS) and (include_retired or not r.retired))
