"""SQL the storage layer installs through migrations: change capture, search index, audit guard.

Triggers are generated from the columns the live database has at the time a migration runs,
so a later migration that alters a synced table simply calls `install_capture` again."""

from __future__ import annotations

from sqlalchemy import Connection

from desktop.models.base import BOOKKEEPING_COLUMNS

NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def _columns(conn: Connection, table: str) -> list[tuple[str, str]]:
    rows = conn.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
    return [(r[1], (r[2] or "").upper()) for r in rows]


def capture_sql(table: str, columns: list[tuple[str, str]]) -> list[str]:
    """CREATE TRIGGER statements writing every insert, update and delete of `table` to the outbox.

    The outbox row holds only the fields that changed ({field: [old, new]}) and the version the
    edit was made from. `gl_capture()` is a per-connection switch that sync uses while applying
    pulled changes, so they do not echo back."""
    content = [c for c, typ in columns if c not in BOOKKEEPING_COLUMNS and "BLOB" not in typ]
    ins_pairs = ", ".join(f"'{c}', json_array(NULL, NEW.\"{c}\")" for c in content)
    diff_rows = " UNION ALL ".join(
        f"SELECT '{c}' AS k, json_array(OLD.\"{c}\", NEW.\"{c}\") AS v "
        f'WHERE OLD."{c}" IS NOT NEW."{c}"'
        for c in content
    )
    cols = (
        "table_name, row_id, op, base_version, new_version, changes, changed_at, changed_by, known_seq"
    )
    # The sync cursor at the time of the edit: every server change at or below it had been seen.
    known = "coalesce((SELECT CAST(value AS INTEGER) FROM local_meta WHERE key = 'sync_cursor'), 0)"
    return [
        f"DROP TRIGGER IF EXISTS cap_{table}_ins",
        f"DROP TRIGGER IF EXISTS cap_{table}_upd",
        f"DROP TRIGGER IF EXISTS cap_{table}_del",
        f"""CREATE TRIGGER cap_{table}_ins AFTER INSERT ON "{table}" WHEN gl_capture() BEGIN
  INSERT INTO sync_outbox ({cols}, sent)
  VALUES ('{table}', NEW.id, 'I', 0, NEW.version, json_object({ins_pairs}), {NOW_SQL},
          NEW.created_by, {known}, 0);
END""",
        f"""CREATE TRIGGER cap_{table}_upd AFTER UPDATE ON "{table}" WHEN gl_capture() BEGIN
  INSERT INTO sync_outbox ({cols}, sent)
  SELECT '{table}', NEW.id, 'U', OLD.version, NEW.version, ch, {NOW_SQL}, NEW.updated_by, {known}, 0
  FROM (SELECT (SELECT json_group_object(k, json(v)) FROM ({diff_rows})) AS ch)
  WHERE ch IS NOT NULL AND ch <> '{{}}';
END""",
        f"""CREATE TRIGGER cap_{table}_del AFTER DELETE ON "{table}" WHEN gl_capture() BEGIN
  INSERT INTO sync_outbox ({cols}, sent)
  VALUES ('{table}', OLD.id, 'D', OLD.version, NULL, '{{}}', {NOW_SQL}, OLD.deleted_by, {known}, 0);
END""",
    ]


def install_capture(conn: Connection, table: str) -> None:
    for stmt in capture_sql(table, _columns(conn, table)):
        conn.exec_driver_sql(stmt)


def drop_capture(conn: Connection, table: str) -> None:
    for suffix in ("ins", "upd", "del"):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cap_{table}_{suffix}")


# --- audit trail is append-only -------------------------------------------------------------

