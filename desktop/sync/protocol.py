"""What both ends of sync agree on: versions, which tables travel, field groups, value checks.

Values travel in SQLite's storage form (what the change-capture triggers write): text for
dates ("2026-01-31") and times ("2026-01-31 08:00:00.000000"), 0/1 for booleans, numbers,
strings and null. BLOB columns never travel as fields: attachments move in their own batches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import orjson
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, LargeBinary, Numeric, String, Text

from desktop.models import BOOKKEEPING_COLUMNS, SYNCED_MODELS, max_chars
from desktop.policy import Ability

API = "/api/v1"
# The sync schema: bumped whenever a synced table changes shape. A server accepts a range.
SCHEMA_VERSION = 5  # 4: visit_rule, life_event, person.residence_card_until, grid_event.handler,
#   person.no_cert_reason, verified_on and merged_into (person, house, vehicle); 5: map_shape
# An older laptop would skip the records of a table it does not know and move its cursor past
# them (it would never get them after its upgrade): a new table raises the minimum too.
MIN_SCHEMA_VERSION = 5
PROTOCOL = "gridledger-sync/1"

# Changes per push request: the most a server takes (server/push_body.py MAX_CHANGES); fewer,
# larger requests for a first push of a whole street (each request is a transaction and a round trip).
PUSH_BATCH = 2000
PUSH_MAX_BYTES = 4 * 1024 * 1024
# The largest push request the server takes (server/limits.py). Pages stay near PUSH_MAX_BYTES; only a
# single change far past the field lengths (an old version's or a hand-edited file's) can exceed it.
PUSH_REQUEST_MAX = 8 * 1024 * 1024
PULL_PAGE = 4000  # records per pull page (a page is extended to end on a whole server commit)
BLOB_CHUNK = 256 * 1024
# An audit entry as the server keeps it: longer texts are cut (the laptop keeps them whole), and
# a laptop sends its trail in requests of at most AUDIT_BATCH_BYTES.
AUDIT_SUMMARY_CHARS = 1000
AUDIT_DETAIL_CHARS = 8000
AUDIT_BATCH_BYTES = 1024 * 1024


class Change(TypedDict):
    """One change a laptop pushes (desktop.sync.replica.read_batch; the server's merge takes it)."""

    seq: int  # the laptop's outbox number
    table: str
    id: str
    op: str  # I | U | D
    fields: dict[str, list[Any]]  # field -> [value before, value after]
    known: int  # the last server change the laptop had pulled when it made this one
    at: str
    by: str | None
    prev: int  # the previous unacknowledged change to the same row, 0 for none


class OutgoingChange(TypedDict):
    """A Change as a push request carries it (desktop.sync.replica.read_push_page): `fields` is
    still the JSON text the laptop's outbox holds, spliced into the request as it is."""

    seq: int
    table: str
    id: str
    op: str
    fields: orjson.Fragment
    known: int
    at: str
    by: str | None
    prev: int


class PushResult(TypedDict):
    """The server's answer for one pushed change."""

    seq: int
    status: str  # applied | merged | conflict | duplicate | rejected | deferred
    version: NotRequired[int | None]
    message: NotRequired[str | None]
    was: NotRequired[str]  # a duplicate's first answer
    code: NotRequired[str]


class PulledRecord(TypedDict):
    t: str  # table
    d: dict[str, Any]  # the row: RECORD_META and FIELDS


class PullPage(TypedDict):
    """One page of a pull (server.service's pull; desktop.sync.replica.apply_page)."""

    cursor: int
    more: bool
    evict: list[list[str]]  # [table, id] of rows that left the laptop's grids
    records: list[PulledRecord]


def cut_text(text: str | None, limit: int) -> str | None:
    """`text` if it fits in `limit` characters, else its head and a note of what was cut."""
    if text is None or len(text) <= limit:
        return text
    note = f"…(已截断,原有 {len(text)} 字)"
    return text[: max(0, limit - len(note))] + note

# Tables that never travel: local sign-in users. The server keeps its own accounts (argon2) and
# tells each laptop its user's role and grids; password hashes never leave a machine.
LOCAL_ONLY = frozenset({"app_user", "user_grid"})
# Readable by everybody in the community, writable only by the holders of an ability.
COMMUNITY_WRITERS: dict[str, Ability] = {"area": Ability.EDIT_AREAS, "visit_rule": Ability.EDIT_VISIT_RULES}
COMMUNITY_WIDE = frozenset(COMMUNITY_WRITERS)
# Kept per grid (read by the grid's workers), written only by the holders of an ability.
GRID_WRITERS: dict[str, Ability] = {"map_shape": Ability.EDIT_AREAS}
# Attachments of these owner kinds are written only by the holders of an ability: a grid's
# background plan (owner_kind "area", desktop.services.map_shapes).
ATTACHMENT_WRITERS: dict[str, Ability] = {"area": Ability.EDIT_AREAS}


def write_ability(table: str, owner_kind: str | None = None) -> Ability | None:
    """The ability a write to `table` needs beyond the grid scope (None: the scope is enough)."""
    if table == "attachment":
        return ATTACHMENT_WRITERS.get(owner_kind or "")
    return COMMUNITY_WRITERS.get(table) or GRID_WRITERS.get(table)

# Fields that merge as one unit: a clash on any of them is one clash on the whole group.
FIELD_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "address": (("estate", "building", "unit", "floor", "room", "full_text"), ("longitude", "latitude")),
    # a value and the search columns derived from it are one unit
    "person": (("name", "name_py", "name_initials"), ("cert_no", "cert_no_rev"), ("phone", "phone_rev")),
}

# Columns derived from another column: a supervisor's typed value fills them on the server.
DERIVED = {"person": {"name": ("name_py", "name_initials"), "cert_no": ("cert_no_rev",), "phone": ("phone_rev",)}}


