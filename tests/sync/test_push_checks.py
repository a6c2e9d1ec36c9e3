"""The fast paths of a push: every field of a change still checked by the rules of
`protocol.check_value` (fields_problem), and the shared form of srv_record.field_meta read back
exactly as written (server.models.dump_meta / load_meta), old one-entry-per-field rows included."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.sync.protocol import FIELDS, check_value, fields_problem
from server.models import SHARED_META, dump_meta, load_meta


def _one_by_one(table: str, fields: dict[str, Any]) -> str | None:
    """What the merge checked before fields_problem: each field in order, its form, its new value."""
    for name, pair in fields.items():
        if not isinstance(pair, list) or len(pair) != 2:
            return f"字段 {name} 的修改格式不正确"
        problem = check_value(table, name, pair[1])
        if problem:
            return problem
    return None


class _Str(str):
    pass


class _Int(int):
    pass


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([2**53 - 1, 2**53, -(2**53), -(2**53) + 1, 0, 1, 2, -1]),
    st.floats(allow_nan=False), st.text(max_size=70), st.text(min_size=250, max_size=5000, alphabet="a甲"),
    st.sampled_from(["2026-12-01", "2026-12-01 08:00:00.000000", "2026-12-01T08:00:00Z", "2026-1-1", "",
                     "2026-12-01 08:00:00.1234567"]),
    st.builds(_Str, st.text(max_size=5)), st.builds(_Int, st.integers(-5, 5)),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TABLES = sorted(FIELDS)


@st.composite
def changes(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    table = draw(st.sampled_from(TABLES))
    names = draw(st.lists(st.sampled_from([*FIELDS[table], "no_such_field"]), max_size=12, unique=True))
    fields: dict[str, Any] = {}
    for name in names:
        shape = draw(st.integers(0, 9))
        value = draw(VALUES)
        fields[name] = ([None, value] if shape < 8 else (None, value) if shape == 8
                        else draw(st.sampled_from([[value], [None, value, 1], value, None])))
    return table, fields


@settings(max_examples=1500, deadline=None)
@given(changes())
def test_fields_problem_answers_as_check_value_field_by_field(change):
    table, fields = change
    assert fields_problem(table, fields) == _one_by_one(table, fields)


def test_fields_problem_on_every_column_kind():
    for table, cols in FIELDS.items():
        for name in cols:
            for value in (None, "x", "2026-12-01", "2026-12-01 08:00:00.000000", 0, 1, 2, 1.5, True, "x" * 5000,
                          2**53, [1], {"a": 1}):
                fields = {name: [None, value]}
                assert fields_problem(table, fields) == _one_by_one(table, fields), (table, name, value)


def test_shared_meta_entries_are_written_once_and_read_back():
    one = [7, "dev-a", 3, "w1", "2026-12-01T08:00:00.000Z"]
    other = [9, "dev-b", 1, "w2", "2026-12-02T08:00:00.000Z", "claimed"]
    meta = {"name": one, "phone": one, "note": other, "grid_id": one}
    text = dump_meta(meta)
    stored = orjson.loads(text)
    assert stored[SHARED_META] == [one] and stored["name"] == stored["phone"] == stored["grid_id"] == 0
    assert stored["note"] == other
    back = load_meta(text)
    assert back == meta and list(back) == list(meta)
    assert back["name"] is back["phone"]  # still one entry: written once again
    assert dump_meta(back) == text


def test_meta_of_one_entry_per_field_is_stored_as_before_and_read_as_before():
    meta = {"name": [1, "d", 1, "u", "t"], "phone": [2, "d", 2, "u", "t"], "note": [1, "d", 1, "u", "t"]}
    text = dump_meta(meta)
    assert text == orjson.dumps(meta).decode()
    assert load_meta(text) == meta
    same = {"name": [1, "d", 1, "u", "t"], "phone": [1, "d", 1, "u", "t"]}  # equal everywhere: written once
    assert orjson.loads(dump_meta(same)) == {SHARED_META: [[1, "d", 1, "u", "t"]], "name": 0, "phone": 0}
    assert load_meta(dump_meta(same)) == same
    assert dump_meta({}) == "{}" and load_meta("{}") == {}
    old = '{"grid_id":[1,"dev",4,"admin","2026-11-20T08:00:00.000Z","w"],"plate_no":[1,"dev",4,"admin","t"]}'
    assert load_meta(old) == orjson.loads(old)


# --- the laptop's answer handling in bulk ------------------------------------------------------


def _take_versions_one_by_one(conn, results, batch) -> None:
    """replica.acknowledge's version taking as it was, change after change (the reference)."""
    from desktop.sync.protocol import ts_storage
    from desktop.sync.replica import IN_BUNDLE, WAITING

    sent = {c["seq"]: c for c in batch}
    for r in results:
        ch = sent.get(r.get("seq"))
        if ch is None or r.get("status") not in ("applied", "conflict") or not r.get("version"):
            continue
        if ch["table"] not in FIELDS:
            continue
        later = conn.exec_driver_sql(
            f"SELECT 1 FROM sync_outbox WHERE row_id = ? AND seq > ? AND sent IN ({WAITING}, {IN_BUNDLE}) LIMIT 1",
            (ch["id"], ch["seq"])).first()
        if later:
            continue
        at = ts_storage(ch.get("at"))
        extra = ", created_at = ?" if ch["op"] == "I" and at else ""
        params = (r["version"], at, at) if extra else (r["version"], at)
        conn.exec_driver_sql(f'UPDATE "{ch["table"]}" SET version = ?, updated_at = coalesce(?, updated_at){extra} '
                             "WHERE id = ?", (*params, ch["id"]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["applied", "conflict", "merged", "deferred",
                                                               "rejected", "duplicate"]),
                          st.integers(0, 9), st.booleans()), min_size=1, max_size=14),
       st.integers(0, 6))
