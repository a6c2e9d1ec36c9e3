"""The import of a kind that has no importer of its own: a kind added by one registry entry.

1. One row is one record. Its columns are the kind's labelled, typed columns
   (``desktop.exchange.fields.import_fields``), checked by the same ``clean`` as a form.
2. Its grid comes from the 网格 / 网格代码 column, else the grid chosen for the import.
3. The record already registered is the live one in the same grid whose ``Kind.natural_key``
   columns hold the same values (a kind without a natural key never matches: every row is new).
   What then happens (update, skip, ask) follows the import's options, as for every kind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from desktop import kinds
from desktop.exchange.kinds import RecordImporter
from desktop.exchange.report import RowResult


class GenericImporter(RecordImporter):
    def prepare(self) -> None:
        super().prepare()
        self.entry = kinds.get(self.kind)
        self.key_label = "、".join(self.entry.label_of(c) for c in self.entry.natural_key)
        self.known: dict[tuple[Any, ...], Any] = {}
        if self.entry.natural_key:
            t = self.table
            cols = [t.c.id, t.c.grid_id, *(t.c[c] for c in self.entry.natural_key)]
            for r in self.s.execute(select(*cols).where(t.c.deleted_at.is_(None))):
                self.known.setdefault(tuple(r[1:]), r)

    def row(self, rr: RowResult, vals: dict[str, Any]) -> None:
        data = {k: v for k, v in vals.items() if k in self.columns}
        data["grid_id"] = self.grid_for(vals)
        draft = self.cleaner.clean(data, None)
        self.accept(rr, data, draft)

    def existing_key(self, values: dict[str, Any]) -> Any:
        if not self.entry.natural_key:
            return None
        key = (values.get("grid_id"), *(values.get(c) for c in self.entry.natural_key))
        return None if any(v is None for v in key[1:]) else key

    def find_existing(self, key: Any) -> Any:
        return self.known.get(key)

    def describe(self, existing: Any) -> str:
        return f"{self.entry.label}({self.key_label}相同)"


def importer_for(kind: str) -> type[GenericImporter]:
    return type(f"GenericImporter_{kind}", (GenericImporter,), {"kind": kind})