def derive(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` plus the columns derived from them (pinyin of a name, reversed numbers)."""
    out = dict(values)
    if table != "person":
        return out
    if "name" in values:
        from desktop.services.pinyin import name_pinyin

        out["name_py"], out["name_initials"] = name_pinyin(values["name"] or "")
    if "cert_no" in values:
        out["cert_no_rev"] = values["cert_no"][::-1] if values["cert_no"] else None
    if "phone" in values:
        digits = "".join(ch for ch in (values["phone"] or "") if ch.isdigit())
        out["phone_rev"] = digits[::-1] or None
    return out


TABLE_MODELS = {m.__tablename__: m for m in SYNCED_MODELS if m.__tablename__ not in LOCAL_ONLY}
SYNC_TABLES = tuple(TABLE_MODELS)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z?$")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int | float | bool | date | datetime | text
    length: int | None  # most characters of a text (the core's limit: desktop.models.max_chars)
    nullable: bool


def _kind(col_type: Any) -> str:
    if isinstance(col_type, Boolean):
        return "bool"
    if isinstance(col_type, Integer):
        return "int"
    if isinstance(col_type, Float | Numeric):
        return "float"
    if isinstance(col_type, DateTime):
        return "datetime"
    if isinstance(col_type, Date):
        return "date"
    if isinstance(col_type, LargeBinary):
        return "blob"
    if isinstance(col_type, String | Text):
        return "text"
    return "text"


def _columns(model: Any) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for c in model.__table__.c:
        kind = _kind(c.type)
        if c.key in BOOKKEEPING_COLUMNS or kind == "blob":
            continue
        out[c.key] = Column(c.key, kind, max_chars(c.type), bool(c.nullable))
    return out


# table -> content columns that travel as fields (tombstone columns included)
FIELDS: dict[str, dict[str, Column]] = {t: _columns(m) for t, m in TABLE_MODELS.items()}
# Columns every pulled record also carries (bookkeeping, set by the server from the changes).
RECORD_META = ("id", "version", "created_at", "created_by", "updated_at", "updated_by")


def has_grid(table: str) -> bool:
    return "grid_id" in FIELDS.get(table, {})


_DERIVED_COLUMNS = {t: {c for cols in d.values() for c in cols} for t, d in DERIVED.items()}


# table -> field -> (kind, most characters): check_value's rules, for fields_problem
_RULES: dict[str, dict[str, tuple[str, int | None]]] = {
    t: {name: (c.kind, c.length * 4 if c.length is not None and name in _DERIVED_COLUMNS.get(t, ()) else c.length)
        for name, c in cols.items()}
    for t, cols in FIELDS.items()
}


def check_value(table: str, field: str, value: Any) -> str | None:
    """None if `value` fits the column; otherwise a Chinese reason naming the field. A text takes
    the same number of characters as in the core's record check (desktop.models.max_chars)."""
    col = FIELDS[table].get(field)
    if col is None:
        return f"未知字段 {table}.{field}"
    if value is None:
        return None
    kind = col.kind
    limit = col.length
    if kind == "bool":
        ok = isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "date":
        ok = isinstance(value, str) and bool(_DATE.match(value))
    elif kind == "datetime":
        ok = isinstance(value, str) and bool(_DATETIME.match(value))
    else:
        if limit is not None and field in _DERIVED_COLUMNS.get(table, ()):
            limit *= 4  # computed by the core from a typed value (a 64-character name's pinyin)
        ok = isinstance(value, str) and (limit is None or len(value) <= limit)
    if not ok:
        if isinstance(value, str) and kind == "text":
            return f"字段 {table}.{field} 的内容太长:最多 {limit:,} 个字符,现有 {len(value):,} 个"
        return f"字段 {table}.{field} 的值格式不正确:{str(value)[:40]!r}"
    return None


def fields_problem(table: str, fields: dict[str, Any]) -> str | None:
    """The first problem of a change's fields ({name: [old, new]}, every new value by
    check_value), or None: the same answers as checking them one by one, in a loop that decides
    the common cases itself (a first push checks millions of values)."""
    rules = _RULES[table]
    for name, pair in fields.items():
        if not isinstance(pair, list) or len(pair) != 2:
            return f"字段 {name} 的修改格式不正确"
        value = pair[1]
        rule = rules.get(name)
        if rule is not None:
            if value is None:
                continue
            kind, limit = rule
            vtype = type(value)
            if kind == "text":
                if vtype is str and (limit is None or len(value) <= limit):
                    continue
            elif kind == "int":
                if vtype is int and -(2**53) < value < 2**53:
                    continue
            elif kind == "date":
                if vtype is str and _DATE.match(value):
                    continue
            elif kind == "datetime":
                if vtype is str and _DATETIME.match(value):
                    continue
            elif kind == "float":
                if vtype is float or vtype is int:
                    continue
            elif kind == "bool" and (vtype is bool or (vtype is int and (value == 0 or value == 1))):
                continue
        problem = check_value(table, name, value)
        if problem:
            return problem
    return None


def group_of(table: str, field: str) -> tuple[str, ...]:
    for group in FIELD_GROUPS.get(table, ()):
        if field in group:
            return group
    return (field,)


def ts_storage(at: str | None) -> str | None:
    """An outbox time ("2026-12-01T08:00:00.123Z") in the form SQLite stores DateTime columns
    ("2026-12-01 08:00:00.123000"): the server's updated_at of a change, which the laptop also
    writes when the change is acknowledged, so both copies hold the same value."""
    if not at:
        return None
    text = at.replace("T", " ").rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        return f"{head}.{(frac + '000000')[:6]}"
    return text + ".000000" if len(text) == 19 else text