def test_acknowledge_takes_the_versions_a_change_by_change_answer_gave(tmp_path_factory, edits, answered_upto):
    """Several changes to the same rows in one page, some answered, some not (still waiting):
    the rows end exactly as the answers taken one after the other left them."""
    import shutil

    from desktop.services.store import Store
    from desktop.sync import replica

    base = tmp_path_factory.mktemp("ack") / "laptop.db"
    store = Store.open(base, create=True)
    with store.engine.begin() as c:
        c.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for i in range(4):
            c.exec_driver_sql(
                "INSERT INTO vehicle (id, version, created_at, updated_at, grid_id, plate_no) "
                "VALUES (?, 1, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 'g', ?)", (f"car-{i}", f"甘A0000{i}"))
        for row, _status, _version, _ in edits:
            c.exec_driver_sql("UPDATE vehicle SET plate_no = plate_no || 'x', version = version + 1 WHERE id = ?",
                              (f"car-{row}",))
    batch = replica.read_batch(store, limit=100)
    store.close()
    answered = batch[: len(batch) - answered_upto] if answered_upto < len(batch) else batch[:1]
    by_seq = {ch["seq"]: ch for ch in answered}
    statuses = [(e[1], e[2], e[3]) for e in edits]
    results = []
    for i, ch in enumerate(answered):
        status, version, no_time = statuses[i % len(statuses)]
        results.append({"seq": ch["seq"], "status": status, "version": version or None})
        if no_time:
            by_seq[ch["seq"]] = {**ch, "at": ""}
    sent_batch = [by_seq.get(ch["seq"], ch) for ch in batch]
    copy = base.with_name("reference.db")
    shutil.copy(base, copy)
    ours = Store.open(base)
    replica.acknowledge(ours, results, sent_batch)
    ref = Store.open(copy)
    with replica.raw_apply(ref) as conn:
        states = {"applied": 2, "merged": 2, "conflict": 2, "duplicate": 2, "rejected": 3, "deferred": 0}
        conn.exec_driver_sql("UPDATE sync_outbox SET sent = ?, result = ? WHERE seq = ?",
                             [(states[r["status"]], r["status"], r["seq"]) for r in results])
        _take_versions_one_by_one(conn, results, sent_batch)
    q = "SELECT id, version, created_at, updated_at FROM vehicle ORDER BY id"
    with ours.engine.connect() as a, ref.engine.connect() as b:
        assert a.exec_driver_sql(q).all() == b.exec_driver_sql(q).all()
        q2 = "SELECT seq, sent, result FROM sync_outbox ORDER BY seq"
        assert a.exec_driver_sql(q2).all() == b.exec_driver_sql(q2).all()
    ours.close()
    ref.close()
