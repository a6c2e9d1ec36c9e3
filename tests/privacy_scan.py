"""Scanning log files (and zips of them) for personal values: what the logs must never hold."""

from __future__ import annotations

import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Leak:
    where: str  # a file, or file!member for a zip
    kind: str  # name, id_number, phone, address, password, token
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r} in {self.where}"


def personal_values(db: Path, key: bytes | None = None) -> dict[str, set[str]]:
    """Every person's name, ID number and phone, and every address, of a local database file."""
    if key is None:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    else:  # pragma: no cover - the demo day uses a plain file
        import sqlcipher3  # type: ignore[import-not-found]

        from desktop.db.keys import sqlcipher_key

        con = sqlcipher3.connect(str(db))
        con.execute(f"PRAGMA key = \"{sqlcipher_key(key)}\"")
    try:
        values: dict[str, set[str]] = {"name": set(), "id_number": set(), "phone": set(), "address": set()}
        for name, cert, phone, hukou in con.execute("SELECT name, cert_no, phone, hukou_address FROM person"):
            values["name"].add(name)
            values["id_number"].add(cert)
            values["phone"].add(phone)
            values["address"].add(hukou)
        for (text,) in con.execute("SELECT full_text FROM address"):
            values["address"].add(text)
    finally:
        con.close()
    return {k: {v for v in vs if v and len(v) >= 2} for k, vs in values.items()}


def merge(*groups: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for g in groups:
        for k, vs in g.items():
            out.setdefault(k, set()).update(v for v in vs if v)
    return out


def _texts(paths: list[Path]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for p in paths:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as zf:
                for member in zf.namelist():
                    texts[f"{p}!{member}"] = zf.read(member).decode("utf-8", errors="replace")
        else:
            texts[str(p)] = p.read_bytes().decode("utf-8", errors="replace")
    return texts


def scan(paths: list[Path], secrets: dict[str, set[str]]) -> list[Leak]:
    """Each secret value found in any of the files (zips are opened), as a Leak."""
    found: list[Leak] = []
    for where, text in _texts(paths).items():
        for kind, values in secrets.items():
            for value in sorted(values):
                if value in text:
                    found.append(Leak(where, kind, value))
    return found
