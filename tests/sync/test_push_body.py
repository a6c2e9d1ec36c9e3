"""The fast reading of push bodies (server/push_body.py) answers exactly as the pydantic model
PushIn read by FastAPI: the same changes for every body it takes, the same refusal otherwise."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import msgspec
from fastapi.exceptions import RequestValidationError
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from server import push_body
from server.app import BIG, Change, PushIn

JSON = "application/json"


def _typed(value: Any) -> Any:
    """`value` with every scalar's type spelled out (True == 1 in Python, not here)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _answer(read: Any, raw: bytes, content_type: str | None) -> Any:
    try:
        return ("ok", _typed(read(raw, content_type)))
    except RequestValidationError as exc:
        return ("422", [(e["type"], e["loc"]) for e in exc.errors()])
    except HTTPException as exc:
        return ("http", exc.status_code)


def _fast(raw: bytes, content_type: str | None) -> Any:
    return push_body.changes_of(raw, content_type, PushIn)


def _reference(raw: bytes, content_type: str | None) -> Any:
    return [c.model_dump() for c in push_body._slow(raw, content_type, PushIn).changes]


def _same(raw: bytes, content_type: str | None = JSON) -> Any:
    fast, ref = _answer(_fast, raw, content_type), _answer(_reference, raw, content_type)
    assert fast == ref, raw[:300]
    return fast


def test_the_struct_mirrors_the_model():
    model = {name: (f.default if not f.is_required() else "required") for name, f in Change.model_fields.items()}
    fields = msgspec.structs.fields(push_body._Change)
    struct = {f.name: (f.default if f.required is False else "required") for f in fields}
    assert list(struct) == list(model) and struct == model


def test_edges_answer_alike():
    ok = {"seq": 1, "table": "person", "id": "a" * 36, "op": "U", "fields": {"name": [None, "张三"]}}
    for body, expect in [
        ({"changes": [ok]}, "ok"),
        ({"changes": [{**ok, "seq": BIG}]}, "ok"),
        ({"changes": [{**ok, "seq": BIG + 1}]}, "422"),
        ({"changes": [{**ok, "seq": 0}]}, "422"),
        ({"changes": [{**ok, "seq": "5"}]}, "ok"),  # pydantic's lax rules take it: so do we
        ({"changes": [{**ok, "seq": True}]}, None),
        ({"changes": [{**ok, "seq": 2.0}]}, None),
        ({"changes": [{**ok, "id": "a" * 37}]}, "422"),
        ({"changes": [{**ok, "op": "UU"}]}, "422"),
        ({"changes": [{**ok, "fields": {"x": "y"}}]}, "422"),
        ({"changes": [{**ok, "fields": {"x": [1, 2**70]}}]}, "ok"),
        ({"changes": [{**ok, "at": "x" * 41}]}, "422"),
        ({"changes": [{**ok, "prev": None, "known": 3, "extra": 1}]}, "ok"),
        ({"changes": [ok] * 2001}, "422"),
        ({"changes": [ok] * 2000}, "ok"),
        ({}, "422"),
    ]:
        got = _same(json.dumps(body).encode())
        if expect:
            assert got[0] == expect, body
    for raw, ctype in [(b"", JSON), (b'{"changes": [', JSON), (b'{"changes": []}', None), (b'{"changes": []}', "text/plain"),
                       (b'{"changes": []}', "application/vnd.x+json"), (b"\xff\xfe{}", JSON),
                       (b'{"changes": [{"seq": NaN}]}', JSON), (b'{"changes": [], "changes": 1}', JSON)]:
        _same(raw, ctype)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False),
                     st.text(max_size=45))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                       max_leaves=6)
_change = st.fixed_dictionaries(
    {"seq": _scalars, "table": _scalars, "id": _scalars, "op": _scalars,
     "fields": st.dictionaries(st.text(max_size=8), st.one_of(st.lists(_values, max_size=3), _values), max_size=3)},
    optional={"known": _scalars, "at": _scalars, "by": _scalars, "prev": _scalars, "other": _values},
)


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
@hypothesis.given(body=st.one_of(st.fixed_dictionaries({"changes": st.lists(_change, max_size=3)}), _values))
def test_any_body_answers_alike(body):
    _same(json.dumps(body).encode())
