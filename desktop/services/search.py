"""Instant search over people, households, houses and vehicles.

Each kind of fragment goes to the index that answers it in well under a millisecond:
- certificate / phone numbers: the column's own index (GLOB prefix), and a reversed copy for
  suffixes ("the last four digits");
- pinyin initials and full pinyin: indexed columns on person (prefix GLOB);
- one- or two-character Chinese fragments: the gram FTS5 table (tokens are 1- and 2-grams);
- three or more characters of anything (names, ID middles, plates, addresses): FTS5 trigram.
Results are ranked: an exact certificate, plate or phone first, then exact names, prefixes,
pinyin, and fragments; addresses last."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from desktop import kinds
from desktop.db.sql import sql as sql_text
from desktop.domain.formatting import day
from desktop.services.store import Actor, Store
from desktop.validation import code_table, mask_id, mask_phone

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_PLATE_START = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使"


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    title: str
    subtitle: str
    score: int
    grid_id: str | None
    household_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        kind = kinds.get(self.kind)
        d["kind_label"] = kind.search_label or kind.label
        return d


def normalize_query(q: str) -> str:
    """Full-width and compatibility forms folded (NFKC), spaces and middle dots dropped; then
    what the dropping brought together is composed again (NFC), so a normalised query stays as it is."""
    q = unicodedata.normalize("NFKC", q or "")
    return unicodedata.normalize("NFC", re.sub(r"[\s·•]+", "", q))


def _fts_phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


class Search:
    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor

    def search(self, query: str, *, limit: int = 20) -> list[Hit]:
        q = normalize_query(query)
        if not q:
            return []
        with self.store.session() as s:
            conn = s.connection()
            scores = self._candidates(conn, q, limit)
            hits = self._describe(conn, q, scores, limit) + self._scan_unindexed(conn, q, limit)
            hits.sort(key=lambda h: (-h.score, kinds.get(h.kind).search_rank, len(h.title), h.title, h.id))
            return hits[:limit]

    # --- candidate collection ------------------------------------------------------------
    def _grid_filter(self, alias: str) -> tuple[str, dict[str, Any]]:
        if self.actor.grid_ids is None:
            return "", {}
        return f" AND {alias}.grid_id IN :grids", {"grids": sorted(self.actor.grid_ids)}

    def _collect(
        self, conn: Connection, out: dict[tuple[str, str], int], sql: str, score: int,
        params: dict[str, Any], alias: str, kind: str | None = None,
    ) -> None:
        gsql, gparams = self._grid_filter(alias)
        rows = conn.execute(sql_text(sql.format(grid=gsql), *gparams), {**params, **gparams}).all()
        for row in rows:
            key = (kind or row[1], row[0])
            if out.get(key, -1) < score:
                out[key] = score

    def _candidates(self, conn: Connection, q: str, limit: int) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        cap = max(limit * 5, 50)
        p = {"q": q, "cap": cap}
        person = "SELECT p.id FROM person p WHERE p.deleted_at IS NULL AND {cond}{{grid}} LIMIT :cap"

        def person_q(cond: str, score: int, params: dict[str, Any]) -> None:
            self._collect(conn, out, person.format(cond=cond), score, params, "p", "person")

        upper = q.upper()
        is_number = re.fullmatch(r"\d+[Xx]?", q) is not None
        is_letters = re.fullmatch(r"[A-Za-z]+", q) is not None
        has_cjk = _CJK.search(q) is not None

        if is_number:
            person_q("p.cert_no = :u", 100, {"u": upper, "cap": cap})
            person_q("p.phone = :q", 95, p)
            if len(q) >= 3:
                person_q("p.cert_no GLOB :pre", 80, {"pre": upper + "*", "cap": cap})
                person_q("p.phone GLOB :pre", 72, {"pre": q + "*", "cap": cap})
                person_q("p.cert_no_rev GLOB :suf", 76, {"suf": upper[::-1] + "*", "cap": cap})
                person_q("p.phone_rev GLOB :suf", 74, {"suf": q[::-1] + "*", "cap": cap})
        if is_letters:
            low = q.lower()
            person_q("p.name_initials = :q", 75, {"q": low, "cap": cap})
            person_q("p.name_py = :q", 74, {"q": low, "cap": cap})
            person_q("p.name_initials GLOB :pre", 60, {"pre": low + "*", "cap": cap})
            person_q("p.name_py GLOB :pre", 58, {"pre": low + "*", "cap": cap})
        if q[0] in _PLATE_START or re.fullmatch(r"[A-Za-z0-9]+", q):
            self._collect(
                conn, out,
                "SELECT v.id FROM vehicle v WHERE v.deleted_at IS NULL AND v.plate_no = :u{grid} LIMIT :cap",
                100, {"u": upper, "cap": cap}, "v", "vehicle",
            )
            self._collect(
                conn, out,
                "SELECT hh.id FROM household hh WHERE hh.deleted_at IS NULL AND hh.hh_no = :u{grid} LIMIT :cap",
                95, {"u": upper, "cap": cap}, "hh", "household",
            )
        if has_cjk:
            person_q("p.name = :q", 90, p)
            person_q("p.name GLOB :pre", 70, {"pre": q + "*", "cap": cap})
        # fragments anywhere
        frag_score = {"person": 45, "vehicle": 44, "household": 32, "house": 30}
        if len(q) >= 3:
            sql = (
                "SELECT d.ref_id, d.kind FROM search_fts f JOIN search_doc d ON d.docid = f.rowid "
                "WHERE search_fts MATCH :m{grid} LIMIT :cap"
            )
            for term in {q, upper}:
                self._collect_frag(conn, out, sql, {"m": _fts_phrase(term), "cap": cap * 4}, frag_score)
        elif has_cjk and all(_CJK.match(c) for c in q):
            sql = (
                "SELECT d.ref_id, d.kind FROM search_gram g JOIN search_doc d ON d.docid = g.rowid "
                "WHERE search_gram MATCH :m{grid} LIMIT :cap"
            )
            self._collect_frag(conn, out, sql, {"m": _fts_phrase(q), "cap": cap * 4}, frag_score)
        elif not out:
            # two characters of mixed kinds ("3栋", "A1"): a bounded scan of the search documents
            sql = "SELECT d.ref_id, d.kind FROM search_doc d WHERE instr(d.body, :q) > 0{grid} LIMIT :cap"
            self._collect_frag(conn, out, sql, {"q": q, "cap": cap}, frag_score)
        return out

    def _collect_frag(
        self, conn: Connection, out: dict[tuple[str, str], int], sql: str, params: dict[str, Any],
        scores: dict[str, int],
    ) -> None:
        gsql, gparams = self._grid_filter("d")
        for ref_id, kind in conn.execute(sql_text(sql.format(grid=gsql), *gparams), {**params, **gparams}).all():
            key = (kind, ref_id)
            if out.get(key, -1) < scores[kind]:
                out[key] = scores[kind]

    # --- display -------------------------------------------------------------------------
    def _describe(self, conn: Connection, q: str, scores: dict[tuple[str, str], int], limit: int) -> list[Hit]:
        by_kind: dict[str, list[str]] = {}
        for kind, rid in scores:
            by_kind.setdefault(kind, []).append(rid)
        hits: list[Hit] = []
        gender = code_table("gender")
        for kind, ids in by_kind.items():
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                keys = {"ids": chunk}
                if kind == "person":
                    rows = conn.execute(sql_text(
                        "SELECT p.id, p.name, p.gender, p.birth_date, p.cert_no, p.phone, p.grid_id, "
                        "p.household_id, a.full_text FROM person p LEFT JOIN house h ON h.id = p.house_id "
                        "LEFT JOIN address a ON a.id = h.address_id WHERE p.id IN :ids", "ids"), keys).all()
                    for r in rows:
                        score = scores[(kind, r[0])]
                        if r[1] == q:
                            score = max(score, 90)
                        sub = " ".join(x for x in (
                            gender.label(r[2]) if r[2] else "", day(r[3]),
                            mask_id(r[4]) if r[4] else "", mask_phone(r[5]) if r[5] else "", r[8] or "",
                        ) if x)
                        hits.append(Hit("person", r[0], r[1], sub, score, r[6], r[7]))
                elif kind == "household":
                    rows = conn.execute(sql_text(
                        "SELECT hh.id, hh.hh_no, hh.grid_id, a.full_text, hp.name FROM household hh "
                        "LEFT JOIN house h ON h.id = hh.house_id LEFT JOIN address a ON a.id = h.address_id "
                        "LEFT JOIN person hp ON hp.id = hh.head_person_id WHERE hh.id IN :ids", "ids"), keys).all()
                    for r in rows:
                        title = f"{r[4] or '(未定户主)'}户"
                        sub = f"户号 {r[1]} {r[3] or ''}".strip()
                        hits.append(Hit("household", r[0], title, sub, scores[(kind, r[0])], r[2], r[0]))
                elif kind == "house":
                    rows = conn.execute(sql_text(
                        "SELECT h.id, a.full_text, h.use, h.owner_name, h.grid_id, "
                        "(SELECT hh.id FROM household hh WHERE hh.house_id = h.id AND hh.deleted_at IS NULL LIMIT 1) "
                        "FROM house h LEFT JOIN address a ON a.id = h.address_id WHERE h.id IN :ids", "ids"), keys).all()
                    use = code_table("house_use")
                    for r in rows:
                        sub = " ".join(x for x in (use.label(r[2]) if r[2] else "", f"房主 {r[3]}" if r[3] else "") if x)
                        hits.append(Hit("house", r[0], r[1] or "(无地址)", sub, scores[(kind, r[0])], r[4], r[5]))
                elif kind == "vehicle":
                    rows = conn.execute(sql_text(
                        "SELECT v.id, v.plate_no, v.brand, v.colour, p.name, v.grid_id, v.household_id "
                        "FROM vehicle v LEFT JOIN person p ON p.id = v.owner_person_id WHERE v.id IN :ids", "ids"),
                        keys).all()
                    for r in rows:
                        sub = " ".join(x for x in (r[2] or "", r[3] or "", f"车主 {r[4]}" if r[4] else "") if x)
                        hits.append(Hit("vehicle", r[0], r[1], sub, scores[(kind, r[0])], r[5], r[6]))
        return hits

    def _scan_unindexed(self, conn: Connection, q: str, limit: int) -> list[Hit]:
        """Searchable kinds without an index of their own (``Kind.search_columns``, see
        desktop/kinds.py): a LIKE scan of those columns, bounded by `limit`, scored below every
        indexed exact match. The first column is the hit's title, the others its subtitle."""
        hits: list[Hit] = []
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for kind in kinds.searchable():
            if not kind.search_columns:
                continue
            cols = ", ".join(f'k."{c}"' for c in kind.search_columns)
            cond = " OR ".join(f"k.\"{c}\" LIKE :pattern ESCAPE '\\'" for c in kind.search_columns)
            gsql, gparams = self._grid_filter("k")
            has_hh = "household_id" in kind.model.__table__.c
            stmt = (f'SELECT k.id, k.grid_id, {"k.household_id" if has_hh else "NULL"}, {cols} '
                    f'FROM "{kind.key}" k WHERE k.deleted_at IS NULL AND ({cond}){gsql} LIMIT :cap')
            for r in conn.execute(sql_text(stmt, *gparams), {"pattern": pattern, "cap": limit, **gparams}).all():
                title, *rest = (str(v) if v is not None else "" for v in r[3:])
                score = 90 if title == q else 40
                hits.append(Hit(kind.key, r[0], title, " ".join(x for x in rest if x), score, r[1], r[2]))
        return hits


def rebuild_index(store: Store) -> None:
    """Rebuild the search tables from the records (设置 → 重建检索索引)."""
    from desktop.db.ddl import rebuild_search_sql

    with store.transaction() as s:
        conn = s.connection()
        for stmt in rebuild_search_sql():
            conn.exec_driver_sql(stmt)