AUDIT_GUARD = [
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log BEGIN
  SELECT RAISE(ABORT, '审计记录只能追加,不能修改');
END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log BEGIN
  SELECT RAISE(ABORT, '审计记录只能追加,不能删除');
END""",
]


# --- search index ---------------------------------------------------------------------------
# search_doc holds one row per live person / household / house / vehicle; two FTS5 tables read
# it as external content: a trigram index for fragments of three or more characters (names, ID
# numbers, phones, plates, addresses) and a gram index for one- and two-character Chinese
# fragments. Triggers on the entity tables keep it current, whoever writes.

SEARCH_TABLES = [
    """CREATE TABLE IF NOT EXISTS search_doc (
  docid INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  ref_id TEXT NOT NULL UNIQUE,
  grid_id TEXT,
  body TEXT NOT NULL,
  grams TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS ix_search_doc_grid ON search_doc(grid_id, kind)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
  body, content='search_doc', content_rowid='docid', tokenize='trigram')""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_gram USING fts5(
  grams, content='search_doc', content_rowid='docid', tokenize='unicode61')""",
    """CREATE TRIGGER IF NOT EXISTS search_doc_ai AFTER INSERT ON search_doc BEGIN
  INSERT INTO search_fts(rowid, body) VALUES (NEW.docid, NEW.body);
  INSERT INTO search_gram(rowid, grams) VALUES (NEW.docid, NEW.grams);
END""",
    """CREATE TRIGGER IF NOT EXISTS search_doc_ad AFTER DELETE ON search_doc BEGIN
  INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', OLD.docid, OLD.body);
  INSERT INTO search_gram(search_gram, rowid, grams) VALUES ('delete', OLD.docid, OLD.grams);
END""",
]

_ADDR_TEXT = "coalesce(a.full_text, '')"

# kind -> SELECT producing (kind, ref_id, grid_id, body, grams) for live rows, filtered by {where}
DOC_SELECT = {
    "person": (
        "SELECT 'person', p.id, p.grid_id, p.name || ' ' || coalesce(p.cert_no, '') || ' ' || "
        "coalesce(p.phone, '') || ' ' || coalesce(p.residence_card_no, ''), gl_grams(p.name) "
        "FROM person p WHERE p.deleted_at IS NULL AND ({where})"
    ),
    "household": (
        f"SELECT 'household', hh.id, hh.grid_id, hh.hh_no || ' ' || {_ADDR_TEXT}, gl_grams({_ADDR_TEXT}) "
        "FROM household hh LEFT JOIN house h ON h.id = hh.house_id "
        "LEFT JOIN address a ON a.id = h.address_id "
        "WHERE hh.deleted_at IS NULL AND ({where})"
    ),
    "house": (
        f"SELECT 'house', h.id, h.grid_id, {_ADDR_TEXT} || ' ' || coalesce(h.owner_name, '') || ' ' || "
        f"coalesce(h.title_no, ''), gl_grams({_ADDR_TEXT} || ' ' || coalesce(h.owner_name, '')) "
        "FROM house h LEFT JOIN address a ON a.id = h.address_id "
        "WHERE h.deleted_at IS NULL AND ({where})"
    ),
    "vehicle": (
        "SELECT 'vehicle', v.id, v.grid_id, v.plate_no || ' ' || coalesce(v.brand, ''), '' "
        "FROM vehicle v WHERE v.deleted_at IS NULL AND ({where})"
    ),
}


def _refresh(kind: str, where: str, ids_sql: str) -> str:
    return (
        f"DELETE FROM search_doc WHERE ref_id IN ({ids_sql});\n"
        f"  INSERT INTO search_doc(kind, ref_id, grid_id, body, grams) "
        f"{DOC_SELECT[kind].format(where=where)};"
    )


SEARCH_TRIGGERS = {
    "person": ("grid_id, name, cert_no, phone, residence_card_no, deleted_at", "p.id = NEW.id", "NEW.id"),
    "household": ("grid_id, hh_no, house_id, deleted_at", "hh.id = NEW.id", "NEW.id"),
    "house": ("grid_id, address_id, owner_name, title_no, deleted_at", "h.id = NEW.id", "NEW.id"),
    "vehicle": ("grid_id, plate_no, brand, deleted_at", "v.id = NEW.id", "NEW.id"),
}


def search_trigger_sql() -> list[str]:
    out: list[str] = []
    for table, (watched, where, ids) in SEARCH_TRIGGERS.items():
        refresh = _refresh(table, where, f"SELECT {ids}")
        out.append(f"DROP TRIGGER IF EXISTS srch_{table}_ins")
        out.append(f"DROP TRIGGER IF EXISTS srch_{table}_upd")
        out.append(f"DROP TRIGGER IF EXISTS srch_{table}_del")
        out.append(
            f'CREATE TRIGGER srch_{table}_ins AFTER INSERT ON "{table}" WHEN gl_search() BEGIN\n'
            f"  {refresh}\nEND"
        )
        # Only when a watched value really changed: sync rewrites whole rows with equal values.
        changed = " OR ".join(f'OLD."{c.strip()}" IS NOT NEW."{c.strip()}"' for c in watched.split(","))
        out.append(
            f'CREATE TRIGGER srch_{table}_upd AFTER UPDATE OF {watched} ON "{table}" '
            f"WHEN gl_search() AND ({changed}) BEGIN\n"
            f"  {refresh}\nEND"
        )
        out.append(
            f'CREATE TRIGGER srch_{table}_del AFTER DELETE ON "{table}" WHEN gl_search() BEGIN\n'
            f"  DELETE FROM search_doc WHERE ref_id = OLD.id;\nEND"
        )
    # A house's address and a household's house feed their documents: follow those links.
    hh_of_house = "SELECT id FROM household WHERE house_id = NEW.id"
    out.append("DROP TRIGGER IF EXISTS srch_house_hh")
    out.append(
        "CREATE TRIGGER srch_house_hh AFTER UPDATE OF address_id ON house "
        "WHEN gl_search() AND OLD.address_id IS NOT NEW.address_id BEGIN\n  "
        + _refresh("household", f"hh.id IN ({hh_of_house})", hh_of_house)
        + "\nEND"
    )
    houses_at = "SELECT id FROM house WHERE address_id = NEW.id"
    hh_at = f"SELECT id FROM household WHERE house_id IN ({houses_at})"
    out.append("DROP TRIGGER IF EXISTS srch_address_upd")
    out.append(
        "CREATE TRIGGER srch_address_upd AFTER UPDATE OF full_text ON address "
        "WHEN gl_search() AND OLD.full_text IS NOT NEW.full_text BEGIN\n  "
        + _refresh("house", f"h.id IN ({houses_at})", houses_at)
        + "\n  "
        + _refresh("household", f"hh.id IN ({hh_at})", hh_at)
        + "\nEND"
    )
    return out


def rebuild_search_sql() -> list[str]:
    """Rebuild every search document from the entity tables (used by `gridledger reindex`)."""
    stmts = ["DELETE FROM search_doc"]
    for sql in DOC_SELECT.values():
        stmts.append(f"INSERT INTO search_doc(kind, ref_id, grid_id, body, grams) {sql.format(where='1')}")
    stmts.append("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    stmts.append("INSERT INTO search_gram(search_gram) VALUES ('rebuild')")
    return stmts


def install_search(conn: Connection) -> None:
    for stmt in SEARCH_TABLES + search_trigger_sql():
        conn.exec_driver_sql(stmt)


def install_all(conn: Connection, tables: tuple[str, ...]) -> None:
    for table in tables:
        install_capture(conn, table)
    for stmt in AUDIT_GUARD:
        conn.exec_driver_sql(stmt)
    install_search(conn)


