"""Code tables (national standards where one exists, local lists otherwise).

All tables live in one file, ``desktop/data/codes.json``, loaded once per process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from desktop.validation._text import drop_spaces, to_halfwidth


def _key(text: str) -> str:
    return drop_spaces(to_halfwidth(text)).casefold()


class CodeTable:
    """One code table: ordered ``(code, label)`` items plus lookup both ways."""

    __slots__ = ("name", "title", "source", "items", "aliases", "extra", "_labels", "_index")

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.title: str = spec["title"]
        self.source: str = spec.get("_source", "")
        self.items: list[tuple[str, str]] = [(str(c), str(lbl)) for c, lbl in spec["items"]]
        self.aliases: dict[str, str] = dict(spec.get("aliases", {}))
        self.extra: dict[str, Any] = {
            k: v for k, v in spec.items() if k not in {"title", "_source", "items", "aliases"}
        }
        self._labels = dict(self.items)
        if len(self._labels) != len(self.items):
            raise ValueError(f"duplicate code in table {name}")
        index: dict[str, str] = {}
        # Priority: codes, then labels (first wins for repeated labels such as 其他), aliases.
        for alias, code in self.aliases.items():
            if code not in self._labels:
                raise ValueError(f"alias {alias!r} of table {name} points to unknown code {code!r}")
            index[_key(alias)] = code
        for code, label in reversed(self.items):
            index[_key(label)] = code
        for code, _label in self.items:
            index[_key(code)] = code
        self._index = index

    def label(self, code: str | None) -> str:
        """Label of a code; an unknown code is returned unchanged (``None`` gives "")."""
        if code is None:
            return ""
        return self._labels.get(str(code), str(code))

    def code_for(self, text: str | None) -> str | None:
        """Code for a label, an alias or the code itself; ``None`` when not recognised.

        Tolerates spaces, full-width characters and letter case; a number whose leading zeros
        were lost (Excel: ``1`` for ``"01"``) is padded back when that gives a known code.
        """
        if text is None:
            return None
        key = _key(str(text))
        if not key:
            return None
        code = self._index.get(key)
        if code is not None:
            return code
        if key.isdigit():
            for code, _label in self.items:
                if code.isdigit() and len(code) > len(key) and code == key.zfill(len(code)):
                    return code
        return None

    def codes(self) -> list[str]:
        return [c for c, _ in self.items]

    def labels(self) -> list[str]:
        return [lbl for _, lbl in self.items]

    def common_first(self) -> list[tuple[str, str]]:
        """The items with the table's ``common`` codes (those picked most at the door) first, in
        that order, then the rest in table order; a table without ``common`` keeps its order."""
        common = [str(c) for c in self.extra.get("common", []) if str(c) in self._labels]
        rest = [(c, lbl) for c, lbl in self.items if c not in set(common)]
        return [(c, self._labels[c]) for c in common] + rest

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._labels

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"CodeTable({self.name!r}, {self.title!r}, {len(self.items)} items)"


@cache
def _tables() -> dict[str, CodeTable]:
    text = resources.files("desktop.data").joinpath("codes.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return {name: CodeTable(name, spec) for name, spec in raw.items() if not name.startswith("_")}


def code_table(name: str) -> CodeTable:
    """The table called ``name`` (see :func:`table_names`); ``KeyError`` if there is none."""
    try:
        return _tables()[name]
    except KeyError:
        raise KeyError(f"no code table named {name!r}") from None


def table_names() -> list[str]:
    """Names of all tables, in file order."""
    return list(_tables())
