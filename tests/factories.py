"""Builds small realistic communities through the services; no test hand-writes an ID number."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from desktop.services.records import Records
from desktop.services.store import Actor, Store
from desktop.validation import make_id_number

_rng = random.Random(7)
_used: set[str] = set()


def reseed(seed: int | str) -> None:
    """A fresh generator for one test (tests/conftest.py seeds it from the test's id): a test's ID
    numbers are the same whether it runs alone, first or after a hundred others."""
    global _rng
    _rng = random.Random(seed if isinstance(seed, int) else zlib.crc32(seed.encode("utf-8")))
    _used.clear()


def id_number(birth: date, gender: str = "1", region: str = "620104") -> str:
    """A valid 18-digit number (region, birth date, gender parity, check character)."""
    while True:
        seq = _rng.randrange(0, 999)
        if (seq % 2 == 1) != (gender == "1"):
            seq = (seq + 1) % 1000
        number = make_id_number(region, birth, seq)
        if number not in _used:
            _used.add(number)
            return number


def years_ago(years: int, today: date | None = None) -> date:
    today = today or date.today()
    return date(today.year - years, 3, 1) if (today.month, today.day) >= (3, 1) else date(today.year - years - 1, 3, 1)


@dataclass
class Community:
    store: Store
    actor: Actor
    district: dict[str, Any] = field(default_factory=dict)
    community: dict[str, Any] = field(default_factory=dict)
    grid1: dict[str, Any] = field(default_factory=dict)
    grid2: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, store: Store, actor: Actor) -> Community:
        r = Records(store, actor)
        c = cls(store, actor)
        c.district = r.create("area", {"level": "district", "code": "620104", "name": "西固区"})
        street = r.create("area", {"level": "street", "code": "620104001", "name": "福利路街道", "parent_id": c.district["id"]})
        c.community = r.create("area", {"level": "community", "code": "620104001001", "name": "兰化22街区社区", "parent_id": street["id"]})
        c.grid1 = r.create("area", {"level": "grid", "code": "62010400100101", "name": "第1网格", "parent_id": c.community["id"]})
        c.grid2 = r.create("area", {"level": "grid", "code": "62010400100102", "name": "第2网格", "parent_id": c.community["id"]})
        return c

    def member(self, name: str, age: int, gender: str = "1", **extra: Any) -> dict[str, Any]:
        return {"name": name, "cert_no": id_number(years_ago(age), gender), **extra}


def encrypted_demo(path: Any, *, households: int = 20, seed: int = 5, encrypt_db: bool = True,
                   others: dict[str, str] | None = None) -> tuple[Store, Actor]:
    """A generated street at `path`, encrypted for `admin` (and `others`), opened as admin."""
    from desktop.services.demo import DEMO_PASSWORD, generate
    from desktop.services.session import LocalDatabase, encrypt

    st = Store.open(path, create=True)
    generate(st, households=households, seed=seed)
    st.close()
    if encrypt_db:
        encrypt(path, "admin", DEMO_PASSWORD, others=others)
    return LocalDatabase(path).open("admin", DEMO_PASSWORD)
